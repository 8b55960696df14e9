"""mail that closes the loop: replies and bounces received, reply links kept

Revision ID: b4d2e8f61a07
Revises: 7c1e0f3a9b52
Create Date: 2026-12-06 08:00:00

Adds ``inbound_message`` (every message received by mail) and
``bounced_address`` (addresses no mail goes to until they are given
again); ``outbox_message`` gains an HTML alternative and the state
``bounced``; ``feedback`` keeps the nonce its reply token is made from, so
later mail can carry the reply page's link. Feedback stored before this
has no nonce: its mail says where the link was given instead.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4d2e8f61a07"
down_revision: str | None = "7c1e0f3a9b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "state IN ('queued', 'sending', 'sent', 'failed')"
_NEW_STATES = "state IN ('queued', 'sending', 'sent', 'failed', 'bounced')"


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reply_token_nonce", sa.String(length=64), nullable=True)
        )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_body", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_message_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_message_state"), _NEW_STATES)
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("received_via", sa.String(length=10), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("received_at", utc, nullable=False),
        sa.CheckConstraint(
            "state IN ('applied', 'held', 'ignored', 'discarded')",
            name=op.f("ck_inbound_message_state"),
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comment.id"],
            name=op.f("fk_inbound_message_comment_id_comment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_inbound_message_feedback_id_feedback"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_inbound_message_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_message_message_id")),
    )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        for column in ("state", "feedback_id", "comment_id", "outbox_message_id"):
            batch_op.create_index(
                batch_op.f(f"ix_inbound_message_{column}"), [column], unique=False
            )
    op.create_table(
        "bounced_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("bounced_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_bounced_address_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounced_address")),
        sa.UniqueConstraint("email", name=op.f("uq_bounced_address_email")),
    )


def downgrade() -> None:
    op.drop_table("bounced_address")
    op.drop_table("inbound_message")
    op.execute("UPDATE outbox_message SET state = 'failed' WHERE state = 'bounced'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_message_state"), _OLD_STATES)
        batch_op.drop_column("html_body")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("reply_token_nonce")
