"""Guards for forms posted from the static site, which cannot carry a CSRF token.

A browser tells where a post comes from in headers that pages cannot set:

* ``Sec-Fetch-Site`` (every current browser): only ``same-origin`` passes.
  It is consulted first because it survives ``Referrer-Policy: no-referrer``,
  under which browsers send ``Origin: null`` even for same-origin posts.
* otherwise ``Origin``, and failing that ``Referer``: the origin named must
  be the site's own, that is the configured ``SITE_URL`` or the origin the
  request itself was made to (which a cross-site page cannot choose).

A post naming no origin at all, or only the opaque origin ``null``, is
refused. These checks stop other sites from posting through a reader's
browser; they do not stop scripts, which only the honeypot faces for now
(rate limits are issue 6).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, abort, current_app, request

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """Return ``scheme://host[:port]`` of ``url``, normalised, or None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def is_same_origin(request: Request, site_url: str) -> bool:
    """Tell whether ``request`` was posted from a page of this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    allowed = {origin_of(site_url), origin_of(request.host_url)} - {None}
    origin = request.headers.get("Origin")
    if origin is None:
        origin = request.headers.get("Referer")
    if not origin:
        return False
    return origin_of(origin) in allowed


def require_site_origin() -> None:
    """Refuse the current request unless a page of this site posted it.

    :raise 403: if it came from elsewhere, or says nothing of where.
    """
    if not is_same_origin(request, current_app.config["SITE_URL"]):
        abort(403, "This form can only be sent from a page of this site.")
