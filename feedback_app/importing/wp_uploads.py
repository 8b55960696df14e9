"""The files behind a WordPress post's links to its uploads: which file
under ``--uploads`` a URL names, and the ``{static}`` link that replaces it.

A URL counts when it is under the uploads URL (http, https,
protocol-relative or site-relative; ``www.`` or not; a query ignored). Its
path is looked up under the uploads folder: the file named, or the
original when a resized (``-300x200``) or ``-scaled`` copy is missing.
Never outside: a path with ``..``, ``.``, an empty part, a backslash, a
colon or a control character is refused, and the file found must resolve
(symlinks followed) to a regular file inside the folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from bs4 import BeautifulSoup

_RESIZED = re.compile(r"^(.+)-(?:\d{1,5}x\d{1,5}|scaled)(\.[A-Za-z0-9]{1,8})$")
_UNSAFE_PART = re.compile(r"[\\\x00-\x1f:]")
_MEDIA_ATTRIBUTES = (
    ("img", "src"),
    ("a", "href"),
    ("audio", "src"),
    ("video", "src"),
    ("video", "poster"),
    ("source", "src"),
)


class Uploads:
    """Finds the files behind links to the uploads and rewrites the links."""

    def __init__(
        self,
        uploads_url: str,
        uploads_dir: Path | None,
        folder: str,
        notes: dict[str, None],
    ) -> None:
        base = urlsplit(uploads_url.strip())
        self.host = _bare_host(base.netloc)
        self.prefix = base.path.rstrip("/") + "/"
        self.root = uploads_dir.resolve() if uploads_dir is not None else None
        parts = [part for part in folder.strip("/").split("/") if part]
        if not parts or any(
            part in (".", "..") or _UNSAFE_PART.search(part) for part in parts
        ):
            raise ValueError(f"not a folder under content/: {folder!r}")
        self.folder = "/".join(parts)
        self.notes = notes
        self.images: dict[str, Path] = {}

    def rewrite(self, soup: BeautifulSoup) -> None:
        for tag, attribute in _MEDIA_ATTRIBUTES:
            for element in soup.find_all(tag, attrs={attribute: True}):
                url = str(element[attribute])
                local = self.local(url, is_image=tag == "img")
                if local is not None:
                    element[attribute] = local
                    if tag == "img":
                        for dropped in ("srcset", "sizes"):
                            element.attrs.pop(dropped, None)

    def local(self, url: str, *, is_image: bool) -> str | None:
        """The ``{static}`` link for ``url``, or None (and a note) when it is
        not a file found under the uploads."""
        parts = self._parts(url)
        what = "image" if is_image else "linked file"
        if parts is None:
            if is_image:
                shown = url if len(url) <= 120 else url[:117] + "..."
                self.notes.setdefault(
                    f"image not from the uploads, left as is: {shown}", None
                )
            return None
        if not parts or self.root is None:
            reason = "uploads folder not given" if parts else "unsafe path"
            self.notes.setdefault(f"{what} left as is ({reason}): {url}", None)
            return None
        found = self._find(parts)
        if found is None:
            self.notes.setdefault(
                f"{what} not found in the uploads, left as is: {url}", None
            )
            return None
        file, used = found
        dest = f"{self.folder}/{'/'.join(used)}"
        self.images.setdefault(dest, file)
        return "{static}/" + quote(dest, safe="/!$&*+,;=@~")

    def _parts(self, url: str) -> list[str] | None:
        """The path under the uploads (list of names; empty when unsafe), or
        None when ``url`` is not under the uploads."""
        try:
            split = urlsplit(url.strip())
        except ValueError:
            return None
        if split.scheme.lower() not in ("", "http", "https"):
            return None
        if split.netloc and _bare_host(split.netloc) != self.host:
            return None
        if not split.netloc and (split.scheme or not split.path.startswith("/")):
            return None
        if not split.path.startswith(self.prefix):
            return None
        parts = unquote(split.path[len(self.prefix) :]).split("/")
        if any(part in ("", ".", "..") or _UNSAFE_PART.search(part) for part in parts):
            return []
        return parts

    def _find(self, parts: list[str]) -> tuple[Path, list[str]] | None:
        if self.root is None:
            return None
        candidates = [parts]
        resized = _RESIZED.match(parts[-1])
        if resized:
            original = resized[1] + resized[2]
            candidates.append([*parts[:-1], original])
            candidates.append([*parts[:-1], f"{resized[1]}-scaled{resized[2]}"])
        for candidate in candidates:
            try:
                real = self.root.joinpath(*candidate).resolve()
                if real.is_relative_to(self.root) and real.is_file():
                    return real, candidate
            except (OSError, RuntimeError, ValueError):
                continue
        return None


def _bare_host(netloc: str) -> str:
    host = netloc.rpartition("@")[2].lower()
    return host.removeprefix("www.")
