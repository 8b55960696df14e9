"""comments

Revision ID: 1cf9c54d699c
Revises: 18a636bbb3d4
Create Date: 2026-11-27 04:28:42.362484
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1cf9c54d699c"
down_revision: str | None = "18a636bbb3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_slug", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("is_author", sa.Boolean(), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'spam', 'trash')",
            name=op.f("ck_comment_state"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comment.id"],
            name=op.f("fk_comment_parent_id_comment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_comment_submission_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_comment_article_slug"), ["article_slug"], unique=False
        )
        batch_op.create_index(
            "ix_comment_email_state", ["email", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_comment_fingerprint"), ["fingerprint"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_comment_parent_id"), ["parent_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_comment_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_state"))
        batch_op.drop_index(batch_op.f("ix_comment_parent_id"))
        batch_op.drop_index(batch_op.f("ix_comment_fingerprint"))
        batch_op.drop_index("ix_comment_email_state")
        batch_op.drop_index(batch_op.f("ix_comment_article_slug"))

    op.drop_table("comment")
