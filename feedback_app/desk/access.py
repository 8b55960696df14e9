"""The desk's blueprint and who may see what on it.

The author's desk: sign in, read feedback, moderate comments, answer.
Served by the app on the site's origin under ``/desk``, in the site's look,
without JavaScript. Every page needs a signed-in author (``signed_in``);
every change is a POST with a CSRF token (the app-wide ``CSRFProtect``), and
no GET changes anything. An author sees and acts on what readers sent about
their own articles: the feedback and comments whose recorded authors (the
article's ``Author`` metadata when each arrived, ``site/ownership.py``)
include them, not whatever the site index says today; an editor on
everything (``scope``, ``in_scope``, ``may_see``), and only an editor changes
what was recorded (``articles.py``). Anything out of reach answers 404, as
if it did not exist (``feedback_or_404``, ``comment_or_404``).

The pages are in ``signin``, ``passwords``, ``inbox``, ``triage``,
``posts``, ``comments``, ``reader_data``, ``articles`` and ``settings``;
``views`` puts them
together. Every page speaks the signed-in author's language
(``language``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser_session
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..core.db import get_db
from ..core.fields import invalid_status
from ..core.http import keep_private
from ..core.ids import form_id
from ..core.models import Author, Comment, Feedback
from ..core.translations import gettext
from ..site import ownership
from ..site.index import site_index
from ..site.lock import last_publish
from . import auth
from .forms import (
    ActionForm,
)

bp = Blueprint("desk", __name__, url_prefix="/desk")

PER_PAGE = 25


# --- access -----------------------------------------------------------------------


bp.after_request(keep_private)


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let only a signed-in author through; send others to sign in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if auth.current_author() is None:
            target = (
                request.script_root + request.full_path.rstrip("?")
                if request.method == "GET"
                else None
            )
            return redirect(url_for(".sign_in", next=target), 303)
        return view(*args, **kwargs)

    return wrapper


def editors_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if me().role != "editor":
            abort(404)
        return view(*args, **kwargs)

    return signed_in(wrapper)


def me() -> Author:
    """Return the signed-in author (views call it under @signed_in)."""
    author = auth.current_author()
    if author is None:
        abort(401)
    return author


def scope() -> str | None:
    """Return the author name whose recorded articles the signed-in author
    may see: their own (None: an editor, who sees all)."""
    author = me()
    return None if author.role == "editor" else author.name


def in_scope(query: Any, authors_column: Any) -> Any:
    """Keep ``query`` to rows whose ``authors_column`` records the signed-in
    author (``ownership.written_by``), unless an editor is signed in."""
    name = scope()
    return (
        query
        if name is None
        else query.where(ownership.written_by(authors_column, name))
    )


def may_see(row: Feedback | Comment) -> bool:
    name = scope()
    return name is None or ownership.is_author(row, name)


def feedback_or_404(session: Session, feedback_id: int) -> Feedback:
    feedback = session.get(
        Feedback, feedback_id, options=[selectinload(Feedback.messages)]
    )
    if feedback is None or not may_see(feedback):
        abort(
            404, gettext("There is no such feedback, or it is not about your articles.")
        )
    return feedback


def comment_or_404(session: Session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or not may_see(comment):
        abort(404, gettext("There is no such comment, or it is not on your articles."))
    return comment


def shown_again(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Show a page again after a form on it failed, with the banner at the
    top of the page (``desk/layout.html``) and the usual status."""
    g.desk_form_failed = True
    status = invalid_status()
    return view(*args, **kwargs), status


@bp.app_context_processor
def desk_context() -> dict[str, Any]:
    """Give desk pages the signed-in author and the unread counts."""
    if request.blueprint != "desk":
        return {}
    author = auth.current_author()
    if author is None:
        return {"desk_author": None}
    with get_db().read() as session:
        new_feedback = session.scalar(
            in_scope(
                select(func.count(Feedback.id)).where(Feedback.state == "new"),
                Feedback.article_authors,
            )
        )
        pending = session.scalar(
            in_scope(
                select(func.count(Comment.id)).where(Comment.state == "pending"),
                Comment.article_authors,
            )
        )
    return {
        "desk_author": author,
        "unread_feedback": new_feedback,
        "pending_comments": pending,
        "sign_out_form": ActionForm(formdata=None),
        # Shown once, as a flashed message is.
        "desk_undo": browser_session.pop(UNDO_KEY, None),
        "publish_failed": _failed_publish(),
    }


