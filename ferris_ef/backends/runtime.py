"""Runtime backend: inside an execution step, fed by the payload the executor sent over a pipe.

Secrets come from the payload (decrypted by the executor, never on argv, in the environment or
in a file). Writes (`secrets.set`, `state.put`) and state reads go to the server's runtime API
with the step's token in the `X-DX-Token` header.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from .._http import error_body
from ..errors import FerrisError
from .base import SCOPES, ContextBackend, PackageInfo

HTTP_TIMEOUT = 30.0


def _dict(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FerrisError(f"the step payload's {key!r} must be a JSON object, not {type(value).__name__}")
    return value


class RuntimeBackend(ContextBackend):
    mode = "runtime"

    def __init__(self, payload: dict[str, Any]) -> None:
        if not isinstance(payload, dict):
            raise FerrisError("the step payload must be a JSON object")
        package = _dict(payload, "package")
        self._package = PackageInfo(str(package.get("name") or ""), str(package.get("id") or ""))
        self.project = _dict(payload, "project")
        self.execution_id = payload.get("execution_id")
        self.step = payload.get("step")
        self._params = _dict(payload, "params")
        self._params.setdefault("package_name", self._package.name)
        self._params.setdefault("package_id", self._package.id)
        self._config = _dict(payload, "config")
        scoped = _dict(payload, "secrets")
        self._secrets = {scope: dict(_dict(scoped, scope)) for scope in SCOPES}
        self._api_url = (payload.get("api_url") or "").rstrip("/")
        self._token = payload.get("token") or ""

    def __repr__(self) -> str:  # never show secrets or the token
        return f"<RuntimeBackend execution={self.execution_id!r} step={self.step!r}>"

    # ----- read from the payload -----
    def params(self) -> dict[str, Any]:
        return self._params

    def package(self) -> PackageInfo:
        return self._package

    def config(self) -> dict[str, Any]:
        return self._config

    def get_secret(self, name: str) -> Any:
        for scope in SCOPES:
            values = self._secrets[scope]
            if name in values:
                return values[name]
        return None

    # ----- through the server's runtime API -----
    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        try:
            # Round-trip so the value kept here is what the server stores, not a live object.
            stored = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as err:
            raise FerrisError(f"secret {name!r}: the value is not a JSON value: {err}") from None
        from urllib.parse import quote

        answer = self._request("PUT", "/runtime/secrets/" + quote(name, safe=""),
                               {"value": stored, "scope": scope}, f"setting secret {name!r}")
        self._secrets[scope][name] = stored
        meta = {"name": name, "scope": scope}
        if isinstance(answer, dict):
            meta.update({k: v for k, v in answer.items() if k != "value"})
        return meta

    def get_state(self) -> dict[str, Any]:
        answer = self._request("GET", "/runtime/state", None, "reading the package state")
        state = answer.get("state") if isinstance(answer, dict) else None
        if not isinstance(state, dict):
            raise FerrisError("reading the package state: the server's answer holds no 'state' object")
        return state

    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        answer = self._request("PUT", "/runtime/state", {"key": key, "value": value},
                               f"updating state key {key!r}")
        state = answer.get("state") if isinstance(answer, dict) else None
        return state if isinstance(state, dict) else None

    def schedule_job(self, job: dict[str, Any]) -> str:
        what = "scheduling a retry" if job["trigger"] == "retry" else "scheduling a job"
        return _id(self._request("POST", "/runtime/scheduler/jobs", job, what), what)

    def send_event(self, event: dict[str, Any]) -> str:
        what = f"sending event {event['event_type']!r}"
        return _id(self._request("POST", "/runtime/events", event, what), what)

    def _request(self, method: str, path: str, body: Any, what: str) -> Any:
        if not self._api_url or not self._token:
            raise FerrisError(
                f"{what}: this step was started without the DX server's address or token, "
                "so it can only read secrets, params and config"
            )
        import urllib.error
        import urllib.request

        data = None
        headers = {"X-DX-Token": self._token, "Accept": "application/json"}
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError) as err:
                raise FerrisError(f"{what}: the value is not a JSON value: {err}") from None
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self._api_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise _http_error(err, what) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise FerrisError(f"{what}: cannot reach the DX server at {self._api_url}: {reason}") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise FerrisError(f"{what}: the DX server answered with something that is not JSON") from None


def _id(answer: Any, what: str) -> str:
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
        raise FerrisError(f"{what}: the server's answer holds no 'id'")
    return answer["id"]


def _http_error(err: Any, what: str) -> FerrisError:
    kind, message = error_body(err)
    message = message or str(getattr(err, "reason", "") or "no message")
    return FerrisError(f"{what} failed: {message} (HTTP {err.code})", kind=kind, status=err.code)

