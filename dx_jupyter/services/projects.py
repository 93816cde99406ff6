"""Projects: containers of packages, owners of the project secret scope."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import names
from ..errors import Conflict, InvalidInput
from ..store import Store
from ..store.models import Project
from .owners import get_project, package_owner, project_owner
from .secrets import SecretsService
from .serialize import project_dict


class ProjectsService:
    def __init__(self, store: Store, secrets: SecretsService) -> None:
        self.store = store
        self.secrets = secrets

    def create(self, name: object, description: object = "") -> dict[str, Any]:
        names.owner_name("project", name)
        if not isinstance(description, str):
            raise InvalidInput("project description must be a string")
        try:
            with self.store.write() as session:
                if session.scalar(select(Project.id).where(Project.name == name)):
                    raise Conflict(f"project {name!r} already exists")
                project = Project(name=name, description=description)
                session.add(project)
                session.flush()
                return project_dict(project)
        except IntegrityError:
            raise Conflict(f"project {name!r} already exists") from None

    def list(self) -> list[dict[str, Any]]:
        with self.store.read() as session:
            return [project_dict(p) for p in session.scalars(select(Project).order_by(Project.name))]

    def get(self, name: str) -> dict[str, Any]:
        with self.store.read() as session:
            return project_dict(get_project(session, name))

    def delete(self, name: str) -> None:
        """Delete a project with its packages, their executions and every secret they own."""
        with self.store.write() as session:
            project = get_project(session, name)
            for package in project.packages:
                self.secrets.delete_owner(session, package_owner(package, project.name))
            self.secrets.delete_owner(session, project_owner(project))
            session.delete(project)
