"""each variant's stock level at each store, kept by the database beside its deltas (issue 22)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 13:30:00

A level was the sum of the variant's deltas at the store, summed again at every read: the uplink read the
levels of every batch's variants, and the sum grew with every sale. Now ``stock_levels`` holds it, and a
statement-level trigger adds each statement's new deltas to it (only the rows inserted: a delta skipped by
``ON CONFLICT DO NOTHING`` is not in the transition table), grouped and in key order, so two writers take the
level rows in the same order. Being the database's, it keeps the levels whatever inserts the deltas: a cloud
process of the version before, still running during a rolling deploy, included. Such a process takes a
store's row after its deltas (so after their level rows, now), where this version takes it before: until
it is gone the two can deadlock, which Postgres breaks and ``cloud.failures`` counts as transient (the batch
is tried again). Deltas are only ever inserted (a correction is another delta), so inserts are all the
trigger has to follow: an update or delete by hand would leave the levels behind.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_levels",
        sa.Column("store_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "variant_id"),
    )
    # No delta may come in between the sums below and the trigger (from a process still on the version
    # before): it would be missing from its level for good. Inserts wait for this migration to commit.
    op.execute("LOCK TABLE stock_deltas IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO stock_levels (store_id, variant_id, level) "
        "SELECT store_id, variant_id, SUM(quantity) FROM stock_deltas GROUP BY store_id, variant_id"
    )
    op.execute(
        """
        CREATE FUNCTION stock_levels_add_deltas() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO stock_levels (store_id, variant_id, level)
            SELECT store_id, variant_id, SUM(quantity) FROM new_deltas
            GROUP BY store_id, variant_id
            ORDER BY store_id, variant_id
            ON CONFLICT (store_id, variant_id) DO UPDATE SET level = stock_levels.level + EXCLUDED.level;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER stock_deltas_add_to_levels AFTER INSERT ON stock_deltas "
        "REFERENCING NEW TABLE AS new_deltas FOR EACH STATEMENT EXECUTE FUNCTION stock_levels_add_deltas()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER stock_deltas_add_to_levels ON stock_deltas")
    op.execute("DROP FUNCTION stock_levels_add_deltas()")
    op.drop_table("stock_levels")
