"""Articles' recorded authors, for editors: give every message about an
article the authors it should have had (``site.ownership.reassign``)."""

from __future__ import annotations

from flask import (
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from ..core.db import get_db
from ..core.fields import invalid_status
from ..core.models import Author, Comment, Feedback
from ..core.translations import gettext
from ..site import ownership
from ..site.index import site_index
from .access import bp, editors_only, my_articles
from .forms import (
    ReassignForm,
)
from .words import ngettext


@bp.route("/articles/reassign", methods=["GET", "POST"])
@editors_only
def reassign_article() -> Response | str | tuple[str, int]:
    """Show whom an article's feedback and comments were recorded for; let
    an editor give them other authors (``ownership.reassign``).

    A new ``Author`` in an article's metadata moves nothing already
    received: only this does, and only for an editor.
    """
    form = ReassignForm()
    if request.method == "GET":
        form.page_url.data = request.args.get("page_url", "")[:1000]
    elif form.validate():
        names = form.names()
        with get_db().write() as session:
            known = set(
                session.scalars(select(Author.name).where(Author.name.in_(names)))
            )
            unknown = [n for n in names if n not in known]
            if unknown:
                session.rollback()
                form.authors.errors.append(
                    gettext("No author account named {names}.").format(
                        names=", ".join(unknown)
                    )
                )
            else:
                changed = ownership.reassign(session, form.page_url.data, names)
        if not form.authors.errors:
            flash(
                ngettext(
                    "{count} feedback or comment on {page} now belongs to {names}.",
                    "{count} feedback and comments on {page} now belong to {names}.",
                    changed,
                ).format(
                    count=changed,
                    page=form.page_url.data,
                    names=", ".join(names) or gettext("no author (editors only)"),
                )
            )
            return redirect(
                url_for(".reassign_article", page_url=form.page_url.data), 303
            )
    recorded: list[tuple[tuple[str, ...], int]] = []
    if form.page_url.data:
        with get_db().read() as session:
            counts: dict[str, int] = {}
            for model in (Feedback, Comment):
                for stored, count in session.execute(
                    select(model.article_authors, func.count(model.id))
                    .where(model.article_page_url == form.page_url.data)
                    .group_by(model.article_authors)
                ):
                    counts[stored] = counts.get(stored, 0) + count
        recorded = [(ownership.decode_authors(k), n) for k, n in counts.items()]
    if form.errors:
        g.desk_form_failed = True  # the banner at the top (desk/layout.html)
    page = render_template(
        "desk/reassign.html",
        form=form,
        recorded=recorded,
        # Not ``article``: a page speaks its ``article``'s language.
        on_article=site_index().article(form.page_url.data or ""),
        articles=my_articles(),
    )
    return (page, invalid_status()) if form.errors else page
