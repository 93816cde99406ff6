"""Notebook widgets (ipywidgets 8, no custom JavaScript): one module per panel."""
from .execution import Execution, ExecutionView, Step
from .executions_table import ExecutionsTable
from .package_panel import PackagePanel
from .secrets_panel import SecretsPanel

__all__ = ["Execution", "ExecutionView", "ExecutionsTable", "PackagePanel", "SecretsPanel", "Step"]
