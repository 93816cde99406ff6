"""The run event: a CloudEvent that carries one execution to an executor.

Everything an executor needs travels in the event, so a remote worker needs no database. The
secrets the package may read and the execution's callback token travel as ONE AES-256-GCM
ciphertext under the executor key, bound to the execution id; the rest is not secret.
"""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from .keyring import open_sealed, seal

SPEC_VERSION = "1.0"
EVENT_TYPE = "dx.execution.run"
EVENT_SOURCE = "/dx/api"


def _aad(execution_id: str) -> bytes:
    return b"dx-run-v1\x00" + execution_id.encode()


@dataclass(frozen=True)
class RunScript:
    number: int
    name: str
    source: str


@dataclass(frozen=True)
class RunPayload:
    """An opened run event: only the executor ever holds one."""

    execution_id: str
    package: dict[str, str]
    project: dict[str, str]
    params: dict[str, Any]
    config: dict[str, Any]
    scripts: list[RunScript]
    secrets: dict[str, dict[str, Any]]
    token: str
    api_url: Optional[str]

    def step_payload(self, number: int) -> dict[str, Any]:
        """What one script process receives through its pipe."""
        return {
            "execution_id": self.execution_id,
            "step": number,
            "params": self.params,
            "package": self.package,
            "project": self.project,
            "config": self.config,
            "secrets": self.secrets,
            "api_url": self.api_url,
            "token": self.token,
        }


def build_run_event(
    *,
    execution_id: str,
    package: dict[str, str],
    project: dict[str, str],
    params: dict[str, Any],
    config: dict[str, Any],
    scripts: list[RunScript],
    secrets: dict[str, dict[str, Any]],
    token: str,
    api_url: Optional[str],
    executor_key: bytes,
    trigger: str = "manual",
) -> dict[str, Any]:
    sealed = seal(
        executor_key,
        json.dumps({"secrets": secrets, "token": token}).encode(),
        _aad(execution_id),
    )
    return {
        "specversion": SPEC_VERSION,
        "type": EVENT_TYPE,
        "source": EVENT_SOURCE,
        "id": uuid.uuid4().hex,
        "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "subject": execution_id,
        "datacontenttype": "application/json",
        "data": {
            "execution_id": execution_id,
            "trigger": trigger,
            "package": package,
            "project": project,
            "params": params,
            "config": config,
            "scripts": [s.__dict__ for s in scripts],
            "api_url": api_url,
            "sealed": base64.b64encode(sealed).decode("ascii"),
        },
    }


def open_run_event(event: dict[str, Any], executor_key: bytes) -> RunPayload:
    data = event["data"]
    execution_id = data["execution_id"]
    inner = json.loads(
        open_sealed(
            executor_key,
            base64.b64decode(data["sealed"]),
            _aad(execution_id),
            f"run event of execution {execution_id}",
        )
    )
    return RunPayload(
        execution_id=execution_id,
        package=data["package"],
        project=data["project"],
        params=data["params"],
        config=data["config"],
        scripts=[RunScript(**s) for s in data["scripts"]],
        secrets=inner["secrets"],
        token=inner["token"],
        api_url=data.get("api_url"),
    )
