"""dx_jupyter: the DX platform's packages, scoped secrets and executions inside Jupyter."""
from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import DXJupyter

    return [{"module": "dx_jupyter", "app": DXJupyter}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "dx-jupyter"}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext dx_jupyter`: the notebook magics (%dx_use, %dx_run, %dx_secrets, ...)."""
    from .magics import load_ipython_extension as load

    load(ipython)
