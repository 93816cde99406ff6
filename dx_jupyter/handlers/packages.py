from __future__ import annotations

from typing import Any, Optional

from ..errors import InvalidInput
from ..services.packages import Upload
from .base import DXHandler, api


def _json_scripts(raw: Any) -> list[Upload]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("content"), str)
        for s in raw
    ):
        raise InvalidInput('scripts must be a list of {"name": "x.py", "content": "..."}')
    return [Upload(s["name"], s["content"].encode()) for s in raw]


def _names(field: str, raw: Any) -> Any:
    """A JSON list of script names, or None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise InvalidInput(f"{field} must be a list of script names")
    return raw


def _manifest(raw: Any) -> Any:
    """The JSON field `manifest`: an object of manifest.json fields, or None when absent."""
    if raw is not None and not isinstance(raw, dict):
        raise InvalidInput("manifest must be a JSON object of manifest.json fields")
    return raw


class PackageFormMixin(DXHandler):
    def is_multipart(self) -> bool:
        return self.request.headers.get("Content-Type", "").startswith("multipart/form-data")

    def files(self, field: str) -> list[Upload]:
        return [Upload(f.filename or field, f.body) for f in self.request.files.get(field, [])]

    def one_file(self, field: str) -> Optional[Upload]:
        found = self.files(field)
        if len(found) > 1:
            raise InvalidInput(f"send at most one {field!r} file")
        return found[0] if found else None

    def form_value(self, field: str, default: Optional[str] = None) -> Optional[str]:
        values = self.request.body_arguments.get(field)
        return values[0].decode("utf-8", errors="replace") if values else default

    def check_form(self, values: set[str], files: set[str]) -> None:
        """Refuse form fields the route does not read: a misnamed file would be silently lost."""
        misplaced = sorted(set(self.request.body_arguments) & files)
        if misplaced:
            raise InvalidInput(f"send {', '.join(misplaced)} as file(s), not as text fields")
        unknown = sorted((set(self.request.body_arguments) - values) | (set(self.request.files) - files))
        if unknown:
            raise InvalidInput(
                f"unknown form fields: {', '.join(unknown)}; "
                f"send {', '.join(sorted(values))} and the files {', '.join(sorted(files))}"
            )


class PackagesHandler(PackageFormMixin):
    @api
    async def get(self, project: str) -> None:
        query = self.get_query_argument("q", "")
        self.reply({"packages": await self.call(self.dx.backend.packages.list, project, query)})

    @api
    async def post(self, project: str) -> None:
        if self.is_multipart():
            self.check_form({"name", "description"}, {"scripts", "secrets", "config", "manifest"})
            kwargs: dict[str, Any] = {
                "name": self.form_value("name"),
                "description": self.form_value("description", ""),
                "scripts": self.files("scripts"),
                "secrets": self.one_file("secrets"),
                "config": self.one_file("config"),
                "manifest": self.one_file("manifest"),
            }
        else:
            body = self.json_object()
            unknown = set(body) - {"name", "description", "scripts", "config", "manifest"}
            if unknown:
                raise InvalidInput(
                    f"unknown fields: {', '.join(sorted(unknown))}; a secrets.json goes in a "
                    "multipart upload or to .../secrets"
                )
            kwargs = {
                "name": body.get("name"),
                "description": body.get("description", ""),
                "scripts": _json_scripts(body.get("scripts")),
                "config": body.get("config"),
                "manifest": _manifest(body.get("manifest")),
            }
        if kwargs["name"] is None:
            raise InvalidInput("a package needs a name")
        package = await self.call(self.dx.backend.packages.create, project, **kwargs)
        self.reply(package, 201)


class PackageHandler(PackageFormMixin):
    @api
    async def get(self, project: str, package: str) -> None:
        self.reply(await self.call(self.dx.backend.packages.get, project, package))

    @api
    async def patch(self, project: str, package: str) -> None:
        if self.is_multipart():
            self.check_form({"description"}, {"scripts", "config", "manifest"})
            kwargs: dict[str, Any] = {"scripts": self.files("scripts"), "config": self.one_file("config"),
                                      "manifest": self.one_file("manifest")}
            description = self.form_value("description")
            if description is not None:
                kwargs["description"] = description
        else:
            body = self.json_object()
            unknown = set(body) - {"description", "config", "script_order", "scripts", "remove_scripts",
                                   "manifest"}
            if unknown:
                raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
            kwargs = {
                "description": body.get("description"),
                "config": body.get("config"),
                "script_order": _names("script_order", body.get("script_order")),
                "scripts": _json_scripts(body.get("scripts")),
                "remove_scripts": _names("remove_scripts", body.get("remove_scripts")) or [],
                "manifest": _manifest(body.get("manifest")),
            }
        self.reply(await self.call(self.dx.backend.packages.update, project, package, **kwargs))

    @api
    async def delete(self, project: str, package: str) -> None:
        await self.call(self.dx.backend.packages.delete, project, package)
        self.no_content()


class ScriptHandler(DXHandler):
    @api
    async def get(self, project: str, package: str, script: str) -> None:
        source = await self.call(self.dx.backend.packages.script_source, project, package, script)
        self.set_header("Content-Disposition", f'attachment; filename="{script}"')
        # APIHandler.finish sets the Content-Type (application/json unless told otherwise).
        self.finish(source, set_content_type="text/x-python; charset=utf-8")
