"""feedback can be moved to the trash (and restored) before it is purged

Revision ID: 9d4b7e2a6c13
Revises: 7b3c9d1e2f40
Create Date: 2026-12-07 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4b7e2a6c13"
down_revision: str | None = "7b3c9d1e2f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Going back, feedback in the trash must fit the old constraint: it becomes
# spam, which the purge deletes as it would have deleted the trash.
OLD_STATES = "state IN ('new', 'read', 'answered', 'archived', 'spam')"
NEW_STATES = "state IN ('new', 'read', 'answered', 'archived', 'spam', 'trash')"


# SQLite's batch mode copies the table, and its reflection cannot read an
# index of an expression: that one is dropped first and made again after.
LOWER_INDEX = "ix_feedback_email_lower"


def _allow(states: str) -> None:
    op.drop_index(LOWER_INDEX, table_name="feedback")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_feedback_state"), type_="check")
        batch_op.create_check_constraint("state", states)
    op.create_index(LOWER_INDEX, "feedback", [sa.text("lower(email)")])


def upgrade() -> None:
    _allow(NEW_STATES)


def downgrade() -> None:
    op.execute("UPDATE feedback SET state = 'spam' WHERE state = 'trash'")
    _allow(OLD_STATES)
