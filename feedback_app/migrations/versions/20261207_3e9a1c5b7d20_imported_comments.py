"""where an imported comment came from, and the anchor old links use

Revision ID: 3e9a1c5b7d20
Revises: 0a1b2c3d4e5f
Create Date: 2026-12-06 22:45:00

A comment imported from WordPress, Disqus or Isso (``importing/``) records
its source and its id there, once (a unique index: importing the same
export twice adds nothing), and the fragment of the old links to it when
its own ``#comment-N`` differs (``#isso-7``, a WordPress id already taken).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e9a1c5b7d20"
down_revision: str | None = "0a1b2c3d4e5f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE: a batch would rebuild SQLite's table without its
    # expression index (lower(email)).
    op.add_column("comment", sa.Column("origin", sa.String(200), nullable=True))
    op.add_column("comment", sa.Column("origin_id", sa.String(100), nullable=True))
    op.add_column("comment", sa.Column("anchor", sa.String(100), nullable=True))
    op.create_index(
        "ix_comment_origin", "comment", ["origin", "origin_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_comment_origin", table_name="comment")
    for column in ("anchor", "origin_id", "origin"):
        op.drop_column("comment", column)
