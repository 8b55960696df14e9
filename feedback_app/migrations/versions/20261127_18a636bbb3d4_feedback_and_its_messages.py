"""feedback and its messages

Revision ID: 18a636bbb3d4
Revises:
Create Date: 2026-11-27 04:18:45.435200
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "18a636bbb3d4"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_slug", sa.String(length=200), nullable=False),
        sa.Column("article_title", sa.String(length=500), nullable=False),
        sa.Column("article_url", sa.String(length=1000), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("may_quote", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reply_token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('new', 'spam')", name=op.f("ck_feedback_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "reply_token_hash", name=op.f("uq_feedback_reply_token_hash")
        ),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_article_slug"), ["article_slug"], unique=False
        )

    op.create_table(
        "feedback_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sender IN ('reader', 'author')", name=op.f("ck_feedback_message_sender")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_message_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_message")),
    )
    with op.batch_alter_table("feedback_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_message_feedback_id"), ["feedback_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_message_feedback_id"))

    op.drop_table("feedback_message")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_article_slug"))

    op.drop_table("feedback")
