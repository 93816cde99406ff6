"""SQLAlchemy ORM models.

Secrets and data keys belong to an owner named by `(scope, owner_id)`: the platform
(`"platform"`, `"platform"`), a project or a package (their ids). The owner is polymorphic,
so those rows carry no foreign key; the services delete them with their owner.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PLATFORM_ID = "platform"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator):
    """Stores naive UTC on every backend and gives back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def bind_processor(self, dialect: Any) -> Any:
        """Remember the last conversion: the rows of a bulk write share one timestamp, and
        converting it once per row was most of the cost of a 10,000-secret upload."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: list[tuple[Any, Any]] = [(None, None)]  # one tuple, replaced whole: thread-safe

        def memo_process(value: Any) -> Any:
            seen, out = last[0]
            if value is seen and value is not None:  # datetimes are immutable
                return out
            out = process(value)
            last[0] = (value, out)
            return out

        return memo_process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Meta(Base):
    """Small key/value facts about the store itself, such as the master-key check."""

    __tablename__ = "dx_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    packages: Mapped[list["Package"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Package(Base):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_packages_project_name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    config_json: Mapped[str] = mapped_column(Text, default="{}")
    # manifest.json (services/manifest.py): cron schedule, event types that trigger it, switches
    schedule: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    trigger_events_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    allow_manual_triggering: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    project: Mapped[Project] = relationship(back_populates="packages")
    scripts: Mapped[list["Script"]] = relationship(
        back_populates="package",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Script.position",
    )


class Script(Base):
    __tablename__ = "scripts"
    __table_args__ = (UniqueConstraint("package_id", "name", name="uq_scripts_package_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    position: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    package: Mapped[Package] = relationship(back_populates="scripts")


class DataKey(Base):
    """An owner's data key, stored only wrapped (AES-256-GCM) by the master key."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("scope", "owner_id", name="uq_data_keys_owner"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(32))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Secret(Base):
    """One secret: its value is `nonce || AES-GCM ciphertext` under the owner's data key."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("scope", "owner_id", "name", name="uq_secrets_owner_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PackageState(Base):
    """The `context.state` dict of a package, kept across executions (not secret)."""

    __tablename__ = "package_state"
    package_id: Mapped[str] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    state_json: Mapped[str] = mapped_column(Text, default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Execution(Base):
    __tablename__ = "executions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    status_message: Mapped[str] = mapped_column(Text, default="")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    token_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    # how many events led to this run (0: not triggered by an event); see services/events.py
    event_depth: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    steps: Mapped[list["Step"]] = relationship(
        back_populates="execution",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Step.number",
    )


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("execution_id", "number", name="uq_steps_execution_number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    script: Mapped[str] = mapped_column(String(160))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    exit_code: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    duration: Mapped[Optional[float]] = mapped_column(Float, nullable=True)
    output: Mapped[Optional[bytes]] = mapped_column(LargeBinary, nullable=True)
    output_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    output_redacted: Mapped[bool] = mapped_column(Boolean, default=True)
    execution: Mapped[Execution] = relationship(back_populates="steps")


class ScheduledJob(Base):
    """A later execution of a package: once at `next_run_at`, or on a cron (services/scheduler.py).

    `source` is "script" (context.scheduler), or "manifest" for the package's own `schedule`.
    """

    __tablename__ = "scheduled_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="scheduled")
    source: Mapped[str] = mapped_column(String(16), default="script")
    cron: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """An event as sent (CloudEvents fields), and the executions it triggered (services/events.py)."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(256), index=True)
    source: Mapped[str] = mapped_column(String(512))
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    topic: Mapped[Optional[str]] = mapped_column(String(256), nullable=True)
    reference_id: Mapped[Optional[str]] = mapped_column(String(256), nullable=True)
    depth: Mapped[int] = mapped_column(Integer, default=1)
    sender_package_id: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    sender_execution_id: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    dispatched_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime, nullable=True, index=True)
    triggered_json: Mapped[str] = mapped_column(Text, default="[]")
