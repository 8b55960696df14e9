"""Reading one received message: what it is, who sent it, to which of the
site's addresses, and the reply's own text. Nothing here touches the
database: ``services/inbound.py`` decides what to do with what ``parse``
returns.

Every message is a stranger's, so every part of it is treated as hostile:

* The address it was sent to is looked for where the mail server put it
  (the envelope recipient the MTA passes, then ``Delivered-To``,
  ``X-Original-To``, ``To``, ``Cc``); the first of those that is one of the
  site's reply addresses (``conversations.read_token``) wins. The token is
  returned unverified.
* ``From`` is reduced to the bare address; a missing or unreadable
  ``Message-ID`` becomes a hash of the bytes, so a message delivered twice
  is still recognised.
* Auto-replies (``Auto-Submitted``, ``X-Autoreply``, ``Precedence``,
  Exchange's ``X-Auto-Response-Suppress``, "Out of Office" subjects in
  several languages) are recognised, so they can be ignored.
* The text is the ``text/plain`` part, else the HTML part turned into text
  (inscriptis, after the quoted parts of Gmail, Apple Mail and Outlook are
  cut out of the tree with lxml): links and scripts become inert text. The
  quoted text, the "On … wrote:" line and the signature are removed
  (``mail-parser-reply``, in every language it knows, plus the quoted lines
  and attribution lines of the languages it does not). Attachments are
  dropped, with a note saying which.
* Delivery status notifications (``multipart/report`` with a
  ``message/delivery-status`` part, as Exim and Postfix send them, or a
  plain-text bounce from ``MAILER-DAEMON``) give the failed recipient, the
  status (5.x.x hard, 4.x.x soft) and the diagnostic.
* Sizes are bounded: ``MAX_BYTES`` of the message are read at most
  (``truncated`` says when there was more) and ``MAX_TEXT`` characters of its
  text kept.

The parsing libraries (lxml, inscriptis, mail-parser-reply) are imported,
and the signature pattern built from their rules, by the first message
read: the modules that import this one for a constant or to forget a
bounce, and every command that reads no mail, do not pay for them.

Longer than 400 lines because every mail client and mail server quotes,
wraps and bounces in its own way, and each rule for that is here, next to
the others, rather than spread over modules no one would read together.
"""

from __future__ import annotations

import email
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.utils import getaddresses
from typing import Any

from ..core.text import LINE_SEPARATORS, REFUSED, STRIPPED
from .authentication import authenticated
from .conversations import Token, read_token

#: Bytes of a message read at most (the pipe and IMAP read no more).
MAX_BYTES = 4 * 1024 * 1024
#: Characters of a message's own text kept at most.
MAX_TEXT = 100_000
#: Bytes of one header field kept, and of all of them: Python's parser of
#: structured headers takes time growing faster than their length.
MAX_HEADER = 4096
MAX_HEADERS = 256 * 1024
#: Lines longer than this are never an "On … wrote:" line, and are kept out
#: of mail-parser-reply's patterns, whose time grows with a line's square.
MAX_PARSED_LINE = 200

_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Cc")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[ -]?(?:reply|response)"
    r"|autoreply|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique"
    r"|absence du bureau|respuesta autom[áa]tica|fuera de la oficina"
    r"|risposta automatica|fuori sede|automatisch antwoord|afwezig"
    r"|automatyczna odpowied[źz]|autosvar|автоответ|автоматический ответ"
    r"|нет на месте|вне офиса"
    r")",
    re.IGNORECASE,
)
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_MAILER_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?m)^\s*([45])\d\d[ -]")
_QUOTED = re.compile(r"^\s*>")
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_RULE = re.compile(r"[-_=*]{5,}")
# Attribution lines mail-parser-reply has no language for ("… написал(а):"),
# and any line ending in a colon right above the quoted text.
_ATTRIBUTION = re.compile(
    r"(?:написал\(?а?\)?|пишет|написала|wrote|schrieb|a écrit|escribió|scrisse"
    r"|schreef|napisał\(?a?\)?|skrev)\s*:\s*$",
    re.IGNORECASE,
)
# Quoted parts of HTML mail: Gmail's, Apple Mail's and Thunderbird's
# blockquotes, Outlook's reply header and what follows it, Yahoo's.
_HTML_QUOTES = (
    "//blockquote",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' moz-cite-prefix ')]",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' yahoo_quoted ')]",
    "//*[@id='appendonsend']",
)


