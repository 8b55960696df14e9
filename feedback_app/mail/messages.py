"""What the site tells people by mail, in its own voice.

Each function queues mail in the caller's transaction, so a notification
exists exactly when the event that caused it does. Bodies are plain text: a
reader's text is quoted as text, so no link or image in it can be dressed
up by the mail. An author's answer, written in Markdown, goes to the reader
as clean text (``answer_as_text``) with an HTML alternative rendered by the
site's sanitising renderer (``core/rendering.py``), as on the reply page.
Subjects name an article with ``title_in_quotes``: one rule for all.

Mail to a reader speaks the language of the page they wrote from
(``feedback.lang``, ``comment.lang``, recorded when they wrote; the site's
``DEFAULT_LANG`` for what came before), whatever the language of the
request or command that sends it: ``reader_words(lang)`` is that
language's gettext, and each paragraph is one message of the catalogue
and one line of the text (quoted-printable on the wire, so a mail client
wraps it to its window: a phone's, too).

Mail to a reader about their feedback (``conversations.TO_READER``) carries
the link to their private reply page (``reply_page_url``). Readers'
messages about an article none of whose authors has an account go to the
editors (``authors_told_at_once``); with no editor either, the site owner
is told which authors have no account (``unheard_author_names``).

Mail about a reader's new post is queued inside the post's write
transaction, which on SQLite every writer waits for: one ``INSERT …
SELECT`` queues a message to each of the article's authors who wants one
(``mail.mail_each``), with nothing to read first.

Longer than 400 lines because every message the site writes to a person
is here, in one voice, with the helpers all of them share (how a title is
quoted, a reader's text quoted, a reply page linked).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, String, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..core.models import Author, Comment, Feedback, FeedbackMessage
from ..core.reasons import moderator_words
from ..core.translations import shipped, translations
from ..site.i18n import long_date
from ..site.index import Article, Site, site_index
from ..site.languages import site_language
from ..site.ownership import decode_authors
from ..store.feedback import reply_token
from ..store.rows import Statement
from .formats import (
    answer_as_html,
    answer_as_text,
    html_mail,
    link,
    quote_html,
    site_links,
)
from .links import external_url, moderation_urls
from .outbox import mail_each, queue_mail

#: Double quotation marks of any language: a title holding one is named bare.
_QUOTES = re.compile('["“”„‟«»\u301d\u301e\uff02]')


@lru_cache(maxsize=8)
def _told_at_once(n: int) -> Select[tuple[int, str, str]]:
    """Each of ``n`` authors (``name0`` …) who wants mail at once, or, when
    none of them has an account, each editor who does. Built once per
    number of authors, with plain parameters: an expanding ``IN`` rewrites
    the statement's text on every post."""
    named = [bindparam(f"name{i}") for i in range(n)]
    account = aliased(Author)
    nobody_has_one = ~exists().where(account.name.in_(named))
    speaks = func.coalesce(Author.lang, bindparam("site_lang", type_=String()))
    return select(Author.id, Author.email, speaks).where(
        Author.notify == "immediate",
        or_(Author.name.in_(named), and_(Author.role == "editor", nobody_has_one)),
    )


def authors_told_at_once(
    names: Iterable[str],
) -> tuple[Select[tuple[int, str, str]], dict[str, str]]:
    """Who hears at once of a reader's message about an article by ``names``:
    the authors among them who chose mail at once (the others get the
    digest); if none of them has an account, the editors who chose mail at
    once, so that nobody's message goes unread. A query of (id, address,
    language: the author's, else the site's) and its parameters, one
    statement: the one way every message to authors chooses its
    recipients."""
    names = tuple(names)
    params = {f"name{i}": n for i, n in enumerate(names)}
    params["site_lang"] = site_language(site_index().current())
    return _told_at_once(len(names)), params


def author_language(lang: str | None) -> str:
    """The language of the desk and the mail of an author who chose
    ``lang``: it, if the site ships it (as ``mail_each`` picks), else the
    site's if shipped, else English: the words the desk has."""
    for code in (lang, reader_language(None)):
        if code in shipped():
            return str(code)
    return "en"


