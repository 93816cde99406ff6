"""The executor interface the server talks to."""
from __future__ import annotations

from abc import abstractmethod
from typing import Any

from traitlets import Bool, Float, Int
from traitlets.config import LoggingConfigurable

from ..redaction import DEFAULT_MIN_LENGTH
from ..runner import RunReporter, RunSettings


class Executor(LoggingConfigurable):
    """Receives run events and reports progress to a `RunReporter`.

    The server builds the event (secrets sealed under the executor key) and never waits for
    the run; an executor must make sure every submitted run ends with `run_finished`.
    """

    step_timeout = Float(3600.0, config=True, help="Seconds a step may run before it is killed.")
    max_output_bytes = Int(
        1024 * 1024, config=True, help="Bytes of a step's output that are kept; the rest is dropped."
    )
    redact_results = Bool(
        True,
        config=True,
        help="Mask every secret value the run could read in step output ([REDACTED]). "
        "Turning it off stores results as the scripts printed them.",
    )
    redact_min_length = Int(
        DEFAULT_MIN_LENGTH, config=True, help="Secret values shorter than this are not masked."
    )

    def __init__(self, reporter: RunReporter, executor_key: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reporter = reporter
        self.executor_key = executor_key

    def settings(self) -> RunSettings:
        return RunSettings(
            step_timeout=self.step_timeout,
            max_output_bytes=self.max_output_bytes,
            redact=self.redact_results,
            redact_min_length=self.redact_min_length,
        )

    @abstractmethod
    def submit(self, event: dict[str, Any]) -> None:
        """Queue a run; returns at once."""

    @abstractmethod
    def cancel(self, execution_id: str) -> bool:
        """Stop a queued or running execution; False if this executor does not hold it."""

    def cancel_requested(self, execution_id: str) -> bool:
        """True when a user asked to cancel a run this executor holds on a remote worker (the
        worker learns it from the answer to its next progress report). Local runs: never."""
        return False

    @abstractmethod
    def shutdown(self) -> None:
        """Stop taking runs and end those in progress."""