class NotAMessage(ValueError):
    """The input is not an e-mail message at all."""


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says."""

    recipient: str
    status: str
    diagnostic: str
    action: str = "failed"

    @property
    def hard(self) -> bool:
        """A permanent failure (5.x.x): the address should not be used."""
        return self.status.startswith("5")

    @property
    def failed(self) -> bool:
        """Whether it reports a failure (not a delay, a delivery or relay)."""
        return self.action == "failed"

    def reason(self) -> str:
        kind = "hard" if self.hard else "soft"
        text = f"{kind} bounce {self.status}".strip()
        return f"{text}: {self.diagnostic}" if self.diagnostic else text


@dataclass(frozen=True)
class Inbound:
    """One received message, as far as the site cares."""

    message_id: str
    sender: str | None
    recipient: str | None
    token: Token | None
    subject: str
    text: str
    auto_reply: str | None = None
    bounce: Bounce | None = None
    attachments: tuple[str, ...] = ()
    truncated: bool = False
    text_cut: bool = False
    #: Whether the server named ``MAIL_AUTHSERV_ID`` vouches for the sender's
    #: domain (``authentication.py``); None when no server is named.
    authenticated: bool | None = None


def parse(
    raw: bytes,
    config: Mapping[str, Any],
    envelope_recipient: str | None = None,
    *,
    truncated: bool = False,
) -> Inbound:
    """Read ``raw`` (at most ``MAX_BYTES`` of a message; ``truncated`` if it
    had more) sent to ``envelope_recipient`` (if the MTA said).

    :raise NotAMessage: if it has no header a message has.
    """
    if len(raw) > MAX_BYTES:
        raw, truncated = raw[:MAX_BYTES], True
    if not raw.strip():
        raise NotAMessage("empty input")
    message = email.message_from_bytes(_bounded_headers(raw), policy=policy.default)
    if not any(_header(message, name) for name in ("From", "To", "Message-ID")):
        raise NotAMessage("no From, To or Message-ID header")

    recipient, token = _recipient(message, config, envelope_recipient)
    sender = _sender(message)
    subject = _one_line(_header(message, "Subject"))[:300]
    message_id = _message_id(message, raw)
    bounce = _bounce(message, sender)
    if bounce is not None:
        return Inbound(
            message_id, sender, recipient, token, subject, "", bounce=bounce,
            truncated=truncated,
        )  # fmt: skip
    text, attachments = _text(message)
    # What is read of a huge text: a reply is held then anyway.
    own = reply_text(text[: 2 * MAX_TEXT])
    if attachments:
        names = ", ".join(attachments)
        count = len(attachments)
        note = f"[{count} attachment{'s' if count > 1 else ''} not kept: {names}]"
        own = f"{own}\n\n{note}" if own else note
    cut = len(own) > MAX_TEXT
    return Inbound(
        message_id=message_id,
        sender=sender,
        recipient=recipient,
        token=token,
        subject=subject,
        text=own[:MAX_TEXT],
        auto_reply=_auto_reply(message, subject),
        attachments=tuple(attachments),
        truncated=truncated,
        text_cut=cut,
        authenticated=(
            authenticated(message, sender, config["MAIL_AUTHSERV_ID"])
            if config.get("MAIL_AUTHSERV_ID")
            else None
        ),
    )


# --- headers -----------------------------------------------------------------------


def _bounded_headers(raw: bytes) -> bytes:
    """``raw`` with each header field cut to ``MAX_HEADER`` bytes and the
    fields past ``MAX_HEADERS`` bytes dropped; the body as it is."""
    end = min(
        (i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0),
        default=len(raw),
    )
    head, body = raw[:end], raw[end:]
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line  # a folded field goes on
        else:
            fields.append(line)
    kept, size = [], 0
    for field in fields:
        if len(field) > MAX_HEADER:
            field = field[:MAX_HEADER].rstrip(b"\r\n") + b"\r\n"
        size += len(field)
        if size > MAX_HEADERS:
            break
        kept.append(field)
    return b"".join(kept).rstrip(b"\r\n") + body


def _sender(message: Message) -> str | None:
    """The address in the one ``From`` header, read as written (a name may
    be an encoded word, the address never: decoded, it would be anyone's);
    None for none, several, or an encoded one."""
    raw = [str(v) for k, v in message.raw_items() if k.lower() == "from"]
    if len(raw) != 1:
        return None
    address = _address(raw[0])
    return None if address is None or "=?" in address else address


def _header(message: Message, name: str) -> str:
    """One header as text; a header too broken to read is empty."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header the parser chokes on
        return ""
    return str(value) if value is not None else ""


def _all(message: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in message.get_all(name) or ()]
    except Exception:
        return []


def _one_line(value: str) -> str:
    return " ".join(_clean(value).split())


def _address(value: str) -> str | None:
    """The bare address of a header like ``"Ana" <ana@example.org>``."""
    for _, address in getaddresses([value]):
        address = _one_line(address)
        if "@" in address and len(address) <= 254:
            return address
    return None


def _message_id(message: Message, raw: bytes) -> str:
    value = _one_line(_header(message, "Message-ID"))
    if value and len(value) <= 300:
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _recipient(
    message: Message, config: Mapping[str, Any], envelope: str | None
) -> tuple[str | None, Token | None]:
    """The first of the site's reply addresses the message was sent to (and
    its token); else the first recipient address at all."""
    candidates = [envelope] if envelope else []
    for name in _RECIPIENT_HEADERS:
        candidates += [a for _, a in getaddresses(_all(message, name)) if a]
    for address in candidates:
        token = read_token(address, config)
        if token is not None:
            return address.strip(), token
    first = next((a for a in candidates if "@" in a), None)
    return (_one_line(first)[:254] or None) if first else None, None


def _auto_reply(message: Message, subject: str) -> str | None:
    """Why the message is an automatic reply, or None."""
    submitted = _header(message, "Auto-Submitted").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(message, name):
            return f"{name} header"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    suppress = {
        v.strip().lower()
        for v in _header(message, "X-Auto-Response-Suppress").split(",")
    }
    if suppress & {"all", "oof"}:
        return "X-Auto-Response-Suppress header"
    if _AUTO_SUBJECT.match(subject):
        return "an out-of-office subject"
    return None


# --- bounces -----------------------------------------------------------------------


def _bounce(message: Message, sender: str | None) -> Bounce | None:
    """What a delivery status notification says, or None if it is not one."""
    if message.get_content_type() == "multipart/report":
        kind = message.get_param("report-type", "", header="content-type")
        if str(kind).lower() == "delivery-status":
            return _dsn(message)
    if sender and _MAILER_DAEMON.match(sender):
        text, _ = _text(message)
        found = _STATUS.search(text)
        if found and found.group(1) in "45":
            status = found.group(0)
        else:
            code = _SMTP_CODE.search(text)
            status = f"{code.group(1)}.0.0" if code else "4.0.0"
        return Bounce(
            recipient="",
            status=status,
            diagnostic=_one_line(_diagnostic_line(text))[:300],
        )
    return None


def _diagnostic_line(text: str) -> str:
    for line in text.splitlines():
        if _STATUS.search(line) or _SMTP_CODE.match(line):
            return line
    return ""


def _dsn(message: Message) -> Bounce:
    fields: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            blocks = [email.message_from_string(str(blocks), policy=policy.default)]
        # The first block is about the message; the next about recipients:
        # the first recipient's fields win.
        for block in blocks[1:] or blocks:
            for name in ("Final-Recipient", "Original-Recipient", "Action",
                         "Status", "Diagnostic-Code"):  # fmt: skip
                value = _header(block, name)
                if value and name not in fields:
                    fields[name] = _one_line(value)
            if "Status" in fields:
                break
        break
    recipient = fields.get("Final-Recipient") or fields.get("Original-Recipient", "")
    recipient = recipient.partition(";")[2].strip() or recipient
    status = _STATUS.search(fields.get("Status", ""))
    diagnostic = fields.get("Diagnostic-Code", "")
    diagnostic = diagnostic.partition(";")[2].strip() or diagnostic
    return Bounce(
        recipient=recipient[:254],
        status=status.group(0) if status else "5.0.0",
        diagnostic=diagnostic[:300],
        action=fields.get("Action", "failed").strip().lower()[:20],
    )


# --- the text ----------------------------------------------------------------------


def _clean(value: str) -> str:
    """Text under the project's policy, control characters dropped rather
    than refused (a mail is not a form that can be sent again)."""
    text = LINE_SEPARATORS.sub("\n", value.replace("\r\n", "\n"))
    text = text.replace("\t", "    ")
    return STRIPPED.sub("", REFUSED.sub("", text))


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, UnicodeError):  # a charset unknown, or no text codec
        return payload.decode("utf-8", errors="replace")


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (
        bool(part.get_filename()) and part.get_content_maintype() != "multipart"
    )