def _failed_publish() -> dict[str, Any] | None:
    """Return the last publish if it failed (when, and the first line of
    why), for every desk page to say so until one succeeds."""
    last = last_publish(current_app)
    if not last or last.get("result") != "failed":
        return None
    try:
        at = datetime.fromisoformat(str(last.get("at")))
    except ValueError:
        return None
    return {"at": at, "error": str(last.get("error", ""))}


# --- signing in and out -----------------------------------------------------------


# --- feedback ---------------------------------------------------------------------


# --- the post answering a feedback ------------------------------------------------


# --- comments ---------------------------------------------------------------------


# --- readers' data (editors) ------------------------------------------------------


# --- articles' recorded authors (editors) ------------------------------------------


# --- helpers ----------------------------------------------------------------------


def page_number() -> int:
    """Return the page asked for (1 to 100,000; anything else is 1)."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return page if 1 <= page <= 100_000 else 1


def selected_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("ids"):
        id_ = form_id(value)
        if id_ is None:
            abort(400, gettext("A selected item is not one of ours."))
        ids.append(id_)
    return sorted(set(ids))[: PER_PAGE * 4]


def back_to_desk() -> str:
    """Return the desk page the form came from (``back_to``), or the inbox."""
    back = request.form.get("back_to", "")
    base = url_for(".inbox")
    return back if back.startswith(base) and "//" not in back else base


# --- undo -------------------------------------------------------------------------

UNDO_KEY = "desk_undo"


def offer_undo(endpoint: str, said: str, before: dict[int, str]) -> None:
    """Say ``said`` on the next desk page with an Undo button that posts to
    ``endpoint`` the states ``before`` held (id: state), to put them back."""
    browser_session[UNDO_KEY] = {
        "action": url_for(endpoint),
        "said": said,
        "restore": [f"{id_}:{state}" for id_, state in sorted(before.items())],
    }


def asked_first(what: str, rows: list[Any], back: str) -> str | None:
    """Return the page that asks before ``rows`` (``what``: "feedback" or
    "comments") are deleted for good, or None once the form says it was
    answered (``confirmed=yes``)."""
    if request.form.get("confirmed") == "yes":
        return None
    return render_template(
        "desk/confirm_delete.html",
        what=what,
        rows=rows,
        action=request.path,
        back=back,
        form=ActionForm(formdata=None),
    )


def restore_list(states: tuple[str, ...]) -> dict[int, str]:
    """Return the (id: state) pairs an Undo button posted, each state one of
    ``states``; anything else is a bad request."""
    pairs: dict[int, str] = {}
    for value in request.form.getlist("restore")[: PER_PAGE * 4]:
        raw_id, _, state = value.partition(":")
        id_ = form_id(raw_id)
        if id_ is None or state not in states:
            abort(400, gettext("A selected item is not one of ours."))
        pairs[id_] = state
    return pairs


def back_to_list(endpoint: str) -> str:
    """Return the list the form came from (its query), or the list itself."""
    back = request.form.get("back_to", "")
    base = url_for(endpoint)
    return back if back.startswith(base) and "//" not in back else base


def my_articles() -> list[tuple[str, str]]:
    """Return (page URL, title) of the articles the signed-in author may
    filter by: for an editor every published one, for an author those that
    feedback or comments recorded as theirs."""
    site = site_index().current()
    if scope() is None:
        urls = set(site.articles)
    else:
        with get_db().read() as session:
            urls = {
                url
                for model in (Feedback, Comment)
                for url in session.scalars(
                    in_scope(
                        select(model.article_page_url).distinct(),
                        model.article_authors,
                    )
                )
            }
    titles = {
        url: site.articles[url].title if url in site.articles else url for url in urls
    }
    return sorted(titles.items(), key=lambda pair: (pair[1].casefold(), pair[0]))