def author_words(author: Author) -> Callable[[str], str]:
    """The gettext of mail to ``author`` (``author_language``)."""
    return translations(author_language(author.lang)).gettext


def in_every_language(
    write: Callable[[Callable[[str], str], str], tuple[str, str]],
) -> tuple[str, str, dict[str, tuple[str, str]]]:
    """A message to authors whose languages the database knows
    (``mail_each``): ``write(gettext, lang)`` gives its subject and body in
    ``lang``; return them in the site's language, and in each shipped
    language."""
    translated = {lang: write(translations(lang).gettext, lang) for lang in shipped()}
    subject, body = translated[author_language(None)]  # always a shipped one
    return subject, body, translated


def unheard_author_names(session: Session, site: Site) -> list[str]:
    """The ``Author`` names of the site's articles that have no account,
    when there is no editor either: readers' messages about their articles
    reach nobody by mail. Empty when an editor exists. Names only (they are
    on the public site): nothing a reader sent."""
    if session.scalar(select(Author.id).where(Author.role == "editor").limit(1)):
        return []
    names = {name for article in site.articles.values() for name in article.authors}
    if not names:
        return []
    known = set(session.scalars(select(Author.name).where(Author.name.in_(names))))
    return sorted(names - known)


def unheard_warning(names: Iterable[str]) -> str:
    """Say, for the site's owner, that readers' messages about ``names``'
    articles reach nobody by mail, and what to do."""
    return (
        "Warning: no account and no editor for these articles' authors, so "
        "what readers send about their articles reaches nobody by mail: "
        + ", ".join(names)
        + ".\nAdd each one (flask --app feedback_app authors add NAME EMAIL), "
        "or an editor (… --role editor)."
    )


def title_in_quotes(title: str) -> str:
    """Name an article in a subject or a sentence: “Title”, or the title
    bare if it holds quotation marks itself (never “He said “no””)."""
    return title if _QUOTES.search(title) else f"“{title}”"


def absolute_url(url: str, config: Any) -> str:
    """Return a link usable in mail (the build's URLs may be root-relative)."""
    return urljoin(config["SITE_URL"] + "/", url)


def desk_url(endpoint: str, **values: Any) -> str:
    """Return the absolute address of a desk page, for mail to authors."""
    return external_url(endpoint, **values)


def reply_page_url(feedback: Feedback, token: str | None = None) -> str | None:
    """Return the absolute address of ``feedback``'s private reply page (of
    ``token`` if given, else made again from its nonce), or None for
    feedback whose link cannot be made again (``store.feedback.reply_token``)."""
    token = token or reply_token(feedback)
    return external_url("readers.reply_page", token=token) if token else None


def quoted(text: str) -> str:
    """Quote a reader's text for a plain-text mail, line by line."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def short_quote(text: str, length: int = 120) -> str:
    """The start of a reader's text on one line, cut at ``length``."""
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"


def reader_language(lang: str | None) -> str:
    """The language of mail to a reader who wrote from a page in ``lang``
    (None: before languages were recorded, the site's)."""
    return lang or site_language(site_index().current())


def reader_words(lang: str | None) -> Callable[[str], str]:
    """The gettext of mail to a reader who wrote in ``lang``."""
    return translations(reader_language(lang)).gettext


def _hello(name: str | None, _: Callable[[str], str]) -> str:
    return _("Hello {name},").format(name=name) if name else _("Hello,")


def _reply_page_text(url: str | None, _: Callable[[str], str]) -> str:
    if url is None:
        return _(
            "Your private reply page is at the link you were given when "
            "you sent the feedback."
        )
    return _("Your private reply page (keep the link to yourself):") + f"\n{url}"