def _text(message: Message) -> tuple[str, list[str]]:
    """The message's text (plain preferred, else HTML as text), and the
    names of the attachments left out."""
    plain: str | None = None
    html: str | None = None
    attachments: list[str] = []
    parts = message.walk() if message.is_multipart() else [message]
    for part in parts:
        if part.is_multipart():
            continue
        if _is_attachment(part) or part.get_content_maintype() not in {"text"}:
            if part.get_content_type() != "message/delivery-status":
                try:
                    name = part.get_filename()
                except Exception:
                    name = None
                name = _one_line(name or "")[:100]
                attachments.append(name or part.get_content_type())
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decoded(part)
        elif kind == "text/html" and html is None:
            html = _decoded(part)
        elif kind not in {"text/plain", "text/html"}:
            attachments.append(_one_line(part.get_filename() or kind)[:100])
    if plain is not None and plain.strip():
        return _clean(plain), attachments
    if html is not None:
        return _clean(html_to_text(html)), attachments
    return _clean(plain or ""), attachments


def html_to_text(html: str) -> str:
    """HTML mail as plain text, its quoted parts cut out: what a person
    reads, with every tag, link target and script gone."""
    import lxml.html
    from inscriptis import get_text
    from lxml import etree

    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        tree = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        return ""
    for query in _HTML_QUOTES:
        for node in tree.xpath(query):
            if node.getparent() is not None:
                node.drop_tree()
    # Outlook: the reply header and everything after it is the quoted mail.
    for node in tree.xpath("//*[@id='divRplyFwdMsg']"):
        _drop_from(node)
    for node in tree.xpath("//script|//style|//head"):
        if node.getparent() is not None:
            node.drop_tree()
    return get_text(lxml.html.tostring(tree, encoding="unicode"))


