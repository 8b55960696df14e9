"""The application factory: settings, database, blueprints, the site's theme.

``create_app`` imports what the app's pages and commands are built of, and
no more: what only some requests or commands use (the Markdown renderer,
the address checker, the mail parsers, each command's module) is loaded
when first used, so that a command (``flask --app feedback_app comments
approve 12``) starts fast. A server that forks workers from one loaded app
calls ``warm_up`` first, so that they share all of it instead.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, Response, abort, make_response, render_template, request
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
)

from .cli import commands
from .core import config as default_config
from .core import db
from .core.ids import IdConverter
from .core.translations import SITE_LANGUAGE, request_language
from .site import clock, i18n
from .site.index import site_index
from .site.languages import JINJA_FILTERS

PROJECT_ROOT = default_config.project_root()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the app."""
    app = Flask(
        __name__,
        instance_path=os.environ.get(
            "FEEDBACK_INSTANCE_PATH", str(PROJECT_ROOT / "instance")
        ),
        instance_relative_config=True,
    )
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("FEEDBACK")
    if test_config is not None:
        app.config.from_mapping(test_config)
    default_config.finalize(app.config, app.instance_path)
    _configure_logging(app.config["LOG_LEVEL"])
    app.log_exception = _log_exception  # type: ignore[method-assign]
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        # X-Forwarded-For is read by limits.client_address, from
        # TRUSTED_PROXIES only; the others set the scheme, host and path.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=0, x_proto=n, x_host=n, x_prefix=n
        )

    # The app's pages wear the site's theme: its templates extend base.html.
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(Path(app.root_path) / "templates"),
            FileSystemLoader(PROJECT_ROOT / "theme" / "templates"),
        ]
    )

    from .core.extensions import csrf
    from .desk.link_moderation import bp as link_moderation_bp
    from .desk.views import bp as desk_bp
    from .health import bp as health_bp
    from .readers.comments import bp as comments_bp
    from .readers.feedback import bp as readers_bp
    from .readers.subscription_pages import bp as subscription_pages_bp
    from .readers.tickets import bp as tickets_bp
    from .site.index import SiteIndex
    from .site.publishing import Publisher

    # Ids past what the database holds are not found, in every rule's URL.
    app.url_map.converters["int"] = IdConverter
    db.init_app(app)
    commands.init_app(app)
    # Before CSRF protection, which reads the form and so would consume the
    # body this check reads.
    app.before_request(_refuse_malformed_forms)
    csrf.init_app(app)
    app.extensions["site_index"] = SiteIndex(app.config["SITE_INDEX_PATH"])
    app.extensions["publisher"] = Publisher(app)
    # What a request speaks before a view names a page (core/translations).
    app.extensions[SITE_LANGUAGE] = _site_language
    app.context_processor(_theme_context)
    app.add_template_filter(_site_time, "site_time")
    app.jinja_env.filters.update(JINJA_FILTERS)  # the theme's, as Pelican's
    i18n.install(app.jinja_env)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(OperationalError, _storage_unavailable)
    app.after_request(_security_headers)
    app.register_blueprint(readers_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(link_moderation_bp)
    app.register_blueprint(subscription_pages_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(tickets_bp)
    return app


def warm_up() -> None:
    """Load now what the app's requests otherwise load on first use: the
    Markdown renderer, the address checker, the service behind bounces, and
    the sign-in's dummy password hash.

    For a server that loads the app once and then forks its workers
    (gunicorn's ``preload_app``; ``deploy/gunicorn.conf.py`` calls this in
    its master): every worker then shares them, and no worker's first
    request waits for them. Commands do without it.
    """
    import email_validator  # noqa: F401  # the readers' forms check addresses

    from .core.rendering import render_comment
    from .desk.auth import dummy_hash
    from .services import inbound  # noqa: F401  # a reader's new address

    render_comment("*warm*")
    dummy_hash()


def _configure_logging(level: str) -> None:
    """Send the app's own log lines (mail sent, pages rebuilt, errors) to
    standard error, one line each, unless the host program set up logging
    already. They name messages and pages by number and path, never readers.
    """
    package = logging.getLogger("feedback_app")
    package.setLevel(level)
    if logging.getLogger().handlers or package.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    package.addHandler(handler)


def _log_exception(exc_info: Any) -> None:
    """Log an unhandled error as Flask does, but with the path's secrets
    (the reply page's token, mail links) left out."""
    from flask import current_app

    path = re.sub(r"(?<=/)[^/]{20,}", "-", request.path)
    current_app.logger.error(
        "Exception on %s [%s]", path, request.method, exc_info=exc_info
    )


def _site_language() -> str:
    """The site's ``DEFAULT_LANG``, from its last build."""
    from .site.languages import site_language

    return site_language(site_index().current())


def _theme_context() -> dict[str, Any]:
    """Give the theme's templates the variables Pelican would."""
    from flask import current_app, g, url_for

    from .site.languages import site_language

    site = site_index().current()
    cfg = current_app.config
    return {
        "SITENAME": site.name,
        # The language of the article page a reader came from, if any.
        "DEFAULT_LANG": site_language(site),
        "lang": g.get("page_lang") or site_language(site),
        # Paths only: the app is served on the site's own origin.
        "SITEURL": urlsplit(cfg["SITE_URL"]).path.rstrip("/"),
        "THEME_STATIC_DIR": "theme",
        "DISPLAY_PAGES_ON_MENU": True,
        "pages": site.pages,
        "ARCHIVES_URL": site.archives_url,
        "FEEDBACK_URL": url_for("readers.send_feedback"),
        "FEEDBACK_COMMENTS_URL": url_for("comments.post_comment"),
        "FEEDBACK_TICKET_URL": url_for("tickets.form_ticket"),
        "COMMENTS_REQUIRE_EMAIL": site.comments.require_email,
        "COMMENTS_MAX_DEPTH": site.comments.max_depth,
        "FEEDBACK_MAX_MESSAGE_LENGTH": cfg["MAX_MESSAGE_LENGTH"],
        "FEEDBACK_MAX_NAME_LENGTH": cfg["MAX_NAME_LENGTH"],
        "FEEDBACK_MAX_EMAIL_LENGTH": cfg["MAX_EMAIL_LENGTH"],
        "FEEDBACK_MAX_WEBSITE_LENGTH": cfg["MAX_WEBSITE_LENGTH"],
    }


def _site_time(moment: datetime) -> Markup:
    """A time as the app's pages show it: the whole ``<time>`` element, in
    words in the page's language and in the site's time zone, named, with
    the moment in UTC for software (``site/clock.py``):
    ``<time datetime="2026-12-07T00:42:00Z">7 December 2026 at 01:42
    CET</time>``."""
    zone = site_index().current().timezone
    return clock.time_element(moment, zone, request_language())


def _error_page(error: HTTPException) -> Response:
    """Render an HTTP error in the site's look, with a plain explanation.

    The error's own headers (Retry-After of a 429, Allow of a 405) are kept.
    """
    from flask_wtf.csrf import CSRFError

    page = render_template(
        "error.html",
        error=error,
        csrf_failed=isinstance(error, CSRFError),
        back=_page_came_from(),
    )
    response = make_response(page, error.code or 500)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _page_came_from() -> str | None:
    """Return the path (and query) of the page of this site that sent the
    request, from its ``Referer`` (the site sends it to its own origin:
    ``Referrer-Policy: same-origin``), or None if it came from elsewhere or
    is this very address."""
    from flask import request

    referrer = urlsplit(request.referrer or "")
    here = urlsplit(request.host_url)
    if (referrer.scheme, referrer.netloc) != (here.scheme, here.netloc):
        return None
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        return None  # browsers read "//" and "/\\" as another host
    if back == request.full_path.rstrip("?"):
        return None
    return back


def _storage_unavailable(error: OperationalError) -> Response:
    """Answer 503 when the database cannot be written (read-only, disk full,
    locked for too long): nothing was stored, and the reader is told so."""
    from flask import current_app

    current_app.logger.error("database unavailable: %s", error.orig)
    return _error_page(
        ServiceUnavailable(
            "This site cannot store anything just now, so nothing you sent was "
            "saved. Please go back and send it again in a few minutes.",
            retry_after=60,
        )
    )


def _refuse_malformed_forms() -> None:
    """Refuse a posted form with a file in it, or text that is not valid
    UTF-8 (400), in either encoding browsers use.

    No form here takes a file, and Flask-WTF would hand a file part to a
    text field. Werkzeug keeps undecodable %-escapes as literal text ("%FF")
    and replaces undecodable multipart bytes with U+FFFD: either would be
    stored as if the reader had typed it.
    """
    if request.method != "POST":
        return
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            # The whole body at once: "&" and "=" are ASCII, never part of a
            # multi-byte character, so the body decodes if and only if every
            # name and value does.
            unquote_to_bytes(request.get_data(cache=True)).decode("utf-8")
        except UnicodeDecodeError:
            abort(400, _NOT_UTF8)
    elif request.mimetype == "multipart/form-data":
        boundary = request.mimetype_params.get("boundary", "")
        # Read once and cached: the form is then parsed from the same bytes.
        problem = _multipart_problem(request.get_data(cache=True), boundary)
        if problem:
            abort(400, problem)


_NOT_UTF8 = "This form's text is not valid UTF-8, so nothing was stored."


def _multipart_problem(body: bytes, boundary: str) -> str | None:
    """Return why a multipart/form-data body is refused, or None.

    Decoded with Werkzeug's own parser, so that the parts seen here are the
    parts the form will get.
    """
    value = bytearray()
    try:
        decoder = MultipartDecoder(boundary.encode("latin-1"))
        decoder.receive_data(body)
        decoder.receive_data(None)
        while not isinstance(event := decoder.next_event(), NeedData | Epilogue):
            if isinstance(event, File):
                return "This site's forms take no files, so nothing was stored."
            if isinstance(event, Field):
                value.clear()
            elif isinstance(event, Data):
                value += event.data
                if not event.more_data:
                    value.decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8
    except ValueError:
        return "This form could not be read, so nothing was stored."
    return None


#: The app's pages run no inline script and load nothing from elsewhere;
#: theme/security-headers.conf gives the static pages the same policy.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def _security_headers(response: Response) -> Response:
    """Headers every app page carries (a blueprint may set a stricter one)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
