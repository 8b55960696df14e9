"""The outbox: every message the site sends, queued in the database.

Everything is queued with ``queue_mail`` (or ``mail_each`` for one message
to each of many, in one statement) in the same database transaction as the
event that causes it (a feedback, a comment, a reply), so either both are
stored or neither is, and a slow or absent mail server never slows a reader
down. ``build_email`` turns a row into the message sent and ``wire_bytes``
into the bytes that go out, the same for SMTP and the Maildir (``sender.py``
sends it, ``transport.py`` carries it): headers that hold URLs and
identifiers are never encoded or folded inside (``WirePolicy``).

Safety: addresses are validated with email-validator when queued; no header
is ever built from text containing CR or LF (``HeaderError``), and the other
characters ``str.splitlines`` ends a line at become spaces, when queued and
again when sent (rows stored by older versions); see ``core/addresses.py``.
A reader's address only ever appears in To or Reply-To, never in From.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from ..core.addresses import HeaderError, checked_address, header_line, header_text
from ..core.models import OutboxMessage, UTCDateTime, utcnow
from ..store.rows import Statement
from . import conversations

logger = logging.getLogger(__name__)


def new_message_id(site_url: str) -> str:
    """Return a fresh, globally unique Message-ID on the site's domain."""
    return f"<{uuid.uuid4().hex}@{_domain(site_url)}>"


def _domain(site_url: str) -> str:
    return urlsplit(site_url).hostname or "localhost"


_OUTBOX = OutboxMessage.__table__
_INSERT = insert(_OUTBOX)
# Built once: runs for each threaded message queued.
_THREAD_PARENT = (
    select(_OUTBOX.c.message_id, _OUTBOX.c.references)
    .where(
        _OUTBOX.c.thread_key == bindparam("thread_key"),
        _OUTBOX.c.recipient == bindparam("recipient"),
    )
    .order_by(_OUTBOX.c.id.desc())
    .limit(1)
)


def mail_each(
    recipients: Select[tuple[int, str]],
    params: dict[str, Any],
    *,
    kind: str,
    subject: str,
    body: str,
    site_url: str,
    reply_to: str | None = None,
    thread_key: str | None = None,
    translated: Mapping[str, tuple[str, str]] | None = None,
) -> Statement:
    """Return the ``INSERT … SELECT`` that queues one message to each
    address ``recipients`` selects (an id and an address, checked when
    stored; ``params`` are its parameters), to run in the caller's
    transaction (``db.insert_row``'s ``then``).

    ``recipients`` may select a third column, each one's language: who
    reads a language of ``translated`` (language → subject and body) gets
    the message in it, anyone else ``subject`` and ``body``. Still one
    statement: the database picks each one's words (``CASE``).

    Who is told is decided by the database within the statement: nothing to
    read first, one round trip on a reader's post. Each message's
    Message-ID is fresh: a random part and the recipient's row id. The
    messages start their threads: nothing earlier is looked up.
    ``recipients`` should be built once (a constant, or cached): its
    statement is then built once. ``reply_to`` is an address as the forms
    keep it (``ascii_address``): this runs while a reader's post is being
    stored, so it is not validated again, only kept to one line.

    :raise HeaderError: if a header value has a line break.
    """
    subject = header_line(subject, "A subject")
    if reply_to:
        header_line(reply_to, "An address")
    words: dict[str, str] = {}
    for i, (lang, (their_subject, their_body)) in enumerate((translated or {}).items()):
        words[f"lang{i}"] = lang
        words[f"subject{i}"] = header_line(their_subject, "A subject")
        words[f"body{i}"] = their_body
    return Statement(
        _insert_each(recipients, len(translated or ())),
        {
            **params,
            **words,
            "kind": kind,
            "reply_to": reply_to or None,
            "subject": subject,
            "body": body,
            "id_start": f"<{uuid.uuid4().hex}.",
            "id_end": f"@{_domain(site_url)}>",
            "thread_key": thread_key,
            "queued_at": utcnow(),
        },
    )


