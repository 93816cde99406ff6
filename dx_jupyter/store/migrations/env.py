"""Alembic environment: runs on the connection the Store hands over."""
from alembic import context

from dx_jupyter.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dx_jupyter migrations run through dx_jupyter.store.Store.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
