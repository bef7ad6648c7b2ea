"""text stored before the control-character rule is cleaned (issue 15)

Since issue 15 no text the node's API or a sync message takes may hold a control character
(``models/text.py``), and every schema checks it: an order or outbox row stored earlier with one would now
fail to be shown or be refused by the cloud. This removes them from every text column, once, inside JSON
text too (the outbox's payloads, catalog metadata). Dead letters keep what was received.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

from models.text import without_control_characters

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEPT_AS_RECEIVED = {"alembic_version", "dead_letters"}
# GLOB patterns SQLite applies before Python looks: a raw control character, or one escaped in JSON text.
RAW = "*[" + "".join(map(chr, [*range(1, 9), 11, 12, *range(14, 32), 127])) + "]*"
ESCAPED = ("*\\u00[01]*", "*\\b*", "*\\f*")  # JSON writers escape backspace and form feed by letter


def upgrade() -> None:
    conn = op.get_bind()
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        if table in KEPT_AS_RECEIVED:
            continue
        for column in inspector.get_columns(table):
            if isinstance(column["type"], sa.String | sa.JSON):
                _clean(conn, table, column["name"])


def _clean(conn: sa.Connection, table: str, name: str) -> None:
    col = sa.column(name, sa.Text)
    t = sa.table(table, col)
    dirty = sa.or_(col.op("GLOB")(RAW), *(col.op("GLOB")(pattern) for pattern in ESCAPED))
    for (value,) in conn.execute(sa.select(col).distinct().where(dirty)):
        clean = _cleaned(value)
        if clean != value:
            conn.execute(sa.update(t).where(col == value).values({name: clean}))


def _cleaned(value: str) -> str:
    if value[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except ValueError:
            pass
        else:
            clean = without_control_characters(parsed)
            return value if clean == parsed else json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
    return str(without_control_characters(value))


def downgrade() -> None:
    pass  # the characters are gone, and nothing needs them back
