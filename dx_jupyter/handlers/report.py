"""`POST /dx/api/runtime/executions/{id}/report`: progress of a run that executes on a remote
worker (the Dask executor), authenticated by the execution's own token in `X-DX-Token`.

The body is one event (run_started, step_started, step_finished, run_finished, heartbeat; see
dx_jupyter/run_reports.py); the answer `{"ok": true, "cancel": bool}` tells the worker whether a
user asked to cancel the run. 403: the token is missing, unknown, ended, or another execution's.
409: the execution is not pending (run_started) or not in progress (step reports).
"""
from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from ..services.reports import apply_report
from .base import translate_errors
from .runtime import TOKEN_HEADER, RuntimeHandler

# A step's output is capped at max_output_bytes on the worker; redaction and the replacement
# of undecodable bytes can make the text somewhat longer than that.
OUTPUT_SLACK_FACTOR = 4
OUTPUT_SLACK_CHARS = 64 * 1024


class ExecutionReportHandler(RuntimeHandler):
    @allow_unauthenticated
    @translate_errors
    async def post(self, execution_id: str) -> None:
        token = self.request.headers.get(TOKEN_HEADER, "")
        body = self.json_object()
        executor = self.dx.executor
        limit = executor.max_output_bytes * OUTPUT_SLACK_FACTOR + OUTPUT_SLACK_CHARS
        await self.call(apply_report, self.dx.executions, execution_id, token, body, limit)
        self.reply({"ok": True, "cancel": bool(executor.cancel_requested(execution_id))})
