"""Finding projects, packages and secret owners by name or id inside a session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import names
from ..errors import InvalidInput, NotFound
from ..scopes import PACKAGE, PLATFORM, PROJECT, normalize_scope
from ..store.models import PLATFORM_ID, Package, Project


@dataclass(frozen=True)
class Owner:
    """Who a secret or a data key belongs to; `label` names it in messages."""

    scope: str
    id: str
    label: str


PLATFORM_OWNER = Owner(PLATFORM, PLATFORM_ID, "the platform")


def project_owner(project: Project) -> Owner:
    return Owner(PROJECT, project.id, f"project {project.name!r}")


def package_owner(package: Package, project_name: str) -> Owner:
    return Owner(PACKAGE, package.id, f"package {project_name}/{package.name}")


def get_project(session: Session, name: object) -> Project:
    names.owner_name("project", name)
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"project {name!r} does not exist")
    return project


def get_package(session: Session, project_name: object, package_name: object) -> Package:
    project = get_project(session, project_name)
    names.owner_name("package", package_name)
    package = session.scalar(
        select(Package).where(Package.project_id == project.id, Package.name == package_name)
    )
    if package is None:
        raise NotFound(f"package {package_name!r} does not exist in project {project.name!r}")
    return package


def get_package_by_id(session: Session, package_id: str) -> Package:
    package = session.get(Package, package_id)
    if package is None:
        raise NotFound(f"package id {package_id!r} does not exist")
    return package


def owner_for(
    session: Session, scope: str, project: Optional[str] = None, package: Optional[str] = None
) -> Owner:
    """The owner of a scope addressed by names; each scope needs exactly its own names."""
    scope = normalize_scope(scope)
    if scope == PLATFORM:
        return PLATFORM_OWNER
    if not project:
        raise InvalidInput(f"the {scope} scope needs a project name")
    if scope == PROJECT:
        return project_owner(get_project(session, project))
    if not package:
        raise InvalidInput("the package scope needs a package name")
    pkg = get_package(session, project, package)
    return package_owner(pkg, project)


def chain_for_package(session: Session, package_id: str) -> list[Owner]:
    """Owners a package reads from, in lookup order: package, project, platform."""
    pkg = get_package_by_id(session, package_id)
    return [package_owner(pkg, pkg.project.name), project_owner(pkg.project), PLATFORM_OWNER]


def chain_for_names(
    session: Session, project: Optional[str] = None, package: Optional[str] = None
) -> list[Owner]:
    if package:
        if not project:
            raise InvalidInput("a package is addressed with its project name")
        return chain_for_package(session, get_package(session, project, package).id)
    if project:
        return [project_owner(get_project(session, project)), PLATFORM_OWNER]
    return [PLATFORM_OWNER]
