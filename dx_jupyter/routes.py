"""URL table of the REST API under `/dx/api`."""
from __future__ import annotations

from typing import Any

from .handlers import executions, kernel, openapi, packages, projects, report, runtime, scheduling, secrets

API = r"/dx/api"
NAME = r"([^/]+)"
PROJECT = rf"{API}/projects/{NAME}"
PACKAGE = rf"{PROJECT}/packages/{NAME}"
EXECUTION = rf"{API}/executions/{NAME}"
# Notebook kernels: the same routes under runtime/kernel, with the kernel token (handlers/kernel.py)
KAPI = rf"{API}/runtime/kernel"
KPROJECT = rf"{KAPI}/projects/{NAME}"
KPACKAGE = rf"{KPROJECT}/packages/{NAME}"
KEXECUTION = rf"{KAPI}/executions/{NAME}"


def route_table() -> list[tuple[str, Any]]:
    return [
        (rf"{API}/openapi.json", openapi.OpenAPIHandler),
        (rf"{API}/projects", projects.ProjectsHandler),
        (PROJECT, projects.ProjectHandler),
        (rf"{PROJECT}/packages", packages.PackagesHandler),
        (PACKAGE, packages.PackageHandler),
        (rf"{PACKAGE}/scripts/{NAME}", packages.ScriptHandler),
        (rf"{API}/secrets/platform", secrets.SecretsHandler),
        (rf"{API}/secrets/platform/{NAME}", secrets.SecretHandler),
        (rf"{PROJECT}/secrets", secrets.SecretsHandler),
        (rf"{PROJECT}/secrets/{NAME}", secrets.SecretHandler),
        (rf"{PACKAGE}/secrets", secrets.SecretsHandler),
        (rf"{PACKAGE}/secrets/{NAME}", secrets.SecretHandler),
        (rf"{PACKAGE}/executions", executions.PackageExecutionsHandler),
        (EXECUTION, executions.ExecutionHandler),
        (rf"{EXECUTION}/steps", executions.StepsHandler),
        (rf"{EXECUTION}/steps/([0-9]+)/result", executions.StepResultHandler),
        (rf"{EXECUTION}/cancel", executions.CancelHandler),
        (rf"{API}/runtime/secrets/{NAME}", runtime.RuntimeSecretHandler),
        (rf"{API}/runtime/state", runtime.RuntimeStateHandler),
        (rf"{KAPI}/projects", kernel.KernelProjectsHandler),
        (KPROJECT, kernel.KernelProjectHandler),
        (rf"{KPROJECT}/packages", kernel.KernelPackagesHandler),
        (KPACKAGE, kernel.KernelPackageHandler),
        (rf"{KAPI}/secrets/platform", kernel.KernelSecretsHandler),
        (rf"{KPROJECT}/secrets", kernel.KernelSecretsHandler),
        (rf"{KPACKAGE}/secrets", kernel.KernelSecretsHandler),
        (rf"{KPACKAGE}/executions", kernel.KernelPackageExecutionsHandler),
        (KEXECUTION, kernel.KernelExecutionHandler),
        (rf"{KEXECUTION}/steps", kernel.KernelStepsHandler),
        (rf"{KEXECUTION}/steps/([0-9]+)/result", kernel.KernelStepResultHandler),
        (rf"{KEXECUTION}/cancel", kernel.KernelCancelHandler),
        (rf"{API}/runtime/executions/{NAME}/report", report.ExecutionReportHandler),
        (rf"{API}/runtime/scheduler/jobs", scheduling.RuntimeJobsHandler),
        (rf"{API}/runtime/events", scheduling.RuntimeEventsHandler),
        (rf"{PACKAGE}/jobs", scheduling.PackageJobsHandler),
        (rf"{PACKAGE}/jobs/{NAME}", scheduling.PackageJobHandler),
        (rf"{API}/events", scheduling.EventsHandler),
    ]
