"""The desk's blueprint with every page on it: importing the page modules
registers their routes on ``access.bp``. The factory registers this ``bp``
and the page behind the moderation links in mail (``link_moderation.bp``).
"""

from __future__ import annotations

from . import articles, comments, held_mail, inbox, posts, reader_data, signin
from .access import bp

#: The modules whose routes are on ``bp``.
PAGES = (articles, comments, held_mail, inbox, posts, reader_data, signin)

__all__ = ["PAGES", "bp"]
