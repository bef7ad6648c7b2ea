"""text stored before the control-character rule is cleaned (issue 15)

Since issue 15 no text any API or sync message takes may hold a control character (``models/text.py``), and
every schema checks it, responses included: a product name stored earlier with one would now fail to be
shown. This removes them from every text and JSON column, once. Dead letters keep what was received.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

from models.text import without_control_characters

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


def _clean_text(conn: sa.Connection, table: str, name: str) -> None:
    col = sa.column(name, sa.Text)
    t = sa.table(table, col)
    for (value,) in conn.execute(sa.select(col).distinct().where(col.op("~")(RAW))):
        conn.execute(sa.update(t).where(col == value).values({name: without_control_characters(value)}))


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
