"""Alembic environment for the node's SQLite file. Run by ``Database.migrate`` on every start."""

from alembic import context

from edge.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
