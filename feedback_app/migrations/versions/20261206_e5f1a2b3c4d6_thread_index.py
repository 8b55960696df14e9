"""an article's published thread found by its own index

Revision ID: e5f1a2b3c4d6
Revises: b4d2e8f61a07
Create Date: 2026-12-06 12:00:00

Publishing a thread reads its approved comments in order at every
moderation action. With only one-column indexes, SQLite searched the
state's (every approved comment of the site) and sorted: time that grew
with the site. This index holds the article, the state and the order.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5f1a2b3c4d6"
down_revision: str | None = "b4d2e8f61a07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_comment_article_state",
        "comment",
        ["article_page_url", "state", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_comment_article_state", table_name="comment")
