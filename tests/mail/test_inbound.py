"""Replies and bounces received by mail, through ``flask mail receive`` run
as the mail server runs it: a real process, the message on its standard
input, the app's settings in its environment, the test's SQLite file.

Every message here is written out as its mail client sends it (Thunderbird,
Gmail, Outlook, Apple Mail; in English, German, French, Russian, Spanish;
Exim's and Postfix's delivery reports), and each test checks what then shows
on the reader's reply page, on the desk, and what mail is queued.
"""

from __future__ import annotations

import base64
import os
import quopri
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from feedback_app.core.db import get_db
from feedback_app.core.models import (
    BouncedAddress,
    Comment,
    Feedback,
    InboundMessage,
    OutboxMessage,
)
from feedback_app.mail.conversations import (
    Token,
    address_with,
    make_token,
    salt_of,
)

from ..conftest import (
    ORIGIN,
    Commenter,
    Desk,
    Reader,
    csrf_token,
    outbox,
)

FLASK = str(Path(sys.executable).parent / "flask")
READER = "anna@example.net"
MAYA_ADDRESS = "maya@example.org"


# --- helpers -----------------------------------------------------------------------


def env_of(app: Flask) -> dict[str, str]:
    """The app fixture's settings, as a mail server's pipe would pass them."""
    c = app.config
    return {
        **os.environ,
        "FEEDBACK_DATABASE_URL": c["DATABASE_URL"],
        "FEEDBACK_SECRET_KEY": c["SECRET_KEY"],
        "FEEDBACK_INSTANCE_PATH": app.instance_path,
        "FEEDBACK_SITE_URL": c["SITE_URL"],
        "FEEDBACK_SITE_INDEX_PATH": c["SITE_INDEX_PATH"],
        "FEEDBACK_OUTPUT_PATH": c["OUTPUT_PATH"],
        "FEEDBACK_COMMENTS_PATH": c["COMMENTS_PATH"],
        "FEEDBACK_CONTENT_PATH": c["CONTENT_PATH"],
        "FEEDBACK_MAILDIR_PATH": c["MAILDIR_PATH"],
        "FEEDBACK_COMMENTS_REBUILD": "false",
    }


def pipe(
    app: Flask, raw: bytes, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``flask mail receive`` as the mail server does; return the process."""
    return subprocess.run(
        [FLASK, "--app", "feedback_app", "mail", "receive", *args],
        input=raw.decode("latin-1"),
        encoding="latin-1",
        capture_output=True,
        env=env or env_of(app),
        timeout=120,
        check=False,
    )


def delivered(app: Flask, raw: bytes, *args: str) -> str:
    """Pipe ``raw`` in; check it was stored; return the line printed."""
    done = pipe(app, raw, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def reply_address(app: Flask, kind: str, id_: int, role: str, to: str) -> str:
    """The Reply-To of the site's mail about conversation ``id_`` to ``to``
    (``test_loop.py`` takes it from the bytes sent instead)."""
    named = Token(kind, id_, role)  # type: ignore[arg-type]
    with get_db(app).read() as session:
        salt = salt_of(session, named)
    token = make_token(named, to, app.config["SECRET_KEY"], salt)
    return address_with(token, app.config)


def bounce_address(app: Flask, outbox_id: int, recipient: str) -> str:
    token = make_token(Token("bounce", outbox_id, ""), recipient, "test secret")
    return address_with(token, app.config)


def mid() -> str:
    return f"<{uuid.uuid4().hex}@mail.example.net>"


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def inbound_rows(app: Flask) -> list[InboundMessage]:
    with get_db(app).read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def feedback_row(app: Flask, feedback_id: int = 1) -> Feedback:
    with get_db(app).read() as session:
        feedback = session.get(Feedback, feedback_id)
        _ = feedback.messages
        return feedback


@pytest.fixture
def conversation(app: Flask, reader: Reader, desk: Desk) -> str:
    """Feedback #1 from Anna (with her address) on the article of Maya (an
    author, maya@example.org, signed in on ``desk``); its reply page token."""
    token, _ = reader.send_and_follow(
        message="Does the script matter at all?", email=READER, name="Anna"
    )
    return token


# --- the mail clients, as they send replies -----------------------------------------


def thunderbird_bottom(to: str, sender: str, text: str, **kw: str) -> bytes:
    return crlf(
        f"""Message-ID: {kw.get("message_id", mid())}
Date: Sun, 6 Dec 2026 10:05:12 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Maya Lindqvist answered your feedback
Content-Language: en-GB
To: Talkback Blog <{to}>
From: Anna <{sender}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

On 06/12/2026 10:00, Talkback Blog wrote:
> Hello Anna,
>
> Maya Lindqvist answered the feedback you sent:
>
> It matters less than the questions.
>

