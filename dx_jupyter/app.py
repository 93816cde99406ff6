"""The `dx_jupyter` server extension."""
from __future__ import annotations

import os
import secrets as pysecrets
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float, Int, Type, Unicode, default, validate

from ._version import __version__
from .backend import default_data_dir, default_db_url, open_backend
from .core import DXCore
from .executors.base import Executor
from .executors.local import LocalExecutor
from .kernel_env import API_URL_ENV, MASK_ENV, TOKEN_ENV, export_to_kernels, kernel_api_url
from .keyring import EnvOrFileMasterKeyProvider, MasterKeyProvider, decode_key
from .routes import route_table
from .scheduling import Triggers
from .secrets_file import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_VALUE_BYTES, Limits
from .services.events import DEFAULT_MAX_DEPTH, EventsService
from .services.executions import ExecutionsService
from .services.packages import DEFAULT_MAX_SCRIPT_BYTES
from .services.scheduler import SchedulerService
from .store.database import PoolSettings

EXECUTOR_KEY_ENV = "DX_EXECUTOR_KEY"


class DXJupyter(ExtensionApp):
    """DX packages, scoped secrets and executions inside Jupyter."""

    name = "dx_jupyter"
    version = __version__
    description = __doc__

    data_dir = Unicode(
        "", config=True, help="Folder of the SQLite store and the master key file "
        "(default: <jupyter data dir>/dx_jupyter)."
    )
    db_url = Unicode(
        "", config=True, help="SQLAlchemy URL of the store; default: SQLite at <data_dir>/dx.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dx"
    )
    master_key_provider_class = Type(
        EnvOrFileMasterKeyProvider, klass=MasterKeyProvider, config=True,
        help="Where the master key comes from. The default reads $DX_MASTER_KEY (base64 of 32 "
        "bytes) or <data_dir>/master.key, created with mode 0600 on first start.",
    )
    executor_class = Type(
        LocalExecutor, klass=Executor, config=True,
        help="Runs executions: local processes by default, or dx_jupyter.executors.dask.DaskExecutor.",
    )
    executor_key = Unicode(
        "", config=True, help="Base64 key that seals run events for the executor (also "
        "$DX_EXECUTOR_KEY). Default: derived from the master key; set one for remote workers.",
    )
    api_url = Unicode(
        "", config=True, help="URL of this server's dx API as scripts reach it "
        "(default: the server's own URL + dx/api). Set it when workers run on other hosts.",
    )
    redact_results = Bool(
        True, config=True, help="Mask secret values in stored step results as [REDACTED]."
    )
    mask_kernel_outputs = Bool(
        True, config=True, help="In kernels this server starts, mask secret values read through "
        "ferris_ef in the kernel's outputs as [REDACTED] (exported as $DX_MASK_OUTPUTS; "
        "`%dx_mask off` turns it off in one kernel). See docs/notebooks.md.",
    )
    max_secret_bytes = Int(DEFAULT_MAX_VALUE_BYTES, config=True, help="Largest secret value, as JSON.")
    max_secrets_file_bytes = Int(DEFAULT_MAX_FILE_BYTES, config=True, help="Largest secrets.json upload.")
    max_script_bytes = Int(DEFAULT_MAX_SCRIPT_BYTES, config=True, help="Largest script file.")
    db_threads = Int(8, config=True, help="Threads that run store and crypto work off the event loop.")
    db_pool_size = Int(
        10, config=True, help="PostgreSQL: connections kept open in the pool (SQLite ignores it). "
        "At least db_threads plus the executor's reporting threads.",
    )
    db_max_overflow = Int(
        10, config=True, help="PostgreSQL: extra connections opened under load above db_pool_size.",
    )
    db_pool_recycle = Int(
        1800, config=True, help="PostgreSQL: seconds after which a pooled connection is replaced.",
    )
    scheduler_interval = Float(
        10.0, config=True, help="Seconds between two rounds of the scheduler loop, which starts "
        "due jobs (context.scheduler, manifest schedules) and events recorded without a server.",
    )
    max_event_depth = Int(
        DEFAULT_MAX_DEPTH, config=True, help="Longest chain of events triggering executions that "
        "send events; a deeper event is refused (a loop guard).",
    )

    @validate("scheduler_interval")
    def _check_scheduler_interval(self, proposal: Any) -> float:
        if not proposal["value"] > 0:
            raise ValueError("DXJupyter.scheduler_interval must be a number of seconds above 0")
        return proposal["value"]

    @validate("max_event_depth")
    def _check_max_event_depth(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError("DXJupyter.max_event_depth must be at least 1")
        return proposal["value"]

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(default_data_dir())

    def _master_key(self) -> bytes:
        provider = self.master_key_provider_class(parent=self)
        if isinstance(provider, EnvOrFileMasterKeyProvider) and not provider.key_file:
            provider.key_file = str(Path(self.data_dir) / "master.key")
        return provider.get_master_key()

    def _executor_key(self, backend: Any) -> bytes:
        configured = self.executor_key or os.environ.get(EXECUTOR_KEY_ENV, "")
        if configured:
            return decode_key(configured, "the executor key")
        return backend.keyring.executor_key()

    def _api_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        return url_path_join(self.serverapp.connection_url, "dx/api")

    def initialize_settings(self) -> None:
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        limits = Limits(self.max_secrets_file_bytes, self.max_secret_bytes)
        try:
            backend = open_backend(
                self.db_url or default_db_url(Path(self.data_dir)),
                self._master_key(),
                limits,
                self.max_script_bytes,
                PoolSettings(
                    size=self.db_pool_size,
                    max_overflow=self.db_max_overflow,
                    recycle=self.db_pool_recycle,
                ),
            )
        except Exception as err:
            self.log.critical("dx_jupyter cannot start: %s", err)
            raise
        executor_key = self._executor_key(backend)
        executions = ExecutionsService(backend.store, backend.secrets, executor_key)
        recovered = executions.recover()
        if recovered:
            self.log.warning("dx_jupyter: %d unfinished execution(s) marked failed after restart", recovered)
        executor = self.executor_class(
            parent=self, reporter=executions, executor_key=executor_key,
            redact_results=self.redact_results,
        )
        executions.redact_min_length = executor.redact_min_length
        self.dx = DXCore(
            backend, executions, executor, self._api_url(),
            kernel_token=pysecrets.token_urlsafe(32), threads=self.db_threads,
        )
        self.settings["dx"] = self.dx
        self.triggers = Triggers(
            self.dx, SchedulerService(backend.store), EventsService(backend.store, self.max_event_depth),
            self.scheduler_interval,
        )
        self.settings["dx_triggers"] = self.triggers
        self.triggers.start()
        export_to_kernels(self.serverapp.kernel_manager, self._kernel_env)
        self.log.info("dx_jupyter %s: store %s, executor %s", __version__,
                      _safe_url(backend.store.url), type(executor).__name__)

    def _kernel_env(self) -> dict[str, str]:
        """What a kernel started by this server needs to reach the API (see kernel_env.py)."""
        return {
            API_URL_ENV: self.api_url.rstrip("/") or kernel_api_url(self.serverapp),
            TOKEN_ENV: self.dx.kernel_token,
            MASK_ENV: "1" if self.mask_kernel_outputs else "0",
        }

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table())

    async def stop_extension(self) -> None:
        triggers = getattr(self, "triggers", None)
        if triggers is not None:
            await triggers.stop()
        dx = getattr(self, "dx", None)
        if dx is not None:
            await dx.run_blocking(lambda: None)
            dx.shutdown()


def _safe_url(url: str) -> str:
    """The store URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


