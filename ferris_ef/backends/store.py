"""Store backend: a context bound directly to a `dx_jupyter.backend.Backend` (CLI, tests, tools).

This is the only part of ferris_ef that imports dx_jupyter (and so SQLAlchemy), and only when
a store is bound.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from ..errors import FerrisError
from .base import ContextBackend, PackageInfo


@contextlib.contextmanager
def _as_ferris_errors() -> Iterator[None]:
    from dx_jupyter.errors import DXError

    try:
        yield
    except DXError as err:
        raise FerrisError(err.message, kind=err.kind) from None


class StoreBackend(ContextBackend):
    mode = "store"

    def __init__(
        self,
        backend: Any,
        project: Optional[str] = None,
        package: Optional[str] = None,
        params: Optional[dict[str, Any]] = None,
    ) -> None:
        if package and not project:
            raise FerrisError("use_store(): a package is addressed with its project: give project=...")
        if params is not None and not isinstance(params, dict):
            raise FerrisError("use_store(): params must be a dict")
        self.backend = backend
        self.project = project or None
        self.package_name = package or None
        self._package: Optional[PackageInfo] = None
        self._config: dict[str, Any] = {}
        with _as_ferris_errors():
            if self.package_name:
                info = backend.packages.get(self.project, self.package_name)
                self._package = PackageInfo(info["name"], info["id"])
                self._config = info["config"]
            elif self.project:
                backend.projects.get(self.project)
        self._params = dict(params or {})
        if self._package is not None:
            self._params.setdefault("package_name", self._package.name)
            self._params.setdefault("package_id", self._package.id)
        self._state_service: Any = getattr(backend, "state", None)

    def _need_package(self, what: str) -> PackageInfo:
        if self._package is None:
            raise FerrisError(f"{what} needs a package: bind one with use_store(backend, project=..., package=...)")
        return self._package

    def params(self) -> dict[str, Any]:
        self._need_package("context.params")
        return self._params

    def package(self) -> PackageInfo:
        return self._need_package("context.package")

    def config(self) -> dict[str, Any]:
        self._need_package("context.config")
        return self._config

    def get_secret(self, name: str) -> Any:
        with _as_ferris_errors():
            return self.backend.secrets.resolve(name, self.project, self.package_name)

    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        with _as_ferris_errors():
            return self.backend.secrets.set(name, value, scope, self.project, self.package_name).to_dict()

    def _state(self) -> Any:
        if self._state_service is None:
            from dx_jupyter.services.state import StateService

            self._state_service = StateService(self.backend.store)
        return self._state_service

    def get_state(self) -> dict[str, Any]:
        pkg = self._need_package("context.state")
        with _as_ferris_errors():
            return self._state().get(pkg.id)

    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        pkg = self._need_package("context.state")
        with _as_ferris_errors():
            return self._state().put(pkg.id, key, value)

    def schedule_job(self, job: dict[str, Any]) -> str:
        """A job row in the store; a dx_jupyter server on that store runs it when it is due."""
        pkg = self._need_package("context.scheduler")
        from dx_jupyter.services.scheduler import SchedulerService

        job = dict(job)
        with _as_ferris_errors():
            return SchedulerService(self.backend.store).create(pkg.id, **job)["id"]

    def send_event(self, event: dict[str, Any]) -> str:
        """An event row in the store; a dx_jupyter server on that store starts the executions
        it triggers (its scheduler loop dispatches events recorded without a server)."""
        from dx_jupyter.services.events import Caller, EventsService

        pkg = self._need_package("context.events")
        caller = Caller("", pkg.id, self.project or "", pkg.name, 0)
        with _as_ferris_errors():
            recorded = EventsService(self.backend.store).record(caller=caller, **event)
        return recorded["id"]
