"""Desk words that take more than ``gettext``: counts (``ngettext``), the
names of the states of what the desk lists, and durations. In this
request's language (``g.page_lang``, set by ``language.py``).

Imports nothing else of the desk's, so that ``auth`` can use it.
"""

from __future__ import annotations

from ..core.translations import N_, gettext, request_language, translations


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` as ``n`` asks, in this request's language."""
    return translations(request_language()).ngettext(singular, plural, n)


#: The states of what the desk lists, as the catalogue has them.
STATES = {
    "new": N_("new"),
    "read": N_("read"),
    "answered": N_("answered"),
    "archived": N_("archived"),
    "spam": N_("spam"),
    "pending": N_("pending"),
    "approved": N_("approved"),
    "trash": N_("trash"),
    "draft": N_("draft"),
    "published": N_("published"),
    "hidden": N_("hidden"),
}


def state_name(state: str) -> str:
    """The word for a feedback's, a comment's or a post's state (``new``,
    ``pending``, ``draft``…) in this request's language (a template filter,
    once per listed item: only its own word is looked up)."""
    return gettext(STATES[state]) if state in STATES else state


def duration(seconds: int) -> str:
    """``5 seconds``, ``1 second``; from 90 seconds, ``2 minutes``."""
    if seconds < 90:
        return ngettext("{count} second", "{count} seconds", seconds).format(
            count=seconds
        )
    minutes = -(-seconds // 60)
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
