"""Who owns what readers send: the article it was sent from, and its authors then.

Every feedback and comment row records the article it arrived on by its
``page_url`` (Pelican's site-relative ``article.url``, unique where a slug
is not) and that article's authors at that moment, in ``article_authors``.
The desk's scope, the authors' notifications and the Author badge read this
record, never the current site index: a post that a co-author gets into
the index later, with another article's slug or as its new ``Author``,
moves nothing. Only an editor moves it (``reassign``: the ``flask authors
reassign`` command, and the desk's *Articles' authors* page).

``article_authors`` is one text column holding the names as a compact JSON
array (``["Maya Lindqvist","Tomás Ruiz"]``), not a child table. A reader's
post stores its row with one ``INSERT`` (``db.insert_row``); a child
table would add a statement to every post, or a trigger. JSON escapes
every ``"`` inside a name, so an unescaped ``"`` only ever delimits a
name, and ``[`` or ``,`` right before one only ever starts an element:
looking for ``["<name>"`` or
``,"<name>"`` (the name JSON-encoded) finds exactly the rows whose
recorded authors include that name, whatever characters a name holds. The
search is a case-sensitive substring test (``instr`` on SQLite, ``strpos``
on PostgreSQL), so it matches names as ``Author.name`` spells them, as
``name in article.authors`` did; SQL ``LIKE`` is not case-sensitive on
SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from ..core.models import Comment, Feedback

NOBODY = "[]"


def encode_authors(names: Iterable[str]) -> str:
    """Return the stored form of an article's authors (exact, in order)."""
    return json.dumps(list(names), separators=(",", ":"), ensure_ascii=True)


def decode_authors(stored: str | None) -> tuple[str, ...]:
    """Return the names ``encode_authors`` stored."""
    return tuple(json.loads(stored)) if stored else ()


class _position(FunctionElement[int]):
    """Where ``needle`` starts in ``haystack`` (1-based; 0: nowhere), case-sensitive."""

    type = Integer()
    inherit_cache = True


@compiles(_position, "sqlite")
def _position_sqlite(element: _position, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position)
def _position_default(element: _position, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def written_by(column: Any, name: str) -> ColumnElement[bool]:
    """Return the condition "``name`` is among the authors ``column`` records"."""
    element = json.dumps(name, ensure_ascii=True)
    return or_(
        _position(column, "[" + element) > 0, _position(column, "," + element) > 0
    )


def is_author(row: Feedback | Comment, name: str) -> bool:
    """Tell whether ``name`` is among the recorded authors of ``row``'s article."""
    return name in decode_authors(row.article_authors)


def reassign(session: Session, page_url: str, authors: Iterable[str]) -> int:
    """Give every feedback and comment recorded for the article at ``page_url``
    the authors ``authors``; return how many rows changed. Editors only."""
    stored = encode_authors(authors)
    changed = 0
    for model in (Feedback, Comment):
        result = session.execute(
            update(model)
            .where(model.article_page_url == page_url)
            .values(article_authors=stored)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0
    return changed
