"""The author's desk at work: the inbox, answers, posts, comments, readers' data.

Through the desk's own HTTP interface on a real SQLite file; public answers
and approved comments rebuild a tmp copy of the site with Pelican for real.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload
from werkzeug.test import TestResponse

from feedback_app.core.db import get_db
from feedback_app.core.models import (
    Comment,
    Feedback,
    FeedbackMessage,
    Subscription,
    utcnow,
)
from feedback_app.mail.sender import OutboxWorker
from feedback_app.services.jobs import periodic
from feedback_app.site.files import comment_file_name
from feedback_app.store.feedback import add_follow_up, submit_feedback

from ..conftest import (
    ARTICLE,
    MAYA,
    ROOT,
    TOMAS,
    TOMAS_ARTICLE,
    Commenter,
    Desk,
    Reader,
    add_author,
    csrf_token,
    newest_comment,
    outbox,
)

EDA = "Eda Editor"
READER_MAIL = "2026/reader-mail-easy-to-say-without-a-quota/"  # Maya's other article
ARTICLE_TITLE = "Inside sales without the script"
HOSTILE = "<script>x</script> [a](javascript:alert(1)) **b**"
ANA = "Anastasia Quill"
ANA_MAIL = "anastasia.quill@example.org"
BO = "Bodil Berg"
BO_MAIL = "bodil.berg@example.org"


# --- helpers ------------------------------------------------------------------


def all_feedback(app: Flask) -> list[Feedback]:
    with get_db(app).read() as session:
        return list(
            session.scalars(
                select(Feedback)
                .options(selectinload(Feedback.messages))
                .order_by(Feedback.id)
            )
        )


def one_feedback(app: Flask, feedback_id: int) -> Feedback | None:
    with get_db(app).read() as session:
        return session.get(
            Feedback, feedback_id, options=[selectinload(Feedback.messages)]
        )


def send(reader: Reader, **fields: str) -> int:
    """Send feedback as a reader; return its id."""
    response = reader.send(**fields)
    assert response.status_code == 303, response.text
    return all_feedback(reader.client.application)[-1].id


def store(app: Flask, count: int, slug: str = ARTICLE, **fields: object) -> list[int]:
    """Store ``count`` feedback directly; return their ids."""
    article = app.extensions["site_index"].article(slug)
    with get_db(app).write() as session:
        return [
            submit_feedback(
                session,
                article,
                message=f"Note number {n}.",
                secret=app.secret_key,
                **fields,
            )[0].id
            for n in range(count)
        ]


def set_feedback(app: Flask, feedback_id: int, **values: object) -> None:
    with get_db(app).write() as session:
        session.execute(
            update(Feedback).where(Feedback.id == feedback_id).values(**values)
        )


def set_comment(app: Flask, comment_id: int, **values: object) -> None:
    with get_db(app).write() as session:
        session.execute(
            update(Comment).where(Comment.id == comment_id).values(**values)
        )


def comment(app: Flask, comment_id: int) -> Comment | None:
    with get_db(app).read() as session:
        return session.get(Comment, comment_id)


def comment_count(app: Flask) -> int:
    with get_db(app).read() as session:
        return session.scalar(select(func.count(Comment.id)))


def listed(page: str) -> list[int]:
    """The feedback ids an inbox page lists, in order."""
    return [int(n) for n in re.findall(r'id="select-(\d+)"', page)]


def inbox_items(page: str) -> dict[int, str]:
    """Each listed feedback's markup, by id."""
    chunks = page.split('<li class="desk-item')[1:]
    return {int(re.search(r'id="select-(\d+)"', c).group(1)): c for c in chunks}


def queued(page: str) -> list[int]:
    """The comment ids the moderation queue lists, in order."""
    return [
        int(n)
        for n in re.findall(r'<li class="desk-item state-\w+" id="comment-(\d+)"', page)
    ]


def unread_badge(page: str) -> int | None:
    found = re.search(r'>Feedback <span class="count-badge">(\d+)<', page)
    return int(found.group(1)) if found else None


def signed_in(app: Flask, name: str) -> Desk:
    desk = Desk(app.test_client())
    assert desk.sign_in(name).status_code == 303
    return desk


def follow_up(client: FlaskClient, token: str, text: str) -> None:
    """Add a follow-up through the reader's own reply page."""
    page = client.get(f"/r/{token}")
    response = client.post(
        f"/r/{token}/follow-up",
        data={"csrf_token": csrf_token(page.text), "message": text},
    )
    assert response.status_code == 303, response.text


def wait(app: Flask) -> None:
    assert app.extensions["publisher"].wait_idle(timeout=60)


def drafts_in(app: Flask) -> list[Path]:
    """The posts the desk wrote (in the content folder's desk/, and none
    anywhere else that the site did not have)."""
    folder = Path(app.config["CONTENT_PATH"])
    ours = {p.name for p in (ROOT / "content").glob("*.md")}
    assert [p for p in folder.glob("*.md") if p.name not in ours] == []
    return sorted(folder.glob("desk/*.md"))


def meta_of(text: str) -> dict[str, str]:
    """The metadata lines at the top of a post."""
    head = text.split("\n\n", 1)[0]
    return dict(
        (k.strip(), v.strip())
        for k, v in (line.split(":", 1) for line in head.splitlines())
    )


def public_answer(desk: Desk, feedback_id: int, **fields: str) -> TestResponse:
    data = {
        "answer": "Here is my answer to everyone.",
        "send_to": "post",
        "title": "Reader mail: on scripts",
        "summary": "",
        "category": "Reader mail",
        "tags": "calls, reader feedback",
        **fields,
    }
    return desk.post(f"/desk/feedback/{feedback_id}/answer", data)


def text_of(markup: str) -> str:
    """The text a browser shows for ``markup``, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


# --- A. the inbox -----------------------------------------------------------------


def test_inbox_shows_new_read_and_answered_newest_first(app: Flask, desk: Desk) -> None:
    """Each view shows its states; the inbox new, read and answered, newest first."""
    ids = store(app, 5)
    now = utcnow()
    states = ["new", "answered", "read", "archived", "spam"]
    hours_ago = [3, 1, 2, 0, 4]  # not in id order
    for feedback_id, state, hours in zip(ids, states, hours_ago, strict=True):
        set_feedback(
            app, feedback_id, state=state, created_at=now - timedelta(hours=hours)
        )
    new, answered, read, archived, spam = ids

    assert listed(desk.get("/desk/").text) == [answered, read, new]
    assert listed(desk.get("/desk/?view=inbox").text) == [answered, read, new]
    assert listed(desk.get("/desk/?view=archived").text) == [archived]
    assert listed(desk.get("/desk/?view=spam").text) == [spam]
    assert listed(desk.get("/desk/?view=new").text) == [new]
    assert listed(desk.get("/desk/?view=read").text) == [read]
    assert listed(desk.get("/desk/?view=answered").text) == [answered]
    assert desk.get("/desk/?view=everything").status_code == 404


def test_inbox_filters_by_article(app: Flask, desk: Desk) -> None:
    """?article= keeps the feedback about that article only."""
    on_sales = store(app, 2)
    [on_mail] = store(app, 1, slug=READER_MAIL)
    assert sorted(listed(desk.get("/desk/").text)) == sorted([*on_sales, on_mail])
    assert sorted(listed(desk.get(f"/desk/?article={ARTICLE}").text)) == on_sales
    assert listed(desk.get(f"/desk/?article={READER_MAIL}").text) == [on_mail]


def test_inbox_search_covers_message_name_and_follow_ups(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """?q= finds text in the message, the name and the follow-ups, in any case."""
    in_message = send(reader, message="My QUOTA is forty calls a day.")
    in_name = send(reader, message="Lovely piece.", name="Quota Queen")
    in_follow_up = send(reader, message="One more thing.")
    send(reader, message="Nothing to see here.")
    with get_db(app).write() as session:
        add_follow_up(
            session, session.get(Feedback, in_follow_up), "About the Quota, again."
        )

    found = listed(desk.get("/desk/?q=quota").text)
    assert sorted(found) == sorted([in_message, in_name, in_follow_up])
    assert sorted(listed(desk.get("/desk/?q=QuOtA").text)) == sorted(found)
    assert listed(desk.get("/desk/?q=forty+calls").text) == [in_message]
    page = desk.get("/desk/?q=no-such-words")
    assert listed(page.text) == [] and "Nothing here for this filter" in page.text


def test_inbox_search_ignores_case_of_non_ascii_letters(
    reader: Reader, desk: Desk
) -> None:
    """A Swedish blog: "åsa" finds Åsa, "FRÅN" finds "från"."""
    feedback_id = send(reader, message="Hej från Örebro.", name="Åsa")
    for q in ("Åsa", "åsa", "ÅSA", "från", "FRÅN", "örebro", "ÖREBRO"):
        found = listed(desk.get("/desk/", query_string={"q": q}).text)
        assert found == [feedback_id], q


def test_inbox_search_takes_percent_and_underscore_literally(
    reader: Reader, desk: Desk
) -> None:
    """LIKE's wildcards in a search are plain characters."""
    percent = send(reader, message="I am 100% sure.")
    send(reader, message="I am 100 percent sure.")
    underscore = send(reader, message="See the file call_log.")
    send(reader, message="See the file callxlog.")
    assert listed(desk.get("/desk/", query_string={"q": "100%"}).text) == [percent]
    assert listed(desk.get("/desk/", query_string={"q": "call_log"}).text) == [
        underscore
    ]
    assert listed(desk.get("/desk/", query_string={"q": "%"}).text) == [percent]
    assert listed(desk.get("/desk/", query_string={"q": "_"}).text) == [underscore]


