"""Guards for forms posted from the static site, which cannot carry a CSRF token.

A browser always names the page a form was posted from in ``Origin`` (and,
unless told not to, in ``Referer``). A post is accepted only when that origin
is the site's own: the configured ``SITE_URL``, or the origin the request
itself was made to (which a cross-site page cannot choose). A post naming no
origin at all, or the opaque origin ``null``, is refused as well.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request

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
    allowed = {origin_of(site_url), origin_of(request.host_url)} - {None}
    origin = request.headers.get("Origin")
    if origin is None:
        origin = request.headers.get("Referer")
    if not origin:
        return False
    return origin_of(origin) in allowed