@lru_cache(maxsize=16)
def _insert_each(recipients: Select[Any], languages: int = 0) -> Insert:
    """The ``INSERT … SELECT`` of ``mail_each`` for one recipients query
    and a number of languages."""
    row_id, address, *language = recipients.selected_columns
    subject: Any = bindparam("subject", type_=String())
    body: Any = bindparam("body", type_=Text())
    if language and languages:
        lang = [bindparam(f"lang{i}", type_=String()) for i in range(languages)]
        subject = case(
            *(
                (language[0] == lang[i], bindparam(f"subject{i}", type_=String()))
                for i in range(languages)
            ),
            else_=subject,
        )
        body = case(
            *(
                (language[0] == lang[i], bindparam(f"body{i}", type_=Text()))
                for i in range(languages)
            ),
            else_=body,
        )
    columns = {
        "kind": bindparam("kind", type_=String()),
        "recipient": address,
        "reply_to": bindparam("reply_to", type_=String()),
        "subject": subject,
        "body": body,
        "message_id": bindparam("id_start", type_=String())
        + cast(row_id, String())
        + bindparam("id_end", type_=String()),
        "thread_key": bindparam("thread_key", type_=String()),
        # The columns' defaults, given.
        "state": literal("queued", String()),
        "attempts": literal(0, Integer()),
        "next_attempt_at": bindparam("queued_at", type_=UTCDateTime()),
        "created_at": bindparam("queued_at", type_=UTCDateTime()),
    }
    rows = recipients.with_only_columns(
        *(value.label(name) for name, value in columns.items())
    )
    return _INSERT.from_select(list(columns), rows)


def queue_mail(
    session: Session,
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    site_url: str,
    reply_to: str | None = None,
    thread_key: str | None = None,
    list_unsubscribe: str | None = None,
    html: str | None = None,
) -> OutboxMessage:
    """Queue one plain-text message in the caller's transaction; return it.
    ``html``, if given, is its HTML alternative (sanitised by the caller).

    Messages with the same ``thread_key`` to the same recipient thread
    together: each answers (In-Reply-To, References) the one before.

    :raise HeaderError: if an address is invalid or a header value has a
        line break.
    """
    recipient = checked_address(to)
    connection = session.connection()
    in_reply_to = references = None
    if thread_key:
        parent = connection.execute(
            _THREAD_PARENT, {"thread_key": thread_key, "recipient": recipient}
        ).first()
        if parent is not None:
            # RFC 5322 3.6.4: the parent's References, then the parent.
            in_reply_to = parent.message_id
            references = " ".join(filter(None, (parent.references, in_reply_to)))
    message_id = new_message_id(site_url)
    connection.execute(
        _INSERT,
        {
            "kind": kind,
            "recipient": recipient,
            "reply_to": checked_address(reply_to) if reply_to else None,
            "subject": header_line(subject, "A subject"),
            "body": body,
            "html_body": html,
            "message_id": message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "thread_key": thread_key,
            "list_unsubscribe": (
                header_line(list_unsubscribe, "List-Unsubscribe")
                if list_unsubscribe
                else None
            ),
        },
    )
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.message_id == message_id)
    ).scalar_one()


class WirePolicy(EmailPolicy):
    """``email.policy.default`` with CRLF, and the headers that hold only
    identifiers and URLs written as they are.

    Python's folder turns a word longer than a line into an RFC 2047 encoded
    word: a long ``List-Unsubscribe`` URL would arrive as ``=?utf-8?q?=3Chttps…``,
    which RFC 2369 and RFC 8058 forbid. These headers are ASCII by
    construction; they are folded only at the spaces between their items
    (References), never inside one, and never encoded. Every other header is
    folded at 78 characters as usual, so an encoded word (a non-ASCII
    Subject or name) stays within RFC 2047's 75.

    A Subject that is not ASCII is written as encoded words alone, its
    spaces inside them. Python's folder (3.11, 3.12) puts a fold between two
    encoded words where a space was, and RFC 2047 (6.2) has a reader drop
    whitespace between encoded words: "les réponses à votre" arrived as
    "les réponsesà votre".
    """

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in VERBATIM_HEADERS:
            return _fold_at_spaces(name, str(value), self)
        if name.lower() == "subject" and not str(value).isascii():
            return _encoded_words(name, str(value), self)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in VERBATIM_HEADERS:
            return _fold_at_spaces(name, str(value), self).encode("ascii")
        if name.lower() == "subject" and not str(value).isascii():
            return _encoded_words(name, str(value), self).encode("ascii")
        return super().fold_binary(name, value)


