"""Readers' data, for editors: what is stored about an address, its export
and its erasure (through ``services.reader_data``)."""

from __future__ import annotations

import json

from flask import (
    Response,
    current_app,
    render_template,
    request,
)

from ..core.db import get_db
from ..services import reader_data
from .access import bp, editors_only, shown_again
from .forms import (
    EraseForm,
    ReaderForm,
)


@bp.route("/readers", methods=["GET", "POST"])
@editors_only
def readers() -> str | tuple[str, int]:
    """Look up what is stored about an address; offer export and erasure.

    A POST, so that the address never appears in a URL or an access log.
    """
    form = ReaderForm()
    found = None
    if request.method == "POST":
        if not form.validate():
            return shown_again(
                render_template, "desk/readers.html", form=form, found=None
            )
        with get_db().read() as session:
            found = reader_data.export(session, form.email.data)
    return render_template(
        "desk/readers.html",
        form=form,
        found=found,
        erase_form=EraseForm(formdata=None, email=form.email.data),
    )


@bp.post("/readers/export")
@editors_only
def export_reader() -> Response | tuple[str, int]:
    """Download everything stored about an address, as JSON."""
    form = ReaderForm()
    if not form.validate():
        return shown_again(render_template, "desk/readers.html", form=form, found=None)
    with get_db().read() as session:
        data = reader_data.export(session, form.email.data)
    response = current_app.response_class(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="reader-data.json"'
    return response


@bp.post("/readers/erase")
@editors_only
def erase_reader() -> str | tuple[str, int]:
    """Erase what is stored about an address (published text stays, anonymous)."""
    form = EraseForm()
    if not form.validate():
        with get_db().read() as session:
            found = (
                reader_data.export(session, form.email.data)
                if form.email.data
                else None
            )
        return shown_again(
            render_template,
            "desk/readers.html",
            form=ReaderForm(formdata=None, email=form.email.data),
            found=found,
            erase_form=form,
        )
    erased = reader_data.erase_reader(form.email.data)
    return render_template(
        "desk/erased.html", erased=erased, form=ReaderForm(formdata=None)
    )
