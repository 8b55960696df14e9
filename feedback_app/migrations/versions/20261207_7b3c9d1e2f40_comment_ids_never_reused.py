"""comment ids never given twice on SQLite

Revision ID: 7b3c9d1e2f40
Revises: 3e9a1c5b7d20
Create Date: 2026-12-07 01:30:00

The first migration made SQLite's comment table with ``AUTOINCREMENT``;
a later one rebuilt it (a batch) without it. Since then, deleting the
newest comment let SQLite give its id again: an old ``#comment-N`` link,
a feed entry's id and a comment file's row then named another comment, and
publishing could not tell a comment this database deleted from one it never
knew (``site/comment_sync.py``). The table is made again with
``AUTOINCREMENT``, its rows, indexes (the ``lower(email)`` expression one
too) and the inbound messages' links to it kept. PostgreSQL's sequence
never gave an id twice: nothing changes there.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3c9d1e2f40"
down_revision: str | None = "3e9a1c5b7d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    create = bind.execute(
        sa.text(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'comment'"
        )
    ).scalar_one()
    if "AUTOINCREMENT" in create.upper():
        return
    indexes = (
        bind.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type = 'index'"
                " AND tbl_name = 'comment' AND sql IS NOT NULL"
            )
        )
        .scalars()
        .all()
    )
    new, named = re.subn(
        r'^CREATE TABLE "?comment"? \(', "CREATE TABLE comment_new (", create
    )
    new, column = re.subn(
        r"\bid INTEGER NOT NULL,",
        "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,",
        new,
        count=1,
    )
    new, key = re.subn(r",\s*PRIMARY KEY \(id\)", "", new, count=1)
    # Its replies' link to their parent names the new table, so dropping the
    # old one leaves them; the rename makes it "comment" again.
    new, parent = re.subn(
        r'REFERENCES "?comment"? \(id\)', "REFERENCES comment_new (id)", new
    )
    if (named, column, key, parent) != (
        1,
        1,
        1,
        1,
    ):  # pragma: no cover - a table by hand
        raise RuntimeError(f"The comment table is not as expected: {create}")
    # Dropping the old table sets the inbound messages' links to NULL (ON
    # DELETE SET NULL, foreign keys on): they are put back afterwards.
    op.execute(
        "CREATE TEMPORARY TABLE inbound_comment AS SELECT id, comment_id"
        " FROM inbound_message WHERE comment_id IS NOT NULL"
    )
    op.execute(new)
    op.execute("INSERT INTO comment_new SELECT * FROM comment")
    op.execute("DROP TABLE comment")
    op.execute("ALTER TABLE comment_new RENAME TO comment")
    for index in indexes:
        op.execute(index)
    op.execute(
        "UPDATE inbound_message SET comment_id = (SELECT comment_id FROM"
        " inbound_comment WHERE inbound_comment.id = inbound_message.id)"
        " WHERE id IN (SELECT id FROM inbound_comment)"
    )
    op.execute("DROP TABLE inbound_comment")


def downgrade() -> None:
    """Nothing to undo: ids that are never given twice harm no earlier
    version."""
