"""Reader-data export and erasure find mail by its headers, not its text.

An address that appears in the body of a message (another reader quoting
it, an author's notification about another reader's comment) does not make
that message the address owner's: exporting or erasing one reader must
neither show nor delete mail that belongs to someone else.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import update

from feedback_app.core.db import get_db
from feedback_app.core.models import BouncedAddress, InboundMessage, utcnow

from ..conftest import Commenter, Desk, Reader, add_author, outbox

ANA_MAIL = "anastasia.quill@example.org"
BO_MAIL = "bodil.berg@example.org"
EDA = "Eda Editor"


@pytest.fixture
def eda(app: Flask) -> Desk:
    """An editor's desk, which may look readers up."""
    add_author(app, EDA, "eda@example.org", role="editor")
    desk = Desk(app.test_client())
    assert desk.sign_in(EDA).status_code == 303
    return desk


@pytest.fixture
def bo_quotes_ana(
    app: Flask, reader: Reader, commenter: Commenter, desk: Desk
) -> dict[str, set[int]]:
    """Ana writes once; Bo's feedback and comment both name Ana's address.

    Returns the ids of the mail that is Ana's and of the mail that is Bo's.
    """
    commenter.post_ok(name="Ana", email=ANA_MAIL, body="Ana's own comment.")
    ana = {m.id for m in outbox(app)}
    reader.send(
        message=f"Ana ({ANA_MAIL}) told me to write: she is wrong.",
        name="Bo",
        email=BO_MAIL,
    )
    commenter.post_ok(name="Bo", email=BO_MAIL, body=f"Ask {ANA_MAIL}, not me.")
    bo = {m.id for m in outbox(app)} - ana
    # Every message about Bo to the author names Ana in its text (Bo's own
    # acknowledgement quotes nothing he typed).
    to_author = [m for m in outbox(app) if m.id in bo and m.kind != "feedback-ack"]
    assert to_author and all(ANA_MAIL in m.body for m in to_author)
    assert ana
    return {"ana": ana, "bo": bo}


def exported_mail(eda: Desk, address: str) -> list[dict[str, str]]:
    response = eda.post("/desk/readers/export", {"email": address})
    assert response.status_code == 200
    return json.loads(response.text)["mail"]


def test_export_holds_only_mail_to_or_from_the_reader(
    app: Flask, bo_quotes_ana: dict[str, set[int]], eda: Desk
) -> None:
    """Ana's export holds the notification of her own comment (Reply-To her)
    and none of the mail about Bo that quotes her address."""
    mail = exported_mail(eda, ANA_MAIL)
    assert mail and all(ANA_MAIL in (m["to"], m["reply_to"]) for m in mail)
    # Bo's words and Bo as a sender; not the bare letters "Bo", which a
    # moderation link's random signature may hold.
    bo_marks = ("she is wrong", "not me", "from Bo", "Bo (", BO_MAIL)
    assert not any(mark in m["subject"] + m["text"] for m in mail for mark in bo_marks)
    assert all(BO_MAIL not in json.dumps(m) for m in mail)
    assert len(mail) == len(bo_quotes_ana["ana"])


def test_erasing_a_reader_keeps_other_readers_mail_that_names_them(
    app: Flask, bo_quotes_ana: dict[str, set[int]], eda: Desk
) -> None:
    response = eda.post("/desk/readers/erase", {"email": ANA_MAIL, "confirm": "y"})
    assert response.status_code == 200
    left = {m.id for m in outbox(app)}
    assert left == bo_quotes_ana["bo"]
    assert len(exported_mail(eda, BO_MAIL)) == len(bo_quotes_ana["bo"])


def test_the_cli_erases_by_headers_too(
    app: Flask, bo_quotes_ana: dict[str, set[int]], runner: FlaskCliRunner
) -> None:
    exported = runner.invoke(args=["readers", "export", ANA_MAIL])
    assert exported.exit_code == 0, exported.output
    assert BO_MAIL not in exported.stdout
    erased = runner.invoke(args=["readers", "erase", ANA_MAIL, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert {m.id for m in outbox(app)} == bo_quotes_ana["bo"]


def _received(app: Flask, sender: str, text: str, state: str = "applied") -> None:

    with app.app_context(), get_db().write() as session:
        session.add(
            InboundMessage(
                message_id=f"<{sender}.{state}@example.net>",
                received_via="pipe",
                sender=sender,
                subject="Re: your answer",
                body=text,
                state=state,
            )
        )


def test_mail_received_from_a_reader_and_their_bounces_are_theirs(
    app: Flask, bo_quotes_ana: dict[str, set[int]], eda: Desk
) -> None:

    _received(app, ANA_MAIL, "Ana writes back by mail.")
    _received(app, BO_MAIL, f"Bo writes back, quoting {ANA_MAIL}.")
    with app.app_context(), get_db().write() as session:
        session.add(BouncedAddress(email=ANA_MAIL, reason="550 5.1.1 no such user"))
    response = eda.post("/desk/readers/export", {"email": ANA_MAIL.upper()})
    exported = json.loads(response.text)
    assert [m["text"] for m in exported["mail_received"]] == [
        "Ana writes back by mail."
    ]
    assert exported["bounced"]["reason"] == "550 5.1.1 no such user"
    response = eda.post("/desk/readers/erase", {"email": ANA_MAIL, "confirm": "y"})
    assert "1 mail message received deleted" in response.text
    with app.app_context(), get_db().read() as session:
        assert [m.sender for m in session.query(InboundMessage)] == [BO_MAIL]
        assert session.query(BouncedAddress).count() == 0


def test_purge_deletes_old_ignored_and_discarded_mail_received(
    app: Flask, runner: FlaskCliRunner
) -> None:

    for state in ("applied", "held", "ignored", "discarded"):
        _received(app, f"{state}@example.net", "text", state)
    with app.app_context(), get_db().write() as session:
        session.execute(
            update(InboundMessage).values(received_at=utcnow() - timedelta(days=31))
        )
    result = runner.invoke(args=["purge", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "2 ignored or discarded mail received" in result.output
    with app.app_context(), get_db().read() as session:
        left = sorted(m.state for m in session.query(InboundMessage))
    assert left == ["applied", "held"]
