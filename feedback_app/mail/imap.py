"""The IMAP mailbox of ``IMAP_URL``, for sites whose mail server cannot pipe
mail to ``flask mail receive``: log in over TLS (``imaps://`` or
``imap+starttls://``, the certificate always verified against the system's
CAs or ``IMAP_CA_FILE``), fetch every message, hand each to a function that
stores it, and delete (``\\Deleted`` and EXPUNGE) only those it stored.

Nothing here knows what a message means: ``services/jobs.py`` passes the
function (``services.inbound.receive``).
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from .inbound import MAX_BYTES

#: Seconds to wait for the server before giving up this poll.
TIMEOUT = 30.0

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(Exception):
    """The mailbox could not be read: a bad URL, a refused certificate or
    login, a lost connection. What was stored before stays stored."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the mailbox is (``IMAP_URL``), and how to trust its server."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    mailbox: str
    starttls: bool
    ca_file: str | None


def imap_settings(config: Mapping[str, Any]) -> ImapSettings | None:
    """Return the mailbox ``IMAP_URL`` names, or None if it is not set.

    :raise ImapError: if it is not an ``imaps://`` or ``imap+starttls://`` URL
        with a user, a password and a host.
    """
    url = config.get("IMAP_URL")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"imaps", "imap+starttls"}:
        raise ImapError("IMAP_URL must start with imaps:// or imap+starttls://.")
    try:
        port = parts.port
    except ValueError:
        raise ImapError("IMAP_URL has a bad port.") from None
    if not (parts.hostname and parts.username and parts.password):
        raise ImapError("IMAP_URL needs a user, a password and a host.")
    starttls = parts.scheme == "imap+starttls"
    return ImapSettings(
        host=parts.hostname,
        port=port or (143 if starttls else 993),
        user=unquote(parts.username),
        password=unquote(parts.password),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
        starttls=starttls,
        ca_file=config.get("IMAP_CA_FILE"),
    )


@dataclass
class PollResult:
    """What one poll did: messages seen, stored (and so deleted) and kept
    on the server, with a line about each."""

    seen: int = 0
    stored: int = 0
    kept: int = 0
    lines: list[str] = field(default_factory=list)


#: Stores one message (its bytes, and whether there was more than that);
#: returns a line saying what became of it, or None to leave it on the server.
Store = Callable[[bytes, bool], str | None]


def connect(settings: ImapSettings) -> imaplib.IMAP4:
    """Open a verified TLS connection and log in.

    :raise ImapError: if the server cannot be reached, its certificate is not
        trusted, or the login is refused.
    """
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        if settings.starttls:
            client = imaplib.IMAP4(settings.host, settings.port, timeout=TIMEOUT)
            try:
                client.starttls(ssl_context=context)
            except BaseException:
                client.shutdown()
                raise
        else:
            client = imaplib.IMAP4_SSL(
                settings.host, settings.port, ssl_context=context, timeout=TIMEOUT
            )
    except (OSError, imaplib.IMAP4.error) as exc:
        where = f"{settings.host}:{settings.port}"
        raise ImapError(f"cannot connect to {where}: {exc}") from None
    try:
        client.login(settings.user, settings.password)
    except (OSError, imaplib.IMAP4.error) as exc:
        client.shutdown()
        raise ImapError(f"login to {settings.host} refused: {exc}") from None
    return client


def poll(settings: ImapSettings, store: Store) -> PollResult:
    """Fetch every message of the mailbox, ``store`` each, and delete those
    stored.

    :raise ImapError: if the mailbox cannot be read (messages stored before
        the error and marked deleted are expunged by the server at logout or
        on the next poll).
    """
    result = PollResult()
    client = connect(settings)
    try:
        status, _ = client.select(_quoted(settings.mailbox))
        if status != "OK":
            raise ImapError(f"no mailbox {settings.mailbox!r}")
        status, data = client.uid("SEARCH", "UNDELETED")
        uids = data[0].split() if status == "OK" and data and data[0] else []
        for uid in uids:
            raw, truncated = _fetch(client, uid)
            if raw is None:
                continue
            result.seen += 1
            line = store(raw, truncated)
            if line is None:
                result.kept += 1
                continue
            result.lines.append(line)
            client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            result.stored += 1
        # Also what an earlier poll marked but could not expunge.
        client.expunge()
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"reading {settings.mailbox!r} failed: {exc}") from None
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            client.shutdown()
    return result


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(client: imaplib.IMAP4, uid: bytes) -> tuple[bytes | None, bool]:
    """The first ``MAX_BYTES`` of message ``uid``, and whether it is longer."""
    status, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    size = 0
    for item in data if status == "OK" else ():
        head = item[0] if isinstance(item, tuple) else item
        found = _SIZE.search(head or b"")
        if found:
            size = int(found.group(1))
    status, data = client.uid("FETCH", uid, f"(BODY.PEEK[]<0.{MAX_BYTES}>)")
    if status != "OK":
        return None, False
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1]), size > MAX_BYTES
    return None, False