{text}

-- 
Anna Example
https://anna.example.net
"""
    )


def thunderbird_top_de(to: str, sender: str, text: str) -> bytes:
    return crlf(
        f"""Message-ID: {mid()}
Date: Sun, 6 Dec 2026 10:05:12 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Feedback zu „Inside sales“
Content-Language: de-DE
To: {to}
From: Karl Beispiel <{sender}>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{text}

Viele Grüße
Karl

Am 06.12.26 um 10:00 schrieb Talkback Blog:
> Hallo Karl,
>
> Maya Lindqvist hat geantwortet.
"""
    )


def gmail(to: str, sender: str, text: str, *, lang: str = "en") -> bytes:
    """Gmail: multipart/alternative, the plain part quoted-printable."""
    attribution = {
        "en": "On Sun, 6 Dec 2026 at 10:00, Talkback Blog <\nnoreply@blog.example.org> wrote:",
        "fr": "Le dim. 6 déc. 2026 à 10:00, Talkback Blog <noreply@blog.example.org> a\nécrit :",
        "ru": "вс, 6 дек. 2026 г. в 10:00, Talkback Blog <noreply@blog.example.org>:",
    }[lang]
    plain = f"{text}\n\n{attribution}\n\n> Maya Lindqvist answered your feedback:\n>\n> It matters less.\n>\n"
    html_attr = attribution.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    html = (
        f'<div dir="ltr">{text.replace(chr(10), "<br>")}</div><br>'
        f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{html_attr}<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">'
        "Maya Lindqvist answered your feedback:<br>It matters less.</blockquote></div>"
    )
    qp_plain = quopri.encodestring(plain.replace("\n", "\r\n").encode()).decode()
    qp_html = quopri.encodestring(html.encode()).decode()
    return crlf(
        f"""MIME-Version: 1.0
References: <abc@blog.example.org>
In-Reply-To: <abc@blog.example.org>
From: Anna Example <{sender}>
Date: Sun, 6 Dec 2026 10:07:31 +0100
Message-ID: {mid()}
Subject: Re: Maya Lindqvist answered your feedback
To: Talkback Blog <{to}>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6"

--000000000000a1b2c3d4e5f6
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp_plain}
--000000000000a1b2c3d4e5f6
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp_html}
--000000000000a1b2c3d4e5f6--
"""
    )


def outlook(to: str, sender: str, text: str, *, lang: str = "en") -> bytes:
    """Outlook: top-posted above its header block, with an HTML part whose
    quoted mail follows ``divRplyFwdMsg``."""
    head = {
        "en": ("From", "Sent", "To", "Subject", "Sunday, December 6, 2026 10:00 AM"),
        "es": (
            "De",
            "Enviado",
            "Para",
            "Asunto",
            "domingo, 6 de diciembre de 2026 10:00",
        ),
    }[lang]
    f, s, t, subj, when = head
    block = (
        f"{f}: Talkback Blog <noreply@blog.example.org>\n{s}: {when}\n"
        f"{t}: {sender}\n{subj}: Maya Lindqvist answered your feedback"
    )
    plain = f"{text}\n\n________________________________\n{block}\n\nMaya Lindqvist answered your feedback:\n\nIt matters less.\n"
    html = (
        '<html><head><style type="text/css">p{margin:0}</style></head><body dir="ltr">'
        f'<div style="font-family:Calibri">{text.replace(chr(10), "<br>")}</div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        f'<div id="divRplyFwdMsg" dir="ltr"><b>{f}:</b> Talkback Blog<br><b>{s}:</b> {when}<br>'
        f"<b>{subj}:</b> Maya Lindqvist answered your feedback</div>"
        "<div>Maya Lindqvist answered your feedback:<br>It matters less.</div></body></html>"
    )
    return crlf(
        f"""From: Anna Example <{sender}>
To: "{to}" <{to}>
Subject: RE: Maya Lindqvist answered your feedback
Thread-Topic: Maya Lindqvist answered your feedback
Date: Sun, 6 Dec 2026 09:12:00 +0000
Message-ID: {mid()}
Accept-Language: {lang}-{lang.upper()}
X-MS-Has-Attach:
Content-Type: multipart/alternative; boundary="_000_AM0PR01MB_"
MIME-Version: 1.0

--_000_AM0PR01MB_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{plain}
--_000_AM0PR01MB_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 8bit