def feedback_received(
    session: Session,
    feedback: Feedback,
    article: Article,
    config: Any,
) -> None:
    """Tell the article's authors (or the editors) about new private feedback."""
    title = title_in_quotes(article.title)
    where = absolute_url(article.url, config)
    desk = desk_url("desk.feedback_item", feedback_id=feedback.id)

    def write(_: Callable[[str], str], lang: str) -> tuple[str, str]:
        who = feedback.name or _("A reader")
        reach = (
            _("{address} (reply by e-mail and on their reply page)").format(
                address=feedback.email
            )
            if feedback.email
            else _("no address: you can answer only on their private reply page")
        )
        quote = _("yes, without name or address") if feedback.may_quote else _("no")
        sent = _("{who} sent you private feedback on {title}").format(
            who=who, title=title
        )
        return _("Feedback on {title}").format(title=title), (
            f"{sent}\n<{where}>:\n\n"
            f"{quoted(feedback.message)}\n\n"
            + _("Reader's address: {reach}").format(reach=reach)
            + "\n"
            + _("Quote publicly: {answer}").format(answer=quote)
            + "\n\n"
            + _("Read and answer it on your desk:")
            + f"\n{desk}\n"
        )

    subject, body, translated = in_every_language(write)
    mail = mail_each(
        *authors_told_at_once(article.authors),
        kind="feedback-to-author",
        reply_to=feedback.email,
        subject=subject,
        body=body,
        translated=translated,
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )
    session.connection().execute(*mail)


def feedback_acknowledged(
    session: Session, feedback: Feedback, token: str, config: Any
) -> None:
    """Send the reader who left an address one acknowledgement with the link
    to their reply page (``token``), in the feedback's own transaction.

    Anyone can type any address into the form, so this mail carries nothing
    the sender typed (not their name, not their text): only the article's
    title, the link, and what to do if it was not them. The form's rate
    limits bound how many a stranger can cause."""
    if not feedback.email or feedback.state == "spam":
        return
    _ = reader_words(feedback.lang)
    title = title_in_quotes(feedback.article_title)
    queue_mail(
        session,
        kind="feedback-ack",
        to=feedback.email,
        subject=_("Your feedback on {title}").format(title=title),
        body=(
            _("Hello,")
            + "\n\n"
            + _(
                "Thank you: your feedback on {title} is with the author. "
                "Only the author can read it. Their answer will come to "
                "this address, and it will also appear on your private "
                "reply page, where you can read what you wrote, add to it, "
                "change your address or delete it all:"
            ).format(title=title)
            + f"\n\n{reply_page_url(feedback, token)}\n\n"
            + _(
                "Anyone with this link can read your feedback, so keep it "
                "to yourself. If you sent nothing, someone typed your "
                "address: delete it all with the link above, or ignore "
                "this mail."
            )
            + "\n"
        ),
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )


def follow_up_received(
    session: Session, feedback: Feedback, follow_up: FeedbackMessage, config: Any
) -> None:
    """Tell the authors recorded with the feedback that a reader added to it
    (``ownership.py``: never whoever the site index names today), or the
    editors if none of them has an account."""
    query, params = authors_told_at_once(decode_authors(feedback.article_authors))
    title = title_in_quotes(feedback.article_title)
    desk = desk_url("desk.feedback_item", feedback_id=feedback.id)
    for _id, email, lang in session.execute(query, params).all():
        _ = translations(author_language(lang)).gettext
        who = feedback.name or _("The reader")
        added = _("{who} added to their feedback on {title}:").format(
            who=who, title=title
        )
        queue_mail(
            session,
            kind="follow-up-to-author",
            to=email,
            reply_to=feedback.email,
            subject=_("Re: Feedback on {title}").format(title=title),
            body=(
                f"{added}\n\n{quoted(follow_up.body)}\n\n"
                + _("The whole conversation, on your desk:")
                + f"\n{desk}\n"
            ),
            site_url=config["SITE_URL"],
            thread_key=f"feedback-{feedback.id}",
        )


