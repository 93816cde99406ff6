"""Packages: ordered Python scripts plus config; their secrets.json goes to the secrets service.

`secrets.json` is read at upload and its values stored encrypted in the package scope; the file
is kept nowhere, and never becomes a script, even when it arrives among the script files (the
platform's UI lets users add it with "Add more scripts").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import names
from ..errors import Conflict, InvalidContent, InvalidInput, NotFound, TooLarge
from ..store import Store
from ..store.models import Package, Script
from .manifest import MANIFEST_FILE, apply_manifest, parse_manifest
from .owners import get_package, get_project, package_owner
from .secrets import SecretsService
from .serialize import package_dict

SECRETS_FILE = "secrets.json"
CONFIG_FILE = "config.json"
DEFAULT_MAX_SCRIPT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its name and raw bytes."""

    filename: str
    body: bytes


def _text(upload: Upload) -> str:
    try:
        return upload.body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidContent(f"{upload.filename} is not UTF-8 text") from None


def parse_config(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Upload):
        try:
            raw = json.loads(_text(raw))
        except json.JSONDecodeError as err:
            raise InvalidContent(f"config.json is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(raw, dict):
        raise InvalidContent("config.json must hold a JSON object")
    return raw


class PackagesService:
    def __init__(
        self, store: Store, secrets: SecretsService, max_script_bytes: int = DEFAULT_MAX_SCRIPT_BYTES
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.max_script_bytes = max_script_bytes

    def _script_source(self, upload: Upload) -> str:
        names.script_name(upload.filename)
        if len(upload.body) > self.max_script_bytes:
            raise TooLarge(
                f"script {upload.filename!r} is {len(upload.body)} bytes; the limit is {self.max_script_bytes}"
            )
        source = _text(upload)
        try:
            compile(source, upload.filename, "exec", dont_inherit=True)
        except SyntaxError as err:
            raise InvalidContent(
                f"script {upload.filename!r} has a syntax error at line {err.lineno}: {err.msg}"
            ) from None
        return source

    def _sources(self, scripts: Sequence[Upload]) -> list[tuple[str, str]]:
        sources = [(u.filename, self._script_source(u)) for u in scripts]
        if len({n for n, _ in sources}) != len(sources):
            raise InvalidInput("two scripts have the same file name")
        return sources

    @staticmethod
    def _split(
        scripts: Sequence[Upload], secrets: Optional[Upload], config: Any, manifest: Any = None
    ) -> tuple[list[Upload], Optional[Upload], Any, Any]:
        """Pull a secrets.json, config.json or manifest.json out of the script files."""
        kept = []
        for upload in scripts:
            if upload.filename == SECRETS_FILE and secrets is None:
                secrets = upload
            elif upload.filename == CONFIG_FILE and config is None:
                config = upload
            elif upload.filename == MANIFEST_FILE and manifest is None:
                manifest = upload
            else:
                kept.append(upload)
        return kept, secrets, config, manifest

    def create(
        self,
        project: str,
        name: object,
        description: object = "",
        scripts: Sequence[Upload] = (),
        secrets: Optional[Upload] = None,
        config: Any = None,
        manifest: Any = None,
    ) -> dict[str, Any]:
        """One transaction: a bad script, config, manifest or secrets.json stores nothing."""
        names.owner_name("package", name)
        if not isinstance(description, str):
            raise InvalidInput("package description must be a string")
        scripts, secrets, config, manifest = self._split(scripts, secrets, config, manifest)
        sources = self._sources(scripts)
        config_dict = parse_config(config) if config is not None else {}
        manifest_fields = parse_manifest(manifest) if manifest is not None else {}
        description = description or manifest_fields.get("description", "")
        try:
            with self.store.write() as session:
                proj = get_project(session, project)
                if session.scalar(select(Package.id).where(Package.project_id == proj.id, Package.name == name)):
                    raise Conflict(f"package {name!r} already exists in project {proj.name!r}")
                package = Package(
                    project=proj, name=name, description=description, config_json=json.dumps(config_dict)
                )
                package.scripts = [Script(name=n, position=i, content=s) for i, (n, s) in enumerate(sources, 1)]
                session.add(package)
                session.flush()
                apply_manifest(session, package, manifest_fields)
                out = package_dict(package)
                if secrets is not None:
                    result = self.secrets.upload_in(session, package_owner(package, proj.name), secrets.body)
                    out["secrets"] = {"stored": result.stored}
                return out
        except IntegrityError:
            raise Conflict(f"package {name!r} already exists in project {project!r}") from None

    def list(self, project: str, query: str = "") -> list[dict[str, Any]]:
        with self.store.read() as session:
            proj = get_project(session, project)
            stmt = select(Package).where(Package.project_id == proj.id).order_by(Package.name)
            if query:
                stmt = stmt.where(Package.name.icontains(query, autoescape=True))
            return [package_dict(p) for p in session.scalars(stmt)]

    def get(self, project: str, package: str) -> dict[str, Any]:
        with self.store.read() as session:
            return package_dict(get_package(session, project, package))

    def get_id(self, project: str, package: str) -> str:
        with self.store.read() as session:
            return get_package(session, project, package).id

    def script_source(self, project: str, package: str, script: str) -> str:
        with self.store.read() as session:
            pkg = get_package(session, project, package)
            for s in pkg.scripts:
                if s.name == script:
                    return s.content
            raise NotFound(f"script {script!r} does not exist in package {project}/{package}")

    def update(
        self,
        project: str,
        package: str,
        description: Any = None,
        config: Any = None,
        script_order: Optional[Sequence[str]] = None,
        scripts: Sequence[Upload] = (),
        remove_scripts: Sequence[str] = (),
        manifest: Any = None,
    ) -> dict[str, Any]:
        if description is not None and not isinstance(description, str):
            raise InvalidInput("package description must be a string")
        config_dict = parse_config(config) if config is not None else None
        manifest_fields = parse_manifest(manifest) if manifest is not None else None
        if description is None and manifest_fields:
            description = manifest_fields.get("description")
        sources = self._sources(scripts)
        with self.store.write() as session:
            pkg = get_package(session, project, package)
            if description is not None:
                pkg.description = description
            if config_dict is not None:
                pkg.config_json = json.dumps(config_dict)
            self._remove_scripts(pkg, remove_scripts)
            self._put_scripts(pkg, sources)
            if script_order is not None:
                self._reorder(pkg, script_order)
            if manifest_fields is not None:
                apply_manifest(session, pkg, manifest_fields)
            session.flush()
            session.refresh(pkg)
            return package_dict(pkg)

    @staticmethod
    def _remove_scripts(pkg: Package, remove: Sequence[str]) -> None:
        by_name = {s.name: s for s in pkg.scripts}
        for name in remove:
            if name not in by_name:
                raise NotFound(f"script {name!r} does not exist in package {pkg.name!r}")
            pkg.scripts.remove(by_name[name])
        for i, s in enumerate(pkg.scripts, 1):
            s.position = i

    @staticmethod
    def _put_scripts(pkg: Package, sources: list[tuple[str, str]]) -> None:
        by_name = {s.name: s for s in pkg.scripts}
        for name, source in sources:
            if name in by_name:
                by_name[name].content = source
            else:
                pkg.scripts.append(Script(name=name, position=len(pkg.scripts) + 1, content=source))

    @staticmethod
    def _reorder(pkg: Package, order: Sequence[str]) -> None:
        current = {s.name: s for s in pkg.scripts}
        if not isinstance(order, (list, tuple)) or sorted(order) != sorted(current):
            raise InvalidInput(
                f"script_order must list each script of the package once: {sorted(current)}"
            )
        for i, name in enumerate(order, 1):
            current[name].position = i
        pkg.scripts.sort(key=lambda s: s.position)

    def delete(self, project: str, package: str) -> None:
        with self.store.write() as session:
            pkg = get_package(session, project, package)
            self.secrets.delete_owner(session, package_owner(pkg, project))
            session.delete(pkg)

