"""Changing feedback's state on the desk: read, unread, archived, spam, the
trash and back, one at a time or the selected ones; deleting for good.

Moving feedback out of the list it is in (archive, spam, trash), and any
change to a selection, can be undone from the next page (``offer_undo``);
the trash is emptied by the purge (``services.reader_data``) or, once
confirmed, at once.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.db import get_db
from ..core.models import FEEDBACK_STATES, Feedback
from ..core.translations import gettext
from ..store import feedback as fb
from .access import (
    asked_first,
    back_to_desk,
    back_to_list,
    bp,
    may_see,
    offer_undo,
    restore_list,
    selected_ids,
    signed_in,
)
from .words import ngettext, state_name

#: What the buttons on feedback do: the state they move it to.
FEEDBACK_ACTIONS = {
    "read": "read",
    "unread": "new",
    "archive": "archived",
    "unarchive": "read",
    "spam": "spam",
    "not-spam": "read",
    "trash": "trash",
    "restore": "read",
    "delete": None,  # for good, from the trash, once confirmed
}

#: Actions that take feedback out of the list it is in: they can be undone.
UNDOABLE = ("archived", "spam", "trash")


@bp.post("/feedback/<int:feedback_id>/state")
@signed_in
def feedback_state(feedback_id: int) -> Response | str:
    """Mark one feedback read, unread, archived, spam or not spam; move it to
    the trash or back; delete it for good (after a confirmation)."""
    action = request.form.get("action", "")
    if action not in FEEDBACK_ACTIONS:
        abort(400, gettext("Unknown action."))
    back = request.form.get("back") == "inbox"
    if FEEDBACK_ACTIONS[action] is None:
        return _delete_for_good([feedback_id], url_for(".inbox", view="trash"))
    changed = _change_feedback([feedback_id], action)
    target = changed[feedback_id]
    if target in UNDOABLE:
        back = True
    else:
        flash(
            gettext("Feedback #{id} is now {state}.").format(
                id=feedback_id, state=state_name(target)
            )
        )
    return redirect(
        back_to_list(".inbox")
        if back
        else url_for(".feedback_item", feedback_id=feedback_id),
        303,
    )


@bp.post("/feedback/bulk")
@signed_in
def feedback_bulk() -> Response | str:
    """Apply one action to the selected feedback; it can be undone (deleting
    for good asks first)."""
    action = request.form.get("action", "")
    ids = selected_ids()
    if action not in FEEDBACK_ACTIONS or not ids:
        flash(gettext("Select some feedback and an action."))
        return redirect(back_to_list(".inbox"), 303)
    if FEEDBACK_ACTIONS[action] is None:
        return _delete_for_good(ids, back_to_list(".inbox"))
    _change_feedback(ids, action, always_undo=True)
    return redirect(back_to_list(".inbox"), 303)


@bp.post("/feedback/undo")
@signed_in
def feedback_undo() -> Response:
    """Put feedback back in the states it had before the last change."""
    before = restore_list(FEEDBACK_STATES)
    with get_db().write() as session:
        rows = _mine(session, list(before))
        for feedback in rows:
            feedback.state = before[feedback.id]
    flash(
        ngettext(
            "Undone: {count} feedback is back where it was.",
            "Undone: {count} feedback are back where they were.",
            len(rows),
        ).format(count=len(rows))
    )
    return redirect(back_to_desk(), 303)


def _mine(session: Any, ids: list[int]) -> list[Feedback]:
    """Return feedback ``ids``, all of it the signed-in author's, or 404."""
    rows = session.scalars(
        select(Feedback)
        .where(Feedback.id.in_(ids))
        .options(selectinload(Feedback.messages))
    ).all()
    if len(rows) != len(set(ids)) or not all(may_see(f) for f in rows):
        abort(404, gettext("Some of the selected feedback is not yours to change."))
    return list(rows)


def _change_feedback(
    ids: list[int], action: str, *, always_undo: bool = False
) -> dict[int, str]:
    """Move feedback ``ids`` as ``action`` says; offer to undo it when it
    leaves the list (or ``always_undo``), else say it; return the states."""
    target = FEEDBACK_ACTIONS[action]
    if target is None:  # "delete" asks first and deletes: _delete_for_good
        raise ValueError(f"{action!r} moves nothing")
    with get_db().write() as session:
        rows = _mine(session, ids)
        before = {f.id: f.state for f in rows}
        for feedback in rows:
            feedback.state = _restored(feedback, target)
        after = {f.id: f.state for f in rows}
    said = _moved(target, len(rows))
    if always_undo or target in UNDOABLE:
        offer_undo(".feedback_undo", said, before)
    elif len(rows) > 1:
        flash(said)
    return after


def _moved(target: str, n: int) -> str:
    """Say that ``n`` feedback moved to ``target``."""
    if target == "trash":
        said = ngettext(
            "{count} feedback moved to the trash.",
            "{count} feedback moved to the trash.",
            n,
        )
    elif target == "spam":
        said = ngettext(
            "{count} feedback marked as spam.", "{count} feedback marked as spam.", n
        )
    elif target == "archived":
        said = ngettext("{count} feedback archived.", "{count} feedback archived.", n)
    else:
        return ngettext(
            "{count} feedback marked {state}.",
            "{count} feedback marked {state}.",
            n,
        ).format(count=n, state=state_name(target))
    return said.format(count=n)


def _delete_for_good(ids: list[int], back: str) -> Response | str:
    """Ask first; once confirmed, delete feedback ``ids`` for good."""
    with get_db().read() as session:
        rows = _mine(session, ids)
    if (question := asked_first("feedback", list(rows), back)) is not None:
        return question
    with get_db().write() as session:
        for feedback in _mine(session, ids):
            fb.delete_feedback(session, feedback)
    flash(
        ngettext(
            "{count} feedback deleted for good.",
            "{count} feedback deleted for good.",
            len(rows),
        ).format(count=len(rows))
    )
    return redirect(back, 303)


def _restored(feedback: Feedback, target: str) -> str:
    """Return ``target``, or "answered" for answered feedback back from the
    archive, from spam, from the trash or marked read again."""
    answered = any(m.sender == "author" for m in feedback.messages)
    return "answered" if target == "read" and answered else target
