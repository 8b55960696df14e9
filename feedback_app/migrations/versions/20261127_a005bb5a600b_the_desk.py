"""the desk: accounts, sign-in failures, feedback states and answers

Revision ID: a005bb5a600b
Revises: 45847851965c
Create Date: 2026-11-27 07:17:07.950630
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a005bb5a600b"
down_revision: str | None = "45847851965c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Feedback no longer in "new" reached a state of the desk; going back, it
# must fit the old constraint, so the downgrade makes it "new" again.
OLD_STATES = "state IN ('new', 'spam')"
NEW_STATES = "state IN ('new', 'read', 'answered', 'archived', 'spam')"


def upgrade() -> None:
    op.create_table(
        "desk_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
            name=op.f("fk_desk_session_author_id_author"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_desk_session_token_hash")),
    )
    with op.batch_alter_table("desk_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_session_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_desk_session_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=254), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_failure_account"), ["account"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sign_in_failure_client_hash"), ["client_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sign_in_failure_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role", sa.String(length=10), nullable=False, server_default="author"
            )
        )
        batch_op.create_check_constraint("role", "role IN ('author', 'editor')")
        batch_op.add_column(
            sa.Column("password_hash", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("post_slug", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("post_source", sa.String(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.create_index(batch_op.f("ix_feedback_state"), ["state"], unique=False)
        batch_op.drop_constraint(op.f("ck_feedback_state"), type_="check")
        batch_op.create_check_constraint("state", NEW_STATES)

    with op.batch_alter_table("feedback_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("author_name", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("via", sa.String(length=10), nullable=True))
        batch_op.create_check_constraint("via", "via IN ('page', 'page+email', 'post')")


def downgrade() -> None:
    with op.batch_alter_table("feedback_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_feedback_message_via"), type_="check")
        batch_op.drop_column("via")
        batch_op.drop_column("author_name")

    op.execute("UPDATE feedback SET state = 'new' WHERE state NOT IN ('new', 'spam')")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_state"))
        batch_op.drop_constraint(op.f("ck_feedback_state"), type_="check")
        batch_op.create_check_constraint("state", OLD_STATES)
        batch_op.drop_column("updated_at")
        batch_op.drop_column("post_source")
        batch_op.drop_column("post_slug")

    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_author_role"), type_="check")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("role")

    with op.batch_alter_table("sign_in_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_created_at"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_client_hash"))
        batch_op.drop_index(batch_op.f("ix_sign_in_failure_account"))

    op.drop_table("sign_in_failure")
    op.drop_table("desk_session")
