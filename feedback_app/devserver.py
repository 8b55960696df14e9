"""One development server for the built site and the app, on one origin.

Production puts nginx in front: it serves ``output/`` and proxies ``/app/``
to gunicorn. In development this module does the same in one process: the
static files at ``/`` and the app under ``/app``, so forms post same-origin
exactly as they will in production.

It also behaves as the shipped nginx site does where privacy and security
are concerned: the static pages carry the headers of
``theme/security-headers.conf`` (read from that file, the one nginx
includes) and ``Cache-Control: no-cache``; and the request log, like
nginx's ``blog_private`` format, names no client address and logs paths
without their query and with any segment of 20 characters or more (the
reply page's token, the tokens of the links in mail) replaced by "-".
Old addresses of an imported site get the 301s nginx gives them, from the
same redirect map (``site/redirects.py``), read again when it changes.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.security import safe_join
from werkzeug.serving import WSGIRequestHandler
from werkzeug.utils import redirect, send_file
from werkzeug.wrappers import Request, Response

from .core.config import project_root
from .site.redirects import file_stamp, read_redirects, redirect_for, split_target

APP_PREFIX = "/app"
SECURITY_HEADERS = project_root() / "theme" / "security-headers.conf"


def static_headers(snippet: Path = SECURITY_HEADERS) -> dict[str, str]:
    """Return the headers nginx adds to static pages: the snippet's
    ``add_header`` lines, and the revalidation blog.conf asks for."""
    found = re.findall(
        r'^\s*add_header\s+(\S+)\s+"([^"]*)"\s+always\s*;',
        snippet.read_text(encoding="utf-8"),
        re.M,
    )
    if not found:
        raise ValueError(f"{snippet} has no add_header lines")
    return {**dict(found), "Cache-Control": "no-cache"}


class StaticSite:
    """Serve a built Pelican site: its files, ``index.html`` for folders,
    and the redirect map's 301s (``redirects``, if given) before them."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        snippet: Path = SECURITY_HEADERS,
        redirects: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.headers = static_headers(snippet)
        self.redirects = Path(redirects) if redirects is not None else None
        self._map: tuple[tuple[int, int, int] | None, dict[str, str]] = (None, {})
        self._map_lock = threading.Lock()

    def redirect_table(self) -> dict[str, str]:
        """The redirect map, read again whenever its file has changed (an
        import while the server runs); a broken file is logged and ignored,
        as nginx -t would refuse it."""
        if self.redirects is None:
            return {}
        stamp = file_stamp(self.redirects)
        with self._map_lock:
            if stamp != self._map[0]:
                try:
                    table = read_redirects(self.redirects)
                except (OSError, ValueError) as exc:
                    _log.error("Redirects not read: %s", exc)
                    table = {}
                self._map = (stamp, table)
            return self._map[1]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        # On every answer, errors and redirects too, as nginx's "always".
        for name, value in self.headers.items():
            response.headers[name] = value
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """Return the file for ``request``, a redirect, or the 404 page."""
        if request.method not in ("GET", "HEAD"):
            return Response("Method not allowed\n", 405, {"Allow": "GET, HEAD"})
        table = self.redirect_table()
        if table:
            raw = request_target(request.environ)
            if raw is not None:
                path, query = split_target(raw)
            else:
                path, query = request.path, request.query_string.decode("latin-1")
            new = redirect_for(table, path, query)
            if new is not None:
                return redirect(new, 301)
        target = safe_join(str(self.root), request.path.lstrip("/"))
        if target is not None and os.path.isdir(target):
            if not request.path.endswith("/"):
                return redirect(request.path + "/", 301)
            target = os.path.join(target, "index.html")
        if target is not None and os.path.isfile(target):
            return send_file(target, request.environ, max_age=0)
        not_found = self.root / "404.html"
        if not_found.is_file():
            return Response(not_found.read_bytes(), 404, mimetype="text/html")
        return Response("Not found\n", 404, mimetype="text/plain")


def request_target(environ: dict[str, Any]) -> bytes | None:
    """The request target's bytes as the client sent them, from werkzeug's
    ``RAW_URI``, so that its path is decoded once, as nginx's ``$uri``
    (``PATH_INFO`` garbles raw UTF-8 bytes sent beside ``%XX``). werkzeug
    stores the request line read as Latin-1, then encoded in UTF-8 and
    read as Latin-1 again (its "WSGI dance"): undone here."""
    raw = environ.get("RAW_URI")
    if not isinstance(raw, str):
        return None
    try:
        return raw.encode("latin-1").decode("utf-8").encode("latin-1")
    except UnicodeError:
        return None


def make_site_app(app: Flask, output_path: str | None = None) -> DispatcherMiddleware:
    """Return a WSGI app serving the built site at ``/`` and ``app`` under /app."""
    site = StaticSite(
        output_path or app.config["OUTPUT_PATH"],
        redirects=app.config["REDIRECTS_PATH"],
    )
    return DispatcherMiddleware(site, {APP_PREFIX: app})


_QUERY = re.compile(r"\?[^\s\"']*")
_APP_PATH = re.compile(APP_PREFIX + r"/[^\s\"']*")
_SECRET_SEGMENT = re.compile(r"(?<=/)[^/]{20,}")
_log = logging.getLogger("werkzeug")


def private_line(line: str) -> str:
    """Return a log line without queries, and with the long segments of the
    app's paths (the secrets in reply-page and mail-link addresses) replaced
    by "-", as nginx's ``blog_private`` log does."""
    line = _QUERY.sub("", line)
    return _APP_PATH.sub(lambda path: _SECRET_SEGMENT.sub("-", path[0]), line)


class PrivateRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging as nginx's ``blog_private``: no
    client address, no query, no token."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Log one line: the time and the request, nothing of who sent it."""
        line = private_line(message % args if args else message)
        getattr(_log, type)(f"[{self.log_date_time_string()}] {line}")
