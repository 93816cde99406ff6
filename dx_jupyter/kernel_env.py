"""Exporting the API address and the kernel token to the kernels this server starts.

The server's kernel manager starts every kernel with an `env` dict (the session manager passes
one; otherwise the provisioner copies `os.environ`). The extension wraps the manager's
`start_kernel` so that this `env` also holds `DX_API_URL`, `DX_KERNEL_TOKEN` and
`DX_MASK_OUTPUTS`. A restart reuses the launch arguments, so a restarted kernel keeps them.

The token lives only in the server's memory and in the environment of its kernels: it is not
written to disk, not put in `os.environ` of the server (steps would inherit it), and never
logged (jupyter_server logs only the names of a kernel's env variables, at debug level).
Remote kernels (a gateway) receive only the variables the gateway forwards, so they stay
unconnected and say so.
"""
from __future__ import annotations

import functools
import inspect
import os
from typing import Any, Callable

API_URL_ENV = "DX_API_URL"
TOKEN_ENV = "DX_KERNEL_TOKEN"
MASK_ENV = "DX_MASK_OUTPUTS"

_MARK = "_dx_exports_env"
_WILDCARDS = {"": "localhost", "0.0.0.0": "127.0.0.1", "::": "[::1]"}


def kernel_api_url(serverapp: Any) -> str:
    """The API address as a local kernel reaches it: the server's URL, loopback for a wildcard."""
    from jupyter_server.utils import url_path_join

    if serverapp.sock:  # a Unix socket: the kernel client says it cannot use it
        return url_path_join(serverapp.connection_url, "dx/api")
    ip = serverapp.ip
    host = _WILDCARDS.get(ip) or (f"[{ip}]" if ":" in ip else ip)
    scheme = "https" if serverapp.certfile else "http"
    return url_path_join(f"{scheme}://{host}:{serverapp.port}", serverapp.base_url, "dx/api")


def export_to_kernels(kernel_manager: Any, variables: Callable[[], dict[str, str]]) -> bool:
    """Make `kernel_manager.start_kernel` add `variables()` to each new kernel's environment.

    `variables` is called at each start, so the API address is the one of the running server.
    Returns False (and changes nothing) when the manager has no `start_kernel`.
    """
    original = getattr(kernel_manager, "start_kernel", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    async def start_kernel(*args: Any, **kwargs: Any) -> Any:
        env = kwargs.get("env")
        env = dict(os.environ if env is None else env)  # a given env is the whole environment
        env.update(variables())
        kwargs["env"] = env
        started = original(*args, **kwargs)
        return await started if inspect.isawaitable(started) else started

    setattr(start_kernel, _MARK, True)
    kernel_manager.start_kernel = start_kernel
    return True
