"""HTTP helpers every side uses: where a request comes from (the client's
address through trusted proxies, and the keyed hash it is counted under),
whether a post came from the site's own pages, and the headers that keep a
private page private.

Guards for forms posted from the static site, which cannot carry a CSRF token.

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

import hashlib
import hmac
import ipaddress
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import Request, Response, abort, current_app, request

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(config: Any) -> tuple[Network, ...]:
    return _parsed(tuple(config["TRUSTED_PROXIES"] or ()))


@lru_cache(maxsize=8)
def _parsed(networks: tuple[str, ...]) -> tuple[Network, ...]:
    # Parsed once, not on every post.
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def client_address(request: Request, config: Any | None = None) -> str:
    """Return the address of the client that sent ``request``."""
    config = config or current_app.config
    peer = request.environ.get("REMOTE_ADDR", "") or ""
    trusted = _networks(config)
    if not trusted:
        return peer
    hops = [peer] + [
        h.strip()
        for h in reversed(request.headers.get("X-Forwarded-For", "").split(","))
        if h.strip()
    ]
    for i, hop in enumerate(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hops[i - 1] if i else peer  # garbage: stop at the last good
        if not any(address in net for net in trusted) or i == len(hops) - 1:
            return hop
    return peer


def address_key(address: str, secret: str | bytes) -> str:
    """Return the keyed hash under which a client's address is counted (rate
    limits, failed sign-ins): the address itself is never stored."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, address.encode("utf-8"), hashlib.sha256).hexdigest()


def private_page(response: Response, *, token_in_url: bool = False) -> Response:
    """Keep a private page out of caches and search engines.

    A page whose address holds a token (a reply page, a link from mail) must
    not leak it in a Referer: ``strict-origin`` sends only the origin. Not
    ``no-referrer``: over HTTPS Flask-WTF refuses a form post without a
    Referer, and browsers send ``Origin: null`` under it. Other private pages
    keep ``same-origin``.
    """
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = (
        "strict-origin" if token_in_url else "same-origin"
    )
    return response


def keep_private(response: Response) -> Response:
    """``after_request`` hook of the blueprints whose every page is private."""
    token_in_url = bool(request.view_args and "token" in request.view_args)
    return private_page(response, token_in_url=token_in_url)
