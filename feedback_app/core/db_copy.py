"""Copying the whole database to another (``flask db copy --to URL``):
SQLite to PostgreSQL when a site grows to several hosts, and back.

The target is migrated to the newest schema first, then every table is
copied in the order its foreign keys need, a batch at a time, in one
transaction: a copy that fails leaves the target as it was. Ids are kept,
so reply pages, ``#comment-N`` links and mail references go on working;
each table's id sequence is moved past the highest id the source ever gave
(a deleted comment's id is never given again there either). At the end the
rows of every table are counted on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from .db import Database, alembic_config
from .models import Base

#: Rows read and written at a time.
BATCH = 1000


class CopyError(RuntimeError):
    """The copy cannot be made, or did not come out whole."""


@dataclass
class Copied:
    """What was copied: rows by table."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _revision(engine: sa.Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def _counts(connection: sa.Connection) -> dict[str, int]:
    return {
        table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
        or 0
        for table in Base.metadata.sorted_tables
    }


def highest_given(connection: sa.Connection, table: sa.Table) -> int:
    """Return the highest id of ``table`` the database ever gave: its
    largest id, or its sequence's last value if higher (SQLite's
    ``AUTOINCREMENT`` tables, PostgreSQL's sequences)."""
    highest = connection.scalar(sa.select(sa.func.max(table.c.id))) or 0
    if connection.dialect.name == "sqlite":
        seq = connection.execute(
            sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"),
            {"t": table.name},
        ).scalar()
    else:
        seq = connection.execute(
            sa.text(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence(:t, 'id')"
                "::regclass)"
            ),
            {"t": table.name},
        ).scalar()
    return max(highest, seq or 0)


def _self_references(table: sa.Table) -> list[str]:
    """Return the columns of ``table`` that point at its own rows."""
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def copy_database(
    source: Database,
    target: Database,
    *,
    replace: bool = False,
    site_index_path: str = "",
    say: Callable[[str], None] = lambda line: None,
) -> Copied:
    """Copy every row of ``source`` into ``target``; return what was copied.

    :raise CopyError: if the source is not at the newest schema, the target
        is the source or holds rows (unless ``replace``: they are deleted
        first), or the counts differ at the end.
    """
    from alembic import command

    if source.engine.url == target.engine.url:
        raise CopyError("The target is the database the app uses.")
    head = _head(source)
    if _revision(source.engine) != head:
        raise CopyError(
            "The app's database is not at the newest schema: run"
            " `flask --app feedback_app db upgrade` first."
        )
    config = alembic_config(target)
    config.attributes["site_index_path"] = site_index_path
    command.upgrade(config, "head")
    tables = list(Base.metadata.sorted_tables)
    copied = Copied()
    with source.engine.connect() as reading, target.engine.begin() as writing:
        # One snapshot of the source: nothing written meanwhile is half in
        # (SQLite: one read transaction, which the engine begins).
        if reading.dialect.name == "postgresql":
            reading.execute(
                sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            )
        held = {name: n for name, n in _counts(writing).items() if n}
        if held and not replace:
            raise CopyError(
                "The target database holds rows already ("
                + ", ".join(f"{name}: {n}" for name, n in held.items())
                + "). Copy into an empty database, or pass --replace to"
                " delete them first."
            )
        for table in reversed(tables):
            writing.execute(table.delete())
        for table in tables:
            copied.rows[table.name] = _copy_table(reading, writing, table)
            say(f"{table.name}: {copied.rows[table.name]} row(s)")
        for table in tables:
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                _continue_ids(writing, table, highest_given(reading, table))
        source_counts, target_counts = _counts(reading), _counts(writing)
        if source_counts != target_counts:
            raise CopyError(
                "The counts differ after the copy; nothing was kept: "
                + ", ".join(
                    f"{t}: {source_counts[t]} here, {target_counts[t]} there"
                    for t in source_counts
                    if source_counts[t] != target_counts[t]
                )
            )
    return copied


def _copy_table(reading: sa.Connection, writing: sa.Connection, table: sa.Table) -> int:
    """Copy one table's rows, in id order; a row pointing at another row
    of its own table gets that link once every row is in."""
    own = _self_references(table)
    # An update sets these (``updated_at``) unless given: given as they were.
    kept = [c.name for c in table.c if c.onupdate is not None]
    order = list(table.primary_key.columns)
    count = 0
    links: list[dict[str, object]] = []
    result = reading.execution_options(yield_per=BATCH).execute(
        sa.select(table).order_by(*order)
    )
    for batch in result.mappings().partitions(BATCH):
        rows = [dict(row) for row in batch]
        for row in rows:
            if any(row[c] is not None for c in own):
                links.append({"_id": row["id"], **{c: row[c] for c in own + kept}})
                row.update(dict.fromkeys(own, None))
        writing.execute(table.insert(), rows)
        count += len(rows)
    if links:
        update = (
            table.update()
            .where(table.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in own + kept})
        )
        for start in range(0, len(links), BATCH):
            writing.execute(update, links[start : start + BATCH])
    return count


def _continue_ids(writing: sa.Connection, table: sa.Table, given: int) -> None:
    """Make the target give ids of ``table`` after ``given``."""
    if writing.dialect.name == "postgresql":
        if given:
            writing.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"),
                {"t": table.name, "n": given},
            )
        return
    # SQLite: only an AUTOINCREMENT table remembers; its copied rows put
    # their largest id there already.
    if table.dialect_options["sqlite"].get("autoincrement") and given:
        writing.execute(
            sa.text("UPDATE sqlite_sequence SET seq = max(seq, :n) WHERE name = :t"),
            {"t": table.name, "n": given},
        )
