"""Alembic environment for the cloud's Postgres. Run by ``CloudDatabase.migrate`` on every start."""

from alembic import context

from cloud.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
