"""Masking secret values in a notebook kernel's outputs, as Databricks notebooks do.

Every value that `ferris_ef.context.secrets` reads (or sets) in a kernel is remembered here, and
every message the kernel sends on its way out is masked: streams (stdout, stderr), `display`
and results (text/plain, text/html and every other text or JSON representation), errors
(`evalue` and the traceback lines, in the iopub `error` and in the `execute_reply`), and widget
state. It happens at one place, the kernel's `Session.send`, so output from threads, widgets,
`print`, `display` and tracebacks are all covered, and the saved notebook holds only what the
frontend was sent: `[REDACTED]`.

Forms masked: as in step results (dx_jupyter.redaction): each string leaf of a value, its
JSON-escaped and `repr` forms, the JSON text of a structured value, plus the HTML-escaped form
for text/html. Values shorter than 4 characters are not masked. A value printed in pieces
far apart in time (two writes flushed separately) can escape: masking is a guard against
showing secrets by accident, not a sandbox.

Off switch: `%dx_mask off` (this kernel), `dx_jupyter.masking.set_enabled(False)`, or for every
kernel the server starts, `c.DXJupyter.mask_kernel_outputs = False` (exported as
`DX_MASK_OUTPUTS=0`).
"""
from __future__ import annotations

import html
import json
import os
import sys
import threading
from typing import Any, Callable, Optional

from .redaction import MASK, Redactor

MASK_ENV = "DX_MASK_OUTPUTS"
_OUTPUT_MESSAGES = ("display_data", "execute_result", "update_display_data")
_SKIPPED_MIME = ("application/vnd.jupyter.widget-view+json",)

_lock = threading.Lock()
_values: dict[str, Any] = {}
_redactor: Optional[Redactor] = None
_enabled: bool = os.environ.get(MASK_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
_sessions: list[Any] = []


def enabled() -> bool:
    return _enabled


def set_enabled(flag: bool) -> None:
    """Turn masking on or off in this kernel (values stay remembered either way)."""
    global _enabled
    _enabled = bool(flag)
    if _enabled and _values:
        install()


def remembered() -> int:
    """How many distinct values are masked."""
    return len(_values)


def protect(value: Any) -> Any:
    """Mask `value` in this kernel's outputs from now on; returns it unchanged."""
    global _redactor
    if value is None or isinstance(value, bool):
        return value
    try:
        key = json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        key = repr(value)
    with _lock:
        if key not in _values:
            _values[key] = value
            _redactor = Redactor(_with_html_forms(_values.values()))
    if _enabled:
        install()
    return value


def forget_all() -> None:
    """Forget every remembered value (tests)."""
    global _redactor
    with _lock:
        _values.clear()
        _redactor = None


def _with_html_forms(values: Any) -> list[Any]:
    out = list(values)
    for value in list(out):
        for leaf in _string_leaves(value):
            escaped = html.escape(leaf)
            if escaped != leaf:
                out.append(escaped)
    return out


def _string_leaves(value: Any) -> Any:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _string_leaves(item)


def redact(text: str) -> str:
    """`text` with every remembered value masked (when masking is on)."""
    redactor = _redactor
    if not _enabled or redactor is None or not isinstance(text, str):
        return text
    return redactor.redact(text)


def _leaves(obj: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _leaves(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_leaves(v, fn) for v in obj]
    return obj


def redact_content(msg_type: str, content: Any) -> Any:
    """A masked copy of a message's content (the same object when nothing applies)."""
    if not isinstance(content, dict) or not _enabled or _redactor is None:
        return content
    if msg_type == "stream":
        return {**content, "text": redact(content.get("text", ""))}
    if msg_type in _OUTPUT_MESSAGES:
        data = content.get("data")
        if isinstance(data, dict):
            content = {**content, "data": {
                mime: value if mime in _SKIPPED_MIME else _leaves(value, redact)
                for mime, value in data.items()
            }}
        return content
    if msg_type == "error" or (msg_type == "execute_reply" and content.get("status") == "error"):
        return {**content, **{k: _leaves(content[k], redact) for k in ("evalue", "traceback") if k in content}}
    if msg_type in ("comm_open", "comm_msg"):
        data = content.get("data")
        if isinstance(data, dict) and isinstance(data.get("state"), dict):
            return {**content, "data": {**data, "state": _leaves(data["state"], redact)}}
    return content


def _masking_send(original: Callable[..., Any]) -> Callable[..., Any]:
    def send(stream: Any, msg_or_type: Any, content: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _enabled and _redactor is not None:
            if isinstance(msg_or_type, dict):
                msg_type = msg_or_type.get("header", {}).get("msg_type") or msg_or_type.get("msg_type", "")
                masked = redact_content(msg_type, msg_or_type.get("content"))
                if masked is not msg_or_type.get("content"):
                    msg_or_type = {**msg_or_type, "content": masked}
            else:
                content = redact_content(msg_or_type, content)
        return original(stream, msg_or_type, content, *args, **kwargs)

    send._dx_masking = True  # type: ignore[attr-defined]
    send._dx_original = original  # type: ignore[attr-defined]
    return send


def _kernel_sessions() -> list[Any]:
    """Every Session object through which the running IPython kernel sends messages."""
    ipython_mod = sys.modules.get("IPython")
    shell = ipython_mod.get_ipython() if ipython_mod is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return []
    candidates = [
        getattr(kernel, "session", None),
        getattr(sys.stdout, "session", None),
        getattr(sys.stderr, "session", None),
        getattr(getattr(shell, "display_pub", None), "session", None),
        getattr(getattr(shell, "displayhook", None), "session", None),
    ]
    unique: list[Any] = []
    for session in candidates:
        if session is not None and not any(session is s for s in unique):
            unique.append(session)
    return unique


def install() -> bool:
    """Mask the running kernel's outgoing messages; False outside an IPython kernel."""
    sessions = _kernel_sessions()
    with _lock:
        for session in sessions:
            if not getattr(session.send, "_dx_masking", False):
                session.send = _masking_send(session.send)
                _sessions.append(session)
    return bool(sessions)


def uninstall() -> None:
    with _lock:
        for session in _sessions:
            original = getattr(session.send, "_dx_original", None)
            if original is not None:
                session.send = original
        _sessions.clear()


__all__ = ["MASK", "enabled", "forget_all", "install", "protect", "redact", "redact_content",
           "remembered", "set_enabled", "uninstall"]
