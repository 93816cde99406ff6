"""The interface every context backend implements, and the rules they share."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from ..errors import FerrisError

PACKAGE = "package"
PROJECT = "project"
PLATFORM = "platform"
SCOPES = (PACKAGE, PROJECT, PLATFORM)
_SYNONYMS = {"service": PACKAGE}


def normalize_scope(scope: object) -> str:
    """"project", "platform", or the package's own scope ("package", or the older "service")."""
    if isinstance(scope, str):
        name = _SYNONYMS.get(scope.lower(), scope.lower())
        if name in SCOPES:
            return name
    raise FerrisError(
        f"unknown secret context {scope!r}: use 'project', 'platform', or 'package' (also 'service')"
    )


def check_secret_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise FerrisError(f"a secret name must be a non-empty string, got {name!r}")
    return name


class PackageInfo:
    """`context.package`: the package being run."""

    __slots__ = ("name", "id")

    def __init__(self, name: str, id: str) -> None:
        self.name = name
        self.id = id

    def __repr__(self) -> str:
        return f"PackageInfo(name={self.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackageInfo) and (self.name, self.id) == (other.name, other.id)

    def __hash__(self) -> int:
        return hash((self.name, self.id))


class ContextBackend(ABC):
    """One way of answering `context.*`. Errors are `FerrisError`s."""

    #: short name shown in messages and in repr(context): "runtime", "local", "store"
    mode = ""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The execution parameters; always holds package_name and package_id."""

    @abstractmethod
    def package(self) -> PackageInfo:
        """The package being run."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The package configuration (its config.json)."""

    @abstractmethod
    def get_secret(self, name: str) -> Any:
        """package, then project, then platform scope; None when no scope has it."""

    @abstractmethod
    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        """Create or update a secret in a normalized scope; returns its metadata, never the value."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """The package's state dict."""

    @abstractmethod
    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        """Set one key of the package's state; returns the new state when the backend knows it."""

    def describe(self) -> str:
        try:
            pkg = self.package()
            return f"{self.mode}: package {pkg.name!r}"
        except FerrisError:
            return self.mode
