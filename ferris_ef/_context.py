"""`ferris_ef.context`: a module-like object whose backend is chosen at first use.

Choice, first match wins:
1. a runtime payload installed by `python -m ferris_ef.launch` (an execution step);
2. `EF_ENV=local`: `ef_env.json` in the current folder;
3. a store bound with `ferris_ef.use_store(backend, project=..., package=...)`;
4. a notebook kernel: the server's runtime API (backends/kernel.py, `%dx_use`); in an IPython
   kernel that no dx_jupyter server started, a FerrisError that says how to connect;
5. otherwise a FerrisError that names these ways.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Optional

from .backends.base import (
    ContextBackend,
    PackageInfo,
    check_event,
    check_job,
    check_secret_name,
    normalize_scope,
)
from .errors import FerrisError

_lock = threading.RLock()
_runtime_payload: Optional[dict[str, Any]] = None
_store_binding: Optional["StoreBinding"] = None
_backend: Optional[ContextBackend] = None

NO_CONTEXT = (
    "ferris_ef has no context to read from. Either run the script as a step of a DX package "
    "execution (the executor starts it with `python -m ferris_ef.launch`), or set EF_ENV=local "
    "and put an ef_env.json in the current folder, or bind a store with "
    "ferris_ef.use_store(backend, project=..., package=...)"
)


def install_runtime(payload: dict[str, Any]) -> None:
    """Used by ferris_ef.launch: make this process's context read the step payload."""
    global _runtime_payload, _backend
    from .backends.runtime import RuntimeBackend

    backend = RuntimeBackend(payload)  # validates before anything is installed
    with _lock:
        _runtime_payload = payload
        _backend = backend


def reset_context() -> None:
    """Forget the chosen backend (and any store binding); the next use chooses again."""
    global _runtime_payload, _store_binding, _backend
    with _lock:
        _runtime_payload = None
        _store_binding = None
        _backend = None
    context._logger = None


class StoreBinding:
    """What `use_store` returns: `close()` (or leaving a `with` block) unbinds the store."""

    def __init__(self, backend: ContextBackend) -> None:
        self.backend = backend

    def close(self) -> None:
        global _store_binding, _backend
        with _lock:
            if _store_binding is self:
                _store_binding = None
                if _backend is self.backend:
                    _backend = None
                    context._logger = None

    def __enter__(self) -> "StoreBinding":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def use_store(
    backend: Any,
    project: Optional[str] = None,
    package: Optional[str] = None,
    params: Optional[dict[str, Any]] = None,
) -> StoreBinding:
    """Bind `context` to a `dx_jupyter.backend.Backend` for `project`/`package`.

    A runtime payload or EF_ENV=local still win over a store binding (a warning says so).
    """
    global _store_binding, _backend
    from .backends.store import StoreBackend

    binding = StoreBinding(StoreBackend(backend, project=project, package=package, params=params))
    if _runtime_payload is not None or os.environ.get("EF_ENV") == "local":
        import warnings

        warnings.warn(
            "ferris_ef.use_store(): the store binding is not used because "
            + ("this process runs an execution step" if _runtime_payload is not None else "EF_ENV=local is set"),
            stacklevel=2,
        )
    with _lock:
        _store_binding = binding
        if _backend is not None and _backend.mode == "store":
            _backend = None
            context._logger = None
    return binding


def current_backend() -> ContextBackend:
    """The backend `context` uses, chosen now if it was not chosen yet."""
    global _backend
    backend = _backend
    if backend is not None:
        return backend
    with _lock:
        if _backend is None:
            _backend = _choose()
        return _backend


def _choose() -> ContextBackend:
    if _runtime_payload is not None:
        from .backends.runtime import RuntimeBackend

        return RuntimeBackend(_runtime_payload)
    if os.environ.get("EF_ENV") == "local":
        from .backends.local import LocalBackend

        return LocalBackend()
    if _store_binding is not None:
        return _store_binding.backend
    from .backends.kernel import kernel_backend

    kernel = kernel_backend()
    if kernel is not None:
        return kernel
    raise FerrisError(NO_CONTEXT)