def _drop_from(node: Any) -> None:
    """Drop ``node`` and everything after it in the document (with an
    ``<hr>`` right before it, Outlook's rule above its reply header)."""
    before = node.getprevious()
    if before is not None and before.tag == "hr":
        before.getparent().remove(before)
    current = node
    while current is not None and current.tag not in {"body", "html"}:
        parent = current.getparent()
        for sibling in list(current.itersiblings()):
            parent.remove(sibling)
        current = parent
    node.getparent().remove(node)


@functools.cache
def _languages() -> tuple[str, ...]:
    """Every language ``mail-parser-reply`` knows headers and signatures of."""
    from mailparser_reply.constants import MAIL_LANGUAGES

    return tuple(sorted(MAIL_LANGUAGES))


@functools.cache
def _signature_regex() -> re.Pattern[str]:
    """``mail-parser-reply``'s signatures, but only a closing phrase on a
    line of its own ("Best regards,", "Viele Grüße"), a "-- " line or a
    "Sent from my …" line: a sentence starting "Thanks, that helps" is the
    reply, not its signature. Built once, on first use."""
    from mailparser_reply.constants import MAIL_LANGUAGES, OUTLOOK_MAIL_SEPARATOR

    phrases, sent_from = [], []
    for language in _languages():
        rules = MAIL_LANGUAGES[language]
        found = rules.get("signatures", [])
        phrases += found if isinstance(found, list) else [found]
        if rules.get("sent_from"):
            sent_from.append(rules["sent_from"])
    closing = "|".join(f"(?:{p})" for p in phrases)
    sent = "|".join(f"(?:{p})" for p in sent_from)
    return re.compile(
        rf"(\s*^(?:> ?)*(?:--|__)\s*$|{OUTLOOK_MAIL_SEPARATOR}"
        rf"|\s*^(?:> ?)*(?:{sent}) ?(?:(?:[\w.<>:// ]+)|(?:\w+ ){{1,3}})$"
        rf"|(?<!\A)^(?:> ?)*(?:{closing})[ \t,.!]*$)(.|\s)*",
        flags=re.MULTILINE | re.IGNORECASE,
    )


