"""Executors run executions somewhere: local processes by default, or a Dask cluster."""
from .base import Executor
from .local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
