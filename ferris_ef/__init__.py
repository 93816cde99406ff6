"""ferris_ef: the script-side API of DX packages (`context`, `get_secret`, `get_param`).

Imports only the standard library, so a worker or a plain script can use it without the
server, JupyterLab or SQLAlchemy. See docs/ferris_ef.md.
"""
from __future__ import annotations

from typing import Any

from ._context import StoreBinding, context, current_backend, reset_context, use_store
from .backends.base import PackageInfo
from .errors import FerrisError, NotAvailableError


def get_secret(name: str) -> Any:
    """Same as `context.secrets.get(name)`: package, then project, then platform scope, else None."""
    return context.secrets.get(name)


def get_param(name: str) -> Any:
    """Same as `context.params.get(name)`: the execution parameter `name`, or None."""
    return context.params.get(name)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext ferris_ef`: the dx_jupyter notebook magics (%dx_use, %dx_run, ...)."""
    from dx_jupyter.magics import load_ipython_extension as load

    load(ipython)


__all__ = [
    "FerrisError",
    "NotAvailableError",
    "PackageInfo",
    "StoreBinding",
    "context",
    "current_backend",
    "get_param",
    "get_secret",
    "reset_context",
    "use_store",
]
