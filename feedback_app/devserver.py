"""One development server for the built site and the app, on one origin.

Production puts nginx in front: it serves ``output/`` and proxies ``/app/``
to gunicorn. In development this module does the same in one process: the
static files at ``/`` and the app under ``/app``, so forms post same-origin
exactly as they will in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.security import safe_join
from werkzeug.utils import redirect, send_file
from werkzeug.wrappers import Request, Response

APP_PREFIX = "/app"


class StaticSite:
    """Serve a built Pelican site: its files, ``index.html`` for folders."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """Return the file for ``request``, a redirect, or the 404 page."""
        if request.method not in ("GET", "HEAD"):
            return Response("Method not allowed\n", 405, {"Allow": "GET, HEAD"})
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


def make_site_app(app: Flask, output_path: str | None = None) -> DispatcherMiddleware:
    """Return a WSGI app serving the built site at ``/`` and ``app`` under /app."""
    site = StaticSite(output_path or app.config["OUTPUT_PATH"])
    return DispatcherMiddleware(site, {APP_PREFIX: app})
