"""A notebook kernel's HTTP client for the server's runtime routes (standard library only).

A kernel started by a Jupyter server that runs dx_jupyter finds the API address in
`DX_API_URL` and its kernel token in `DX_KERNEL_TOKEN` (see kernel_env.py). Every request
carries the token in the `X-DX-Token` header:

- `runtime/secrets/{name}` and `runtime/state`, with `?project=&package=` for the binding
  (`%dx_use`): reading and writing secrets through a scope chain, the package state;
- `runtime/kernel/...`: the REST API's projects, packages, secret names, uploads and
  executions routes, mirrored for the kernel token (see handlers/kernel.py).

Errors are `DXClientError`s whose message is one line that says what to do.
"""
from __future__ import annotations

import json
import os
import uuid
from typing import Any, Iterable, Mapping, Optional, Union
from urllib.parse import quote, urlencode

from ferris_ef._http import error_body

API_URL_ENV = "DX_API_URL"
TOKEN_ENV = "DX_KERNEL_TOKEN"
TOKEN_HEADER = "X-DX-Token"
KERNEL = "runtime/kernel"
DEFAULT_TIMEOUT = 30.0

NOT_CONNECTED = (
    "this kernel is not connected to a DX server: DX_API_URL and DX_KERNEL_TOKEN are not set. "
    "Only kernels started by a Jupyter server with the dx_jupyter extension get them: open the "
    "notebook in that server (JupyterLab or Notebook) and start or restart its kernel there. "
    "Kernels started elsewhere (a console, another server, a remote gateway) cannot connect; "
    "see docs/notebooks.md"
)
# The server's 404 for a name that no scope of the chain holds (handlers/runtime.py).
_NO_SUCH_SECRET = "no secret named"


