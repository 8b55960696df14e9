"""Inserting a row the fast way, for a reader's post: a Core ``INSERT`` whose
row becomes a persistent ORM object without being loaded again, and, on
PostgreSQL, the mail it causes in the same statement (a ``WITH`` clause).
See ``bench/README.md`` for what each of these saves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Executable,
    Insert,
    bindparam,
    insert,
)
from sqlalchemy.orm import (
    Session,
    class_mapper,
    make_transient_to_detached,
)

Model = TypeVar("Model")


class Statement(NamedTuple):
    """A statement and its parameters, to be run later or with another."""

    sql: Executable
    params: dict[str, Any]


def insert_row(
    session: Session,
    model: type[Model],
    values: dict[str, Any],
    *,
    then: Callable[[Model], Statement | None] | None = None,
) -> Model:
    """Insert one row of ``model`` (whose key is ``id``) with a Core
    ``INSERT`` in the session's transaction; return it as a persistent ORM
    object, for the caller's updates.

    A reader's post stores its row this way while it holds the write lock,
    where the ORM's flush would cost more. ``values`` should name every
    column the caller will read, so that none is loaded again.

    ``then`` makes, from the new row, an ``INSERT`` that goes with it (the
    authors' mail about a new comment). If ``values`` gives the row's
    ``id`` (taken from its sequence beforehand), PostgreSQL stores both with
    one statement, the row's ``INSERT`` in a ``WITH`` clause: one round
    trip, and atomic on its own (see ``Database.write``). Otherwise they
    run one after the other. Both statements should then give every column
    themselves: SQLAlchemy left the outer ``INSERT``'s Python-side defaults
    out once another ``INSERT`` was in its ``WITH`` (``mail.mail_each``
    gives its own).
    """
    connection = session.connection()
    if then is not None and "id" in values and connection.dialect.name == "postgresql":
        row = _loaded(model, values)
        follow = then(row)
        if follow is None:
            connection.execute(_insert(model), values)
        else:
            together = _insert_with(model, tuple(values), follow.sql)
            connection.execute(
                together, {f"row_{k}": v for k, v in values.items()} | follow.params
            )
    else:
        result = connection.execute(_insert(model), values)
        (row_id,) = result.inserted_primary_key
        row = _loaded(model, values | {"id": row_id})
        follow = then(row) if then is not None else None
        if follow is not None:
            connection.execute(follow.sql, follow.params)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _loaded(model: type[Model], values: dict[str, Any]) -> Model:
    """Make a ``model`` object holding ``values`` as if loaded from its row.

    The values go straight into the object's ``__dict__``, as the ORM's own
    loading does, rather than through the constructor, whose attribute events
    (one per column, 18 for a comment) are work for changes that will not be
    flushed: the row is already written. ``make_transient_to_detached`` then
    gives it its identity and expires any column not given.
    """
    # class_mapper, not __mapper__: it configures the mappers first, as the
    # constructor would (the first row of a model may be made here).
    row = class_mapper(model).class_manager.new_instance()
    row.__dict__.update(values)
    return row


@lru_cache(maxsize=8)
def _insert(model: type) -> Insert:
    return insert(model.__table__)  # type: ignore[attr-defined]


@lru_cache(maxsize=8)
def _insert_with(model: type, columns: tuple[str, ...], follow: Executable) -> Any:
    """``follow`` with the ``INSERT`` of a ``model`` row in its ``WITH``
    clause (a data-modifying CTE, run once whether referenced or not), the
    row's parameters named ``row_<column>``; built once per statement."""
    table = model.__table__  # type: ignore[attr-defined]
    row = insert(table).values(
        {name: bindparam(f"row_{name}", type_=table.c[name].type) for name in columns}
    )
    return follow.add_cte(row.cte("new_row"))  # type: ignore[attr-defined]