def comment_received_mail(
    comment: Comment, article: Article, config: Any
) -> Statement | None:
    """Return the statement that tells the article's authors (or the
    editors) about a new comment, held or published, to be run with the
    comment's own ``INSERT`` (``comments.store_comment``'s ``then``); None
    for spam, which nobody is told of.

    A published comment is linked through the app, which sends the reader
    to the page that holds it (a long thread's comment page: a reply stays
    under its parent); a held one is not on the public page yet, so it is
    linked on the desk."""
    if comment.state == "spam":
        return None
    on_desk = desk_url("desk.comment", comment_id=comment.id)
    title = title_in_quotes(article.title)
    held = comment.state != "approved"
    if held:
        where = f"<{absolute_url(article.url, config)}>"
        days = config["MAIL_LINK_DAYS"]
        tokens = moderation_urls(comment.id)
    else:
        where = f"<{external_url('comments.show', comment_id=comment.id)}>"

    def write(_: Callable[[str], str], lang: str) -> tuple[str, str]:
        if held:
            # The page behind each link speaks the language of its mail.
            links = {action: f"{url}?lang={lang}" for action, url in tokens.items()}
            status = (
                _(
                    "It is held for moderation ({reason}), so it is not on "
                    "the article's page yet: see it on your desk,"
                ).format(reason=moderator_words(comment.reason, _))
                + f"\n{on_desk}\n\n"
                + _(
                    "Each link below shows the comment and asks you to "
                    "confirm; they work for {days} days."
                ).format(days=days)
                + "\n\n"
                + "\n".join(
                    f"{label}: {links[action]}"
                    for action, label in (
                        ("approve", _("Approve")),
                        ("spam", _("Spam")),
                        ("trash", _("Trash")),
                    )
                )
            )
        else:
            status = _("It is published.")
        said = _("{name} ({address}) commented on {title}").format(
            name=comment.name,
            address=comment.email or _("no address"),
            title=title,
        )
        return _("Comment on {title} from {name}").format(
            title=title, name=comment.name
        ), (
            f"{said}\n{where}:\n\n"
            f"{quoted(comment.body)}\n\n{status}\n\n"
            + _("Edit it, reply or moderate on your desk:")
            + f"\n{on_desk}\n"
        )

    subject, body, translated = in_every_language(write)
    # Reply-To the commenter, as WordPress does: the author can answer by
    # mail, and the reader's data requests find the message by its headers.
    return mail_each(
        *authors_told_at_once(article.authors),
        kind="comment-to-author",
        reply_to=comment.email,
        subject=subject,
        body=body,
        translated=translated,
        site_url=config["SITE_URL"],
        # The conversation its Reply-To names (``conversations.py``).
        thread_key=f"comment-{comment.id}",
    )


def answer_to_reader(
    session: Session, feedback: Feedback, author: Author, body: str, config: Any
) -> None:
    """Queue the mail carrying an author's answer (Markdown) to the reader,
    if they left an address: from the site, with the author's address as
    Reply-To, threaded with the author's earlier answers on the same
    feedback; clean text with an HTML alternative, and the reply page's
    link."""
    if not feedback.email:
        return
    _ = reader_words(feedback.lang)
    title = title_in_quotes(feedback.article_title)
    page = reply_page_url(feedback)
    intro = _("{author} answered the feedback you sent about {title}:").format(
        author=author.name, title=title
    )
    ending = _("Reply to this message to write back, or use your private reply page.")
    hello = _hello(feedback.name, _)
    wrote = _("You wrote:")
    links = site_links(config["SITE_URL"], site_index().current())
    html = [hello, intro, answer_as_html(body, links), wrote]
    html.append(quote_html(feedback.message))
    html.append(ending)
    html.append(
        link(page, _("Your private reply page")) if page else _reply_page_text(None, _)
    )
    queue_mail(
        session,
        kind="reply-to-reader",
        to=feedback.email,
        reply_to=author.email,
        subject=_("{author} answered your feedback on {title}").format(
            author=author.name, title=title
        ),
        body=(
            f"{hello}\n\n{intro}\n\n"
            f"{answer_as_text(body, links)}\n\n"
            f"{wrote}\n{quoted(feedback.message)}\n\n"
            f"{ending}\n{_reply_page_text(page, _)}\n"
        ),
        html=html_mail(html),
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )


