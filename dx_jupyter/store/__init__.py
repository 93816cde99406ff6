"""The SQL store: ORM models, the engine and its Alembic migrations. No crypto lives here."""
from .database import Store

__all__ = ["Store"]
