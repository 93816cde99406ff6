"""What the DX server says when it refuses a request: shared by every stdlib HTTP client."""
from __future__ import annotations

import json
from typing import Any, Optional


def error_body(err: Any) -> tuple[Optional[str], str]:
    """`(kind, message)` of an `urllib.error.HTTPError` carrying `{"error", "message"}`."""
    kind, message = None, ""
    try:
        doc = json.loads(err.read() or b"null")
        if isinstance(doc, dict):
            kind = doc.get("error") if isinstance(doc.get("error"), str) else None
            message = doc.get("message") if isinstance(doc.get("message"), str) else ""
    except (ValueError, OSError):
        pass
    return kind, message
