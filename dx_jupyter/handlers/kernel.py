"""Routes for notebook kernels: `/dx/api/runtime/kernel/...`, with the kernel token only.

Every route here mirrors a route of the REST API: the same path after the prefix, the same
body and the same answer, served by the same handler code. Only the authentication differs:
instead of a Jupyter login, the `X-DX-Token` header must hold this server's kernel token (which
the extension exports to the kernels it starts). An execution token is refused, so a running
script cannot list the store, start runs or read other packages' results; a Jupyter login alone
is refused too, so the kernel token stays the only key to these routes.

Only what a notebook needs is mirrored (no deletes, no script downloads).
"""
from __future__ import annotations

import functools
import hmac
import inspect
from typing import Any, Callable

from jupyter_server.auth.decorator import allow_unauthenticated

from ..errors import Forbidden
from . import executions, packages, projects, secrets
from .base import DXHandler, translate_errors
from .runtime import TOKEN_HEADER, RuntimeHandler

PREFIX = "runtime/kernel"


class KernelTokenMixin(RuntimeHandler):
    """Authenticates a request by the kernel token in `X-DX-Token` (no XSRF check with it)."""

    def check_kernel_token(self) -> None:
        token = self.request.headers.get(TOKEN_HEADER, "")
        if not token:
            raise Forbidden(f"the {TOKEN_HEADER} header is missing: these routes take the kernel token")
        expected = self.dx.kernel_token or ""
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Forbidden(
                "these routes take only the kernel token that this server gives the kernels it "
                "starts (an execution token or a stale kernel token is refused; restart the kernel "
                "if the server restarted)"
            )


def _kernel_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """The handler method without its Jupyter authentication, behind the kernel-token check."""
    raw = inspect.unwrap(method)

    @functools.wraps(raw)
    async def checked(self: KernelTokenMixin, *args: Any, **kwargs: Any) -> Any:
        self.check_kernel_token()
        return await raw(self, *args, **kwargs)

    return allow_unauthenticated(translate_errors(checked))


def kernel_variant(handler: type[DXHandler], *verbs: str) -> type[DXHandler]:
    """A subclass of `handler` that answers `verbs` for the kernel token, and nothing else."""
    attrs: dict[str, Any] = {verb: _kernel_only(getattr(handler, verb)) for verb in verbs}
    attrs["SUPPORTED_METHODS"] = tuple(v.upper() for v in verbs)
    attrs["__doc__"] = f"{handler.__name__} for notebook kernels ({', '.join(v.upper() for v in verbs)})."
    attrs["__module__"] = __name__
    return type(f"Kernel{handler.__name__}", (KernelTokenMixin, handler), attrs)


KernelProjectsHandler = kernel_variant(projects.ProjectsHandler, "get", "post")
KernelProjectHandler = kernel_variant(projects.ProjectHandler, "get")
KernelPackagesHandler = kernel_variant(packages.PackagesHandler, "get", "post")
KernelPackageHandler = kernel_variant(packages.PackageHandler, "get", "patch")
KernelSecretsHandler = kernel_variant(secrets.SecretsHandler, "get", "put")
KernelPackageExecutionsHandler = kernel_variant(executions.PackageExecutionsHandler, "get", "post")
KernelExecutionHandler = kernel_variant(executions.ExecutionHandler, "get")
KernelStepsHandler = kernel_variant(executions.StepsHandler, "get")
KernelStepResultHandler = kernel_variant(executions.StepResultHandler, "get")
KernelCancelHandler = kernel_variant(executions.CancelHandler, "post")