class DXClientError(Exception):
    """A call to the DX server failed. `kind`/`status`: the server's error kind and HTTP status."""

    def __init__(self, message: str, kind: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status


class NotConnected(DXClientError):
    """The kernel has no server address or token, or cannot reach the server."""


Script = Union[str, "os.PathLike[str]", tuple[str, Union[str, bytes]]]


def _q(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise DXClientError(f"a name must be a non-empty string, got {name!r}")
    return quote(name, safe="")


def secrets_path(scope: str, project: Optional[str] = None, package: Optional[str] = None) -> str:
    """The secrets collection of one scope, relative to the API."""
    scope = {"service": "package"}.get(scope, scope)
    if scope == "platform":
        return "secrets/platform"
    if scope == "project":
        if not project:
            raise DXClientError("the project scope needs a project: %dx_use PROJECT, or pick one")
        return f"projects/{_q(project)}/secrets"
    if scope == "package":
        if not (project and package):
            raise DXClientError("the package scope needs a project and a package: %dx_use PROJECT/PACKAGE")
        return f"projects/{_q(project)}/packages/{_q(package)}/secrets"
    raise DXClientError(f"unknown scope {scope!r}: use package (or service), project or platform")


def _multipart(fields: Mapping[str, str], files: Iterable[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    for field, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _script(item: Script) -> tuple[str, bytes]:
    """A (name, content) pair from a path or from (name, text-or-bytes)."""
    if isinstance(item, tuple):
        name, content = item
        return name, content.encode() if isinstance(content, str) else bytes(content)
    path = os.fspath(item)
    try:
        with open(path, "rb") as f:
            return os.path.basename(path), f.read()
    except OSError as err:
        raise DXClientError(f"cannot read {path}: {err.strerror or err}") from None


class KernelClient:
    """Talks to the runtime routes of one server with one kernel token."""

    def __init__(self, api_url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not api_url or not token:
            raise NotConnected(NOT_CONNECTED)
        self.api_url = api_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "KernelClient":
        env = os.environ if environ is None else environ
        return cls(env.get(API_URL_ENV, ""), env.get(TOKEN_ENV, ""))

    def __repr__(self) -> str:  # never the token
        return f"<KernelClient {self.api_url}>"

    # ----- HTTP -----
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Optional[Mapping[str, Optional[str]]] = None,
        data: Optional[bytes] = None,
        content_type: Optional[str] = None,
    ) -> Any:
        """`method` on `{api_url}/{path}`; the JSON answer, or None for an empty one."""
        import urllib.error
        import urllib.request

        if self.api_url.startswith("http+unix"):
            raise NotConnected(
                f"the DX server listens on a Unix socket ({self.api_url}), which a kernel cannot "
                "reach over HTTP: set c.DXJupyter.api_url to an http(s) address of the server"
            )
        url = f"{self.api_url}/{path}"
        args = {k: v for k, v in (query or {}).items() if v}
        if args:
            url += "?" + urlencode(args)
        headers = {TOKEN_HEADER: self._token, "Accept": "application/json"}
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode()
            except (TypeError, ValueError) as err:
                raise DXClientError(f"not a JSON value: {err}") from None
            content_type = "application/json"
        if data is not None:
            headers["Content-Type"] = content_type or "application/octet-stream"
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            error = _http_error(err)
            if error.status == 403:  # the only credential is the kernel token: it is not (or no longer) good
                error = DXClientError(
                    f"the DX server at {self.api_url} refused this kernel's token: restart the kernel "
                    "(its server restarted since the kernel started, or another server started it)",
                    kind=error.kind, status=403)
            raise error from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise NotConnected(
                f"cannot reach the DX server at {self.api_url} ({reason}); is the Jupyter server that "
                "started this kernel still running? A restarted server needs a restarted kernel"
            ) from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise DXClientError(f"the DX server at {self.api_url} answered something that is not JSON") from None

    def kernel(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request(method, f"{KERNEL}/{path}", body, **kw)

    # ----- secrets and state through a binding (runtime routes) -----
    def read_secret(self, name: str, project: Optional[str] = None, package: Optional[str] = None) -> tuple[bool, Any]:
        """(True, value) from the chain package -> project -> platform, or (False, None)."""
        try:
            answer = self.request("GET", f"runtime/secrets/{_q(name)}",
                                  query={"project": project, "package": package})
        except DXClientError as err:
            if err.status == 404 and err.message.startswith(_NO_SUCH_SECRET):
                return False, None
            raise
        return True, answer.get("value") if isinstance(answer, dict) else None

    def write_secret(self, name: str, value: Any, scope: str, project: Optional[str] = None,
                     package: Optional[str] = None) -> dict[str, Any]:
        return self.request("PUT", f"runtime/secrets/{_q(name)}", {"value": value, "scope": scope},
                            query={"project": project, "package": package})

    def state(self, project: Optional[str], package: Optional[str]) -> dict[str, Any]:
        return self.request("GET", "runtime/state", query={"project": project, "package": package})["state"]

    def put_state(self, key: str, value: Any, project: Optional[str], package: Optional[str]) -> dict[str, Any]:
        answer = self.request("PUT", "runtime/state", {"key": key, "value": value},
                              query={"project": project, "package": package})
        return answer["state"]

    # ----- projects and packages -----
    def projects(self) -> list[dict[str, Any]]:
        return self.kernel("GET", "projects")["projects"]

    def project(self, name: str) -> dict[str, Any]:
        return self.kernel("GET", f"projects/{_q(name)}")

    def create_project(self, name: str, description: str = "") -> dict[str, Any]:
        return self.kernel("POST", "projects", {"name": name, "description": description})

    def packages(self, project: str, q: str = "") -> list[dict[str, Any]]:
        return self.kernel("GET", f"projects/{_q(project)}/packages", query={"q": q})["packages"]

    def package(self, project: str, package: str) -> dict[str, Any]:
        return self.kernel("GET", f"projects/{_q(project)}/packages/{_q(package)}")

    def create_package(
        self,
        project: str,
        name: str,
        scripts: Iterable[Script] = (),
        secrets: Optional[Script] = None,
        config: Optional[Union[Script, Mapping[str, Any]]] = None,
        description: str = "",
    ) -> dict[str, Any]:
        """Create a package from script files (paths, or (name, source) pairs), in order.

        `secrets` (a secrets.json path or (name, bytes)) goes to the package scope and is kept
        nowhere else, as on the platform's package form.
        """
        files = [("scripts", *_script(s)) for s in scripts]
        if secrets is not None:
            files.append(("secrets", *_script(secrets)))
        if config is not None:
            if isinstance(config, Mapping):
                files.append(("config", "config.json", json.dumps(dict(config)).encode()))
            else:
                files.append(("config", *_script(config)))
        data, ctype = _multipart({"name": name, "description": description}, files)
        return self.kernel("POST", f"projects/{_q(project)}/packages", data=data, content_type=ctype)

    def update_package(self, project: str, package: str, scripts: Iterable[Script] = (), **fields: Any) -> dict[str, Any]:
        """PATCH a package: `scripts` (paths or pairs) replace or add by name; other fields as JSON."""
        body = dict(fields)
        added = [_script(s) for s in scripts]
        if added:
            try:
                body["scripts"] = [{"name": n, "content": c.decode()} for n, c in added]
            except UnicodeDecodeError:
                raise DXClientError("a script must be UTF-8 text") from None
        return self.kernel("PATCH", f"projects/{_q(project)}/packages/{_q(package)}", body)

    # ----- secrets of one scope: names and uploads, never values -----
    def secret_names(self, scope: str, project: Optional[str] = None, package: Optional[str] = None) -> list[dict[str, Any]]:
        return self.kernel("GET", secrets_path(scope, project, package))["secrets"]

    def upload_secrets(self, data: Union[bytes, Mapping[str, Any]], scope: str, project: Optional[str] = None,
                       package: Optional[str] = None, mode: str = "upsert") -> dict[str, Any]:
        """Upload a secrets.json (bytes, or a dict); the answer names what was stored."""
        if isinstance(data, Mapping):
            data = json.dumps(dict(data)).encode()
        return self.kernel("PUT", secrets_path(scope, project, package), data=bytes(data),
                           content_type="application/json", query={"mode": mode})

    # ----- executions -----
    def start_execution(self, project: str, package: str, params: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
        body = {"params": dict(params)} if params else {}
        return self.kernel("POST", f"projects/{_q(project)}/packages/{_q(package)}/executions", body)

    def executions(self, project: str, package: str, offset: int = 0, limit: int = 20) -> dict[str, Any]:
        return self.kernel("GET", f"projects/{_q(project)}/packages/{_q(package)}/executions",
                           query={"offset": str(offset), "limit": str(limit)})

    def execution(self, execution_id: str) -> dict[str, Any]:
        return self.kernel("GET", f"executions/{_q(execution_id)}")

    def steps(self, execution_id: str) -> list[dict[str, Any]]:
        return self.kernel("GET", f"executions/{_q(execution_id)}/steps")["steps"]

    def result(self, execution_id: str, number: int) -> dict[str, Any]:
        return self.kernel("GET", f"executions/{_q(execution_id)}/steps/{int(number)}/result")

    def cancel(self, execution_id: str) -> dict[str, Any]:
        return self.kernel("POST", f"executions/{_q(execution_id)}/cancel")


def _http_error(err: Any) -> DXClientError:
    kind, message = error_body(err)
    message = message or str(getattr(err, "reason", "") or f"HTTP {err.code}")
    return DXClientError(message, kind=kind, status=err.code)


_client: Optional[KernelClient] = None


def get_client() -> KernelClient:
    """The kernel's client, from DX_API_URL and DX_KERNEL_TOKEN (NotConnected without them)."""
    global _client
    if _client is None:
        _client = KernelClient.from_env()
    return _client
