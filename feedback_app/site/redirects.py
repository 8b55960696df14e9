"""The redirect map: a previous site's addresses and where they now are.

One file (``REDIRECTS_PATH``, default ``redirects.map`` in the project
folder) is the whole truth. It is written in nginx's ``map`` syntax, one
``"old" "new";`` line per address, and read twice: nginx includes it in
``deploy/nginx/blog.conf``'s maps and answers 301, and the development
server (``devserver.StaticSite``) reads it with ``read_redirects`` and
answers the same 301s through ``redirect_for``. An import writes it with
``merge_redirects``.

Keys: what nginx looks a request up by, and ``normal_old`` makes from an
old address.

- The path as nginx's ``$uri`` holds it: percent-decoded (as UTF-8, so
  ``%C3%A9``, ``%c3%a9`` and the raw bytes are one key), slashes merged,
  ``.`` and ``..`` resolved, without trailing slashes (``/hello-world/``
  and ``/hello-world`` are one key), ASCII letters in lower case (nginx's
  map compares them so: ``/Hello-World/`` matches too, as it did on
  WordPress).
- Then, when the old address carried one of WordPress's query names
  (``QUERY_NAMES``), ``?`` and those names with their values, in that
  order, each value percent-encoded but for letters, digits and ``-._~``:
  ``/?p=123``, ``/?p=123&feed=rss2``, ``/blog?cat=3``. Other parameters
  (``utm_source``, ``replytocom``) are not part of any key: a request with
  them still matches. A request whose query names no page (``/?s=word``)
  is looked up by its path alone.

What a key refuses (``ValueError``), so that no line can change what the
nginx configuration means: control characters, ``"`` and ``\\`` (never in
a WordPress slug); keys are written between double quotes, where ``$``,
``;``, ``{``, ``#``, ``'`` and spaces are plain characters, and always
start with ``/`` (never ``~``, a regular expression, nor one of ``map``'s
words). Keys under the app (``/app``) are refused, nginx sends those to
the app; so is the front page ``/`` itself.

Values (``normal_new``) are site-relative paths, percent-encoded but for
letters, digits, ``-._~`` and ``/``: nothing nginx would read as a
variable, and no way to another host (``//host``, ``/\\host``, a scheme).

A request's query is dropped on the redirect (it was WordPress's).

Limits: ``MAX_ENTRIES`` lines, keys of ``MAX_KEY_BYTES`` bytes (UTF-8),
values of ``MAX_VALUE_LENGTH`` characters; blog.conf's
``map_hash_bucket_size`` and ``map_hash_max_size`` are set for them.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote, unquote_to_bytes, urljoin, urlsplit

from .files import write_atomically

#: WordPress's query names that name a page, a post, an archive or a feed,
#: in the order a key lists them. blog.conf has one small map per name.
QUERY_NAMES = ("p", "page_id", "attachment_id", "cat", "tag", "author", "m", "feed")
#: Most lines in the map (a WordPress site of thousands of posts has a few
#: addresses each: its permalink, ?p=, its comment feed).
MAX_ENTRIES = 50_000
#: Longest key, in bytes of UTF-8 (blog.conf's map_hash_bucket_size holds it).
MAX_KEY_BYTES = 1024
#: Longest new address, in characters (percent-encoded, so ASCII).
MAX_VALUE_LENGTH = 2048
#: The app's addresses: nginx passes them to the app, never to the map.
APP_PREFIX = "/app"

HEADER = (
    "# Redirects from a previous site's addresses to this site's pages,\n"
    '# one "old" "new"; line each, written by the import (feedback_app/site/\n'
    "# redirects.py). nginx includes this file (deploy/nginx/blog.conf): run\n"
    "# `nginx -t && systemctl reload nginx` after each import. The development\n"
    "# server reads it too.\n"
)

_UNRESERVED = "-._~"  # with letters and digits: what quote() leaves alone
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_LINE = re.compile(r'"([^"\\]*)" "([^"\\]*)";')
_VALUE = re.compile(r"/(?!/)[A-Za-z0-9%/._~-]*")


def _ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only, as nginx's map does."""
    return text.translate(_ASCII_LOWER)


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (Unicode's Cc: C0, DEL, C1)."""
    return _CONTROL.search(text) is not None


def _path_key(path: str) -> str:
    """A decoded path as a key: as nginx normalises ``$uri`` (merged
    slashes, ``.`` and ``..`` resolved), without trailing slashes, ASCII
    lower-cased."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return _ascii_lower("/" + "/".join(segments))


def _query_values(query: str) -> dict[str, str]:
    """The first value of each of QUERY_NAMES in a raw query, as nginx's
    ``$arg_NAME`` finds it (name in any case, empty values ignored)."""
    found: dict[str, str] = {}
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        name = _ascii_lower(name)
        if sep and name in QUERY_NAMES and name not in found:
            found[name] = value
    return {name: value for name, value in found.items() if value}


def _query_key(values: dict[str, str]) -> str:
    parts = [f"{name}={values[name]}" for name in QUERY_NAMES if name in values]
    return "?" + "&".join(parts) if parts else ""


def _check_key(key: str) -> str:
    if _has_control(key) or '"' in key or "\\" in key:
        raise ValueError("an old address with a control character, '\"' or '\\'")
    if key == "/":
        raise ValueError("the front page itself cannot be redirected")
    if key == APP_PREFIX or key.startswith(APP_PREFIX + "/"):
        raise ValueError(f"addresses under {APP_PREFIX}/ are the app's")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"an old address longer than {MAX_KEY_BYTES} bytes")
    return key


def normal_old(address: str, site_url: str | None = None) -> str:
    """Return the key of an old address (see the module's docstring).

    ``address`` is absolute (``https://old.example.com/2019/05/h%C3%A9/``,
    on the host of ``site_url``, the old site's address) or site-relative
    (``/?p=123``); without a leading ``/`` it is resolved against
    ``site_url``. The fragment is dropped, as browsers never send it.

    :raise ValueError: for what cannot be a key: another host, no path,
        bytes that are not UTF-8, the characters the docstring lists, a
        query naming no page on the front page, a key too long.
    """
    if not isinstance(address, str) or not address:
        raise ValueError("an empty old address")
    if _has_control(address) or address != address.strip():
        raise ValueError("an old address with a control character or space")
    parts = urlsplit(address)
    if parts.scheme or parts.netloc or not address.startswith("/"):
        if site_url is None:
            raise ValueError("an address not starting with / needs the old site's")
        base = urlsplit(site_url)
        if base.scheme not in ("http", "https") or not base.hostname:
            raise ValueError("the old site's address must be http(s)://host")
        parts = urlsplit(urljoin(site_url.rstrip("/") + "/", address))
        if parts.scheme not in ("http", "https"):
            raise ValueError("an old address that is not http(s)")
        if (parts.hostname, parts.port) != (base.hostname, base.port):
            raise ValueError("an old address on another host")
    try:
        path = unquote(parts.path or "/", errors="strict")
    except UnicodeDecodeError as exc:
        raise ValueError("an old address that is not UTF-8") from exc
    values: dict[str, str] = {}
    for name, value in _query_values(parts.query).items():
        try:
            decoded = unquote(value, errors="strict")
        except UnicodeDecodeError as exc:
            raise ValueError("an old address that is not UTF-8") from exc
        values[name] = _ascii_lower(quote(decoded, safe=_UNRESERVED))
    return _check_key(_path_key(path) + _query_key(values))


def normal_new(address: str) -> str:
    """Return a new address as the map holds it: a site-relative path,
    percent-encoded (UTF-8) but for letters, digits, ``-._~`` and ``/``.

    :raise ValueError: for anything but such a path: a scheme, a host,
        ``//`` or a backslash at its start (other hosts, to browsers), a
        query or fragment, control characters, bytes not UTF-8, too long.
    """
    if not isinstance(address, str) or not address.startswith("/"):
        raise ValueError("a new address must be a path starting with /")
    if _has_control(address) or "\\" in address or "?" in address or "#" in address:
        raise ValueError("a new address with a control character, \\, ? or #")
    try:
        decoded = unquote(address, errors="strict")
    except UnicodeDecodeError as exc:
        raise ValueError("a new address that is not UTF-8") from exc
    if _has_control(decoded) or "\\" in decoded:
        raise ValueError("a new address with an encoded control character or \\")
    value = quote(decoded, safe="/" + _UNRESERVED)
    if not _VALUE.fullmatch(value):
        raise ValueError("a new address must not start with //")
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"a new address longer than {MAX_VALUE_LENGTH} characters")
    return value


def _target_key(value: str) -> str:
    """The key a browser's next request (to ``value``, no query) has."""
    return _path_key(unquote(value))


def read_redirects(path: Path) -> dict[str, str]:
    """Return the map in ``path`` (old key: new address); {} if missing.

    :raise ValueError: naming the line, for one this module never writes.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    table: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if not match or not _VALUE.fullmatch(match[2]) or _has_control(match[1]):
            raise ValueError(f"{path}, line {number}: not a redirect line")
        table[_ascii_lower(match[1])] = match[2]
    return table


def render_redirects(table: dict[str, str]) -> str:
    """The map file's text for ``table``: sorted, so the same map is the
    same bytes."""
    lines = [f'"{key}" "{table[key]}";\n' for key in sorted(table)]
    return HEADER + "".join(lines)


def merge_redirects(
    path: Path, pairs: Iterable[tuple[str, str]], site_url: str | None = None
) -> tuple[int, int, list[str]]:
    """Add (old address, new address) pairs to the map in ``path``.

    Returns (how many were added, how many were there already, the keys of
    those that were not added because the map already sends them, or an
    earlier pair of ``pairs``, elsewhere). The entry already there wins: a
    second import never moves an address silently; the conflicts are
    reported for the operator to settle by editing the file. A pair whose
    new address is its own old one (the same permalink, maybe with a
    slash) counts as already there: redirecting it would loop. So does one
    that would close a loop of redirects (reported as a conflict).

    The file is created if missing and replaced atomically, only when it
    changes: the same pairs twice leave it byte for byte (and its mtime)
    as it was.

    :raise ValueError: naming the first pair that ``normal_old`` (with
        ``site_url``) or ``normal_new`` refuses, or when the map would hold
        more than MAX_ENTRIES lines; nothing is written then.
    """
    table = read_redirects(path)
    before = render_redirects(table)
    added = already = 0
    conflicts: list[str] = []
    for number, (old, new) in enumerate(pairs, 1):
        try:
            key, value = normal_old(old, site_url), normal_new(new)
        except ValueError as exc:
            raise ValueError(f"redirect {number} ({old!r} -> {new!r}): {exc}") from exc
        if _target_key(value) == key or table.get(key) == value:
            already += 1
        elif key in table or _closes_loop(table, key, value):
            conflicts.append(key)
        else:
            table[key] = value
            added += 1
    if len(table) > MAX_ENTRIES:
        raise ValueError(f"the redirect map would hold more than {MAX_ENTRIES} lines")
    text = render_redirects(table)
    if text != before or not path.exists():
        write_atomically(path, text)
    return added, already, conflicts


def _closes_loop(table: dict[str, str], key: str, value: str) -> bool:
    """Whether following ``value`` through ``table`` comes back to ``key``."""
    seen = {key}
    target = _target_key(value)
    while target in table:
        if target in seen:
            return True
        seen.add(target)
        target = _target_key(table[target])
    return target in seen


def split_target(target: bytes) -> tuple[str, str]:
    """Split a request target as sent (``/caf%C3%A9/?p=1``, or raw UTF-8)
    into the path decoded once, as nginx's ``$uri``, and the raw query."""
    raw_path, _, query = target.partition(b"?")
    path = unquote_to_bytes(raw_path).decode("utf-8", "replace")
    return path, query.decode("latin-1")


def redirect_for(table: dict[str, str], path: str, query: str) -> str | None:
    """Return where a request goes (its 301's Location), or None.

    ``path`` is the request's path decoded once (nginx's ``$uri``,
    ``split_target``), ``query`` its raw query. As blog.conf: the path with
    WordPress's query names first, then the path alone.
    """
    key = _path_key(path)
    query_key = _query_key(
        {name: _ascii_lower(v) for name, v in _query_values(query).items()}
    )
    if query_key and key + query_key in table:
        return table[key + query_key]
    return table.get(key)


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of ``path``, None if missing: an atomic
    replacement changes the inode even within one mtime tick."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
