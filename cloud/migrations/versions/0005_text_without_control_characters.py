"""text stored before the control-character rule is cleaned (issue 15)

Since issue 15 no text any API or sync message takes may hold a control character (``models/text.py``), and
every schema checks it, responses included: a product name stored earlier with one would now fail to be
shown. This removes them from every text and JSON column, once. Dead letters keep what was received.
Group-buy ends outside the years 2000-2999, which request and response schemas now refuse, are moved to the
nearest bound.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

from models.cloud_api import FIRST_YEAR, LAST_YEAR
from models.text import has_control_characters, without_control_characters

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEPT_AS_RECEIVED = {"alembic_version", "dead_letters"}
# Cheap filters Postgres applies before Python looks: a raw control character in text, an escaped one (or a
# raw DEL) in JSON's text form. Python then decides exactly.
RAW = "[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
ESCAPED = "\\\\u00[01][0-9a-fA-F]|\\\\u007[fF]|\\\\[bf]|\\x7f"


def upgrade() -> None:
    conn = op.get_bind()
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        if table in KEPT_AS_RECEIVED:
            continue
        for column in inspector.get_columns(table):
            kind = column["type"]
            if isinstance(kind, sa.JSON):
                _clean_json(conn, table, column["name"])
            elif isinstance(kind, sa.String):
                _clean_text(conn, table, column["name"])
    _bound_group_buy_ends(conn)


def _bound_group_buy_ends(conn: sa.Connection) -> None:
    """Group-buy ends are now dates in the years 2000-2999 (``models.cloud_api.Moment``), and the same model
    shows them: one stored far outside (9999-12-31, say) is moved to the nearest bound."""
    products = sa.table("products", sa.column("product_id", sa.String), sa.column("group_buy", sa.JSON))
    rows = conn.execute(
        sa.select(products.c.product_id, products.c.group_buy).where(products.c.group_buy.is_not(None))
    )
    for product_id, group_buy in rows.all():
        ends = (group_buy or {}).get("endsAt")
        if not isinstance(ends, str) or len(ends) < 4 or not ends[:4].isdigit():
            continue
        year = int(ends[:4])
        if FIRST_YEAR <= year <= LAST_YEAR:
            continue
        bound = "2000-01-01T00:00:00+00:00" if year < FIRST_YEAR else "2999-12-31T23:59:59+00:00"
        conn.execute(
            sa.update(products)
            .where(products.c.product_id == product_id)
            .values(group_buy=group_buy | {"endsAt": bound})
        )


def _clean_text(conn: sa.Connection, table: str, name: str) -> None:
    col = sa.column(name, sa.Text)
    t = sa.table(table, col)
    for (value,) in conn.execute(sa.select(col).distinct().where(col.op("~")(RAW))):
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.update(t).where(col == value).values({name: without_control_characters(value)})
                )
        except sa.exc.IntegrityError:
            # Without them it would equal a value a unique index already holds (two brands "X" and "X\x01"
            # of one seller): each becomes a visible U+FFFD instead, so the cloud still starts.
            visible = "".join("\ufffd" if has_control_characters(c) else c for c in value)
            conn.execute(sa.update(t).where(col == value).values({name: visible}))


def _clean_json(conn: sa.Connection, table: str, name: str) -> None:
    col = sa.column(name, sa.JSON)
    t = sa.table(table, col)
    as_text = sa.cast(col, sa.Text)
    for (text,) in conn.execute(sa.select(as_text).distinct().where(as_text.op("~")(ESCAPED))):
        value = json.loads(text)
        clean = without_control_characters(value)
        if clean != value:
            conn.execute(sa.update(t).where(as_text == text).values({name: clean}))


def downgrade() -> None:
    pass  # the characters are gone, and nothing needs them back
