"""The extension's running state that handlers talk to: backend, executions, executor."""
from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from .backend import Backend
from .executors.base import Executor
from .identities import identify
from .services.executions import ExecutionsService

T = TypeVar("T")
log = logging.getLogger("dx_jupyter")


class DXCore:
    def __init__(
        self,
        backend: Backend,
        executions: ExecutionsService,
        executor: Executor,
        api_url: Optional[str],
        kernel_token: Optional[str] = None,
        threads: int = 8,
    ) -> None:
        self.backend = backend
        self.executions = executions
        self.executor = executor
        self.api_url = api_url
        self.kernel_token = kernel_token
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dx-db")

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def start_execution(
        self, project: str, package: str, params: Any, trigger: str = "manual", event_depth: int = 0,
    ) -> dict[str, Any]:
        info, event = await self.run_blocking(
            functools.partial(
                self.executions.create, project, package, params, trigger,
                api_url=self.api_url, event_depth=event_depth,
            )
        )
        try:
            await self.run_blocking(functools.partial(self.executor.submit, event))
        except Exception as err:  # recorded, not left pending until the next restart
            log.exception("execution %s: the executor did not take the run", info["id"])
            await self.run_blocking(
                functools.partial(
                    self.executions.run_finished, info["id"], "failed",
                    f"the executor did not take the run: {type(err).__name__}: {err}",
                )
            )
            return await self.run_blocking(functools.partial(self.executions.get, info["id"]))
        return info

    async def cancel_execution(self, execution_id: str) -> dict[str, Any]:
        await self.run_blocking(functools.partial(self.executions.mark_cancelled, execution_id))
        held = await self.run_blocking(functools.partial(self.executor.cancel, execution_id))
        if not held:
            await self.run_blocking(
                functools.partial(
                    self.executions.run_finished, execution_id, "cancelled", "cancelled by a user"
                )
            )
        return await self.run_blocking(functools.partial(self.executions.get, execution_id))

    def runtime_identity(self, token: str, project: Optional[str], package: Optional[str]) -> Any:
        return identify(self.backend, self.executions, token, self.kernel_token, project, package)

    def shutdown(self) -> None:
        self.executor.shutdown()
        self._pool.shutdown(wait=True)
        self.backend.close()
