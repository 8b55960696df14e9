"""Form tickets: when a form was shown to a reader, signed by the app.

A static page cannot say when it was shown, so the article pages' script
fetches a ticket from ``GET /form-ticket?article=<page URL>`` when the
reader starts writing, and the app's own form pages carry one. A ticket is
the article's site-relative URL (``site_index.Article.page_url``) and the
millisecond it was issued, signed with the secret
key (nothing is stored). On a post it gives the time the reader took:

* too little (under ``FORM_MIN_SECONDS``): a script, so the post is spam;
* none, a forged one, another article's or an expired one: the post may
  come from a browser without JavaScript, so a comment is held for
  moderation (``FORM_TICKETS``), never refused;
* otherwise the post goes on to the usual moderation rules.

Replaying one ticket many times is what the rate limits are for.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, jsonify, request
from itsdangerous import BadSignature, Signer

from ..core import reasons
from ..core.http import private_page
from ..core.signing import signer
from ..core.translations import gettext as _
from ..site.index import site_index

bp = Blueprint("tickets", __name__)

FIELD = "ticket"


@dataclass(frozen=True)
class Finding:
    """What a post's ticket says: ``state`` is None (a person's pace),
    "pending" or "spam", with the reason shown to moderators."""

    state: str | None
    reason: str | None = None


def _signer() -> Signer:
    # A Signer over plain text, not a Serializer: every post checks one, and
    # a Serializer's JSON and zlib cost twenty times as much (bench/).
    return signer("form-ticket")


def issue(page_url: str, now: float | None = None) -> str:
    """Return a ticket for the form of the article at ``page_url``, issued
    ``now``: ``<page_url>.<millisecond>.<signature>``.

    The millisecond is rounded down: a ticket never says it was issued
    after it was, which would make a reader seem quicker than they were."""
    issued_ms = math.floor(1000 * (time.time() if now is None else now))
    return _signer().sign(f"{page_url}.{issued_ms}").decode()


def issued_at(ticket: str | None, page_url: str) -> float | None:
    """Return when (seconds since the epoch) ``ticket`` was issued for
    article at ``page_url``, or None if it is missing, forged or another article's."""
    if not ticket or len(ticket) > 1000:  # a URL is at most a few hundred
        return None
    try:
        value = _signer().unsign(ticket).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    signed_url, _, issued_ms = value.rpartition(".")
    if signed_url != page_url or not issued_ms.isdigit():
        return None
    return int(issued_ms) / 1000


def examine(ticket: str | None, page_url: str, now: float | None = None) -> Finding:
    """Judge a post's ticket (see the module's docstring)."""
    config = current_app.config
    now = time.time() if now is None else now
    issued = issued_at(ticket, page_url)
    if issued is None:
        if ticket:
            return Finding("pending", reasons.BAD_TICKET.say())
        return Finding("pending", reasons.NO_TICKET.say())
    took = now - issued
    if took < config["FORM_MIN_SECONDS"]:
        return Finding("spam", reasons.TOO_FAST.say(seconds=f"{max(took, 0):.1f}"))
    if took > config["FORM_TICKET_HOURS"] * 3600:
        hours = config["FORM_TICKET_HOURS"]
        return Finding("pending", reasons.TOO_OLD.say(hours=hours))
    return Finding(None)


def carried(page_url: str) -> str:
    """The ticket for a form the app shows again with its errors: the one it
    was sent with, if valid (the reader's time counts from the first
    showing), else none: a form sent without one stays without one, as a
    post without JavaScript is held however often it is sent."""
    ticket = request.form.get(FIELD, "")
    return ticket if issued_at(ticket, page_url) is not None else ""


@bp.get("/form-ticket")
def form_ticket() -> Response:
    """Give the article page's script a ticket for one article's forms.

    :raise 404: if ``article`` names no published article.
    """
    page_url = request.args.get("article", "")
    if site_index().article(page_url) is None:
        abort(404, _("No such article."))
    # ``wait``: how long the script holds a quick submit, so that a person
    # who writes fast is never taken for a script.
    response = jsonify(
        ticket=issue(page_url), wait=current_app.config["FORM_MIN_SECONDS"]
    )
    return private_page(response)
