"""Disqus's comment export (Admin → Moderation → Export: the XML in the
``http://disqus.com`` namespace) read into the neutral records.

The export is flat: ``<category>`` elements, then ``<thread dsq:id>`` (the
article: ``<link>``, ``<title>``, the site's own ``<id>``), then ``<post
dsq:id>`` (a comment: ``<message>`` in HTML, ``<createdAt>``, ``<isDeleted>``,
``<isSpam>``, ``<author>``, ``<thread dsq:id/>``, ``<parent dsq:id/>`` for a
reply). ``dsq:id`` is in ``http://disqus.com/disqus-internals``.

What this reader decides:

- A post's state: spam when ``isSpam``, else trash when ``isDeleted``, else
  pending when ``isApproved`` is present and false, else approved. Its
  anchor is ``comment-<dsq:id>``, the fragment Disqus's own links use.
- Threads sharing one ``<link>`` become one thread (Disqus keeps a new
  thread when a page's identifier changes); a thread without posts is
  left out. Posts naming a thread the export lacks are kept, in a thread
  with no URL (so the importer lists it as matching no article).
- A reply whose parent is missing from its thread, or is its own
  ancestor, stays as a comment of its own (``comment_tree``).
- Refused (``SourceError``, with the line where there is one): a file
  that is not well-formed XML or not a Disqus export, any DOCTYPE
  (exports have none; entity tricks live there), a post without
  ``dsq:id``, thread or a readable ``createdAt``, a ``dsq:id`` used
  twice, markup elements inside a ``<message>`` (HTML must be CDATA or
  escaped), and a text node over libxml2's 10 MB limit (``huge_tree``
  stays off).

Bodies are returned as Disqus stores them (HTML); the importer converts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from .comment_tree import in_tree_order
from .records import ImportedComment, ImportedThread, SourceError

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def read_disqus(path: Path) -> list[ImportedThread]:
    """Read the Disqus export at ``path``: one thread per article address
    that has comments, in the export's order, each thread's comments with
    parents before replies. Raises SourceError for a file that cannot be
    imported (see the module's docstring)."""
    root = _parse(path)
    threads: dict[str, etree._Element] = {}  # by dsq:id
    by_identifier: dict[str, str] = {}  # the site's <id> → dsq:id
    for element in root.iterchildren(NS + "thread"):
        dsq_id = element.get(DSQ_ID)
        if dsq_id is None:
            continue  # nothing can point at it
        if dsq_id in threads:
            raise _twice("thread", dsq_id, threads[dsq_id], element)
        threads[dsq_id] = element
        identifier = _text(element, "id")
        if identifier:
            by_identifier.setdefault(identifier, dsq_id)

    posts: dict[str, list[ImportedComment]] = defaultdict(list)
    seen: dict[str, etree._Element] = {}
    for element in root.iterchildren(NS + "post"):
        comment = _comment(element)
        if comment.source_id in seen:
            raise _twice("post", comment.source_id, seen[comment.source_id], element)
        seen[comment.source_id] = element
        ref = _thread_ref(element)
        if ref not in threads:  # maybe the site's identifier (see _thread_ref)
            ref = by_identifier.get(ref, ref)
        posts[ref].append(comment)

    result: dict[str, ImportedThread] = {}  # by link ("" for none)
    for dsq_id, element in threads.items():
        if dsq_id not in posts:
            continue
        url = _text(element, "link")
        thread = result.get(url) if url else None
        if thread is None:
            thread = ImportedThread(url=url, title=_text(element, "title"))
            result[url or f"dsq:{dsq_id}"] = thread
        thread.title = thread.title or _text(element, "title")
        identifier = _text(element, "id")
        if identifier and identifier not in thread.identifiers:
            thread.identifiers += (identifier,)
        thread.comments.extend(posts.pop(dsq_id))
    for ref, comments in posts.items():  # threads the export lacks
        title = f"Disqus thread {ref} (not in the export)"
        result[f"missing:{ref}"] = ImportedThread(
            url="", title=title, comments=comments
        )
    for thread in result.values():
        thread.comments = in_tree_order(thread.comments)
    return list(result.values())


def _parse(path: Path) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        with open(path, "rb") as file:
            tree = etree.parse(file, parser)
    except etree.XMLSyntaxError as error:
        reason = re.sub(r",? line \d+, column \d+$", "", error.msg.strip()).strip()
        column = error.position[1] if error.position else 0
        raise SourceError(
            f"not well-formed XML (column {column}): {reason}", error.lineno
        ) from None
    except OSError as error:
        raise SourceError(f"cannot read {path}: {error.strerror or error}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SourceError("the file has a DOCTYPE, which Disqus exports never have")
    root = tree.getroot()
    if root.tag != NS + "disqus":
        raise SourceError(
            f"not a Disqus export: the root element is <{root.tag}>, "
            f'not <disqus xmlns="{NS[1:-1]}">',
            root.sourceline,
        )
    return root


def _comment(post: etree._Element) -> ImportedComment:
    line = post.sourceline
    dsq_id = post.get(DSQ_ID, "").strip()
    if not dsq_id:
        raise SourceError("a <post> without dsq:id", line)
    parent = post.find(NS + "parent")
    parent_id = None
    if parent is not None:
        parent_id = (parent.get(DSQ_ID) or "").strip() or None
    message = post.find(NS + "message")
    if message is not None and len(message):
        raise SourceError(
            f"post {dsq_id}: markup elements inside <message> (HTML must be CDATA)",
            message.sourceline,
        )
    author = post.find(NS + "author")
    name = email = ""
    if author is not None:
        name = _text(author, "name") or _text(author, "username")
        email = _text(author, "email")
    if _flag(post, "isSpam"):
        state = "spam"
    elif _flag(post, "isDeleted"):
        state = "trash"
    elif post.find(NS + "isApproved") is not None and not _flag(post, "isApproved"):
        state = "pending"
    else:
        state = "approved"
    return ImportedComment(
        source_id=dsq_id,
        parent_id=parent_id,
        name=name,
        email=email or None,
        website=None,  # the export holds none
        created_at=_created(post, dsq_id),
        body=(message.text or "") if message is not None else "",
        body_format="html",
        state=state,
        anchor=f"comment-{dsq_id}",
        line=line,
    )


def _thread_ref(post: etree._Element) -> str:
    """The dsq:id of the post's thread (or, in the form Disqus's own example
    shows, the site's identifier as the element's text)."""
    thread = post.find(NS + "thread")
    ref = None if thread is None else (thread.get(DSQ_ID) or thread.text or "").strip()
    if not ref:
        raise SourceError(
            f"post {post.get(DSQ_ID)}: no <thread dsq:id>", post.sourceline
        )
    return ref


def _created(post: etree._Element, dsq_id: str) -> datetime:
    value = _text(post, "createdAt")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise SourceError(
            f"post {dsq_id}: <createdAt> is {value!r}, not a date and time",
            post.sourceline,
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _text(element: etree._Element, name: str) -> str:
    child = element.find(NS + name)
    return (child.text or "").strip() if child is not None else ""


def _flag(element: etree._Element, name: str) -> bool:
    return _text(element, name).lower() in ("true", "1")


def _twice(
    what: str, dsq_id: str, first: etree._Element, again: etree._Element
) -> SourceError:
    return SourceError(
        f"{what} dsq:id {dsq_id} appears twice (first on line {first.sourceline})",
        again.sourceline,
    )
