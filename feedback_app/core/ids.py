"""Row ids a request names: whole numbers the database can hold.

Every table's key is an ``integer``: PostgreSQL's stops at 2**31 - 1 and
SQLite's at 2**63 - 1, and a larger number in a query is a driver error (a
500) rather than a row not found. So every id read from a request is held
to 1..``MAX_ID``, the smaller of the two, before any query sees it:

- in URLs by ``IdConverter``, which the app factory registers as the
  ``int`` converter, so that every ``<int:...>`` rule answers 404 past it;
- in form fields by ``form_id``, whose callers answer 400.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

#: The largest id any supported database can store (PostgreSQL's integer).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in a URL: a number from 0 to ``MAX_ID`` unless the rule
    says otherwise; a larger one matches no rule (404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def form_id(value: str) -> int | None:
    """Return the id a form field holds, or None if it holds none: not only
    ASCII digits, 0, or past ``MAX_ID``."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