{html}
--_000_AM0PR01MB_--
"""
    )


def outlook_html(to: str, sender: str, text: str) -> bytes:
    """Outlook's HTML part alone (as some gateways pass it on)."""
    raw = outlook(to, sender, text).decode("utf-8")
    head, _, rest = raw.partition(
        'Content-Type: multipart/alternative; boundary="_000_AM0PR01MB_"'
    )
    html = rest.split('Content-Type: text/html; charset="utf-8"\r\n')[1]
    html = html.split("--_000_AM0PR01MB_--")[0]
    return (head + 'Content-Type: text/html; charset="utf-8"\r\n' + html).encode(
        "utf-8"
    )


def outlook_original(to: str, sender: str, text: str) -> bytes:
    """Older Outlook: plain text only, ``-----Original Message-----``."""
    return (
        crlf(
            f"""From: "Maya Lindqvist" <{sender}>
To: <{to}>
Subject: RE: Comment on "Inside sales" from Ana
Date: Sun, 6 Dec 2026 10:20:00 +0100
Message-ID: <000001db1234$abcdef00$0100a8c0@MAYAPC>
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: 8bit
X-Mailer: Microsoft Outlook 16.0

{text}

-----Original Message-----
From: Talkback Blog <noreply@blog.example.org>
Sent: Sunday, December 6, 2026 10:00 AM
To: {sender}
Subject: Comment on "Inside sales" from Ana

Ana (ana@example.org) commented on "Inside sales":

> A *thoughtful* comment.
"""
        )
        .replace(b"\r\n", b"\n")
        .decode()
        .encode("iso-8859-1", "replace")
        .replace(b"\n", b"\r\n")
    )


def apple_mail(to: str, sender: str, html_text: str) -> bytes:
    """Apple Mail: HTML only, the quote a ``blockquote type="cite"``."""
    return crlf(
        f"""From: Anna Example <{sender}>
Content-Type: text/html;
\tcharset=utf-8
Content-Transfer-Encoding: 8bit
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Re: Maya Lindqvist answered your feedback
Date: Sun, 6 Dec 2026 10:09:00 +0100
References: <abc@blog.example.org>
To: Talkback Blog <{to}>
In-Reply-To: <abc@blog.example.org>
Message-Id: {mid()}
X-Mailer: Apple Mail (2.3774.600.62)

<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="overflow-wrap: break-word;">{html_text}<div><br><blockquote type="cite"><div>On 6 Dec 2026, at 10:00, Talkback Blog &lt;noreply@blog.example.org&gt; wrote:</div><br class="Apple-interchange-newline"><div><div>Maya Lindqvist answered your feedback:<br>It matters less.</div></div></blockquote></div><br></body></html>
"""
    )


# --- replies, as each client sends them -------------------------------------------


def reader_sees(client: FlaskClient, token: str) -> str:
    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    return page.text


def test_author_answers_from_outlook_as_on_the_desk(
    app: Flask, client: FlaskClient, conversation: str, desk: Desk
) -> None:
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    line = delivered(app, outlook(to, MAYA_ADDRESS, "It matters less than you think."))
    assert line.startswith("applied: answer by Maya Lindqvist to feedback #1")
    assert "It matters" not in line  # never the message's text
    page = reader_sees(client, conversation)
    assert "It matters less than you think." in page
    assert "Talkback Blog" not in page and "divRplyFwdMsg" not in page
    assert feedback_row(app).state == "answered"
    (mail,) = outbox(app, "reply-to-reader")
    assert mail.recipient == READER
    assert "It matters less than you think." in mail.body
    assert "________________" not in mail.body
    on_desk = desk.get("/desk/feedback/1").text
    assert "It matters less than you think." in on_desk


