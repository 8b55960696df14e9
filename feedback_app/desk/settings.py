"""The signed-in author's settings page (``/desk/settings``): the language
the desk speaks to them (``Author.lang``; none: the site's language)."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from ..core.db import get_db
from ..core.models import Author
from ..core.translations import gettext
from ..mail.messages import author_language
from ..site.languages import language_name
from .access import bp, me, shown_again, signed_in
from .forms import SettingsForm
from .language import (
    shipped_languages,
    site_default_language,
)


def _settings_form() -> SettingsForm:
    """The form, its choices the shipped languages and the site's; an
    author's language set otherwise (``authors set --lang``), one the site
    does not ship, stays a choice so that saving the page keeps it."""
    form = SettingsForm(formdata=None) if request.method == "GET" else SettingsForm()
    site = site_default_language()
    choices = [
        (
            "",
            gettext("The site's language ({language})").format(
                language=language_name(site)
            ),
        ),
        *shipped_languages(),
    ]
    mine = me().lang
    if mine and mine not in dict(choices):
        choices.append((mine, language_name(mine)))
    form.lang.choices = choices
    if request.method == "GET":
        form.lang.data = mine or ""
    return form


@bp.route("/settings", methods=["GET", "POST"])
@signed_in
def settings() -> Response | str | tuple[str, int]:
    """Show the author's settings; save them (the next page speaks the
    language chosen, and so does the message saying so)."""
    form = _settings_form()
    if request.method == "GET":
        return render_template("desk/settings.html", form=form)
    if not form.validate():
        return shown_again(render_template, "desk/settings.html", form=form)
    lang = form.lang.data or None
    with get_db().write() as session:
        author = session.get(Author, me().id)
        if author is not None:
            author.lang = lang
    g.page_lang = author_language(lang)
    flash(gettext("Your settings are saved."))
    return redirect(url_for(".settings"), 303)