def _encoded_words(name: str, value: str, policy: EmailPolicy) -> str:
    """Return ``name: value`` as RFC 2047 encoded words in UTF-8, folded
    between words that each carry their own spaces."""
    words = Header(header_text(value), "utf-8", header_name=name).encode(
        linesep=policy.linesep, maxlinelen=policy.max_line_length or MAX_LINE
    )
    return f"{name}: {words}{policy.linesep}"


#: Headers written as they are: identifiers and addresses in angle brackets.
VERBATIM_HEADERS = frozenset(
    {
        "message-id",
        "in-reply-to",
        "references",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
)
#: RFC 5322 2.1.1: no line longer than this, without its CRLF.
MAX_LINE = 998


def _fold_at_spaces(name: str, value: str, policy: EmailPolicy) -> str:
    """Return ``name: value`` folded only at the spaces between its items.

    :raise HeaderError: for a value that is not ASCII or would need a line
        over 998 octets: it cannot be written correctly.
    """
    if not value.isascii():
        raise HeaderError(f"{name} must be ASCII.")
    limit = policy.max_line_length or MAX_LINE
    lines = [f"{name}:"]
    for number, word in enumerate(header_text(value).split()):
        # The first item stays on the header's line, however long.
        if number and len(lines[-1]) + 1 + len(word) > limit:
            lines.append("")
        lines[-1] += " " + word
    if any(len(line) > MAX_LINE for line in lines):
        raise HeaderError(f"{name} does not fit on a line of {MAX_LINE} octets.")
    return policy.linesep.join(lines) + policy.linesep


#: How every message is written, for SMTP and the Maildir alike.
WIRE = WirePolicy(linesep="\r\n", max_line_length=78)


def sender_address(config: Mapping[str, Any], site_name: str) -> Address:
    """Return the From of every message: ``MAIL_FROM``'s address, with
    ``MAIL_FROM_NAME``, else the name MAIL_FROM carries, else the site's name."""
    name, address = parseaddr(str(config["MAIL_FROM"]))
    display = config.get("MAIL_FROM_NAME") or name or site_name
    return Address(display_name=header_text(display or ""), addr_spec=address)


def envelope_sender(message: OutboxMessage, config: Mapping[str, Any]) -> str:
    """Return the envelope sender (MAIL FROM) of ``message``: its own bounce
    address, so a bounce names it, or MAIL_FROM's address."""
    bounce = conversations.bounce_address(message.id, message.recipient, config)
    return bounce or parseaddr(str(config["MAIL_FROM"]))[1]


def build_email(
    message: OutboxMessage,
    config: Mapping[str, Any],
    *,
    site_name: str,
    salt: str = "",
) -> EmailMessage:
    """Return the EmailMessage for an outbox row, written with ``WIRE``
    (``wire_bytes``). ``site_name`` is the name beside the site's address
    when MAIL_FROM_NAME is unset (the site index's SITENAME).

    Reply-To is the conversation's own address when the message belongs to
    one (``conversations.py``; ``salt`` is the conversation's, from
    ``conversations.salts``), else the address stored with the row.
    """
    email = EmailMessage(policy=WIRE)
    email["From"] = sender_address(config, site_name)
    email["To"] = Address(addr_spec=message.recipient)
    reply_to = (
        conversations.reply_address(
            message.thread_key, message.kind, message.recipient, config, salt
        )
        or message.reply_to
    )
    if reply_to:
        email["Reply-To"] = Address(addr_spec=reply_to)
    # Rows queued by older versions may hold line breaks of any kind.
    email["Subject"] = header_text(message.subject)
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message.message_id
    if message.in_reply_to:
        email["In-Reply-To"] = message.in_reply_to
        email["References"] = message.references or message.in_reply_to
    if message.list_unsubscribe:
        # RFC 8058: one POST to this address unsubscribes, no page needed.
        email["List-Unsubscribe"] = f"<{header_text(message.list_unsubscribe)}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the text readable in any mail store.
    email.set_content(message.body, cte="quoted-printable")
    if message.html_body:
        # multipart/alternative: the text first, the richest part last.
        email.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
    return email


def wire_bytes(email: EmailMessage) -> bytes:
    """Return ``email`` as sent: 7-bit, CRLF, headers as ``WIRE`` folds them."""
    return email.as_bytes(policy=WIRE)
