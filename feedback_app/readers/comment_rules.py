"""The rules a reader's new comment is judged by (spam words, hold words,
links, look-alike author names, no address), as set in config.py, and the
judging itself: ``prepare_comment`` needs no database, so the view runs it
before its write transaction; ``store.comments.store_comment`` then stores
the result and applies the one rule that needs the database (a known
commenter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..core import reasons
from ..core.models import Comment
from ..core.rendering import count_links, render_comment
from ..core.text import name_skeleton
from ..site.index import Article
from ..site.ownership import encode_authors
from ..store.comments import (
    NewComment,
    Verdict,
    fingerprint,
    store_comment,
)


def judge(
    *,
    name: str,
    email: str | None,
    website: str | None,
    body: str,
    rules: Mapping[str, Any],
    authors: Iterable[str] = (),
    html: str = "",
) -> Verdict:
    """Apply the moderation rules (see config.py) to a new comment.

    Spam words win over everything; then any hold rule holds; otherwise a
    comment is approved, and one with an address only if an earlier one with
    the same address and name was approved, as WordPress does: that last
    rule needs the database, so ``store_comment`` applies it (see
    ``NewComment.if_known``). A reader whose name looks like one of the
    article's authors is always held: the Author badge cannot be had by name
    (only ``author_reply`` gives it), but readers could still be misled.
    """
    haystack = " ".join(filter(None, (name, email, website, body))).casefold()
    for word in rules["COMMENTS_SPAM_WORDS"]:
        if word.casefold() in haystack:
            return Verdict("spam", reasons.SPAM_WORD.say(word=word))
    skeleton = name_skeleton(name)
    if skeleton and skeleton in {name_skeleton(a) for a in authors}:
        return Verdict("pending", reasons.LIKE_AN_AUTHOR.say())
    for word in rules["COMMENTS_HOLD_WORDS"]:
        if word.casefold() in haystack:
            return Verdict("pending", reasons.HOLD_WORD.say(word=word))
    links = count_links(body, html)
    if links > rules["COMMENTS_MAX_LINKS"]:
        return Verdict("pending", reasons.LINKS.say(links=links))
    if not email and rules["COMMENTS_HOLD_WITHOUT_EMAIL"]:
        return Verdict("pending", reasons.NO_ADDRESS.say())
    return Verdict("approved")


def prepare_comment(
    article: Article,
    *,
    name: str,
    body: str,
    email: str | None = None,
    website: str | None = None,
    parent_id: int | None = None,
    rules: Mapping[str, Any],
    screen: Verdict | None = None,
    html: str | None = None,
    lang: str | None = None,
) -> NewComment:
    """Render a reader's comment and judge it by the rules; store nothing.

    Needs no database, so the web view runs it before its write
    transaction: on SQLite every writer waits for the one holding the write
    lock. ``html`` is ``render_comment(body)``, if the caller rendered it
    already. ``screen`` is what the form itself found (the honeypot, the
    form ticket): its spam verdict wins, and its hold applies to a comment
    the rules would approve. ``lang``: the language of the page it was
    sent from, for mail about it.
    """
    email = email or None
    html = render_comment(body) if html is None else html
    if screen is not None and screen.state == "spam":
        verdict = screen
    else:
        verdict = judge(
            name=name,
            email=email,
            website=website,
            body=body,
            rules=rules,
            authors=article.authors,
            html=html,
        )
        if screen is not None and verdict.state == "approved":
            verdict = screen
    return NewComment(
        article_slug=article.slug,
        article_page_url=article.page_url,
        article_authors=encode_authors(article.authors),
        parent_id=parent_id,
        name=name,
        email=email,
        website=website or None,
        body=body,
        html=html,
        state=verdict.state,
        reason=verdict.reason,
        fingerprint=fingerprint(article.page_url, parent_id, name, email, body),
        if_known=verdict.state == "approved" and email is not None,
        lang=lang,
    )


def submit_comment(
    session: Session,
    article: Article,
    *,
    max_depth: int = 5,
    submission_key: str | None = None,
    notify_replies: bool = False,
    admit: Callable[[], None] | None = None,
    **comment: Any,
) -> tuple[Comment, bool]:
    """Judge and store a reader's comment: ``prepare_comment`` then
    ``store_comment``, for the CLI and scripts."""
    return store_comment(
        session,
        prepare_comment(article, **comment),
        max_depth=max_depth,
        submission_key=submission_key,
        notify_replies=notify_replies,
        admit=admit,
    )
