"""rate limits

Revision ID: 38c2d12131d0
Revises: a005bb5a600b
Create Date: 2026-11-27 08:46:27.814231
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "38c2d12131d0"
down_revision: str | None = "a005bb5a600b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_event")),
    )
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rate_event_bucket_created_at", ["bucket", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_event", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_event_bucket_created_at")

    op.drop_table("rate_event")
