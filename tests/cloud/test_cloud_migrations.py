"""The cloud's migrations build exactly the schema the code declares (cloud/tables.py)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cloud.db import CloudDatabase
from cloud.tables import metadata
from tests.cloud.conftest import PostgresForTests
from tests.cloud.test_brand_migration import migrate_to


def test_migrations_match_the_declared_tables(postgres: PostgresForTests):
    postgres.server.create_database("schemacheck")
    db = CloudDatabase(postgres.server.url("schemacheck"))
    try:
        migrate_to(db, "head")
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()
    assert diff == []
