"""The outbox: every message the site sends, queued in the database.

Everything is queued with ``queue_mail`` (or ``mail_each`` for one message
to each of many, in one statement) in the same database transaction as the
event that causes it (a feedback, a comment, a reply), so either both are
stored or neither is, and a slow or absent mail server never slows a reader
down. ``build_email`` turns a row into the message sent (``sender.py``
sends it, ``transport.py`` carries it).

Safety: addresses are validated with email-validator when queued; no header
is ever built from text containing CR or LF (``HeaderError``), and the other
characters ``str.splitlines`` ends a line at become spaces, when queued and
again when sent (rows stored by older versions); see ``core/addresses.py``.
A reader's address only ever appears in To or Reply-To, never in From.
"""

from __future__ import annotations

import logging
import uuid
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
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
    cast,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from ..core.addresses import checked_address, header_line, header_text
from ..core.models import OutboxMessage, UTCDateTime, utcnow
from ..store.rows import Statement

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
) -> Statement:
    """Return the ``INSERT … SELECT`` that queues one message to each
    address ``recipients`` selects (an id and an address, checked when
    stored; ``params`` are its parameters), to run in the caller's
    transaction (``db.insert_row``'s ``then``).

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
    return Statement(
        _insert_each(recipients),
        {
            **params,
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
def _insert_each(recipients: Select[tuple[int, str]]) -> Insert:
    """The ``INSERT … SELECT`` of ``mail_each`` for one recipients query."""
    row_id, address = recipients.selected_columns
    columns = {
        "kind": bindparam("kind", type_=String()),
        "recipient": address,
        "reply_to": bindparam("reply_to", type_=String()),
        "subject": bindparam("subject", type_=String()),
        "body": bindparam("body", type_=Text()),
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


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """Return the EmailMessage for an outbox row (headers encoded properly)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = Address(addr_spec=message.recipient)
    if message.reply_to:
        email["Reply-To"] = Address(addr_spec=message.reply_to)
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
    return email


# --- transports ------------------------------------------------------------------


# --- sending ------------------------------------------------------------------------
