"""A thread's comments put in an order the importer can write them in:
every parent before its replies, otherwise oldest first.

Shared by the comment-system readers (Disqus, Isso), whose sources hold
comments in any order and may hold odd links: a parent that is not in the
thread, or a loop of parents. Such a comment keeps its place as a comment
of its own (``parent_id`` None) rather than being lost.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from .records import ImportedComment


def in_tree_order(comments: Iterable[ImportedComment]) -> list[ImportedComment]:
    """Return ``comments`` with each parent before its replies, each level
    oldest first (ties in the order given).

    A ``parent_id`` naming no comment of the thread, or taking part in a
    loop (a comment its own ancestor), becomes None: the comment stays, at
    the top of the thread. Loops are broken at their oldest comment.
    """
    given = list(comments)
    known = {comment.source_id for comment in given}
    items = [
        comment if comment.parent_id in known else replace(comment, parent_id=None)
        for comment in given
    ]
    replies: dict[str, list[int]] = defaultdict(list)
    ready: list[tuple[datetime, int]] = []
    for index, comment in enumerate(items):
        if comment.parent_id is None:
            ready.append(_key(items, index))
        else:
            replies[comment.parent_id].append(index)
    heapq.heapify(ready)
    ordered: list[ImportedComment] = []
    placed: set[int] = set()
    while len(ordered) < len(items):
        if not ready:  # only loops and their replies are left
            index = min(_a_loop(items, placed), key=lambda i: _key(items, i))
            items[index] = replace(items[index], parent_id=None)
            heapq.heappush(ready, _key(items, index))
        _, index = heapq.heappop(ready)
        placed.add(index)
        ordered.append(items[index])
        for reply in replies.pop(items[index].source_id, ()):
            if items[reply].parent_id is not None:  # not a cut loop's end
                heapq.heappush(ready, _key(items, reply))
    return ordered


def _a_loop(items: list[ImportedComment], placed: set[int]) -> list[int]:
    """The indexes of one loop of parents among the comments not placed
    (each of which has an unplaced parent, or it would have been placed)."""
    where = {items[i].source_id: i for i in range(len(items)) if i not in placed}
    path: list[int] = []
    seen: dict[int, int] = {}
    index = next(iter(where.values()))
    while index not in seen:
        seen[index] = len(path)
        path.append(index)
        index = where[items[index].parent_id]  # type: ignore[index]
    return path[seen[index] :]


def _key(items: list[ImportedComment], index: int) -> tuple[datetime, int]:
    return (items[index].created_at, index)