def test_inbox_pages_by_25(app: Flask, desk: Desk) -> None:
    """25 feedback a page; the oldest of 26 is on page 2."""
    ids = store(app, 26)
    first = desk.get("/desk/")
    assert listed(first.text) == ids[::-1][:25]
    assert "Page 1 of 2" in first.text
    second = desk.get("/desk/?page=2")
    assert listed(second.text) == [ids[0]]
    assert "Page 2 of 2" in second.text
    assert listed(desk.get("/desk/?page=3").text) == []


def test_inbox_says_how_each_reader_can_be_reached(reader: Reader, desk: Desk) -> None:
    """Each item says whether the reader can be answered by e-mail."""
    with_address = send(reader, email="ana@example.org")
    without = send(reader, message="No address here.")
    items = inbox_items(desk.get("/desk/").text)
    assert "by e-mail and reply page" in items[with_address]
    assert "no address" not in items[with_address]
    assert "reply page only — no address" in items[without]
    assert "by e-mail" not in items[without]


def test_unread_count_is_the_new_feedback_of_my_articles(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """The nav's badge counts new feedback on the author's own articles."""
    assert unread_badge(desk.get("/desk/").text) is None
    first = send(reader, message="One.")
    send(reader, message="Two.")
    send(reader, message="Three.", article=READER_MAIL)
    tomas_feedback = send(reader, message="For Tomás.", article=TOMAS_ARTICLE)
    reader.send(message="Buy pills.", homepage="spam")  # stored as spam
    assert unread_badge(desk.get("/desk/").text) == 3
    assert tomas_feedback not in listed(desk.get("/desk/").text)
    assert desk.get(f"/desk/feedback/{tomas_feedback}").status_code == 404

    desk.post(f"/desk/feedback/{first}/state", {"action": "read"})
    assert unread_badge(desk.get("/desk/").text) == 2
    desk.post(f"/desk/feedback/{first}/state", {"action": "unread"})
    assert unread_badge(desk.get("/desk/?view=archived").text) == 3


def test_state_buttons_move_feedback_between_views(app: Flask, desk: Desk) -> None:
    """Read, unread, archive, unarchive, spam and not-spam; nothing else."""
    [feedback_id] = store(app, 1)
    url = f"/desk/feedback/{feedback_id}/state"

    def state() -> str:
        return one_feedback(app, feedback_id).state

    response = desk.post(url, {"action": "read"})
    assert response.status_code == 303
    assert response.location == f"/desk/feedback/{feedback_id}"
    assert state() == "read"
    assert desk.post(url, {"action": "unread"}).status_code == 303
    assert state() == "new"

    response = desk.post(url, {"action": "archive", "back": "inbox"})
    assert response.location == "/desk/"
    assert state() == "archived"
    assert listed(desk.get("/desk/").text) == []
    assert listed(desk.get("/desk/?view=archived").text) == [feedback_id]
    desk.post(url, {"action": "unarchive"})
    assert state() in ("new", "read", "answered")
    assert listed(desk.get("/desk/").text) == [feedback_id]

    desk.post(url, {"action": "spam"})
    assert state() == "spam"
    assert listed(desk.get("/desk/").text) == []
    assert listed(desk.get("/desk/?view=spam").text) == [feedback_id]
    desk.post(url, {"action": "not-spam"})
    assert state() in ("new", "read", "answered")
    assert listed(desk.get("/desk/").text) == [feedback_id]

    before = state()
    assert desk.post(url, {"action": "bless"}).status_code == 400
    no_token = desk.client.post(url, data={"action": "spam"})
    assert no_token.status_code == 400
    assert state() == before


def test_bulk_actions_change_only_the_selected(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """Bulk actions change the selected, and nothing if one is not yours."""
    a, b, c = store(app, 3)
    response = desk.post("/desk/feedback/bulk", {"ids": [a, c], "action": "archive"})
    assert response.status_code == 303
    assert [f.state for f in all_feedback(app)] == ["archived", "new", "archived"]
    desk.post("/desk/feedback/bulk", {"ids": [a, b, c], "action": "spam"})
    assert {f.state for f in all_feedback(app)} == {"spam"}
    desk.post("/desk/feedback/bulk", {"ids": [b], "action": "not-spam"})
    assert listed(desk.get("/desk/").text) == [b]

    # Someone else's feedback among the selected: nothing changes at all.
    tomas_feedback = send(reader, article=TOMAS_ARTICLE)
    refused = desk.post(
        "/desk/feedback/bulk", {"ids": [a, tomas_feedback], "action": "read"}
    )
    assert refused.status_code == 404
    assert one_feedback(app, a).state == "spam"
    assert one_feedback(app, tomas_feedback).state == "new"


def test_a_follow_up_brings_feedback_back_to_the_top_as_new(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """The inbox lists what a reader last wrote first: an old feedback with a
    new follow-up comes before newer feedback, new again, even if archived."""
    older = send(reader, message="An old question.")
    newer = send(reader, message="A newer question.")
    assert listed(desk.get("/desk/").text) == [newer, older]
    desk.post(f"/desk/feedback/{older}/state", {"action": "archive"})
    with get_db(app).write() as session:
        feedback = session.get(
            Feedback, older, options=[selectinload(Feedback.messages)]
        )
        add_follow_up(session, feedback, "And one more thing.")
    page = desk.get("/desk/").text
    assert listed(page) == [older, newer]
    assert "followed up" in inbox_items(page)[older]
    assert one_feedback(app, older).state == "new"


def test_select_all_ticks_every_item_on_the_page(app: Flask, desk: Desk) -> None:
    """Without a script: "Select all" ticks the page's items; the bulk form
    goes back to the list without ticking them again."""
    ids = store(app, 3)
    page = desk.get("/desk/").text
    assert "Select all 3 on this page" in page
    assert " checked>" not in page
    ticked = desk.get("/desk/?select=all").text
    assert ticked.count(" checked>") == 3
    assert "Clear the selection" in ticked
    assert 'name="back_to" value="/desk/?view=inbox"' in ticked
    comments = desk.get("/desk/comments?select=all")
    assert comments.status_code == 200
    assert sorted(listed(ticked)) == sorted(ids)


def test_feedback_goes_to_the_trash_and_back_or_for_good(
    app: Flask, desk: Desk
) -> None:
    """Junk feedback: to the trash (undoable), restored, or deleted for good
    once confirmed; the purge empties the trash."""
    a, b = store(app, 2)
    response = desk.post(f"/desk/feedback/{a}/state", {"action": "trash"})
    assert response.status_code == 303 and response.location == "/desk/"
    assert one_feedback(app, a).state == "trash"
    page = desk.get("/desk/").text
    assert listed(page) == [b]
    assert "1 feedback moved to the trash." in page
    assert f'name="restore" value="{a}:new"' in page
    # The Undo button puts it back as it was, and is offered once.
    undone = desk.post("/desk/feedback/undo", {"restore": f"{a}:new"})
    assert undone.status_code == 303
    assert one_feedback(app, a).state == "new"
    assert 'name="restore"' not in desk.get("/desk/").text
    assert desk.post("/desk/feedback/undo", {"restore": f"{a}:gone"}).status_code == 400

    desk.post("/desk/feedback/bulk", {"ids": [a, b], "action": "trash"})
    assert listed(desk.get("/desk/?view=trash").text) == [b, a]
    desk.post("/desk/feedback/bulk", {"ids": [b], "action": "restore"})
    assert one_feedback(app, b).state == "read"
    asked = desk.post(f"/desk/feedback/{a}/state", {"action": "delete"})
    assert asked.status_code == 200 and "Delete for good?" in asked.text
    assert one_feedback(app, a).state == "trash"
    gone = desk.post(
        f"/desk/feedback/{a}/state", {"action": "delete", "confirmed": "yes"}
    )
    assert gone.status_code == 303
    assert one_feedback(app, a) is None

    # What stays in the trash is purged with spam.
    from feedback_app.services.reader_data import purge

    desk.post(f"/desk/feedback/{b}/state", {"action": "trash"})
    set_feedback(app, b, updated_at=utcnow() - timedelta(days=40))
    with get_db(app).write() as session:
        assert purge(session, 30).feedback == 1
    assert one_feedback(app, b) is None


def test_spam_and_trash_of_comments_can_be_undone(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """Spam and trash say so with an Undo button that restores the state."""
    held = commenter.post_ok(email="a@example.org", body="Held.").id
    response = desk.post(f"/desk/comments/{held}/state", {"action": "spam"})
    assert response.status_code == 303
    page = desk.get(response.location).text
    assert "1 comment marked as spam." in page
    assert f'name="restore" value="{held}:pending"' in page
    assert (
        desk.post("/desk/comments/undo", {"restore": f"{held}:pending"}).status_code
        == 303
    )
    assert comment(app, held).state == "pending"


def test_feedback_page_shows_one_conversation_and_how_answers_went_out(
    app: Flask, client: FlaskClient, reader: Reader, desk: Desk
) -> None:
    """Message, follow-ups and answers in order, with how each answer went out."""
    token, _ = reader.send_and_follow(
        message="Is a script ever useful?", name="Ana", email="ana@example.org"
    )
    [feedback] = all_feedback(app)
    follow_up(client, token, "I mean for the first week.")
    desk.post(
        f"/desk/feedback/{feedback.id}/answer",
        {"answer": "Yes, as a crutch to drop.", "send_to": "private"},
    )
    follow_up(client, token, "Thanks, that helps.")

    page = desk.get(f"/desk/feedback/{feedback.id}").text
    order = [
        page.index("Is a script ever useful?"),
        page.index("I mean for the first week."),
        page.index("Yes, as a crutch to drop."),
        page.index("Thanks, that helps."),
    ]
    assert order == sorted(order)
    answer_part = page[order[1] : order[2]]
    assert MAYA in answer_part
    assert "by e-mail and on the reader&#39;s reply page" in answer_part
    assert "<time datetime=" in answer_part

    # Without an address, the answer went out on the reply page only.
    [other] = store(app, 1)
    desk.post(
        f"/desk/feedback/{other}/answer", {"answer": "Page only.", "send_to": "private"}
    )
    page = desk.get(f"/desk/feedback/{other}").text
    tail = page[page.index("Note number 0.") : page.index("Page only.")]
    assert "on the reader&#39;s reply page" in tail and "by e-mail" not in tail


def test_opening_feedback_changes_nothing(app: Flask, desk: Desk) -> None:
    """A GET does not mark feedback read."""
    [feedback_id] = store(app, 1)
    assert desk.get(f"/desk/feedback/{feedback_id}").status_code == 200
    assert one_feedback(app, feedback_id).state == "new"
    assert unread_badge(desk.get("/desk/").text) == 1


# --- B. answering privately ---------------------------------------------------------


def test_private_answer_reaches_the_reply_page_and_the_readers_mail(
    app: Flask, client: FlaskClient, reader: Reader, desk: Desk
) -> None:
    """With an address: reply page and mail, Reply-To the author."""
    token, _ = reader.send_and_follow(name="Ana", email="ana.reader@example.org")
    [feedback] = all_feedback(app)
    response = desk.post(
        f"/desk/feedback/{feedback.id}/answer",
        {"answer": "Start with ten calls a day.", "send_to": "private"},
    )
    assert response.status_code == 303
    assert response.location == f"/desk/feedback/{feedback.id}"

    [feedback] = all_feedback(app)
    [message] = feedback.messages
    assert message.sender == "author"
    assert message.author_name == MAYA
    assert message.via == "page+email"
    assert message.body == "Start with ten calls a day."
    assert feedback.state == "answered"
    assert listed(desk.get("/desk/?view=answered").text) == [feedback.id]

    page = client.get(f"/r/{token}").text
    assert "Start with ten calls a day." in page
    assert "The author has not answered yet" not in page

    [mail] = outbox(app, "reply-to-reader")
    assert mail.recipient == "ana.reader@example.org"
    assert mail.reply_to == "maya@example.org"
    assert "Start with ten calls a day." in mail.body
    assert drafts_in(app) == []


def test_private_answer_without_address_is_on_the_reply_page_only(
    app: Flask, client: FlaskClient, reader: Reader, desk: Desk
) -> None:
    """Without an address: the reply page only, no mail."""
    token, _ = reader.send_and_follow(message="No address from me.")
    [feedback] = all_feedback(app)
    response = desk.post(
        f"/desk/feedback/{feedback.id}/answer",
        {"answer": "Answered here only.", "send_to": "private"},
    )
    assert response.status_code == 303
    [feedback] = all_feedback(app)
    [message] = feedback.messages
    assert (message.sender, message.author_name, message.via) == (
        "author",
        MAYA,
        "page",
    )
    assert feedback.state == "answered"
    assert "Answered here only." in client.get(f"/r/{token}").text
    assert outbox(app, "reply-to-reader") == []


def test_answer_is_validated(app: Flask, desk: Desk) -> None:
    """Empty, unrouted, untitled or too long answers are refused; the limit is taken."""
    [feedback_id] = store(app, 1, email="ana@example.org")
    url = f"/desk/feedback/{feedback_id}/answer"
    limit = app.config["MAX_REPLY_LENGTH"]
    assert limit == 20000

    assert desk.post(url, {"answer": "", "send_to": "private"}).status_code == 422
    assert desk.post(url, {"answer": "   \n ", "send_to": "private"}).status_code == 422
    neither = desk.post(url, {"answer": "To whom?", "send_to": "nowhere"})
    assert neither.status_code == 422
    assert "To whom?" in neither.text  # the answer is kept for another try
    too_long = desk.post(url, {"answer": "x" * (limit + 1), "send_to": "private"})
    assert too_long.status_code == 422
    no_title = desk.post(url, {"answer": "Hi", "send_to": "post", "summary": "S"})
    assert no_title.status_code == 422
    assert one_feedback(app, feedback_id).messages == []
    assert one_feedback(app, feedback_id).state == "new"
    assert outbox(app, "reply-to-reader") == []
    assert drafts_in(app) == []

    at_limit = desk.post(url, {"answer": "x" * limit, "send_to": "private"})
    assert at_limit.status_code == 303
    [message] = one_feedback(app, feedback_id).messages
    assert len(message.body) == limit


# --- C. answering in public -----------------------------------------------------------


@pytest.fixture
def pub_desk(publishing_app: Flask) -> Desk:
    """Maya signed in on the desk of the app that publishes for real."""
    add_author(publishing_app)
    return signed_in(publishing_app, MAYA)


def test_public_answer_is_drafted_published_and_linked_from_the_reply_page(
    publishing_app: Flask, pub_desk: Desk
) -> None:
    """Draft, preview, edit, publish: the post is built, quoted as typed, linked."""
    app = publishing_app
    reader = Reader(app.test_client())
    token, _ = reader.send_and_follow(
        message=HOSTILE, name=ANA, email=ANA_MAIL, may_quote="y"
    )
    [feedback] = all_feedback(app)
    response = public_answer(pub_desk, feedback.id)  # no summary: they may be quoted
    assert response.status_code == 303, response.text
    assert response.location == f"/desk/feedback/{feedback.id}/post"

    [draft] = drafts_in(app)
    text = draft.read_text(encoding="utf-8")
    meta = meta_of(text)
    assert draft.name == f"{meta['Slug']}.md"
    assert meta["Slug"] == "reader-mail-on-scripts"
    assert meta["Title"] == "Reader mail: on scripts"
    assert meta["Author"] == MAYA
    assert meta["Category"] == "Reader mail"
    assert meta["Tags"] == "calls, reader feedback"
    assert meta["Status"] == "draft"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", meta["Date"])
    assert "({filename}/inside-sales-without-the-script.md)" in text
    assert "Here is my answer to everyone." in text
    assert HOSTILE not in text and "<script>" not in text
    for secret in ("anastasia", "quill"):
        assert secret not in text.lower()
    stored = one_feedback(app, feedback.id)
    assert stored.post_source == f"desk/{draft.name}"
    assert stored.messages == []  # nothing went to the reader yet

    # The preview shows the post; looking at it changes nothing.
    before = (draft.read_bytes(), draft.stat().st_mtime_ns)
    preview = pub_desk.get(response.location)
    assert preview.status_code == 200
    assert "Here is my answer to everyone." in preview.text
    assert "<script>x</script>" not in preview.text
    assert (draft.read_bytes(), draft.stat().st_mtime_ns) == before
    assert pub_desk.get(f"/desk/feedback/{feedback.id}").status_code == 200
    assert (draft.read_bytes(), draft.stat().st_mtime_ns) == before

    # An old date (set in the file, as an editor with shell access may), so
    # that publishing visibly sets a new one; then an edit in the desk.
    draft.write_text(
        text.replace(f"Date: {meta['Date']}", "Date: 2020-01-02 03:04"),
        encoding="utf-8",
    )
    body = text.split("\n\n", 1)[1].replace("everyone.", "everyone, edited.")
    saved = pub_desk.post(
        f"/desk/feedback/{feedback.id}/post",
        {"title": meta["Title"], "category": "Reader mail", "body": body},
    )
    assert saved.status_code == 303, saved.text
    assert "Date: 2020-01-02 03:04" in draft.read_text(encoding="utf-8")
    assert "everyone, edited." in draft.read_text(encoding="utf-8")

    published = pub_desk.post(f"/desk/feedback/{feedback.id}/post/publish")
    assert published.status_code == 303
    assert published.location == f"/desk/feedback/{feedback.id}"
    meta = meta_of(draft.read_text(encoding="utf-8"))
    assert meta["Status"] == "published"
    when = datetime.strptime(meta["Date"], "%Y-%m-%d %H:%M").replace(
        tzinfo=ZoneInfo("Europe/Stockholm")
    )
    assert abs(datetime.now(ZoneInfo("Europe/Stockholm")) - when) < timedelta(minutes=5)

    output = Path(app.config["OUTPUT_PATH"])
    url = f"/{when.year}/reader-mail-on-scripts/"
    page = (output / url.strip("/") / "index.html").read_text(encoding="utf-8")
    assert "Here is my answer to everyone, edited." in page
    assert "<script>x</script>" not in page
    assert 'href="javascript' not in page.lower()
    assert "<strong>b</strong>" not in page
    [quote] = re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", page, re.S)
    assert text_of(quote) == HOSTILE  # reads exactly as the reader typed it
    for secret in ("anastasia", "quill"):
        assert secret not in page.lower()
    assert f'href="{url}"' in (output / "index.html").read_text(encoding="utf-8")

    stored = one_feedback(app, feedback.id)
    assert stored.state == "answered"
    [post_message] = stored.messages
    assert (post_message.sender, post_message.via, post_message.author_name) == (
        "author",
        "post",
        MAYA,
    )
    reply_page = reader.client.get(f"/r/{token}").text
    assert f'<a href="{url}">Reader mail: on scripts</a>' in reply_page
    desk_page = pub_desk.get(f"/desk/feedback/{feedback.id}").text
    assert "answered in public, in a post" in desk_page
    assert f'<a href="{url}">Reader mail: on scripts</a>' in desk_page

    # Publishing again (a second click) does not answer twice.
    again = pub_desk.post(f"/desk/feedback/{feedback.id}/post/publish")
    assert again.status_code == 303
    assert [m.via for m in one_feedback(app, feedback.id).messages] == ["post"]


def test_quoted_setext_heading_and_definition_list_read_as_typed(
    publishing_app: Flask, pub_desk: Desk
) -> None:
    """Markdown syntax of whole lines in the quote stays text too."""
    app = publishing_app
    message = "My take\n===\n\nQuota\n: a number someone else picked"
    feedback_id = send(Reader(app.test_client()), message=message, may_quote="y")
    assert public_answer(pub_desk, feedback_id).status_code == 303
    published = pub_desk.post(f"/desk/feedback/{feedback_id}/post/publish")
    assert published.status_code == 303
    [draft] = drafts_in(app)
    year = meta_of(draft.read_text(encoding="utf-8"))["Date"][:4]
    page = (
        Path(app.config["OUTPUT_PATH"]) / year / "reader-mail-on-scripts" / "index.html"
    ).read_text(encoding="utf-8")
    [quote] = re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", page, re.S)
    assert "<h1" not in quote and "<dl" not in quote
    assert text_of(quote) == " ".join(message.split())


def test_public_answer_without_consent_needs_a_summary(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """Not to be quoted: no post without a summary, and the message stays out."""
    feedback_id = send(
        reader, message="Secret plan: triple the quota.", name=ANA, email=ANA_MAIL
    )
    refused = public_answer(desk, feedback_id)
    assert refused.status_code == 422
    assert drafts_in(app) == []
    assert one_feedback(app, feedback_id).post_source is None

    taken = public_answer(
        desk, feedback_id, summary="A reader asked how big a quota should be."
    )
    assert taken.status_code == 303
    [draft] = drafts_in(app)
    text = draft.read_text(encoding="utf-8")
    assert "A reader asked how big a quota should be." in text
    assert "triple the quota" not in text
    for secret in ("anastasia", "quill"):
        assert secret not in text.lower()


def test_public_answer_is_in_the_name_of_who_wrote_it(
    app: Flask, reader: Reader
) -> None:
    """The post's Author is the signed-in author, not the article's."""
    add_author(app, EDA, "eda@example.org", role="editor")
    eda = signed_in(app, EDA)
    feedback_id = send(reader, message="Quote me.", may_quote="y")
    assert public_answer(eda, feedback_id).status_code == 303
    [draft] = drafts_in(app)
    text = draft.read_text(encoding="utf-8")
    assert meta_of(text)["Author"] == EDA
    assert "Quote me" in text


def editor_fields(text: str, **changes: str) -> dict[str, str]:
    """The post editor's fields for a post file the desk wrote, changed."""
    meta = meta_of(text)
    return {
        "title": meta["Title"],
        "summary": meta.get("Summary", ""),
        "category": meta.get("Category", ""),
        "tags": meta.get("Tags", ""),
        "body": text.split("\n\n", 1)[1],
        **changes,
    }


def drafted_post(app: Flask, reader: Reader, desk: Desk) -> tuple[Path, str, str]:
    """A quotable feedback answered in a draft post: its file, the file's
    text and the post editor's address."""
    feedback_id = send(reader, may_quote="y")
    public_answer(desk, feedback_id)
    [draft] = drafts_in(app)
    text = draft.read_text(encoding="utf-8")
    return draft, text, f"/desk/feedback/{feedback_id}/post"


def test_post_edits_are_saved_and_broken_ones_refused(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """A valid edit is saved; a malformed one is refused and changes nothing."""
    draft, original, url = drafted_post(app, reader, desk)

    better = editor_fields(original)
    better["body"] = better["body"].replace(
        "Here is my answer", "Here is my better answer"
    )
    assert desk.post(url, better).status_code == 303
    saved = draft.read_text(encoding="utf-8")
    assert "Here is my better answer" in saved
    assert "Here is my better answer" in desk.get(url).text

    broken = {
        "no title": (editor_fields(saved, title=""), 422),
        "two-line title": (editor_fields(saved, title="A\nSlug: x"), 422),
        "empty": (editor_fields(saved, body=""), 422),
        "a control character": (editor_fields(saved, tags="a\x1bb"), 400),
    }
    for what, (fields, status) in broken.items():
        response = desk.post(url, fields)
        assert response.status_code == status, what
        assert 'role="alert"' in response.text, what
        assert draft.read_text(encoding="utf-8") == saved, what
    assert drafts_in(app) == [draft]


def test_the_desk_edits_only_what_an_author_may_publish(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """No page of someone else's, no files of the site, no script: an edit
    that would is refused, says why at the top of the page, and the file
    stays as it was."""
    draft, saved, url = drafted_post(app, reader, desk)
    body = editor_fields(saved)["body"]
    refused = {
        "a script": (body + "\n<script>alert(1)</script>\n", "<script>"),
        "a handler": (body + '\n<p onmouseover="alert(1)">x</p>\n', "onmouseover"),
        "a javascript link": (body + "\n[x](javascript:alert(1))\n", "javascript"),
        "a refresh": (
            body + '\n<meta http-equiv="refresh" content="0;url=https://x.example">',
            "<meta>",
        ),
        "a file of the site": (
            body + "\n[key]({static}/../instance/secret_key)\n",
            "{static}/../instance/secret_key",
        ),
        "an attachment": (body + "\n![db]({attach}../feedback.sqlite3)\n", "{attach}"),
        "another article's file": (
            body + "\n[x]({filename}/follow-up-emails-that-get-answered.md)\n",
            "{filename}",
        ),
        "a comment hiding markup": (
            body + "\n<!--> <img src=x onerror=alert(1)> -->\n",
            "HTML comment",
        ),
        # Links Pelican rewrites after cleaning: hidden by an entity, no
        # quotes, or a ">" in an earlier attribute; Pelican keeps the
        # javascript: of what follows the token.
        "an entity-hidden link": (
            body + '\n<a href="&#123;index}javascript://x?%0Aalert(1)">x</a>\n',
            "{index}",
        ),
        "an unquoted link": (
            body + "\n<a href={tag}javascript://x/a?%0Aalert(1)>x</a>\n",
            "{tag}",
        ),
        "a link behind a >": (
            body + '\n<a title=">" href="{author}javascript://x?%0Aalert(1)">x</a>\n',
            "{author}",
        ),
        "an entity-hidden attachment": (
            body + '\n<a href="&#123;attach}/images/chart.png">x</a>\n',
            "{attach}",
        ),
        "an entity-hidden content link": (
            body + '\n<a href="&#123;filename}/pages/about.md">x</a>\n',
            "{filename}/pages/about.md",
        ),
        "the class Pelican cuts out of summaries": (
            body + '\n<div class="contents"><div>a</div></div>\n',
            "class",
        ),
        "a theme's id": (body + '\n<p id="respond">x</p>\n', "the attribute id"),
        "a theme's class": (body + '\n<p class="notice">x</p>\n', "class"),
    }
    for what, (text, named) in refused.items():
        response = desk.post(url, editor_fields(saved, body=text))
        assert response.status_code == 422, what
        top = response.text.split('id="post-title"')[0]
        assert "Nothing was saved. The desk does not publish" in top, what
        assert html.escape(named, quote=False) in top, what
        assert draft.read_text(encoding="utf-8") == saved, what
    # An author's desk has no author field: the post stays in their name.
    taken = desk.post(url, editor_fields(saved, author=TOMAS))
    assert taken.status_code == 303
    assert meta_of(draft.read_text(encoding="utf-8"))["Author"] == MAYA
    # Plain Markdown and HTML, a table, the answered article's link: fine.
    fine = body + "\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n<em>yes</em>\n"
    assert desk.post(url, editor_fields(saved, body=fine)).status_code == 303


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", "[x](http://[x)"),
        ("body", "![x](https://[x)"),
        ("body", '<a href="https://[::1">x</a>'),
        ("summary", "[x](http://[x)"),
        ("body", '```{.python linenostart="x"}\nx = 1\n```'),
        ("body", '```{.python style="x"}\nx = 1\n```'),
        ("summary", '<a href="&#124;index|javascript://x?%0Aalert(2)">s</a>'),
        ("category", ""),
        ("body", "<p><![</p>"),
        ("summary", "<div><![foo[</div>"),
        # Pelican's summary cutter would unbalance every list page.
        (
            "body",
            '<p><u><code><a href="https://e.example/" title="c class=">x</a>'
            'toc-backref"</code></u> <a href="https://f.example/">y</a></p>',
        ),
        ("body", '<p class="language-toc-backref">x</p>'),
        # Pelican's link pattern reads from every "<" to the next ">".
        ("body", "<p>" + "<" * 3000 + "</p>"),
    ],
)
def test_what_pelican_cannot_read_is_refused_not_a_500(
    app: Flask, reader: Reader, desk: Desk, field: str, value: str
) -> None:
    draft, saved, url = drafted_post(app, reader, desk)
    for action in ("preview", "save", "publish"):
        fields = {**editor_fields(saved, **{field: value}), "action": action}
        response = desk.post(url, fields)
        assert response.status_code == 422, (action, response.status_code)
        assert 'role="alert"' in response.text.split("<h1", 1)[0]
    assert draft.read_text(encoding="utf-8") == saved


def test_a_post_pelican_takes_too_long_to_render_is_refused(
    app: Flask, reader: Reader, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pygments' Maple lexer takes time exponential in a run of backslashes
    (44 took minutes): the desk stops rendering after RENDER_TIMEOUT and
    refuses the post; a post of ordinary code is rendered in time."""
    from feedback_app.site import post_check

    monkeypatch.setattr(post_check, "RENDER_TIMEOUT", 3)
    draft, saved, url = drafted_post(app, reader, desk)
    slow = '```maple\n"' + "\\" * 60 + "\n```"
    refused = desk.post(url, editor_fields(saved, body=slow))
    assert refused.status_code == 422
    assert "takes longer than 3 seconds" in refused.text
    assert draft.read_text(encoding="utf-8") == saved
    code = "```python\n" + "def f(x):\n    return x * 2\n" * 200 + "```"
    assert desk.post(url, editor_fields(saved, body=code)).status_code == 303


def test_a_tag_at_the_length_limit_is_published_and_one_past_it_refused(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """Pelican's link pattern is slow in the square of a tag's length: the
    desk takes tags up to MAX_TAG characters."""
    from feedback_app.site.post_markup import MAX_TAG

    draft, saved, url = drafted_post(app, reader, desk)

    def tag(length: int) -> str:
        opening = 'p title=""'
        return f'<{opening[:-1]}{"x" * (length - len(opening))}">ok</p>'

    assert len(tag(MAX_TAG)) == MAX_TAG + len("<>ok</p>")
    past = desk.post(url, editor_fields(saved, body=tag(MAX_TAG + 1)))
    assert past.status_code == 422
    assert f"longer than {MAX_TAG:,} characters" in past.text
    assert draft.read_text(encoding="utf-8") == saved
    at = desk.post(url, editor_fields(saved, body=tag(MAX_TAG)))
    assert at.status_code == 303


def test_an_editor_picks_the_posts_author_and_only_they_may_change_it(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """An editor may name another desk account as the post's author; then
    the article's own author (Maya) sees the post but cannot change it."""
    add_author(app, EDA, "eda@example.org", role="editor")
    add_author(app, TOMAS, "tomas@example.org")
    eda = signed_in(app, EDA)
    feedback_id = send(reader, message="Quote me.", may_quote="y")
    assert public_answer(eda, feedback_id).status_code == 303
    [draft] = drafts_in(app)
    url = f"/desk/feedback/{feedback_id}/post"
    text = draft.read_text(encoding="utf-8")
    assert 'name="author"' in eda.get(url).text
    assert 'name="author"' not in desk.get(url).text  # Maya: no such field

    unknown = eda.post(url, editor_fields(text, author="Nobody Known"))
    assert unknown.status_code == 422
    assert draft.read_text(encoding="utf-8") == text
    assert eda.post(url, editor_fields(text, author=TOMAS)).status_code == 303
    tomas_post = draft.read_text(encoding="utf-8")
    assert meta_of(tomas_post)["Author"] == TOMAS

    # Maya, whose article it answers, reads it; its words are Tomas's.
    page = desk.get(url)
    assert page.status_code == 200 and "only they or an editor" in page.text
    assert desk.post(url, editor_fields(tomas_post, body="Mine.")).status_code == 404
    assert desk.post(f"{url}/publish").status_code == 404
    assert draft.read_text(encoding="utf-8") == tomas_post


def test_a_failed_desk_form_says_so_at_the_top_of_the_page(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    comment_id = commenter.post_ok(email="a@example.org", body="Held.").id
    response = desk.post(
        f"/desk/comments/{comment_id}/edit", {"name": "", "body": "Edited."}
    )
    assert response.status_code == 422
    top = response.text.split("<h1", 1)[0]
    assert 'role="alert"' in top and "Nothing was changed yet" in top


def test_a_follow_up_makes_answered_feedback_new_again(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    token, _ = reader.send_and_follow(message="First words.")
    [feedback] = all_feedback(app)
    desk.post(
        f"/desk/feedback/{feedback.id}/answer", {"answer": "Hi.", "send_to": "private"}
    )
    assert one_feedback(app, feedback.id).state == "answered"
    follow_up(reader.client, token, "And another thing.")
    assert one_feedback(app, feedback.id).state == "new"
    assert unread_badge(desk.get("/desk/").text) == 1


def test_answered_feedback_stays_answered_through_the_archive(
    app: Flask, desk: Desk
) -> None:
    [feedback_id] = store(app, 1)
    url = f"/desk/feedback/{feedback_id}"
    desk.post(f"{url}/answer", {"answer": "Hi.", "send_to": "private"})
    for action in ("archive", "unarchive", "spam", "not-spam", "unread", "read"):
        desk.post(f"{url}/state", {"action": action})
    assert one_feedback(app, feedback_id).state == "answered"


@pytest.mark.parametrize("page", ["99999999999999999999", "-3", "0", "x"])
def test_any_page_number_is_answered(desk: Desk, page: str) -> None:
    assert desk.get(f"/desk/?page={page}").status_code == 200
    assert desk.get(f"/desk/comments?page={page}").status_code == 200


def test_erasing_an_address_keeps_mail_of_an_address_ending_like_it(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """bob@example.org is not jimbob@example.org: neither export nor erase
    touches the other's mail."""
    from feedback_app.services.reader_data import erase, export

    add_author(app, TOMAS, "tomas@example.org")
    reader.send(
        article=TOMAS_ARTICLE, message="From Jim Bob.", email="jimbob@example.org"
    )
    reader.send(article=TOMAS_ARTICLE, message="From Bob.", email="bob@example.org")
    with get_db(app).read() as session:
        mail = export(session, "bob@example.org")["mail"]
    # The author's notification, and the reader's acknowledgement.
    assert [(m["to"], m["reply_to"]) for m in mail] == [
        ("tomas@example.org", "bob@example.org"),
        ("bob@example.org", None),
    ]
    with get_db(app).write() as session:
        assert erase(session, "bob@example.org").mail == 2
    with get_db(app).read() as session:
        assert [
            (m["to"], m["reply_to"])
            for m in export(session, "jimbob@example.org")["mail"]
        ] == [
            ("tomas@example.org", "jimbob@example.org"),
            ("jimbob@example.org", None),
        ]


def test_a_feedback_gets_one_post_only(app: Flask, reader: Reader, desk: Desk) -> None:
    """A second public answer on the same feedback is refused."""
    feedback_id = send(reader, may_quote="y")
    assert public_answer(desk, feedback_id).status_code == 303
    [draft] = drafts_in(app)
    before = draft.read_bytes()
    again = public_answer(desk, feedback_id, title="Another post")
    assert again.status_code == 422
    assert drafts_in(app) == [draft]
    assert draft.read_bytes() == before
    assert one_feedback(app, feedback_id).post_source == f"desk/{draft.name}"


def test_private_and_public_at_once_do_both(
    app: Flask, client: FlaskClient, reader: Reader, desk: Desk
) -> None:
    """Privately and in a post: a private answer and a draft post."""
    token, _ = reader.send_and_follow(email="ana@example.org", may_quote="y")
    [feedback] = all_feedback(app)
    response = public_answer(desk, feedback.id, send_to="both")
    assert response.status_code == 303
    assert response.location == f"/desk/feedback/{feedback.id}/post"
    [draft] = drafts_in(app)
    assert "Here is my answer to everyone." in draft.read_text(encoding="utf-8")
    [message] = one_feedback(app, feedback.id).messages
    assert (message.via, message.body) == (
        "page+email",
        "Here is my answer to everyone.",
    )
    [mail] = outbox(app, "reply-to-reader")
    assert mail.recipient == "ana@example.org"
    assert "Here is my answer to everyone." in client.get(f"/r/{token}").text


# --- D. comments in the desk ----------------------------------------------------------


def test_queue_has_one_tab_a_state_held_comments_first(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """The queue: held comments (newest first) under "To moderate", each other
    state on its own tab; no second tab with the same comments."""
    held_old = commenter.post_ok(email="a@example.org", body="Held, older.").id
    spam = commenter.post_ok(email="b@example.org", body="Buy now.").id
    trash = commenter.post_ok(email="c@example.org", body="Off topic.").id
    approved = commenter.post_ok(email="d@example.org", body="Good one.").id
    held_new = commenter.post_ok(email="e@example.org", body="Held, newer.").id
    for comment_id, action in ((spam, "spam"), (trash, "trash"), (approved, "approve")):
        response = desk.post(f"/desk/comments/{comment_id}/state", {"action": action})
        assert response.status_code == 303
    wait(app)

    queue = desk.get("/desk/comments").text
    assert queued(queue) == [held_new, held_old]
    tabs = queue.split('aria-label="Comment views"')[1].split("</nav>")[0]
    assert re.findall(r">([^<]+)</a>", tabs) == [
        "To moderate (2)",
        "Approved (1)",
        "Spam (1)",
        "Trash (1)",
    ]
    assert queued(desk.get("/desk/comments?view=queue").text) == [held_new, held_old]
    assert queued(desk.get("/desk/comments?view=approved").text) == [approved]
    assert queued(desk.get("/desk/comments?view=spam").text) == [spam]
    assert queued(desk.get("/desk/comments?view=trash").text) == [trash]
    assert desk.get("/desk/comments?view=all").status_code == 404


def test_comment_tab_counts_are_the_chosen_articles(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """With an article chosen, each tab counts that article's comments."""
    commenter.post_ok(email="a@example.org", body="Here.")
    commenter.post_ok(article=READER_MAIL, email="b@example.org", body="There.")
    commenter.post_ok(article=READER_MAIL, email="c@example.org", body="Also there.")
    everything = desk.get("/desk/comments").text
    assert "To moderate (3)" in everything
    one = desk.get(f"/desk/comments?article={ARTICLE}").text
    other = desk.get(f"/desk/comments?article={READER_MAIL}").text
    assert "To moderate (1)" in one
    assert "To moderate (2)" in other
    assert len(queued(other)) == 2


def test_comment_is_shown_in_context(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """A reply is shown with its article and the comment it answers."""
    parent = commenter.post_ok(name="Ana", body="The *first* word.").id
    desk.post(f"/desk/comments/{parent}/state", {"action": "approve"})
    wait(app)
    reply = commenter.post_ok(
        name="Bo", email="bo@example.org", body="A reply.", parent=str(parent)
    ).id
    assert comment(app, reply).state == "pending"

    queue = desk.get("/desk/comments").text
    assert queued(queue) == [reply]
    assert "On “<a href=" in queue and ARTICLE_TITLE in queue
    assert "answering Ana" in queue
    assert "The <em>first</em> word." in queue

    page = desk.get(f"/desk/comments/{reply}").text
    assert ARTICLE_TITLE in page
    assert "It answers" in page
    assert page.index("The <em>first</em> word.") < page.index("A reply.")


def test_comment_state_buttons_and_delete(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """Approve, unapprove, spam, trash and delete for good."""
    comment_id = commenter.post_ok(body="Moderate me.").id
    url = f"/desk/comments/{comment_id}/state"
    for action, state in (
        ("approve", "approved"),
        ("unapprove", "pending"),
        ("spam", "spam"),
        ("trash", "trash"),
        ("approve", "approved"),
    ):
        response = desk.post(url, {"action": action})
        assert response.status_code == 303, action
        assert comment(app, comment_id).state == state, action
    assert desk.post(url, {"action": "bless"}).status_code == 400
    assert desk.client.post(url, data={"action": "spam"}).status_code == 400
    assert comment(app, comment_id).state == "approved"

    # Deleting for good asks first, and only the confirmation deletes.
    asked = desk.post(url, {"action": "delete"})
    assert asked.status_code == 200
    assert "Delete for good?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert comment(app, comment_id).state == "approved"
    response = desk.post(url, {"action": "delete", "confirmed": "yes"})
    assert response.status_code == 303
    assert response.location.startswith("/desk/comments")
    assert comment(app, comment_id) is None
    assert desk.get(f"/desk/comments/{comment_id}").status_code == 404
    wait(app)


def test_comment_bulk_actions_are_all_or_nothing(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """Bulk moderation; one comment out of reach and nothing changes."""
    a = commenter.post_ok(email="a@example.org", body="A.").id
    b = commenter.post_ok(email="b@example.org", body="B.").id
    c = commenter.post_ok(email="c@example.org", body="C.").id
    approved = desk.post("/desk/comments/bulk", {"ids": [a, b], "action": "approve"})
    assert approved.status_code == 303
    states = [comment(app, i).state for i in (a, b, c)]
    assert states == ["approved", "approved", "pending"]
    desk.post("/desk/comments/bulk", {"ids": [b, c], "action": "trash"})
    states = [comment(app, i).state for i in (a, b, c)]
    assert states == ["approved", "trash", "trash"]
    asked = desk.post("/desk/comments/bulk", {"ids": [b, c], "action": "delete"})
    assert asked.status_code == 200 and "Delete for good?" in asked.text
    assert comment(app, b).state == "trash"
    desk.post(
        "/desk/comments/bulk", {"ids": [b, c], "action": "delete", "confirmed": "yes"}
    )
    assert comment(app, b) is None and comment(app, c) is None

    # Tomás's comment among the selected: Maya may not touch it, so nothing changes.
    tomas_comment = commenter.post_ok(
        article=TOMAS_ARTICLE, email="t@example.org", body="On Tomás's article."
    ).id
    assert tomas_comment > a
    refused = desk.post(
        "/desk/comments/bulk", {"ids": [a, tomas_comment], "action": "spam"}
    )
    assert refused.status_code == 404
    assert comment(app, a).state == "approved"
    assert comment(app, tomas_comment).state == "pending"
    assert (
        desk.post(f"/desk/comments/{tomas_comment}/state", {"action": "approve"})
    ).status_code == 404
    assert comment(app, tomas_comment).state == "pending"
    wait(app)


def test_edit_rerenders_sanitised_and_republishes_if_public(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """An edit re-renders the Markdown, sanitised, and republishes if approved."""
    comment_id = commenter.post_ok(body="Typo.").id
    url = f"/desk/comments/{comment_id}/edit"
    published = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)

    response = desk.post(
        url,
        {
            "name": "Ana B.",
            "website": "https://ana.example.org",
            "body": "Now **bold**. <script>alert(1)</script>",
        },
    )
    assert response.status_code == 303
    edited = comment(app, comment_id)
    assert edited.name == "Ana B."
    assert edited.website == "https://ana.example.org"
    assert edited.body == "Now **bold**. <script>alert(1)</script>"
    assert "<strong>bold</strong>" in edited.html
    assert "<script" not in edited.html
    assert edited.state == "pending"
    wait(app)
    assert not published.exists()  # held: nothing public to update

    desk.post(f"/desk/comments/{comment_id}/state", {"action": "approve"})
    wait(app)
    desk.post(url, {"name": "Ana Berg", "website": "", "body": "Edited *again*."})
    wait(app)
    [shown] = json.loads(published.read_text(encoding="utf-8"))["comments"]
    assert shown["id"] == comment_id
    assert shown["name"] == "Ana Berg"
    assert shown["website"] is None
    assert "<em>again</em>" in shown["html"]

    bad = desk.post(
        url, {"name": "Ana", "website": "javascript:alert(1)", "body": "Hi"}
    )
    assert bad.status_code == 422
    assert desk.post(url, {"name": "", "body": "Hi"}).status_code == 422
    assert comment(app, comment_id).body == "Edited *again*."


def test_approve_and_reply_publishes_the_authors_answer(
    app: Flask, commenter: Commenter, desk: Desk
) -> None:
    """Approve and reply: the comment is approved, the reply is the author's."""
    comment_id = commenter.post_ok(body="Is this right?").id
    empty = desk.post(f"/desk/comments/{comment_id}/reply", {"body": " "})
    assert empty.status_code == 422
    assert comment(app, comment_id).state == "pending"
    assert comment_count(app) == 1
    response = desk.post(
        f"/desk/comments/{comment_id}/reply", {"body": "Yes, *exactly*."}
    )
    assert response.status_code == 303
    assert comment(app, comment_id).state == "approved"
    reply = newest_comment(app)
    assert reply.id != comment_id
    assert reply.parent_id == comment_id
    assert reply.is_author is True
    assert reply.name == MAYA
    assert reply.state == "approved"
    assert reply.article_page_url == ARTICLE
    assert "<em>exactly</em>" in reply.html
    wait(app)
    published = json.loads(
        (Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)).read_text()
    )["comments"]
    assert [(c["id"], c["parent"], c["author"]) for c in published] == [
        (comment_id, None, False),
        (reply.id, comment_id, True),
    ]


def test_only_an_author_of_the_article_may_reply(
    app: Flask, commenter: Commenter
) -> None:
    """An editor who did not write the article cannot reply as its author."""
    add_author(app, EDA, "eda@example.org", role="editor")
    eda = signed_in(app, EDA)
    comment_id = commenter.post_ok(body="Anyone there?").id
    assert eda.get(f"/desk/comments/{comment_id}").status_code == 200  # she sees it
    refused = eda.post(f"/desk/comments/{comment_id}/reply", {"body": "I am!"})
    assert refused.status_code == 422
    assert comment(app, comment_id).state == "pending"
    assert comment_count(app) == 1

    add_author(app, TOMAS, "tomas@example.org")
    tomas = signed_in(app, TOMAS)
    refused = tomas.post(f"/desk/comments/{comment_id}/reply", {"body": "Me too."})
    assert refused.status_code == 404  # not his article: not even there for him
    assert comment_count(app) == 1


def test_desk_moderation_rebuilds_the_article_page(
    publishing_app: Flask, pub_desk: Desk
) -> None:
    """Approving, editing and replying rebuild the article's page for real."""
    app = publishing_app
    commenter = Commenter(app.test_client())
    page_path = (
        Path(app.config["OUTPUT_PATH"])
        / app.extensions["site_index"].article(ARTICLE).save_as
    )

    first = commenter.post_ok(email="ana@example.org", body="First!").id
    second = commenter.post_ok(email="bo@example.org", name="Bo", body="Second.").id
    assert f'id="comment-{first}"' not in page_path.read_text(encoding="utf-8")

    pub_desk.post(f"/desk/comments/{first}/state", {"action": "approve"})
    wait(app)
    page = page_path.read_text(encoding="utf-8")
    assert f'id="comment-{first}"' in page
    assert f'id="comment-{second}"' not in page

    pub_desk.post(
        f"/desk/comments/{first}/edit",
        {"name": "Ana", "body": "First, **edited**. <script>alert(1)</script>"},
    )
    wait(app)
    page = page_path.read_text(encoding="utf-8")
    assert "<strong>edited</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "First!" not in page

    pub_desk.post(f"/desk/comments/{second}/reply", {"body": "Welcome, Bo."})
    wait(app)
    reply = newest_comment(app)
    page = page_path.read_text(encoding="utf-8")
    assert f'id="comment-{second}"' in page
    assert f'<li class="comment by-author" id="comment-{reply.id}">' in page
    assert "Welcome, Bo." in page


# --- E. readers' data -----------------------------------------------------------------


@pytest.fixture
def eda(app: Flask) -> Desk:
    add_author(app, EDA, "eda@example.org", role="editor")
    return signed_in(app, EDA)


@pytest.fixture
def two_readers(
    app: Flask, client: FlaskClient, reader: Reader, commenter: Commenter, desk: Desk
) -> Iterator[dict[str, int]]:
    """Ana and Bo, each with feedback and comments; Ana answered, subscribed."""
    token, _ = reader.send_and_follow(
        message="Ana's private question.", name=ANA, email=ANA_MAIL
    )
    ana_feedback = all_feedback(app)[-1].id
    follow_up(client, token, "Ana's follow-up.")
    desk.post(
        f"/desk/feedback/{ana_feedback}/answer",
        {"answer": "Maya's answer to Ana.", "send_to": "private"},
    )
    bo_feedback = send(reader, message="Bo's private note.", name=BO, email=BO_MAIL)
    ana_public = commenter.post_ok(
        name=ANA,
        email=ANA_MAIL,
        website="https://anastasia.example.net",
        body="Ana's public comment.",
        notify_replies="y",
    ).id
    ana_held = commenter.post_ok(
        name=ANA, email=ANA_MAIL, body="Ana's held comment."
    ).id
    bo_public = commenter.post_ok(name=BO, email=BO_MAIL, body="Bo's comment.").id
    desk.post(
        "/desk/comments/bulk", {"ids": [ana_public, bo_public], "action": "approve"}
    )
    wait(app)
    yield {
        "ana_feedback": ana_feedback,
        "bo_feedback": bo_feedback,
        "ana_public": ana_public,
        "ana_held": ana_held,
        "bo_public": bo_public,
    }
    wait(app)


def test_readers_data_is_for_editors_only(app: Flask, desk: Desk, eda: Desk) -> None:
    """Authors who are not editors do not see readers' data."""
    assert desk.get("/desk/readers").status_code == 404
    assert desk.post("/desk/readers", {"email": ANA_MAIL}).status_code == 404
    assert desk.post("/desk/readers/export", {"email": ANA_MAIL}).status_code == 404
    assert eda.get("/desk/readers").status_code == 200


def test_looking_up_an_address_shows_what_is_stored(
    two_readers: dict[str, int], eda: Desk
) -> None:
    """A look-up (in any case) counts what is stored under the address."""
    page = eda.post("/desk/readers", {"email": "Anastasia.Quill@EXAMPLE.org"})
    assert page.status_code == 200
    assert "1 private feedback" in page.text
    assert "2 comments (1 published)" in page.text
    assert "A subscription to reply notifications" in page.text
    assert eda.post("/desk/readers", {"email": "not an address"}).status_code == 422
    nobody = eda.post("/desk/readers", {"email": "nobody@example.org"})
    assert "0 private feedback" in nobody.text
    assert "No subscription" in nobody.text


def test_export_is_everything_about_the_address_and_nothing_else(
    two_readers: dict[str, int], eda: Desk
) -> None:
    """The JSON export holds the reader's data and nobody else's."""
    response = eda.post("/desk/readers/export", {"email": ANA_MAIL})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.text)

    [feedback] = data["feedback"]
    assert feedback["id"] == two_readers["ana_feedback"]
    assert feedback["message"] == "Ana's private question."
    assert feedback["name"] == ANA
    assert [(m["from"], m["text"]) for m in feedback["conversation"]] == [
        ("reader", "Ana's follow-up."),
        ("author", "Maya's answer to Ana."),
    ]
    comments = {c["id"]: c for c in data["comments"]}
    assert set(comments) == {two_readers["ana_public"], two_readers["ana_held"]}
    assert comments[two_readers["ana_public"]]["text"] == "Ana's public comment."
    assert comments[two_readers["ana_public"]]["state"] == "approved"
    assert comments[two_readers["ana_held"]]["state"] == "pending"
    assert data["subscription"]["email"] == ANA_MAIL
    to_ana = [m for m in data["mail"] if m["to"] == ANA_MAIL]
    assert any("Maya's answer to Ana." in m["text"] for m in to_ana)
    assert any("confirm" in m["subject"].lower() for m in to_ana)

    text = response.text.lower()
    for other in (BO.lower(), BO_MAIL, "bo's private note", "bo's comment"):
        assert other not in text, other


def test_erase_needs_the_confirmation(
    app: Flask, two_readers: dict[str, int], eda: Desk
) -> None:
    """Without the box ticked nothing is erased."""
    response = eda.post("/desk/readers/erase", {"email": ANA_MAIL})
    assert response.status_code == 422
    assert "Tick the box" in response.text
    assert one_feedback(app, two_readers["ana_feedback"]) is not None
    assert comment(app, two_readers["ana_held"]) is not None
    assert comment(app, two_readers["ana_public"]).name == ANA


def test_erase_forgets_the_reader_and_keeps_published_text_anonymous(
    app: Flask, two_readers: dict[str, int], eda: Desk
) -> None:
    """Erasure deletes the private, anonymises the published, spares others."""
    published = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    assert ANA in published.read_text(encoding="utf-8")
    feedback_ids = {f.id for f in all_feedback(app)}

    response = eda.post("/desk/readers/erase", {"email": ANA_MAIL, "confirm": "y"})
    assert response.status_code == 200
    assert "Erased" in response.text
    wait(app)

    assert {f.id for f in all_feedback(app)} == feedback_ids - {
        two_readers["ana_feedback"]
    }
    with get_db(app).read() as session:
        assert (
            session.scalars(
                select(FeedbackMessage).where(
                    FeedbackMessage.feedback_id == two_readers["ana_feedback"]
                )
            ).all()
            == []
        )
        assert session.scalars(select(Subscription)).all() == []
    assert comment(app, two_readers["ana_held"]) is None
    kept = comment(app, two_readers["ana_public"])
    assert (kept.name, kept.email, kept.website, kept.state) == (
        "Anonymous",
        None,
        None,
        "approved",
    )
    assert kept.body == "Ana's public comment."
    assert all(ANA_MAIL not in (m.recipient, m.reply_to) for m in outbox(app))
    assert all(ANA_MAIL not in m.body for m in outbox(app))

    text = published.read_text(encoding="utf-8")
    assert "anastasia" not in text.lower() and "quill" not in text.lower()
    assert "Ana's public comment." in text
    assert BO in text

    bo = one_feedback(app, two_readers["bo_feedback"])
    assert (bo.name, bo.email, bo.message) == (BO, BO_MAIL, "Bo's private note.")
    bo_comment = comment(app, two_readers["bo_public"])
    assert (bo_comment.name, bo_comment.email) == (BO, BO_MAIL)

    again = json.loads(eda.post("/desk/readers/export", {"email": ANA_MAIL}).text)
    assert again["feedback"] == [] and again["subscription"] is None
    assert again["comments"] == []
    assert again["mail"] == []


def test_readers_commands_export_and_erase(
    app: Flask, two_readers: dict[str, int], runner: FlaskCliRunner
) -> None:
    """The CLI exports as JSON, asks before erasing, erases with --yes."""
    result = runner.invoke(args=["readers", "export", ANA_MAIL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["id"] for f in data["feedback"]] == [two_readers["ana_feedback"]]
    assert len(data["comments"]) == 2
    assert BO_MAIL not in result.stdout

    asked = runner.invoke(args=["readers", "erase", ANA_MAIL], input="n\n")
    assert asked.exit_code != 0
    assert "Erase everything stored about" in asked.output
    assert one_feedback(app, two_readers["ana_feedback"]) is not None
    assert comment(app, two_readers["ana_held"]) is not None
    assert comment(app, two_readers["ana_public"]).email == ANA_MAIL

    done = runner.invoke(args=["readers", "erase", ANA_MAIL, "--yes"])
    assert done.exit_code == 0, done.output
    assert one_feedback(app, two_readers["ana_feedback"]) is None
    assert comment(app, two_readers["ana_held"]) is None
    assert comment(app, two_readers["ana_public"]).name == "Anonymous"
    assert one_feedback(app, two_readers["bo_feedback"]) is not None
    published = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    assert ANA not in published.read_text(encoding="utf-8")


# --- F. purging old spam and trash ----------------------------------------------------


@pytest.fixture
def aged(app: Flask, commenter: Commenter) -> dict[str, int]:
    """Comments and feedback of every state, some older than 10 days.

    ``inside``: 10 days less a minute old; ``outside``: 10 days and a minute.
    """
    app.config["PURGE_AFTER_DAYS"] = 10
    now = utcnow()
    inside = now - timedelta(days=10) + timedelta(minutes=1)
    outside = now - timedelta(days=10, minutes=1)
    ages = {
        "spam_old": ("spam", outside),
        "trash_old": ("trash", outside),
        "spam_recent": ("spam", inside),
        "trash_recent": ("trash", inside),
        "pending_old": ("pending", now - timedelta(days=400)),
        "approved_old": ("approved", now - timedelta(days=400)),
    }
    ids: dict[str, int] = {}
    for n, key in enumerate(ages):
        ids[key] = commenter.post_ok(email=f"c{n}@example.org", body=f"{key}.").id
    for key, (state, when) in ages.items():
        set_comment(app, ids[key], state=state, created_at=when, updated_at=when)

    feedback_ages = {
        "fb_spam_old": ("spam", outside),
        "fb_spam_recent": ("spam", inside),
        "fb_new_old": ("new", now - timedelta(days=400)),
        "fb_archived_old": ("archived", now - timedelta(days=400)),
    }
    for key, (state, when) in feedback_ages.items():
        [ids[key]] = store(app, 1)
        set_feedback(app, ids[key], state=state, created_at=when, updated_at=when)
    with get_db(app).write() as session:
        add_follow_up(session, session.get(Feedback, ids["fb_spam_old"]), "More spam.")
    return ids


def surviving(app: Flask, ids: dict[str, int]) -> set[str]:
    with get_db(app).read() as session:
        comments = set(session.scalars(select(Comment.id)))
        feedback = set(session.scalars(select(Feedback.id)))
    return {
        key
        for key, value in ids.items()
        if value in (feedback if key.startswith("fb_") else comments)
    }


PURGED = {"spam_old", "trash_old", "fb_spam_old"}


def purge(app: Flask, runner: FlaskCliRunner, *options: str) -> str:
    """Run ``flask purge``; as the ``flask`` command does, in an app context
    (the command is a plain click command, not one of an ``AppGroup``)."""
    with app.app_context():
        result = runner.invoke(args=["purge", *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_old_feedback_marked_spam_today_is_kept_until_its_time(
    app: Flask, desk: Desk, runner: FlaskCliRunner
) -> None:
    """The age counts from the mark as spam, not from the arrival: a mistake
    made today can still be undone tomorrow."""
    app.config["PURGE_AFTER_DAYS"] = 30
    [old] = store(app, 1)
    set_feedback(app, old, created_at=utcnow() - timedelta(days=45))
    assert (
        desk.post(f"/desk/feedback/{old}/state", {"action": "spam"}).status_code == 303
    )
    assert "0 feedback" in purge(app, runner)
    assert one_feedback(app, old).state == "spam"


def test_purge_command_deletes_old_spam_and_trash_only(
    app: Flask, aged: dict[str, int], runner: FlaskCliRunner
) -> None:
    """Old spam and trash go (with their conversations); the rest stays."""
    assert "Purged 2 comments, 1 feedback and 0 ignored" in purge(app, runner)
    assert surviving(app, aged) == set(aged) - PURGED
    with get_db(app).read() as session:
        orphans = session.scalars(
            select(FeedbackMessage).where(
                FeedbackMessage.feedback_id == aged["fb_spam_old"]
            )
        ).all()
    assert orphans == []


def test_purge_counts_from_the_last_change_of_a_comment(
    app: Flask, aged: dict[str, int], runner: FlaskCliRunner
) -> None:
    """A comment written long ago but trashed just now is not purged yet."""
    long_ago = utcnow() - timedelta(days=400)
    set_comment(app, aged["trash_recent"], created_at=long_ago)
    purge(app, runner)
    assert "trash_recent" in surviving(app, aged)


def test_purge_days_option_overrides_the_setting(
    app: Flask, aged: dict[str, int], runner: FlaskCliRunner
) -> None:
    """--days sets the age instead of PURGE_AFTER_DAYS."""
    purge(app, runner, "--days", "11")
    assert surviving(app, aged) == set(aged)  # nothing is 11 days old
    purge(app, runner, "--days", "9")
    assert surviving(app, aged) == set(aged) - PURGED - {
        "spam_recent",
        "trash_recent",
        "fb_spam_recent",
    }


def test_purge_after_zero_days_purges_nothing(
    app: Flask, aged: dict[str, int], runner: FlaskCliRunner
) -> None:
    """PURGE_AFTER_DAYS = 0 keeps everything, for the command and the worker."""
    app.config["PURGE_AFTER_DAYS"] = 0
    purge(app, runner)
    OutboxWorker(app, periodic()).run_once()
    assert surviving(app, aged) == set(aged)


def test_outbox_worker_purges_as_the_command_does(
    app: Flask, aged: dict[str, int]
) -> None:
    """The outbox worker's hourly purge deletes the same things."""
    OutboxWorker(app, periodic()).run_once()
    assert surviving(app, aged) == set(aged) - PURGED


def test_purged_comments_replies_move_up(
    app: Flask, commenter: Commenter, desk: Desk, runner: FlaskCliRunner
) -> None:
    """A purged comment's published reply moves up to its place."""
    parent = commenter.post_ok(body="Parent.").id
    desk.post(f"/desk/comments/{parent}/state", {"action": "approve"})
    wait(app)
    child = commenter.post_ok(
        email="bo@example.org", name="Bo", body="Child.", parent=str(parent)
    ).id
    desk.post(f"/desk/comments/{child}/state", {"action": "approve"})
    desk.post(f"/desk/comments/{parent}/state", {"action": "spam"})
    wait(app)
    set_comment(app, parent, updated_at=utcnow() - timedelta(days=31))
    app.config["PURGE_AFTER_DAYS"] = 30
    purge(app, runner)
    assert comment(app, parent) is None
    moved = comment(app, child)
    assert (moved.parent_id, moved.depth, moved.state) == (None, 1, "approved")


def test_the_desk_shows_an_answer_as_the_reader_sees_it(
    app: Flask, reader: Reader, desk: Desk
) -> None:
    """An answer written in Markdown is rendered (sanitised) on the desk too."""
    reader.send_and_follow(message="How do I start?")
    [feedback] = all_feedback(app)
    desk.post(
        f"/desk/feedback/{feedback.id}/answer",
        {
            "answer": "Start **small**.\n\n<script>alert(1)</script>",
            "send_to": "private",
        },
    )
    page = desk.get(f"/desk/feedback/{feedback.id}").text
    assert "Start <strong>small</strong>." in page
    assert "**small**" not in page and "<script>alert(1)" not in page
