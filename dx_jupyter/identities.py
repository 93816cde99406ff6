"""Who a runtime request speaks for, and what it may reach."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .backend import Backend
from .errors import Forbidden, InvalidInput
from .scopes import PACKAGE, PLATFORM, PROJECT, normalize_scope
from .services.executions import ExecutionsService
from .services.secrets import SecretInfo


@dataclass
class ExecutionIdentity:
    """A running script: its own package's chain, nothing else."""

    backend: Backend
    package_id: str

    def resolve(self, name: str) -> Any:
        return self.backend.secrets.resolve_for_package(self.package_id, name)

    def set(self, name: str, value: Any, scope: str) -> SecretInfo:
        return self.backend.secrets.set_for_package(self.package_id, name, value, scope)

    def state_get(self) -> dict[str, Any]:
        return self.backend.state.get(self.package_id)

    def state_put(self, key: str, value: Any) -> dict[str, Any]:
        return self.backend.state.put(self.package_id, key, value)


@dataclass
class KernelIdentity:
    """A notebook kernel started by this server, bound to a project and maybe a package."""

    backend: Backend
    project: Optional[str]
    package: Optional[str]

    def resolve(self, name: str) -> Any:
        return self.backend.secrets.resolve(name, self.project, self.package)

    def set(self, name: str, value: Any, scope: str) -> SecretInfo:
        scope = normalize_scope(scope)
        if scope == PROJECT and not self.project:
            raise InvalidInput("bind the notebook to a project first (%dx_use PROJECT)")
        if scope == PACKAGE and not self.package:
            raise InvalidInput("bind the notebook to a package first (%dx_use PROJECT/PACKAGE)")
        owner = {PLATFORM: {}, PROJECT: {"project": self.project}}.get(
            scope, {"project": self.project, "package": self.package}
        )
        return self.backend.secrets.set(name, value, scope, **owner)

    def _package_id(self) -> str:
        if not (self.project and self.package):
            raise InvalidInput("state belongs to a package: %dx_use PROJECT/PACKAGE first")
        return self.backend.packages.get_id(self.project, self.package)

    def state_get(self) -> dict[str, Any]:
        return self.backend.state.get(self._package_id())

    def state_put(self, key: str, value: Any) -> dict[str, Any]:
        return self.backend.state.put(self._package_id(), key, value)


def identify(
    backend: Backend,
    executions: ExecutionsService,
    token: str,
    kernel_token: Optional[str],
    project: Optional[str],
    package: Optional[str],
) -> Any:
    import hmac

    if kernel_token and hmac.compare_digest(token.encode(), kernel_token.encode()):
        return KernelIdentity(backend, project, package)
    if project or package:
        raise Forbidden("an execution token reaches only its own package; drop project/package")
    return ExecutionIdentity(backend, executions.package_for_token(token))