def post_answer_to_reader(
    session: Session,
    feedback: Feedback,
    author: Author,
    post: Article,
    config: Any,
) -> None:
    """Tell the reader, if they left an address, that ``author`` answered
    their feedback in public: the published ``post``'s link, and their reply
    page's."""
    if not feedback.email or feedback.state == "spam":
        return
    _ = reader_words(feedback.lang)
    title = title_in_quotes(feedback.article_title)
    words = {"author": author.name, "title": title}
    queue_mail(
        session,
        kind="post-answer-to-reader",
        to=feedback.email,
        subject=_("{author} answered your feedback on {title} in a post").format(
            **words
        ),
        body=(
            f"{_hello(feedback.name, _)}\n\n"
            + _(
                "{author} answered the feedback you sent about {title} in "
                "public, in a post: {post}"
            ).format(post=title_in_quotes(post.title), **words)
            + f"\n{absolute_url(post.url, config)}\n\n"
            f"{_reply_page_text(reply_page_url(feedback), _)}\n"
        ),
        site_url=config["SITE_URL"],
        thread_key=f"feedback-{feedback.id}",
    )


def comment_date(moment: datetime, lang: str = "en") -> str:
    """A comment's date as mail names it: the day in the site's time zone,
    as its pages show it (UTC if the zone is unknown), in ``lang``
    (English as Pelican's pages write it, 4 March 2025, also for a language
    whose words the mail around it does not have)."""
    with suppress(ZoneInfoNotFoundError, ValueError):
        moment = moment.astimezone(ZoneInfo(site_index().current().timezone))
    if lang.startswith("en") or lang not in shipped():
        return f"{moment:%-d %B %Y}"
    return long_date(moment, lang)


def sign_in_locked(
    session: Session, author: Author, failures: int, config: Any
) -> None:
    """Tell an author that sign-in to their account is locked for a while."""
    minutes = config["SIGNIN_WINDOW_MINUTES"]
    _ = author_words(author)
    queue_mail(
        session,
        kind="sign-in-locked",
        to=author.email,
        subject=_("Sign-in to the desk is locked for a while"),
        body=(
            _("Hello {name},").format(name=author.name)
            + "\n\n"
            + _(
                "Someone failed to sign in to the desk of {site} as you "
                "{failures} times in the last {minutes} minutes, so sign-in "
                "to your account is locked for up to {minutes} minutes."
            ).format(site=config["SITE_URL"], failures=failures, minutes=minutes)
            + "\n\n"
            + _(
                "If it was you, wait and try again. If it was not, your "
                "password held; to be safe, choose a new one:"
            )
            + f"\n\n{desk_url('desk.change_password')}\n"
        ),
        site_url=config["SITE_URL"],
    )


def password_reset(
    session: Session, author: Author, url: str, minutes: int, config: Any
) -> None:
    """Send ``author`` the link that sets a new desk password ("Forgot your
    password?" on the sign-in page; also an account's first password), in
    their desk's language. Whoever asked typed only a name or an address:
    the mail carries nothing else of theirs, and says what to do if it was
    not the author."""
    _ = author_words(author)
    site = config["SITE_URL"]
    queue_mail(
        session,
        kind="password-reset",
        to=author.email,
        subject=_("Choose a new password for the desk of {site}").format(site=site),
        body=(
            _("Hello {name},").format(name=author.name)
            + "\n\n"
            + _(
                "Someone, probably you, asked for a new password for your "
                "account on the desk of {site}. To choose one, open this "
                "link within {minutes} minutes:"
            ).format(site=site, minutes=minutes)
            + f"\n\n{url}\n\n"
            + _(
                "The link works once, and only until your password changes. "
                "Until you choose a new password, the one you have stays "
                "as it is."
            )
            + "\n\n"
            + _(
                "If you did not ask for it, ignore this mail: nobody can "
                "use the link without reading your mail."
            )
            + "\n"
        ),
        site_url=site,
    )
