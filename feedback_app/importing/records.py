"""What an import reads from any source, before anything is written: the
neutral records every parser (WordPress, Disqus, Isso) returns and the
importer writes. Plain data; nothing here touches a file or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: A comment's state in the source, as this project names them.
STATES = ("approved", "pending", "spam", "trash")
#: What an imported comment is: a reader's comment or a link notice.
KINDS = ("comment", "pingback", "trackback")


class SourceError(ValueError):
    """A source that cannot be imported: says where (``line`` when known)
    and why. Raised before anything is written."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class ImportedComment:
    """One comment as the source holds it.

    ``source_id`` and ``parent_id`` are the source's own ids (strings, as
    Disqus's do not fit an integer column); ``body`` is the text as the
    source stores it, in ``body_format`` ("html": WordPress and Disqus,
    "markdown": Isso); ``created_at`` is aware (UTC). ``anchor`` is the
    fragment old links use for it (``comment-123``, ``isso-7``), or "".
    """

    source_id: str
    parent_id: str | None
    name: str
    email: str | None
    website: str | None
    created_at: datetime
    body: str
    body_format: str = "html"
    state: str = "approved"
    kind: str = "comment"
    by_author: bool = False
    anchor: str = ""
    line: int | None = None  # where it starts in the source, for the report


@dataclass
class ImportedThread:
    """The comments of one article, as the source names the article: by its
    old address (``url``, absolute), and ``title`` for the report."""

    url: str
    title: str = ""
    comments: list[ImportedComment] = field(default_factory=list)
    #: Old ids of the same article known to the source (Disqus's
    #: identifiers, WordPress's post id), tried when the URL matches nothing.
    identifiers: tuple[str, ...] = ()
