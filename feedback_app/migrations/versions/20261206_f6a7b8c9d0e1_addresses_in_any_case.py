"""a reader's data found by an index of their address in lower case

Revision ID: f6a7b8c9d0e1
Revises: e5f1a2b3c4d6
Create Date: 2026-12-06 14:00:00

Export and erasure find a reader's rows by ``lower(address)``, so that a
request in another case finds them too. Without an index of that
expression each table was read whole: time that grew with the site.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a7b8c9d0e1"
down_revision: str | None = "e5f1a2b3c4d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_feedback_email_lower", "feedback", "email"),
    ("ix_comment_email_lower", "comment", "email"),
    ("ix_subscription_email_lower", "subscription", "email"),
    ("ix_outbox_message_recipient_lower", "outbox_message", "recipient"),
    ("ix_outbox_message_reply_to_lower", "outbox_message", "reply_to"),
    ("ix_inbound_message_sender_lower", "inbound_message", "sender"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [sa.text(f"lower({column})")])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
