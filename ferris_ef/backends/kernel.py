"""Kernel backend: `context` in a notebook kernel, through the DX server's runtime API.

A kernel started by a Jupyter server with the dx_jupyter extension has `DX_API_URL` and
`DX_KERNEL_TOKEN` in its environment. `%dx_use PROJECT[/PACKAGE]` (or `bind()`) chooses the
scope chain: `secrets.get` asks the server for package -> project -> platform -> None, and
`secrets.set` writes through it. Without a binding, only the platform scope is reachable (said
once). Values read or set here are masked in the kernel's outputs (dx_jupyter.masking).

This module imports only the standard library; it loads dx_jupyter's kernel client and masking
(both standard library only, shipped in the same distribution) when a kernel backend is made.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional

from ..errors import FerrisError
from .base import ContextBackend, PackageInfo

API_URL_ENV = "DX_API_URL"
TOKEN_ENV = "DX_KERNEL_TOKEN"
UNBOUND_NOTICE = (
    "ferris_ef: this notebook is not bound to a project, so context.secrets reaches the platform "
    "scope only. Bind it with %dx_use PROJECT or %dx_use PROJECT/PACKAGE.\n"
)

_lock = threading.Lock()
_project: Optional[str] = None
_package: Optional[str] = None
_generation = 0  # bumped by bind(): a new %dx_use reads the package (id, config) again
_told_unbound = False


def bind(project: Optional[str], package: Optional[str] = None) -> None:
    """Bind this kernel's context to a project, or to a package of it (None, None: unbind)."""
    global _project, _package, _generation
    if package and not project:
        raise FerrisError("a package is bound with its project: PROJECT/PACKAGE")
    with _lock:
        _project, _package = project or None, package or None
        _generation += 1


def binding() -> tuple[Optional[str], Optional[str]]:
    """(project, package) this kernel is bound to; (None, None) when unbound."""
    return _project, _package


def in_ipython_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def kernel_backend() -> Optional["KernelBackend"]:
    """The chooser's hook: a kernel backend when this process is (or acts as) a connected kernel.

    None when there is neither a DX kernel environment nor an IPython kernel; a FerrisError that
    says how to connect when this is an IPython kernel that a dx_jupyter server did not start.
    """
    if os.environ.get(TOKEN_ENV) or os.environ.get(API_URL_ENV) or in_ipython_kernel():
        return KernelBackend()
    return None


class KernelBackend(ContextBackend):
    mode = "kernel"

    def __init__(self) -> None:
        from dx_jupyter.kernel_client import DXClientError, KernelClient

        self._error_type = DXClientError
        try:
            self.client = KernelClient.from_env()
        except DXClientError as err:
            raise FerrisError(err.message, kind="not_connected") from None
        self._package_info: dict[tuple[str, str, int], dict[str, Any]] = {}

    def __repr__(self) -> str:  # never the token
        return f"<KernelBackend {self.client.api_url} bound to {self.describe()}>"

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except self._error_type as err:
            raise FerrisError(err.message, kind=err.kind, status=err.status) from None

    def _protect(self, value: Any) -> None:
        from dx_jupyter import masking

        masking.protect(value)

    def _notice_unbound(self) -> None:
        global _told_unbound
        if _project is None and not _told_unbound:
            _told_unbound = True
            sys.stderr.write(UNBOUND_NOTICE)

    def _info(self, what: str) -> dict[str, Any]:
        project, package = binding()
        if not (project and package):
            raise FerrisError(f"{what} needs a package: bind the notebook with %dx_use PROJECT/PACKAGE")
        key = (project, package, _generation)
        if key not in self._package_info:
            self._package_info = {key: self._call(self.client.package, project, package)}
        return self._package_info[key]

    # ----- ContextBackend -----
    def params(self) -> dict[str, Any]:
        info = self._info("context.params")
        return {"package_name": info["name"], "package_id": info["id"]}

    def package(self) -> PackageInfo:
        info = self._info("context.package")
        return PackageInfo(info["name"], info["id"])

    def config(self) -> dict[str, Any]:
        return dict(self._info("context.config").get("config") or {})

    def get_secret(self, name: str) -> Any:
        self._notice_unbound()
        found, value = self._call(self.client.read_secret, name, *binding())
        if found:
            self._protect(value)
        return value

    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        self._notice_unbound()
        self._protect(value)
        answer = self._call(self.client.write_secret, name, value, scope, *binding())
        return {k: v for k, v in (answer or {}).items() if k != "value"}

    def get_state(self) -> dict[str, Any]:
        return self._call(self.client.state, *binding())

    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        return self._call(self.client.put_state, key, value, *binding())

    def describe(self) -> str:
        project, package = binding()
        where = f"{project}/{package}" if package else project or "platform scope only (unbound)"
        return f"{self.mode}: {where}"
