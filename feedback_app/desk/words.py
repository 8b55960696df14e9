"""Desk words that take more than ``gettext``: counts (``ngettext``), the
names of the states of what the desk lists, and durations. In this
request's language (``g.page_lang``, set by ``language.py``).

Imports nothing else of the desk's, so that ``auth`` can use it.
"""

from __future__ import annotations

from ..core.translations import gettext, request_language, translations


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` as ``n`` asks, in this request's language."""
    return translations(request_language()).ngettext(singular, plural, n)


def state_name(state: str) -> str:
    """The word for a feedback's, a comment's or a post's state (``new``,
    ``pending``, ``draft``…) in this request's language."""
    words = {
        "new": gettext("new"),
        "read": gettext("read"),
        "answered": gettext("answered"),
        "archived": gettext("archived"),
        "spam": gettext("spam"),
        "pending": gettext("pending"),
        "approved": gettext("approved"),
        "trash": gettext("trash"),
        "draft": gettext("draft"),
        "published": gettext("published"),
        "hidden": gettext("hidden"),
    }
    return words.get(state, state)


def duration(seconds: int) -> str:
    """``5 seconds``, ``1 second``; from 90 seconds, ``2 minutes``."""
    if seconds < 90:
        return ngettext("{count} second", "{count} seconds", seconds).format(
            count=seconds
        )
    minutes = -(-seconds // 60)
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
