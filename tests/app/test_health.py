"""What ``/health`` tells a monitor beyond "up": the outbox's backlog and
its oldest waiting message, mail that failed for good, the moderation
queue, and the last publish's time and result, on a real site that
publishes (and fails to)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from feedback_app.core.db import get_db
from feedback_app.core.models import OutboxMessage
from feedback_app.site.files import comment_file_name

from ..conftest import Commenter, add_author
from ..site.test_comment_sync import ARTICLE

WHEN = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def test_health_reports_what_waits_and_how_publishing_went(
    publishing_app: Flask,
) -> None:
    app = publishing_app
    client = app.test_client()
    add_author(app)
    first = Commenter(client).post_ok(body="Held for moderation.")
    Commenter(client).post_ok(body="Held as well.")
    with get_db(app).write() as session:
        for message in session.query(OutboxMessage):
            message.created_at = WHEN
        session.add(
            OutboxMessage(
                kind="comment-to-author",
                recipient="maya@example.org",
                subject="s",
                body="b",
                state="failed",
                message_id="<f@example.org>",
                next_attempt_at=WHEN,
                created_at=WHEN + timedelta(hours=1),
            )
        )
    before = client.get("/health").json
    assert before["moderation_queue"] == 2
    assert before["outbox"]["waiting"] >= 2  # the author's notices
    assert before["outbox"]["oldest_waiting"] == "2026-12-01T08:30:00+00:00"
    assert before["outbox"]["failed"] == 1
    assert before["last_publish"] is None

    runner = app.test_cli_runner()
    started = datetime.now(UTC).replace(microsecond=0)
    assert runner.invoke(args=["comments", "approve", str(first.id)]).exit_code == 0
    published = client.get("/health").json
    assert published["moderation_queue"] == 1
    assert published["last_publish"]["result"] == "ok"
    assert "error" not in published["last_publish"]
    assert datetime.fromisoformat(published["last_publish"]["at"]) >= started

    # A publish that fails says so, and why, until the next one works.
    path = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    data = json.loads(path.read_text())
    data["comments"].append({**data["comments"][0], "id": 999})
    path.write_text(json.dumps(data))
    assert runner.invoke(args=["comments", "trash", str(first.id)]).exit_code == 1
    failed = client.get("/health")
    assert failed.status_code == 200  # the host still serves
    assert failed.json["last_publish"]["result"] == "failed"
    assert "#999" in failed.json["last_publish"]["error"]