def reply_text(text: str) -> str:
    """The reply's own text: quoted text, the attribution line above it and
    the signature removed, in every language ``mail-parser-reply`` knows,
    and quoted lines in any language."""
    from mailparser_reply.parser import EmailMessage as ReplyText

    text = _clean(text).strip()
    if not text:
        return ""
    # Long lines go in as placeholders and come back after: the library's
    # patterns then never see more than MAX_PARSED_LINE characters at once.
    long_lines: list[str] = []
    text = text.replace("\ue000", "").replace("\ue001", "")  # ours alone

    def put_aside(found: re.Match[str]) -> str:
        long_lines.append(found[0])
        return f"\ue000{len(long_lines) - 1}\ue001"

    text = re.sub(rf"(?m)^[^\n]{{{MAX_PARSED_LINE + 1},}}$", put_aside, text)
    parsed = ReplyText(
        text=text,
        languages=list(_languages()),
        keep_hyphen_lists=True,
        _signature_regex=_signature_regex(),
    ).read()
    if not parsed.replies:
        return ""
    first = parsed.replies[0]
    own = re.sub(
        "\ue000(\\d+)\ue001", lambda found: long_lines[int(found[1])], first.body
    )
    # Nothing above the first "On … wrote:": a bottom-posted reply, written
    # below the quote. Without any quoted line it is the quoted mail itself
    # (Outlook quotes without ">"), not a reply.
    if first.headers and not any(_QUOTED.match(n) for n in own.splitlines()):
        return ""
    return _unquoted(own)


def _unquoted(text: str) -> str:
    """``text`` without quoted lines, the attribution above each quote
    ("… wrote:", which may be wrapped over a few lines), separator lines,
    nor anything after a "-- " line."""
    lines = [line.rstrip() for line in text.splitlines()]
    # The next line that is not blank, after each line (one pass backwards).
    after = [""] * len(lines)
    for i in range(len(lines) - 2, -1, -1):
        after[i] = lines[i + 1] if lines[i + 1].strip() else after[i + 1]
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _QUOTED.match(line):
            continue
        if line in {"--", "-- "}:
            break
        following = after[i]
        if _QUOTED.match(following) and line.endswith(":"):
            paragraph = [line]
            while kept and kept[-1].strip() and len(paragraph) < 3:
                paragraph.insert(0, kept.pop())
            said = "\n".join(paragraph)
            if _ATTRIBUTION.search(line) or "@" in said or _TIME.search(said):
                continue  # the "… wrote:" lines above a quote
            kept.extend(paragraph)
            continue
        kept.append(line)
    while kept and (not kept[-1].strip() or _RULE.fullmatch(kept[-1].strip())):
        kept.pop()
    own = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", own)
