"""JSON shapes of stored objects, shared by the REST API, the CLI and the widgets."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Optional

from ..store.models import Package, Project, Script


def iso(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
    }


def script_dict(script: Script) -> dict[str, Any]:
    return {
        "name": script.name,
        "order": script.position,
        "size": len(script.content.encode()),
        "updated_at": iso(script.updated_at),
    }


def package_dict(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "name": package.name,
        "project": package.project.name,
        "description": package.description,
        "scripts": [script_dict(s) for s in package.scripts],
        "config": json.loads(package.config_json),
        # its manifest.json (services/manifest.py)
        "schedule": package.schedule,
        "trigger_events": json.loads(package.trigger_events_json or "[]"),
        "active": package.active is not False,
        "allow_manual_triggering": package.allow_manual_triggering is not False,
        "created_at": iso(package.created_at),
        "updated_at": iso(package.updated_at),
    }
