"""Local backend (`EF_ENV=local`): `ef_env.json` and `ef_package_state.json` in the current folder.

The file format is the original ferris_ef's. Unlike the original, a missing secret is None,
`secrets.set` exists and persists into `ef_env.json`, and state survives the process.
Local mode has one flat `secrets` dict, so every scope given to `secrets.set` writes there.
`context.scheduler` and `context.events` never call a server here (the original's local
scheduler did): jobs are appended to `ef_scheduled_jobs.json` and events to `ef_events.json`
beside `ef_env.json`, and a log line says that local mode does not run them.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import FerrisError
from .base import ContextBackend, PackageInfo

ENV_FILE = "ef_env.json"
STATE_FILE = "ef_package_state.json"
JOBS_FILE = "ef_scheduled_jobs.json"
EVENTS_FILE = "ef_events.json"
log = logging.getLogger("ferris_ef")
SECTIONS = ("params", "secrets", "config")


def skeleton() -> dict[str, Any]:
    return {"params": {"package_name": "", "package_id": ""}, "secrets": {}, "config": {}}


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FerrisError(f"{path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except ValueError as err:
        raise FerrisError(f"{path} is not valid JSON: {err}") from None


def _write_json(path: Path, doc: Any) -> None:
    """Replace `path` atomically, keeping its permissions (new files are private: 0600)."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_value(what: str, value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise FerrisError(f"{what}: the value is not a JSON value: {err}") from None


class LocalBackend(ContextBackend):
    mode = "local"

    def __init__(self, directory: Optional[os.PathLike[str] | str] = None) -> None:
        self.dir = Path(directory if directory is not None else os.getcwd()).resolve()
        self.env_path = self.dir / ENV_FILE
        self.state_path = self.dir / STATE_FILE
        self.jobs_path = self.dir / JOBS_FILE
        self.events_path = self.dir / EVENTS_FILE
        self._doc = self._load()
        params = self._doc["params"]
        self._package = PackageInfo(str(params["package_name"]), str(params["package_id"]))

    # ----- ef_env.json -----
    def _load(self) -> dict[str, Any]:
        if not self.env_path.exists():
            self._write_skeleton()
            raise FerrisError(
                f"EF_ENV=local but {self.env_path} did not exist; a skeleton was written there: "
                "fill in params.package_name and params.package_id (both required), "
                "and your secrets and config, then run again"
            )
        doc = _read_json(self.env_path)
        if not isinstance(doc, dict):
            raise FerrisError(f"{self.env_path} must hold a JSON object with params, secrets and config")
        for section in SECTIONS:
            doc.setdefault(section, {})
            if not isinstance(doc[section], dict):
                raise FerrisError(f"{self.env_path}: {section!r} must be a JSON object")
        missing = [k for k in ("package_name", "package_id") if doc["params"].get(k) in (None, "")]
        if missing:
            raise FerrisError(
                f"{self.env_path}: params.package_name and params.package_id are required; "
                f"fill in {' and '.join('params.' + k for k in missing)}"
            )
        return doc

    def _write_skeleton(self) -> None:
        try:
            fd = os.open(self.env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it meanwhile
            return
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(skeleton(), f, indent=2)
            f.write("\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize read-modify-write of the folder's files between processes (POSIX flock)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # ----- the context -----
    def params(self) -> dict[str, Any]:
        return self._doc["params"]

    def package(self) -> PackageInfo:
        return self._package

    def config(self) -> dict[str, Any]:
        return self._doc["config"]

    def get_secret(self, name: str) -> Any:
        return self._doc["secrets"].get(name)

    def set_secret(self, name: str, value: Any, scope: str) -> dict[str, Any]:
        value = _json_value(f"secret {name!r}", value)
        with self._locked():
            doc = _read_json(self.env_path) if self.env_path.exists() else self._doc
            if not isinstance(doc, dict) or not isinstance(doc.setdefault("secrets", {}), dict):
                raise FerrisError(f"{self.env_path}: 'secrets' must be a JSON object")
            doc["secrets"][name] = value
            _write_json(self.env_path, doc)
        self._doc["secrets"][name] = value
        return {"name": name, "scope": scope}

    def _read_state(self) -> dict[str, Any]:
        if not self.state_path.exists():
            return {}
        state = _read_json(self.state_path)
        if not isinstance(state, dict):
            raise FerrisError(f"{self.state_path} must hold a JSON object")
        return state

    def get_state(self) -> dict[str, Any]:
        return self._read_state()

    def put_state(self, key: str, value: Any) -> Optional[dict[str, Any]]:
        value = _json_value(f"state key {key!r}", value)
        with self._locked():
            state = self._read_state()
            state[key] = value
            _write_json(self.state_path, state)
        return state

    # ----- scheduler and events: recorded, never run -----
    def _append(self, path: Path, record: dict[str, Any]) -> None:
        record = _json_value(path.name, record)
        with self._locked():
            records = _read_json(path) if path.exists() else []
            if not isinstance(records, list):
                raise FerrisError(f"{path} must hold a JSON list")
            records.append(record)
            _write_json(path, records)

    def schedule_job(self, job: dict[str, Any]) -> str:
        now = datetime.now(timezone.utc)
        record = {
            "id": uuid.uuid4().hex,
            "trigger": job["trigger"],
            "package_name": self._package.name,
            "package_id": self._package.id,
            "cron_expression": job["cron_expression"],
            "minutes": job["minutes"], "hours": job["hours"], "days": job["days"],
            "run_at": None if job["cron_expression"] is not None else _iso(
                now + timedelta(minutes=job["minutes"], hours=job["hours"], days=job["days"])),
            "parameters": job["parameters"],
            "created_at": _iso(now),
        }
        self._append(self.jobs_path, record)
        _notice().warning(
            "local mode: job %s recorded in %s; local mode does not run scheduled jobs (%s)",
            record["id"], self.jobs_path, job["cron_expression"] or f"run_at {record['run_at']}")
        return record["id"]

    def send_event(self, event: dict[str, Any]) -> str:
        record = {
            "specversion": "1.0",
            "type": event["event_type"],
            "source": event["event_source"] or f"local/{self._package.name}",
            "id": uuid.uuid4().hex,
            "time": _iso(datetime.now(timezone.utc)),
            "datacontenttype": "application/json",
            "data": event["data"],
            "topic": event["topic"],
            "reference_id": event["reference_id"],
        }
        self._append(self.events_path, record)
        _notice().warning(
            "local mode: event %s (%s) recorded in %s; local mode does not trigger packages",
            record["id"], record["type"], self.events_path)
        return record["id"]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test or a tool may swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        import sys

        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _notice() -> logging.Logger:
    """The `ferris_ef` logger, writing to standard error even when logging is not configured."""
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    return log
