"""Inserting a row the fast way, for a reader's post: a Core ``INSERT`` whose
row becomes a persistent ORM object (built with its constructor) without
being loaded again, then the mail it causes. See ``bench/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Executable,
    Insert,
    insert,
)
from sqlalchemy.orm import (
    Session,
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
    authors' mail about a new comment), run next in the same transaction.
    """
    connection = session.connection()
    result = connection.execute(_insert(model), values)
    (row_id,) = result.inserted_primary_key
    row = model(**(values | {"id": row_id}))
    follow = then(row) if then is not None else None
    if follow is not None:
        connection.execute(follow.sql, follow.params)
    # Written already: its history is reset, as if loaded from its row.
    make_transient_to_detached(row)
    session.add(row)
    return row


@lru_cache(maxsize=8)
def _insert(model: type) -> Insert:
    return insert(model.__table__)  # type: ignore[attr-defined]