@pytest.mark.parametrize(
    ("client_mail", "text"),
    [
        (thunderbird_bottom, "I will try the questions first, then."),
        (gmail, "Great, I will try the questions first."),
        (lambda to, s, t: gmail(to, s, t, lang="fr"), "Merci, c'est très clair."),
        (lambda to, s, t: gmail(to, s, t, lang="ru"), "Спасибо, всё понятно."),
        (thunderbird_top_de, "Danke, das hilft mir sehr."),
        (lambda to, s, t: outlook(to, s, t, lang="es"), "Muchas gracias por todo."),
        (outlook_html, "Thanks, the questions work better."),
    ],
    ids=[
        "thunderbird",
        "gmail",
        "gmail-fr",
        "gmail-ru",
        "thunderbird-de",
        "outlook-es",
        "outlook-html",
    ],
)
def test_reader_follows_up_by_replying(
    app: Flask,
    client: FlaskClient,
    conversation: str,
    desk: Desk,
    client_mail,
    text: str,
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    line = delivered(app, client_mail(to, READER, text))
    assert line.startswith("applied: follow-up from the reader to feedback #1")
    feedback = feedback_row(app)
    assert [m.body for m in feedback.messages] == [text]
    assert feedback.messages[0].sender == "reader"
    page = reader_sees(client, conversation)
    assert text in page.replace("&#39;", "'")
    for quoted in ("It matters less", "schrieb", "wrote:", "Anna Example", "Grüße"):
        assert quoted not in page
    (told,) = outbox(app, "follow-up-to-author")
    assert told.recipient == MAYA_ADDRESS and text in told.body
    assert text in desk.get("/desk/feedback/1").text.replace("&#39;", "'")


def test_apple_mail_html_only_reply_becomes_inert_text(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    html = (
        '<div>Thanks! See <a href="https://evil.example/x">my notes</a>.'
        "<script>alert('x')</script><img src=x onerror=alert(1)>"
        "<b>&lt;script&gt;alert(2)&lt;/script&gt;</b></div>"
    )
    delivered(app, apple_mail(to, READER, html))
    (message,) = feedback_row(app).messages
    assert message.body == "Thanks! See my notes.<script>alert(2)</script>"
    page = reader_sees(client, conversation)
    assert "evil.example" not in page and "alert('x')" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<script>alert(2)" not in page
    assert "It matters less" not in page and "wrote:" not in page


def test_author_replies_under_a_held_comment_from_old_outlook(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    comment = commenter.post_ok()
    assert comment.state == "pending"
    to = reply_address(app, "comment", comment.id, "author", MAYA_ADDRESS)
    line = delivered(
        app, outlook_original(to, MAYA_ADDRESS, "Thank you, Ana: well said.")
    )
    assert line.startswith(f"applied: reply by Maya Lindqvist to comment #{comment.id}")
    with get_db(app).read() as session:
        parent = session.get(Comment, comment.id)
        (reply,) = session.scalars(
            select(Comment).where(Comment.parent_id == comment.id)
        )
    assert parent.state == "approved"
    assert reply.state == "approved" and reply.is_author
    assert reply.name == "Maya Lindqvist"
    assert reply.body == "Thank you, Ana: well said."
    assert "Original Message" not in reply.html
    assert "well said" in desk.get(f"/desk/comments/{comment.id}").text


def test_attachments_are_dropped_with_a_note(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    raw = crlf(
        f"""From: {READER}
To: {to}
Subject: Re: files
Message-ID: {mid()}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Here are my notes.
--b1
Content-Type: application/pdf; name="a.pdf"
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1
Content-Type: image/png
Content-Disposition: attachment; filename="b.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--b1--
"""
    )
    delivered(app, raw)
    (message,) = feedback_row(app).messages
    assert (
        message.body == "Here are my notes.\n\n[2 attachments not kept: a.pdf, b.png]"
    )
    assert "[2 attachments not kept: a.pdf, b.png]" in reader_sees(client, conversation)


# --- what is held, ignored or refused ---------------------------------------------


def held(app: Flask) -> InboundMessage:
    row = inbound_rows(app)[-1]
    assert row.state == "held", row.reason
    return row


def nothing_applied(app: Flask, client: FlaskClient, token: str) -> None:
    assert feedback_row(app).messages == []
    assert feedback_row(app).state == "new"
    assert outbox(app, "reply-to-reader") == []
    assert outbox(app, "follow-up-to-author") == []
    assert "Forged" not in reader_sees(client, token)


def test_a_forged_token_is_held(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    real = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    forged = real.replace(real.split("-")[1][:4], "aaaa")
    assert forged != real
    line = delivered(app, thunderbird_bottom(forged, MAYA_ADDRESS, "Forged answer."))
    assert line.startswith("held: the reply address was not issued to the sender")
    assert held(app).body == "Forged answer."
    nothing_applied(app, client, conversation)


def test_a_valid_token_from_another_sender_is_held(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    line = delivered(app, gmail(to, "mallory@example.com", "Forged answer."))
    assert line.startswith("held: the reply address was not issued to the sender")
    assert held(app).sender == "mallory@example.com"
    nothing_applied(app, client, conversation)


def test_the_readers_token_cannot_post_as_the_author(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    """The reader's own reply address, with the role letter changed to the
    author's: the signature covers the role."""
    readers = reply_address(app, "feedback", 1, "reader", READER)
    as_author = readers.replace("+f1r-", "+f1a-")
    delivered(app, thunderbird_bottom(as_author, READER, "Forged answer."))
    held(app)
    nothing_applied(app, client, conversation)


def test_a_token_of_one_feedback_replayed_on_another_is_held(
    app: Flask, client: FlaskClient, reader: Reader, conversation: str
) -> None:
    other, _ = reader.send_and_follow(message="Second feedback", email=READER)
    first = reply_address(app, "feedback", 1, "reader", READER)
    replayed = first.replace("+f1r-", "+f2r-")
    delivered(app, thunderbird_bottom(replayed, READER, "Forged answer."))
    held(app)
    assert feedback_row(app, 2).messages == []
    assert "Forged" not in reader_sees(client, other)


def test_a_reader_whose_address_changed_is_held(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    with get_db(app).write() as session:
        session.execute(update(Feedback).values(email="new@example.net"))
    line = delivered(app, thunderbird_bottom(to, READER, "Forged answer."))
    assert "address on this feedback has changed" in line
    assert feedback_row(app).messages == []


def test_spam_feedback_and_deleted_conversations_are_held(
    app: Flask, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    with get_db(app).write() as session:
        session.execute(update(Feedback).values(state="spam"))
    assert "is marked as spam" in delivered(app, gmail(to, READER, "Hello again."))
    gone = reply_address(app, "feedback", 99, "reader", READER)
    assert "feedback #99 no longer exists" in delivered(
        app, gmail(gone, READER, "Hello again.")
    )
    assert feedback_row(app).messages == []


def test_a_reply_with_no_text_of_its_own_is_held(app: Flask, conversation: str) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    line = delivered(app, thunderbird_bottom(to, READER, ""))
    assert line.startswith("held: no text of its own")
    assert feedback_row(app).messages == []


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied",
        "X-Autoreply: yes",
        "Precedence: bulk",
        "X-Auto-Response-Suppress: All",
        "Subject: Abwesenheitsnotiz: Re: Feedback",
        "Subject: Réponse automatique : Re: Feedback",
        "Subject: Automatic reply: Re: Feedback",
    ],
)
def test_auto_replies_are_ignored(app: Flask, conversation: str, headers: str) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    subject = "" if headers.startswith("Subject") else "Subject: Re: Feedback\n"
    raw = crlf(
        f"""From: {READER}
To: {to}
{subject}{headers}
Message-ID: {mid()}
Content-Type: text/plain; charset=utf-8

I am out of the office until Monday.
"""
    )
    assert delivered(app, raw).startswith("ignored: an automatic reply")
    assert inbound_rows(app)[-1].state == "ignored"
    assert feedback_row(app).messages == []


def test_the_same_message_twice_is_applied_once(app: Flask, conversation: str) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    raw = thunderbird_bottom(to, READER, "Only once, please.", message_id="<once@x>")
    first = delivered(app, raw)
    second = delivered(app, raw)
    assert first.startswith("applied:")
    assert second.startswith("duplicate: already received (applied)")
    assert [m.body for m in feedback_row(app).messages] == ["Only once, please."]
    assert len(inbound_rows(app)) == 1
    assert len(outbox(app, "follow-up-to-author")) == 1


def test_a_huge_message_is_held_with_its_beginning(
    app: Flask, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    words = "word " * 1_000_000  # 5 MB: over what is read
    done = pipe(app, thunderbird_bottom(to, READER, "Start." + words))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("held: too large")
    row = held(app)
    assert row.body.startswith("Start.word word")
    assert len(row.body) <= 100_000
    assert feedback_row(app).messages == []


def test_a_text_over_the_limit_is_held_not_cut(app: Flask, conversation: str) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    text = "x" * (app.config["MAX_MESSAGE_LENGTH"] + 1)
    line = delivered(app, gmail(to, READER, text))
    assert line.startswith("held: longer than a message may be")
    assert held(app).body == text
    assert feedback_row(app).messages == []


@pytest.mark.parametrize(
    "raw", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"just some words\n"]
)
def test_input_that_is_no_message_is_refused(app: Flask, raw: bytes) -> None:
    done = pipe(app, raw)
    assert done.returncode == 65
    assert "not an e-mail message" in done.stderr
    assert inbound_rows(app) == []


def test_an_unreachable_database_defers_the_message(app: Flask, tmp_path: Path) -> None:
    env = env_of(app) | {
        "FEEDBACK_DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such' / 'db'}"
    }
    raw = gmail("noreply@blog.example.org", READER, "Hello")
    done = pipe(app, raw, env=env)
    assert done.returncode == 75
    assert "deferred: the database is unreachable" in done.stderr
    assert "Hello" not in done.stderr + done.stdout


def test_the_envelope_recipient_comes_first(app: Flask, conversation: str) -> None:
    """The address the mail server delivered to (``--recipient``) is where
    the token is looked for first; Bcc leaves no header."""
    to = reply_address(app, "feedback", 1, "reader", READER)
    raw = gmail("undisclosed-recipients:;", READER, "Sent by Bcc.")
    line = delivered(app, raw, "--recipient", to)
    assert line.startswith("applied: follow-up")


# --- bounces -----------------------------------------------------------------------


def queued_answer(app: Flask, conversation: str, desk: Desk) -> OutboxMessage:
    page = desk.get("/desk/feedback/1")
    desk.post(
        "/desk/feedback/1/answer",
        {"answer": "Here is my answer.", "send_to": "private"},
    )
    assert page.status_code == 200
    (mail,) = outbox(app, "reply-to-reader")
    return mail


def exim_dsn(to: str, failed: str, status: str, diagnostic: str) -> bytes:
    return crlf(
        f"""Return-path: <>
Envelope-to: {to}
Delivery-date: Sun, 06 Dec 2026 10:30:02 +0000
From: Mail Delivery System <Mailer-Daemon@mx.blog.example.org>
To: {to}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tJ3xY-000abc-Zz@mx.blog.example.org>
Date: Sun, 06 Dec 2026 10:30:02 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=1733481002-eximdsn-1804289383

--1733481002-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {failed}
    host mx.example.net [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<{failed}>:
    {diagnostic}

--1733481002-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx.blog.example.org

Action: failed
Final-Recipient: rfc822;{failed}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diagnostic}

--1733481002-eximdsn-1804289383
Content-type: text/rfc822-headers

Return-path: <{to}>
From: Talkback Blog <noreply@blog.example.org>
To: {failed}
Subject: Maya Lindqvist answered your feedback

--1733481002-eximdsn-1804289383--
"""
    )


def postfix_dsn(
    to: str, failed: str, status: str, diagnostic: str, action: str = "failed"
) -> bytes:
    return crlf(
        f"""Return-Path: <>
Delivered-To: {to}
Date: Sun,  6 Dec 2026 10:31:00 +0000 (UTC)
From: MAILER-DAEMON@mx.blog.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A51C0.1733481060/mx.blog.example.org"
Message-Id: <20261206103100.9C1A51C0@mx.blog.example.org>

This is a MIME-encapsulated message.

--4F2A51C0.1733481060/mx.blog.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.blog.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{failed}>: host mx.example.net[192.0.2.1] said: {diagnostic}

--4F2A51C0.1733481060/mx.blog.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.blog.example.org
X-Postfix-Queue-ID: 4F2A51C0
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Sun,  6 Dec 2026 10:30:58 +0000 (UTC)

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diagnostic}

--4F2A51C0.1733481060/mx.blog.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{to}>
From: Talkback Blog <noreply@blog.example.org>
To: {failed}
Subject: Maya Lindqvist answered your feedback

--4F2A51C0.1733481060/mx.blog.example.org--
"""
    )


@pytest.mark.parametrize("dsn", [exim_dsn, postfix_dsn], ids=["exim", "postfix"])
def test_a_hard_bounce_marks_the_mail_and_suppresses_the_address(
    app: Flask, client: FlaskClient, conversation: str, desk: Desk, dsn
) -> None:
    mail = queued_answer(app, conversation, desk)
    to = bounce_address(app, mail.id, READER)
    line = delivered(
        app, dsn(to, READER, "5.1.1", "550 5.1.1 <anna@example.net>: User unknown")
    )
    assert line.startswith(f"applied: mail #{mail.id} (reply-to-reader) bounced")
    assert READER not in line  # the line a mail server may log names no one
    with get_db(app).read() as session:
        bounced = session.get(OutboxMessage, mail.id)
        (suppressed,) = session.scalars(select(BouncedAddress))
    assert bounced.state == "bounced"
    assert "5.1.1" in bounced.last_error and "User unknown" in bounced.last_error
    assert suppressed.email == READER and suppressed.outbox_message_id == mail.id
    # The desk's conversation page says so.
    page = desk.get("/desk/feedback/1").text
    assert f"Mail to {READER} bounced" in page and "User unknown" in page
    # The reader gives the address again: mail goes there again.
    reply_page = client.get(f"/r/{conversation}")
    client.post(
        f"/r/{conversation}/contact",
        data={"csrf_token": csrf_token(reply_page.text), "email": READER},
        headers={"Origin": ORIGIN},
    )
    with get_db(app).read() as session:
        assert session.scalars(select(BouncedAddress)).all() == []
    assert "bounced" not in desk.get("/desk/feedback/1").text.split("Conversation")[0]


def test_a_soft_bounce_only_records(app: Flask, conversation: str, desk: Desk) -> None:
    mail = queued_answer(app, conversation, desk)
    to = bounce_address(app, mail.id, READER)
    line = delivered(app, postfix_dsn(to, READER, "4.2.2", "452 4.2.2 Mailbox full"))
    assert line.startswith(f"applied: mail #{mail.id} (reply-to-reader) bounced")
    assert READER not in line  # the line a mail server may log names no one
    assert "no more mail" not in line
    with get_db(app).read() as session:
        assert session.get(OutboxMessage, mail.id).state == "bounced"
        assert "Mailbox full" in session.get(OutboxMessage, mail.id).last_error
        assert session.scalars(select(BouncedAddress)).all() == []


def test_a_plain_text_bounce_from_mailer_daemon(
    app: Flask, conversation: str, desk: Desk
) -> None:
    mail = queued_answer(app, conversation, desk)
    to = bounce_address(app, mail.id, READER)
    raw = crlf(
        f"""From: MAILER-DAEMON@old.example.net
To: {to}
Subject: failure notice
Message-ID: {mid()}

Hi. This is the qmail-send program at old.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.

<{READER}>:
550 5.1.1 sorry, no mailbox here by that name.
"""
    )
    assert delivered(app, raw).startswith("applied:")
    with get_db(app).read() as session:
        (suppressed,) = session.scalars(select(BouncedAddress))
    assert suppressed.email == READER


def test_a_bounce_with_a_forged_token_changes_nothing(
    app: Flask, conversation: str, desk: Desk
) -> None:
    mail = queued_answer(app, conversation, desk)
    # Signed for another recipient than the message's: someone trying to
    # stop the site's mail to Anna.
    to = bounce_address(app, mail.id, "mallory@example.com")
    line = delivered(app, exim_dsn(to, READER, "5.1.1", "550 User unknown"))
    assert line.startswith("held: a delivery report with a forged")
    with get_db(app).read() as session:
        assert session.get(OutboxMessage, mail.id).state != "bounced"
        assert session.scalars(select(BouncedAddress)).all() == []


def test_a_delay_report_is_no_bounce(app: Flask, conversation: str, desk: Desk) -> None:
    mail = queued_answer(app, conversation, desk)
    to = bounce_address(app, mail.id, READER)
    raw = postfix_dsn(to, READER, "4.4.1", "connect timed out", action="delayed")
    assert delivered(app, raw).startswith("ignored: a delivery report: delayed")
    with get_db(app).read() as session:
        assert session.get(OutboxMessage, mail.id).state != "bounced"
        assert session.scalars(select(BouncedAddress)).all() == []


def test_an_xml_declared_html_reply_keeps_its_text(
    app: Flask, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "reader", READER)
    raw = crlf(
        f"""From: {READER}
To: {to}
Subject: Re: feedback
Message-ID: {mid()}
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<?xml version=3D"1.0" encoding=3D"iso-8859-1"?><html><body><p>Gr=FC=DFe aus K=F6ln: =E7a marche.</p></body></html>
"""
    )
    assert delivered(app, raw).startswith("applied: follow-up")
    assert [m.body for m in feedback_row(app).messages] == [
        "Grüße aus Köln: ça marche."
    ]


# --- what the site's own mail server vouches for ------------------------------------

OURS = "mx.blog.example"


@pytest.mark.parametrize(
    ("results", "applied"),
    [
        ([], False),  # nothing vouches for the sender
        ([f"{OURS}; dkim=pass header.d=example.org header.s=s1"], True),
        ([f"{OURS} 1; spf=pass; dmarc=pass (p=reject) header.from=example.org"], True),
        # Anyone can write another server's header; ours must say pass.
        (["evil.example; dmarc=pass header.from=example.org"], False),
        ([f"{OURS}; dkim=pass header.d=example.com; dmarc=fail"], False),
        ([f"{OURS}; dkim=fail header.d=example.org"], False),
    ],
    ids=["none", "dkim", "dmarc", "another-server", "other-domain", "dkim-fail"],
)
def test_a_named_mail_server_must_vouch_for_the_sender(
    app: Flask, conversation: str, results: list[str], applied: bool
) -> None:
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    headers = "".join(f"Authentication-Results: {r}\r\n" for r in results)
    raw = headers.encode() + thunderbird_bottom(to, MAYA_ADDRESS, "Vouched for.")
    done = pipe(app, raw, env={**env_of(app), "FEEDBACK_MAIL_AUTHSERV_ID": OURS})
    assert done.returncode == 0, done.stderr
    row = inbound_rows(app)[-1]
    if applied:
        assert row.state == "applied", row.reason
        assert feedback_row(app).state == "answered"
    else:
        assert row.state == "held"
        assert "not authenticated by the site's mail server" in row.reason
        assert feedback_row(app).messages == []


# --- mail built to hurt: it is kept, quickly, and never applied ----------------------


def stranger(headers: str, body: str = "Hello.") -> bytes:
    return crlf(f"To: blog@example.org\nMessage-ID: {mid()}\n{headers}\n\n{body}")


@pytest.mark.parametrize(
    "raw",
    [
        # mail-parser-reply's "On … wrote:" pattern takes time growing with a
        # line's square: 100 KB of "On " on one (base64-encoded) line.
        stranger(
            "From: x@evil.example\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: base64",
            "\n".join(textwrap.wrap(base64.b64encode(b"On " * 35_000).decode(), 76)),
        ),
        # Python's parser of a quoted display name: 80 KB of escaped quotes.
        stranger('From: "' + 'a\\"' * 27_000 + '" <x@evil.example>'),
    ],
    ids=["on-wrote-line", "quoted-display-name"],
)
def test_mail_built_to_be_slow_is_read_in_bounded_time(app: Flask, raw: bytes) -> None:
    """Both took minutes to hours before their limits; a minute is the
    mail server's patience here, with room for a loaded machine."""
    done = subprocess.run(
        [FLASK, "--app", "feedback_app", "mail", "receive"],
        input=raw,
        capture_output=True,
        env=env_of(app),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert inbound_rows(app)[-1].state == "held"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            stranger("From: a@evil.example\nContent-Type: text/plain; charset=idna"),
            "not sent to a conversation's reply address",
        ),
        (
            crlf(
                f"From: x@evil.example\nTo: blog@example.org\nMessage-ID: {mid()}\n"
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b0\n\n"
                + "".join(
                    f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n"
                    for i in range(2000)
                )
            ),
            "could not be read (RecursionError)",
        ),
    ],
    ids=["text-codec-charset", "2000-nested-parts"],
)
def test_mail_too_broken_to_read_is_kept_not_retried(
    app: Flask, raw: bytes, reason: str
) -> None:
    """A mail server retries exit 75 for days: what cannot be read is kept."""
    done = pipe(app, raw)
    assert done.returncode == 0, done.stderr
    row = inbound_rows(app)[-1]
    assert (row.state, row.reason) == ("held", reason)


@pytest.mark.parametrize(
    "from_lines",
    [
        f"From: {MAYA_ADDRESS}\nFrom: mallory@evil.example",
        "From: =?utf-8?q?maya=40example=2Eorg?=",
    ],
    ids=["two-from-headers", "encoded-word-address"],
)
def test_a_sender_that_is_no_single_address_is_held(
    app: Flask, client: FlaskClient, conversation: str, from_lines: str
) -> None:
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    raw = crlf(
        f"{from_lines}\nTo: {to}\nMessage-ID: {mid()}\nSubject: Re: x\n\nForged answer."
    )
    line = delivered(app, raw)
    assert line.startswith("held: no sender address"), line
    nothing_applied(app, client, conversation)


def test_a_long_line_of_the_reply_comes_through_whole(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    """Lines kept out of the quote-finder's patterns are put back as written."""
    long_line = "A long paragraph, " * 40
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    delivered(app, thunderbird_bottom(to, MAYA_ADDRESS, long_line.strip()))
    assert long_line.strip() in reader_sees(client, conversation)


def test_a_name_written_as_an_encoded_word_is_still_a_sender(
    app: Flask, client: FlaskClient, conversation: str
) -> None:
    to = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    raw = crlf(
        f"From: =?utf-8?q?Maya_Lindqvist_=C3=85?= <{MAYA_ADDRESS}>\nTo: {to}\n"
        f"Message-ID: {mid()}\nSubject: Re: x\n\nAnswered under a Swedish name."
    )
    assert delivered(app, raw).startswith("applied: answer"), raw
    assert "Answered under a Swedish name." in reader_sees(client, conversation)


def test_a_token_of_deleted_feedback_does_not_fit_the_next_with_its_number(
    app: Flask, client: FlaskClient, reader: Reader, desk: Desk
) -> None:
    """SQLite gives a new row the highest id again once that row is gone: the
    author's reply to the deleted feedback's notification must not answer
    a stranger's feedback that now has its number."""
    victim, _ = reader.send_and_follow(message="Private.", email=READER)
    old = reply_address(app, "feedback", 1, "author", MAYA_ADDRESS)
    page = client.get(f"/r/{victim}/delete")
    client.post(
        f"/r/{victim}/delete",
        data={"csrf_token": csrf_token(page.text)},
        headers={"Origin": ORIGIN},
    )
    attacker, _ = reader.send_and_follow(message="Mine now?", email="eve@evil.example")
    with get_db(app).read() as session:
        ids = list(session.scalars(select(Feedback.id)))
    # SQLite gives it the deleted one's number; PostgreSQL never reuses one.
    assert ids == ([1] if app.config["DATABASE_URL"].startswith("sqlite") else [2])
    line = delivered(app, thunderbird_bottom(old, MAYA_ADDRESS, "Meant for Anna."))
    assert line.startswith("held: the reply address was not issued"), line
    assert "Meant for Anna." not in reader_sees(client, attacker)
    assert outbox(app, "reply-to-reader") == []
