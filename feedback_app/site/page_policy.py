"""The static pages' security headers, for the Pelican plugin: the content
security policy made from the settings that name what an author's pages may
load from other hosts, written as the nginx snippet
``theme/security-headers.conf`` at every full build (only when it changes).
nginx includes that file; the development server (``devserver.py``) sends
the same headers from it, so a blocked embed shows before deploying.

Settings (``pelicanconf.py``), each a list of sources, and their defaults:

``CSP_FRAME_HOSTS`` (none)
    Hosts whose pages an article may embed in an ``<iframe>``: videos, maps.
    ``["https://www.youtube-nocookie.com", "https://player.vimeo.com"]``.
``CSP_SCRIPT_HOSTS`` (none)
    Hosts an article may load a script from (a widget's ``<script src>``).
    Inline scripts stay refused whatever this says.
``CSP_IMAGE_HOSTS`` (``["https:"]``: any https address)
    Where images, audio and video may come from besides the site itself.
``CSP_STYLE_ATTRIBUTES`` (False)
    Whether ``style="…"`` attributes apply (reStructuredText's ``image``
    directive writes them for ``:width:``). ``<style>`` elements stay
    refused. Readers' comments never carry one (the sanitiser drops it).

A source is a scheme (``https:``) or a scheme and host (``https://host``,
a leading ``*.`` for its subdomains, an optional port): anything else
fails the build naming the setting, so that no setting can add a directive
to the policy or a line to nginx's configuration. The app's own pages keep
their stricter policy (``factory.CONTENT_SECURITY_POLICY``): they show no
embeds.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .files import write_atomically

POLICY_DEFAULTS: dict[str, Any] = {
    "CSP_FRAME_HOSTS": [],
    "CSP_SCRIPT_HOSTS": [],
    "CSP_IMAGE_HOSTS": ["https:"],
    "CSP_STYLE_ATTRIBUTES": False,
}
SOURCE = re.compile(
    r"(?:https?:|https?://(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?)"
)


class PolicySettingError(ValueError):
    """A policy setting that is not a list of sources: fails the build."""

    exitcode = 1


def checked_sources(key: str, value: Any) -> list[str]:
    """Return the sources of the setting ``key``, or raise naming it."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise PolicySettingError(f"{key} must be a list of sources, not {value!r}")
    for source in value:
        if not isinstance(source, str) or not SOURCE.fullmatch(source):
            raise PolicySettingError(
                f"{key}: {source!r} is not a source: write a scheme and host,"
                ' such as "https://player.vimeo.com", or "https:"'
            )
    return list(value)


def check_policy_settings(settings: Mapping[str, Any]) -> None:
    """Fail the build now, naming the setting, if one is malformed."""
    for key in ("CSP_FRAME_HOSTS", "CSP_SCRIPT_HOSTS", "CSP_IMAGE_HOSTS"):
        checked_sources(key, settings[key])
    if not isinstance(settings["CSP_STYLE_ATTRIBUTES"], bool):
        raise PolicySettingError("CSP_STYLE_ATTRIBUTES must be True or False")


def content_security_policy(settings: Mapping[str, Any]) -> str:
    """Return the static pages' policy: this origin only, and what the
    settings allow from elsewhere."""

    def sources(key: str, *own: str) -> str:
        return " ".join([*own, *checked_sources(key, settings[key])])

    own, none = "'self'", "'none'"
    directives = [
        f"default-src {own}",
        f"img-src {sources('CSP_IMAGE_HOSTS', own, 'data:')}",
        f"media-src {sources('CSP_IMAGE_HOSTS', own)}",
        f"frame-src {sources('CSP_FRAME_HOSTS') or none}",
        f"script-src {sources('CSP_SCRIPT_HOSTS', own)}",
        f"style-src {own}",
    ]
    if settings["CSP_STYLE_ATTRIBUTES"]:
        directives.append("style-src-attr 'unsafe-inline'")
    directives += [
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
    return "; ".join(directives)


def headers_snippet(settings: Mapping[str, Any]) -> str:
    """Return the nginx snippet of the static pages' security headers."""
    policy = content_security_policy(settings)
    return f"""\
# The static pages' security headers, for nginx: include this file in each
# location that serves output/, not in the server block (the app sends its
# own on its pages, and would get them twice); see deploy/nginx/blog.conf.
#
#   include /srv/blog/theme/security-headers.conf;
#
# Written by every full build from the CSP_* settings of pelicanconf.py
# (feedback_app/site/page_policy.py): change those, not this file, and
# reload nginx after a build that changed it. The development server sends
# the same headers. The theme runs no inline script (article.js is a file);
# forms post only to this origin (the app under /app/). Referrer-Policy must
# not be no-referrer: browsers would then post the forms with "Origin:
# null", which the app cannot tell from a cross-site post.
add_header Content-Security-Policy "{policy}" always;
add_header X-Content-Type-Options "nosniff" always;
add_header X-Frame-Options "DENY" always;
add_header Referrer-Policy "same-origin" always;
"""


def snippet_path(settings: Mapping[str, Any]) -> Path:
    """Where the snippet goes: ``FEEDBACK_SECURITY_HEADERS``, by default
    ``security-headers.conf`` in the theme's folder."""
    return Path(
        settings.get("FEEDBACK_SECURITY_HEADERS")
        or os.path.join(settings["THEME"], "security-headers.conf")
    )


def write_headers_snippet(pelican: Any) -> None:
    """Write the snippet after a full build, if it changed."""
    settings = pelican.settings
    if settings.get("FEEDBACK_WRITE_SELECTED"):
        return
    path = snippet_path(settings)
    text = headers_snippet(settings)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomically(path, text, durable=False)