class Secrets:
    """`context.secrets`."""

    __slots__ = ()

    def get(self, name: str) -> Any:
        """The secret `name`: package scope first, then project, then platform; else None."""
        name = check_secret_name(name)
        return current_backend().get_secret(name)

    def set(self, name: str, value: Any, context: str) -> dict[str, Any]:
        """Create or update `name` in `context`: "project", "platform" or "package" ("service").

        Returns the secret's metadata (name, scope, ...), never its value.
        """
        name, scope = check_secret_name(name), normalize_scope(context)
        return current_backend().set_secret(name, value, scope)

    def __repr__(self) -> str:
        return "<ferris_ef context.secrets>"


class State:
    """`context.state`: the package's state, kept across executions."""

    __slots__ = ()

    def get(self) -> dict[str, Any]:
        return current_backend().get_state()

    def put(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        if not isinstance(key, str) or not key:
            raise FerrisError(f"a state key must be a non-empty string, got {key!r}")
        return current_backend().put_state(key, value)

    def __repr__(self) -> str:
        return "<ferris_ef context.state>"


class Scheduler:
    """`context.scheduler`: later executions of this package."""

    __slots__ = ()

    def schedule(self, minutes: float = 0, hours: float = 0, days: float = 0,
                 cron_expression: Optional[str] = None, parameters: Optional[dict[str, Any]] = None) -> str:
        """Run this package again after the delay, or on `cron_expression` (which wins; 5 fields,
        UTC), with `parameters` as its params. Returns the job id."""
        job = check_job("scheduled", minutes, hours, days, cron_expression, parameters)
        return current_backend().schedule_job(job)

    def retry(self, minutes: float = 0, hours: float = 0, days: float = 0,
              cron_expression: Optional[str] = None, parameters: Optional[dict[str, Any]] = None) -> str:
        """As `schedule()`; the execution it starts has the trigger "retry"."""
        job = check_job("retry", minutes, hours, days, cron_expression, parameters)
        return current_backend().schedule_job(job)

    def __repr__(self) -> str:
        return "<ferris_ef context.scheduler>"


class Events:
    """`context.events`: events that trigger the packages whose manifest lists their type."""

    __slots__ = ()

    def send(self, event_type: str, event_source: Optional[str] = None, data: Optional[dict[str, Any]] = None,
             topic: Optional[str] = None, reference_id: Optional[str] = None) -> str:
        """Send an event (CloudEvents shape); `data` becomes the params of the executions it
        triggers. Returns the event id."""
        event = check_event(event_type, event_source, data, topic, reference_id)
        return current_backend().send_event(event)

    def __repr__(self) -> str:
        return "<ferris_ef context.events>"


class Context:
    """The object behind `from ferris_ef import context`."""

    def __init__(self) -> None:
        self.secrets = Secrets()
        self.state = State()
        self.scheduler = Scheduler()
        self.events = Events()
        self._logger: Any = None

    @property
    def params(self) -> dict[str, Any]:
        return current_backend().params()

    parameters = params

    @property
    def package(self) -> PackageInfo:
        return current_backend().package()

    @property
    def config(self) -> dict[str, Any]:
        return current_backend().config()

    configs = config

    @property
    def logging(self) -> Any:
        """A logging.Logger named after the package, at the config's LOG_LEVEL (default INFO)."""
        if self._logger is None:
            from ._logging import make_logger

            backend = current_backend()
            self._logger = make_logger(backend.package().name, backend.config().get("LOG_LEVEL"))
        return self._logger

    def __dir__(self) -> list[str]:
        return ["config", "configs", "events", "logging", "package", "parameters", "params", "scheduler",
                "secrets", "state"]

    def __repr__(self) -> str:
        backend = _backend
        return f"<ferris_ef context ({backend.describe() if backend else 'not chosen yet'})>"


context = Context()
