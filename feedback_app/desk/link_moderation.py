"""The page behind the three links in the mail about a held comment
(``/moderate/<token>``): it shows the comment and, on confirmation, approves,
spams or trashes it through the same service as the desk.

Each link carries the language of its mail (``?lang=``), outside the signed
token: the page speaks it.

Opening the link changes nothing: the page asks for a POST with a CSRF token.
A link opened after the comment was moderated (by another link, on the desk)
says how the comment stands now, and acts no more.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
)
from flask_wtf import FlaskForm
from itsdangerous import (
    BadSignature,
)

from ..core.db import get_db
from ..core.http import keep_private
from ..core.models import Comment
from ..core.translations import gettext as _
from ..core.translations import use_named_language
from ..mail.links import ACTIONS, moderation_signer
from ..services import moderation
from ..site.index import site_index
from ..store import comments as cm

bp = Blueprint("link_moderation", __name__)
bp.after_request(keep_private)


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str) -> str:
    """Show a held comment and, on confirmation, approve, spam or trash it,
    in the language of the mail the link came in (``?lang=``)."""
    use_named_language(request.args.get("lang"))
    try:
        signed = moderation_signer().unsign(
            token, max_age=current_app.config["MAIL_LINK_DAYS"] * 86400
        )
    except BadSignature:
        abort(404, _("This link is not valid, or it has expired."))
    number, _dot, action = signed.decode().partition(".")
    if action not in ACTIONS:
        abort(404)
    comment_id = int(number)  # signed by us: the id we gave
    form = FlaskForm()
    done = False
    if request.method == "POST" and form.validate() and _held(comment_id):
        try:
            moderation.moderate([comment_id], ACTIONS[action])
        except cm.CommentError:
            abort(404, _("This comment is gone."))
        done = True
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
    if comment is None:
        abort(404, _("This comment is gone."))
    article = site_index().article(comment.article_page_url)
    return render_template(
        "moderate.html",
        comment=comment,
        article=article,
        action=action,
        form=form,
        done=done,
        # Moderated already (by another link, the desk, the CLI): the page
        # says how it stands now, and offers no button.
        settled=not done and comment.state != "pending",
    )


def _held(comment_id: int) -> bool:
    """Tell whether the comment is still held: only then do the links act."""
    with get_db().read() as session:
        comment = session.get(Comment, comment_id)
    return comment is not None and comment.state == "pending"
