"""Wiring of the store, the keyring and the services, shared by the server, the CLI and tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from jupyter_core.paths import jupyter_data_dir

from .keyring import Keyring
from .secrets_file import Limits
from .services.keys import record_master_key, verify_master_key
from .services.packages import DEFAULT_MAX_SCRIPT_BYTES, PackagesService
from .services.projects import ProjectsService
from .services.secrets import SecretsService
from .services.state import StateService
from .store import Store
from .store.database import PoolSettings, sqlite_url


def default_data_dir() -> Path:
    return Path(jupyter_data_dir()) / "dx_jupyter"


def default_db_url(data_dir: Optional[Path] = None) -> str:
    return sqlite_url((data_dir or default_data_dir()) / "dx.db")


@dataclass
class Backend:
    store: Store
    keyring: Keyring
    secrets: SecretsService
    projects: ProjectsService
    packages: PackagesService
    state: StateService

    def close(self) -> None:
        self.store.dispose()


def open_backend(
    db_url: str,
    master_key: bytes,
    limits: Limits = Limits(),
    max_script_bytes: int = DEFAULT_MAX_SCRIPT_BYTES,
    pool: PoolSettings = PoolSettings(),
) -> Backend:
    """Open (creating or upgrading) the store; refuse a wrong master key before touching it."""
    if db_url.startswith("sqlite:///"):
        Path(db_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = Store(db_url, pool=pool)
    keyring = Keyring(master_key)
    try:
        verify_master_key(store, keyring)
        store.upgrade()
        record_master_key(store, keyring)
    except BaseException:
        store.dispose()
        raise
    secrets = SecretsService(store, keyring, limits)
    return Backend(
        store=store,
        keyring=keyring,
        secrets=secrets,
        projects=ProjectsService(store, secrets),
        packages=PackagesService(store, secrets, max_script_bytes),
        state=StateService(store),
    )
