"""Mail held for an editor: replies received by mail that could not be
applied (no token, a forged one, another sender, a conversation gone, no
text, too long), listed with why, their text shown as text; an editor
discards them. Also what the desk's conversation pages say about an address
that bounced (``bounced_mail``, a template global).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..core.db import get_db
from ..core.models import BouncedAddress, InboundMessage
from ..core.translations import gettext
from .access import PER_PAGE, bp, editors_only, page_number
from .forms import ActionForm


@bp.get("/mail")
@editors_only
def held_mail() -> str:
    """List the mail held for an editor, newest first."""
    page = page_number()
    with get_db().read() as session:
        held = InboundMessage.state == "held"
        total = session.scalar(select(func.count(InboundMessage.id)).where(held))
        rows = session.scalars(
            select(InboundMessage)
            .where(held)
            .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        ).all()
    return render_template(
        "desk/held_mail.html",
        messages=rows,
        total=total,
        page=page,
        page_count=max(1, -(-total // PER_PAGE)),
        form=ActionForm(formdata=None),
    )


@bp.post("/mail/<int:inbound_id>/discard")
@editors_only
def discard_mail(inbound_id: int) -> Response:
    """Discard one held message: it stays recorded (so the same message is
    not taken again), no longer listed."""
    if not ActionForm().validate():
        abort(
            400,
            gettext("The form expired: go back, reload the page and try again."),
        )
    with get_db().write() as session:
        message = session.get(InboundMessage, inbound_id)
        if message is None or message.state != "held":
            abort(404, gettext("There is no such held message."))
        message.state = "discarded"
    flash(gettext("Message #{id} is discarded.").format(id=inbound_id))
    return redirect(url_for(".held_mail"), 303)


@bp.app_template_global("bounced_mail")
def bounced_mail(address: str | None) -> BouncedAddress | None:
    """The bounce recorded for ``address`` (for the conversation pages)."""
    # Here, not at the top: what reads received mail loads only when used.
    from ..services.inbound import bounced

    if not address:
        return None
    with get_db().read() as session:
        return bounced(session, address)
