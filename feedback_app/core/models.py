"""Tables of the app; the migrations in ``migrations/`` create them.

``feedback``
    A private message from a reader about one article, in one of the desk's
    states: ``new``, ``read``, ``answered``, ``archived``, ``spam`` or
    ``trash`` (deleted by the author: restored from there, or purged). The
    reader's private reply page is found by a token, an HMAC under the secret
    key of ``reply_token_nonce``, of which only the SHA-256 hash is stored,
    so a copy of the database without the key does not open anyone's reply
    page, and mail sent later can carry the link.
    ``email`` is optional: without it the author can answer only on that page.
    ``article_page_url`` is the article it was sent from (Pelican's
    site-relative URL, unique where a slug is not) and ``article_authors``
    that article's authors when it arrived: who may read and answer it
    (``ownership.py``). ``article_slug`` is kept for people to read.
    ``post_slug`` and ``post_source`` name the post drafted to answer it in
    public (its slug, and its Markdown file under ``content/``); the reply
    page links to it once the site publishes it.
``feedback_message``
    What follows a feedback, in order: the reader's follow-ups and the
    author's replies (``sender`` is ``reader`` or ``author``). An author's
    reply records who wrote it and how it went out (``via``: ``page``, or
    ``page+email``); a public answer is a ``post`` message.
``comment``
    A public comment on an article, in one of four states: ``pending``
    (held for moderation), ``approved`` (published), ``spam`` or ``trash``.
    ``body`` is what the reader typed (Markdown); ``html`` is its rendering,
    sanitised once when stored and published as is. ``email`` and
    ``website`` are plain text; the address is never published. ``parent_id``
    is the comment it answers (approved, same article); ``depth`` is 1 for a
    top-level comment. ``is_author`` is set only for the author's own replies
    from the desk or CLI, never from anything a reader sends, and only for
    an author recorded in ``article_authors``: like feedback, a comment
    records its article's URL and authors when it arrives.
    ``submission_key`` is the form's idempotency key: a retried or
    double-clicked post finds the comment it already stored; ``fingerprint``
    does the same for posts without one.
``subscription``
    An address that asked for reply notifications: it gets them only once
    ``confirmed_at`` is set (double opt-in), and never after
    ``unsubscribed_at``.
``author``
    The site's authors, matched by name to Pelican's ``Author`` metadata:
    where their notifications go, and whether they want them; and their
    account on the desk: a ``role`` (an ``author`` sees what readers sent
    about their own articles, an ``editor`` everything) and a scrypt
    ``password_hash`` (none: cannot sign in). ``password_changed_at`` ends
    every session signed in before it.
``desk_session``
    A signed-in desk session: the browser's session cookie holds a random
    token of which only the SHA-256 hash is stored. Signing out deletes the
    row, so a copy of the cookie dies with it; so does every row of an author
    whose password changes.
``rate_event``
    One reader's post, counted against a rate-limit bucket (a keyed hash of
    the client's address, or an article) for as long as the limit's window
    (``limits.py``).
``sign_in_failure``
    Failed sign-ins of the last while, by account name and by a keyed hash
    of the address they came from (never the address itself): what slows
    down and then locks out guessing (``auth.py``).
``outbox_message``
    Every mail the site sends, queued in the same transaction as the event
    that causes it and delivered by the outbox sender (``mail/sender.py``).
    ``state`` is ``queued``, ``sending`` (claimed by a sender until
    ``claimed_until``), ``sent`` (accepted by the relay: delivery unknown),
    ``failed`` (``last_error`` says why) or ``bounced`` (accepted, then a
    delivery status notification came back; ``last_error`` has its reason).
    ``message_id`` is the Message-ID header, fixed when queued, so a message
    delivered twice is recognisably the same one.
``inbound_message``
    Every message received by mail: a reply to a conversation (applied as
    the answer, follow-up or comment reply it is, or held for an editor), a
    bounce, or an ignored auto-reply. Stored once per Message-ID.
``bounced_address``
    Addresses that bounced for good: mail to them is not sent until the
    address is given again.

Longer than 400 lines because every table is here, with the indexes its
queries need and why: one schema, which the migrations are tested against.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so values are normalised to UTC going in and
    marked as UTC coming out; PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """Return a constraint keeping ``column`` to ``values``."""
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


FEEDBACK_STATES = ("new", "read", "answered", "archived", "spam", "trash")
NOTIFY_CHOICES = ("immediate", "digest", "off")
OUTBOX_STATES = ("queued", "sending", "sent", "failed", "bounced")
COMMENT_STATES = ("pending", "approved", "spam", "trash")
SENDERS = ("reader", "author")
ROLES = ("author", "editor")
VIAS = ("page", "page+email", "post")
INBOUND_STATES = ("applied", "held", "ignored", "discarded")


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (one_of("state", FEEDBACK_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_slug: Mapped[str] = mapped_column(String(200), index=True)
    # The title and URL when it was sent, so the reply page survives a rename.
    article_title: Mapped[str] = mapped_column(String(500))
    article_url: Mapped[str] = mapped_column(String(1000))
    # The article it was sent from, and its authors then (ownership.py).
    article_page_url: Mapped[str] = mapped_column(String(1000), index=True)
    article_authors: Mapped[str] = mapped_column(Text, default="[]")
    message: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    may_quote: Mapped[bool] = mapped_column(default=False)
    # The language of the page it was sent from: its reply page and mail
    # speak it (NULL: the site's default language).
    lang: Mapped[str | None] = mapped_column(String(35))
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    post_slug: Mapped[str | None] = mapped_column(String(200))
    post_source: Mapped[str | None] = mapped_column(String(300))
    reply_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token is an HMAC of this nonce under the secret key, so mail sent
    # later can carry the reply page's link (none: sent before it was kept).
    reply_token_nonce: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When it last changed (its state, above all): spam is purged by it.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    messages: Mapped[list[FeedbackMessage]] = relationship(
        back_populates="feedback",
        order_by="FeedbackMessage.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class FeedbackMessage(Base):
    __tablename__ = "feedback_message"
    __table_args__ = (one_of("sender", SENDERS), one_of("via", VIAS))

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    # Author's replies only: who answered, and how it reached the reader.
    author_name: Mapped[str | None] = mapped_column(String(200))
    via: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    feedback: Mapped[Feedback] = relationship(back_populates="messages")


class Comment(Base):
    __tablename__ = "comment"
    __table_args__ = (
        one_of("state", COMMENT_STATES),
        # "Has this address an approved comment?" on every post: without
        # both columns SQLite walks every approved comment instead.
        Index("ix_comment_email_state", "email", "state"),
        # An article's published thread, in order, at every moderation
        # action: with the state's index instead, SQLite read every approved
        # comment of the site (bench/README.md, issue 21).
        Index(
            "ix_comment_article_state",
            "article_page_url",
            "state",
            "created_at",
            "id",
        ),
        # An imported comment once: its source and its id there.
        Index("ix_comment_origin", "origin", "origin_id", unique=True),
        # Never reuse an id: #comment-N links and feed ids stay unique.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_slug: Mapped[str] = mapped_column(String(200), index=True)
    # The article it was sent from, and its authors then (ownership.py).
    article_page_url: Mapped[str] = mapped_column(String(1000), index=True)
    article_authors: Mapped[str] = mapped_column(Text, default="[]")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )
    depth: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    # Why the rules held it or marked it spam, for the moderator.
    reason: Mapped[str | None] = mapped_column(String(200))
    is_author: Mapped[bool] = mapped_column(default=False)
    # The language of the page it was sent from, for mail about it.
    lang: Mapped[str | None] = mapped_column(String(35))
    # Imported (``importing/``): where from ("wordpress http://old.example",
    # "disqus shortname", "isso"), its id there, and the fragment old links
    # to it use when its own #comment-N is not that (``isso-7``).
    origin: Mapped[str | None] = mapped_column(String(200))
    origin_id: Mapped[str | None] = mapped_column(String(100))
    anchor: Mapped[str | None] = mapped_column(String(100))
    # The commenter asked to hear about replies (sent once their address is
    # confirmed); and, on a reply, whether that mail has gone out.
    notify_replies: Mapped[bool] = mapped_column(default=False)
    reply_notified: Mapped[bool] = mapped_column(default=False)
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # SHA-256 of article, name, address and text: finds the same comment sent
    # twice without a key (a double click with JavaScript off).
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )


class Author(Base):
    __tablename__ = "author"
    __table_args__ = (one_of("notify", NOTIFY_CHOICES), one_of("role", ROLES))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    notify: Mapped[str] = mapped_column(String(10), default="immediate")
    role: Mapped[str] = mapped_column(String(10), default="author")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The desk's language for this author (NULL: the site's default).
    lang: Mapped[str | None] = mapped_column(String(35))
    # Until when the daily digest has covered what readers sent.
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        one_of("state", OUTBOX_STATES),
        Index("ix_outbox_message_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # An HTML alternative of ``body`` (multipart/alternative), if any.
    html_body: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    references: Mapped[str | None] = mapped_column(Text)
    # Messages of one conversation (e.g. "feedback-12") thread together.
    thread_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # RFC 8058 one-click unsubscribe address, for notifications readers chose.
    list_unsubscribe: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which sender holds the claim: only it may send or finish the message.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboundMessage(Base):
    """One message received by mail (``flask mail receive`` or IMAP)."""

    __tablename__ = "inbound_message"
    __table_args__ = (one_of("state", INBOUND_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The same Message-ID twice is stored (and acted on) once.
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    received_via: Mapped[str] = mapped_column(String(10))  # "pipe" or "imap"
    sender: Mapped[str | None] = mapped_column(String(254))
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    # The reply's own text (quotes and signature removed), as plain text.
    body: Mapped[str] = mapped_column(Text, default="")
    # "answer", "follow-up", "comment-reply", "bounce", or None (unknown).
    kind: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), index=True)
    # Why it was held or ignored, or what it did.
    reason: Mapped[str | None] = mapped_column(String(500))
    feedback_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback.id", ondelete="SET NULL"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="SET NULL"), index=True
    )
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BouncedAddress(Base):
    """An address that bounced for good: no mail goes there until it is
    given again (the reader's reply page, an author's account)."""

    __tablename__ = "bounced_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    outbox_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    bounced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Subscription(Base):
    __tablename__ = "subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SignInFailure(Base):
    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "#<author id>" for an existing account (by name or address alike),
    # else the name typed, casefolded.
    account: Mapped[str] = mapped_column(String(254), index=True)
    # HMAC-SHA-256 of the client's address under the app's secret key.
    client_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, index=True
    )


class DeskSession(Base):
    __tablename__ = "desk_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("author.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RateEvent(Base):
    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_bucket_created_at", "bucket", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# A reader's data is found by their address in any case (``reader_data``:
# export, erasure). Without an index of ``lower(address)`` every one of these
# requests read each table whole: an erasure took 54 ms at 100,000 comments
# and 7 ms at 1,000 (bench/README.md, issue 21). Bounced addresses are
# stored in lower case already, and found by their unique index.
Index("ix_feedback_email_lower", func.lower(Feedback.email))
Index("ix_comment_email_lower", func.lower(Comment.email))
Index("ix_subscription_email_lower", func.lower(Subscription.email))
Index("ix_outbox_message_recipient_lower", func.lower(OutboxMessage.recipient))
Index("ix_outbox_message_reply_to_lower", func.lower(OutboxMessage.reply_to))
Index("ix_inbound_message_sender_lower", func.lower(InboundMessage.sender))
