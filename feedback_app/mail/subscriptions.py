"""Reply notifications for commenters, with double opt-in.

A commenter who ticks "e-mail me replies to my comment" is sent one
confirmation message; only once they confirm does their address get
notifications, each with a one-click unsubscribe (RFC 8058) and a visible
link. An address that unsubscribes gets nothing more unless it asks again,
and confirms again.

Both messages speak the language of the page the commenter wrote from
(``comment.lang``; ``messages.reader_words``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.models import Comment, Subscription, utcnow
from .links import confirm_url, unsubscribe_url
from .messages import (
    absolute_url,
    comment_date,
    quoted,
    reader_language,
    reader_words,
    short_quote,
    title_in_quotes,
)
from .outbox import queue_mail

#: A new confirmation message goes to the same address at most this often.
CONFIRMATION_INTERVAL = timedelta(days=1)


def _subscription(session: Session, email: str) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.email == email))


def is_confirmed(session: Session, email: str) -> bool:
    """Tell whether ``email`` confirmed and has not unsubscribed since."""
    sub = _subscription(session, email)
    return bool(sub and sub.confirmed_at and not sub.unsubscribed_at)


def request_notifications(
    session: Session,
    email: str,
    config: Any,
    *,
    site_name: str,
    article_title: str,
    lang: str | None = None,
) -> bool:
    """Record an address's wish; send it a confirmation unless confirmed.

    The confirmation names the site (``site_name``) and the article commented
    on, so the reader knows what they are confirming, in ``lang``, the
    language of the page they commented on. Returns True if a
    confirmation was queued now."""
    now = utcnow()
    sub = _subscription(session, email)
    if sub is None:
        sub = Subscription(email=email)
        session.add(sub)
    elif sub.unsubscribed_at:  # asking again after leaving: confirm again
        sub.unsubscribed_at = None
        sub.confirmed_at = None
        sub.confirmation_sent_at = None
    if sub.confirmed_at:
        return False
    if (
        sub.confirmation_sent_at
        and now - sub.confirmation_sent_at < CONFIRMATION_INTERVAL
    ):
        return False
    sub.confirmation_sent_at = now
    site = site_name or config["SITE_URL"]
    title = title_in_quotes(article_title)
    lang = reader_language(lang)
    _ = reader_words(lang)
    queue_mail(
        session,
        kind="confirm-subscription",
        to=email,
        subject=_(
            "Please confirm: e-mail about replies to your comment on {site}"
        ).format(site=site),
        body=(
            _("Hello,")
            + "\n\n"
            + _(
                "Someone, probably you, left a comment on {title} on {site} "
                "({address}) with this address and asked to be told by "
                "e-mail when somebody replies to it."
            ).format(title=title, site=site, address=config["SITE_URL"])
            + "\n\n"
            + _("To confirm, open this link and press the button:")
            + f"\n{confirm_url(email, lang)}\n\n"
            + _(
                "If it was not you, do nothing: without confirmation, this "
                "address gets no further mail from us."
            )
            + "\n"
        ),
        site_url=config["SITE_URL"],
    )
    return True


def confirm(session: Session, email: str) -> None:
    """Confirm ``email``'s wish for reply notifications."""
    sub = _stored(session, email)
    sub.confirmed_at = utcnow()
    sub.unsubscribed_at = None


def unsubscribe(session: Session, email: str) -> None:
    """Stop all reply notifications to ``email``."""
    _stored(session, email).unsubscribed_at = utcnow()


def _stored(session: Session, email: str) -> Subscription:
    """Return ``email``'s subscription, added to the session if it had none."""
    sub = _subscription(session, email)
    if sub is None:
        sub = Subscription(email=email)
        session.add(sub)
    return sub


def reply_published(
    session: Session, reply: Comment, article_title: str, reply_url: str, config: Any
) -> None:
    """Tell the author of the comment ``reply`` answers, if they asked and confirmed.

    ``reply_url`` is where the reply is shown (``site.threads.comment_link``).

    Runs when a reply becomes public; a reply notifies at most once, however
    often it is approved again.
    """
    if reply.reply_notified or reply.parent_id is None or reply.state != "approved":
        return
    reply.reply_notified = True
    parent = session.get(Comment, reply.parent_id)
    if parent is None or not parent.notify_replies or not parent.email:
        return
    if reply.email and reply.email.casefold() == parent.email.casefold():
        return  # nobody needs mail about their own reply
    if not is_confirmed(session, parent.email):
        return
    title = title_in_quotes(article_title)
    lang = reader_language(parent.lang)
    stop = unsubscribe_url(parent.email, lang)
    _ = reader_words(lang)
    words = {"name": reply.name, "title": title}
    replied = _("{name} replied to your comment of {date} on {title}:").format(
        date=comment_date(parent.created_at, lang), **words
    )
    queue_mail(
        session,
        kind="reply-notification",
        to=parent.email,
        subject=_("{name} replied to your comment on {title}").format(**words),
        body=(
            _("Hello {name},").format(name=parent.name) + f"\n\n{replied}\n\n"
            f"{quoted(short_quote(parent.body))}\n\n"
            + _("The reply:")
            + f"\n\n{quoted(reply.body)}\n\n"
            + _("Read the thread:")
            + f" {absolute_url(reply_url, config)}\n\n"
            + _("You get this because you asked for replies by e-mail.")
            + "\n"
            + _("Stop these messages:")
            + f" {stop}\n"
        ),
        site_url=config["SITE_URL"],
        list_unsubscribe=stop,
    )
