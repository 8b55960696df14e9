"""The desk's blueprint with every page on it: importing the page modules
registers their routes on ``access.bp`` (and ``language``, the hook that
speaks the author's language on every page). The factory registers this ``bp``
and the page behind the moderation links in mail (``link_moderation.bp``).
"""

from __future__ import annotations

from . import (
    articles,
    comments,
    held_mail,
    inbox,
    language,
    passwords,
    posts,
    reader_data,
    settings,
    signin,
    triage,
)
from .access import bp

#: The modules whose routes are on ``bp``.
PAGES = (
    articles,
    comments,
    held_mail,
    inbox,
    language,
    passwords,
    posts,
    reader_data,
    settings,
    signin,
    triage,
)

__all__ = ["PAGES", "bp"]
