from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .base import DXHandler, api

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.json"


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


class OpenAPIHandler(DXHandler):
    @api
    async def get(self) -> None:
        self.reply(load_spec())
