"""notifications keep a kind and parameters, not words (issue 16: the words come from the catalogs)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:20:00

Notifications raised before keep what they said: their zh-TW title and body and the English ones they
carried in ``data`` move to ``params.legacy``, which ``cloud.notification_text`` shows as written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE notifications SET data = (
            (data::jsonb - 'titleEn' - 'bodyEn') || jsonb_build_object('legacy', jsonb_build_object(
                'zh-TW', jsonb_build_object('title', title, 'body', body),
                'en', jsonb_build_object(
                    'title', coalesce(data::jsonb ->> 'titleEn', title),
                    'body', coalesce(data::jsonb ->> 'bodyEn', body)
                )
            ))
        )::json
        """
    )
    op.drop_column("notifications", "title")
    op.drop_column("notifications", "body")
    op.alter_column("notifications", "data", new_column_name="params")


def downgrade() -> None:
    op.alter_column("notifications", "params", new_column_name="data")
    op.add_column("notifications", sa.Column("title", sa.String(300), nullable=False, server_default=""))
    op.add_column("notifications", sa.Column("body", sa.Text(), nullable=False, server_default=""))
    op.execute(
        """
        UPDATE notifications SET
            title = left(coalesce(data::jsonb #>> '{legacy,zh-TW,title}', kind), 300),
            body = coalesce(data::jsonb #>> '{legacy,zh-TW,body}', '')
        """
    )
