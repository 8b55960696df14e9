"""the language each reader wrote in, and each author's desk language

Revision ID: 0a1b2c3d4e5f
Revises: f6a7b8c9d0e1
Create Date: 2026-12-06 19:40:00

A reader's reply page and the mail they get later speak the language of
the page they wrote from; the desk speaks its author's. Recorded when it
happens (``feedback.lang``, ``comment.lang``), so a later build that drops
the translation does not change it. Rows from before stay NULL: the site's
default language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0a1b2c3d4e5f"
down_revision: str | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("feedback", "comment", "author")


def upgrade() -> None:
    # Plain ALTER TABLE: a batch would rebuild SQLite's tables without
    # their expression indexes (lower(email)).
    for table in TABLES:
        op.add_column(table, sa.Column("lang", sa.String(35), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "lang")
