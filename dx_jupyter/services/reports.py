"""Progress reports from runs that execute away from the server (see dx_jupyter/run_reports.py).

The rules: the token must be the execution's own live token; `run_started` only moves a
pending execution (so a run Dask re-schedules after a worker died never executes twice); step
reports only while the execution is in progress and only for its own steps; results within a
size bound. Each report is applied through the same ExecutionsService methods a local run uses.
"""
from __future__ import annotations

from typing import Any

from ..errors import Conflict, InvalidInput, TooLarge
from ..run_reports import EVENTS, HEARTBEAT, RUN_FINISHED, RUN_STARTED, STEP_FINISHED, STEP_STARTED, result_from_json
from ..runner import CANCELLED, COMPLETED, FAILED
from .executions import IN_PROGRESS, PENDING, ExecutionsService

STEP_STATUSES = (COMPLETED, FAILED, CANCELLED)
MAX_MESSAGE_CHARS = 4000


def apply_report(
    executions: ExecutionsService, execution_id: str, token: str, body: Any, max_output_chars: int
) -> str:
    """Check and record one report; returns the event name."""
    if not isinstance(body, dict) or body.get("event") not in EVENTS:
        raise InvalidInput(f"the body must be a JSON object with an \"event\" among {list(EVENTS)}")
    event = body["event"]
    status, numbers = executions.report_target(token, execution_id)  # Forbidden if not its token

    if event == RUN_STARTED:
        if status != PENDING or not executions.run_started(execution_id):
            raise Conflict(
                f"execution {execution_id} is no longer pending; it will not be started again"
            )
    elif event == HEARTBEAT:
        pass
    elif event in (STEP_STARTED, STEP_FINISHED):
        if status != IN_PROGRESS:
            raise Conflict(f"execution {execution_id} is {status}: no step reports before run_started")
        if event == STEP_STARTED:
            number = body.get("number")
            if not isinstance(number, int) or isinstance(number, bool) or number not in numbers:
                raise InvalidInput(f"execution {execution_id} has no step {number!r}")
            executions.step_started(execution_id, number)
        else:
            try:
                result = result_from_json(body.get("result"))
            except ValueError as err:
                raise InvalidInput(str(err)) from None
            if result.number not in numbers:
                raise InvalidInput(f"execution {execution_id} has no step {result.number}")
            if result.status not in STEP_STATUSES:
                raise InvalidInput(f"result.status must be one of {list(STEP_STATUSES)}")
            if len(result.output) > max_output_chars:
                raise TooLarge(
                    f"result.output is {len(result.output)} characters; the limit is {max_output_chars}"
                )
            executions.step_finished(execution_id, result)
    elif event == RUN_FINISHED:
        final, message = body.get("status"), body.get("message", "")
        if final not in STEP_STATUSES:
            raise InvalidInput(f"status must be one of {list(STEP_STATUSES)}")
        if not isinstance(message, str):
            raise InvalidInput("message must be a string")
        executions.run_finished(execution_id, final, message[:MAX_MESSAGE_CHARS])
    return event
