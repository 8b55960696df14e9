"""The live site: the folder readers are served, and how a full build
replaces it in one step.

``OUTPUT_PATH`` (``output``) is a symbolic link, and every full build is a
folder of its own beside it, in ``output.builds``::

    output -> output.builds/current            made by the first build
    output.builds/current -> 20261207T101500123456Z
    output.builds/20261207T101500123456Z/      the live site
    output.builds/20261206T180000654321Z/      the one before, kept

A full build (``new_build``) writes into a new, empty folder there. When it
has succeeded, a new ``current`` link is renamed over the old one: one
``rename(2)``, so whoever opens ``output/<page>`` (nginx, the development
server, an rsync) gets the old site's file or the new one's, never a missing
or half-written one. Then every build but the live one and the one before
goes (the one before stays for a moment, for requests already under way,
and to go back to by hand). A build that fails is removed, and the live site
stays as it was. Pelican's ``DELETE_OUTPUT_DIRECTORY`` only ever empties the
new folder.

Two links, not ``output`` pointing at a build: replacing a link takes write
access to the folder it is in, and ``current`` is in ``output.builds``, the
one folder of the site the app may write (``deploy/systemd``): the desk's
"Publish now" switches too, while ``output`` is made once, in the project,
by the first full build before Pelican runs (one that may not write there
stops, saying so).

The site index a full build writes (``FEEDBACK_SITE_INDEX``) is written
beside the real one and put in its place right after the switch: the app
never learns of an article before its page is live, and a failed build
leaves the index as it was.

Whatever writes single files into the live site (the app's rebuild of an
article after a comment is approved, with its gzip twins) writes through
``output``, into the current build, under ``publish_lock``. Builds take that
lock from before Pelican reads anything until after the switch, so a page
rewritten while a full build runs waits, then lands in the new site.

An ``output`` that is still a real folder (a site built before this) is moved
into ``output.builds`` by the next full build and linked, once.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

#: What the builds' folder adds to the name of ``OUTPUT_PATH``.
BUILDS_SUFFIX = ".builds"
#: The link in the builds' folder that names the live build.
CURRENT = "current"


class LayoutError(RuntimeError):
    """Raised when a build cannot go live: ``OUTPUT_PATH`` is not the link to
    the builds and cannot be made one, or the build wrote nothing."""


@dataclass(frozen=True)
class NewBuild:
    """Where a full build writes: Pelican's output folder (``-o``), and its
    site index (``FEEDBACK_SITE_INDEX``) if it writes one; the live build,
    if any (``FEEDBACK_LIVE_OUTPUT``: the plugin takes the compressed twins
    of the files that did not change from it)."""

    folder: Path
    site_index: Path | None
    live: Path | None = None

    def settings(self) -> dict[str, str]:
        """Return the Pelican settings that tell the build about this."""
        values = {}
        if self.site_index is not None:
            values["FEEDBACK_SITE_INDEX"] = str(self.site_index)
        if self.live is not None:
            values["FEEDBACK_LIVE_OUTPUT"] = str(self.live)
        return values


def builds_folder(output: str | os.PathLike[str]) -> Path:
    """Return the folder that holds the builds of the site at ``output``."""
    output = _absolute(output)
    return output.with_name(output.name + BUILDS_SUFFIX)


@contextmanager
def new_build(
    output: str | os.PathLike[str], site_index: str | os.PathLike[str] | None = None
) -> Iterator[NewBuild]:
    """Give a full build a new folder and, when the block ends without an
    error, make that folder the live site at ``output`` and ``site_index``
    the site's index. The caller holds ``publish_lock``.

    :raise LayoutError: if ``output`` is a file or a link of another kind
        (nothing is changed), or cannot be made the link (its folder is not
        this process's to write), or the build wrote nothing.
    :raise OSError: if the folders cannot be written.
    """
    output = _absolute(output)
    builds = _prepare(output)
    folder = _new_folder(builds)
    target = Path(site_index) if site_index is not None else None
    staged = target.with_name(f".{target.name}.next") if target else None
    if staged is not None:
        staged.unlink(missing_ok=True)  # left by a build that was killed
    current = builds / CURRENT
    live = builds / os.readlink(current) if current.is_symlink() else None
    try:
        yield NewBuild(folder, staged, live if live and live.is_dir() else None)
        if not any(folder.iterdir()):
            raise LayoutError(f"The build wrote nothing into {folder}.")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    previous = _switch(builds, folder)
    if staged is not None and target is not None:
        _put_in_place(staged, target)
    _prune(builds, keep={folder.name, previous})
    logger.info("%s is now the live site (%s)", folder.name, output)


def _absolute(path: str | os.PathLike[str]) -> Path:
    # Not resolve(): that would follow the link this module replaces.
    return Path(os.path.abspath(path))


def _prepare(output: Path) -> Path:
    """Check ``output`` and make the builds' folder; make ``output`` the link
    to the live build, moving a real ``output`` folder in as that build."""
    builds = builds_folder(output)
    if output.is_symlink():
        target = os.path.join(output.parent, os.readlink(output))
        if os.path.normpath(target) != str(builds / CURRENT):
            raise LayoutError(
                f"{output} is a link to {os.readlink(output)}; a build replaces "
                f"only a link to {builds / CURRENT}. Remove it, or point it there."
            )
        builds.mkdir(parents=True, exist_ok=True)
        return builds
    if output.exists() and not output.is_dir():
        raise LayoutError(f"{output} is a file, not the site's folder.")
    builds.mkdir(parents=True, exist_ok=True)
    try:
        if output.is_dir():
            _migrate(output, builds)
        else:  # no site yet: the link shows nothing until the first switch
            _link(output, f"{builds.name}/{CURRENT}")
    except OSError as exc:
        raise LayoutError(
            f"{output} must become a link into {builds.name}, and this process "
            f"cannot make it ({exc}). Build once as a user who may write "
            f"{output.parent}: `invoke publish`."
        ) from exc
    return builds


def _migrate(output: Path, builds: Path) -> None:
    """Move the real folder ``output`` into ``builds`` as the live build, and
    put the link in its place: the only moment (two renames long, once) when
    ``output`` is missing."""
    builds.mkdir(exist_ok=True)
    name = _free_name(builds)
    _link(builds / CURRENT, name)
    link = _new_link(output, f"{builds.name}/{CURRENT}")
    os.rename(output, builds / name)
    os.replace(link, output)
    logger.info("moved the site %s into %s and linked it", output, builds / name)


def _new_folder(builds: Path) -> Path:
    """Make an empty folder for a build in ``builds``."""
    folder = builds / _free_name(builds)
    folder.mkdir()  # with the umask's mode: nginx must read it
    return folder


def _free_name(builds: Path) -> str:
    """Return a name for a build that nothing in ``builds`` has: the time
    (UTC), to the microsecond."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name, n = stamp, 0
    while os.path.lexists(builds / name):
        n += 1
        name = f"{stamp}-{n}"
    return name


def _switch(builds: Path, folder: Path) -> str | None:
    """Make ``folder`` the live build; return the name of the one it
    replaced, if any."""
    current = builds / CURRENT
    # By name: a link set by hand may name the build by its whole path.
    previous = os.path.basename(os.readlink(current)) if current.is_symlink() else None
    _link(current, folder.name)  # the switch
    return previous


def _link(path: Path, target: str) -> None:
    """Point the link ``path`` at ``target`` in one step (a rename)."""
    os.replace(_new_link(path, target), path)


def _new_link(path: Path, target: str) -> Path:
    """Make a link to ``target`` beside ``path``, under a name of its own."""
    link = path.with_name(f".{path.name}.new")
    link.unlink(missing_ok=True)  # left by a build that was killed
    os.symlink(target, link)
    return link


def _put_in_place(staged: Path, target: Path) -> None:
    """Replace ``target`` with ``staged`` unless they are the same (the
    index keeps its date when nothing changed)."""
    try:
        new = staged.read_bytes()
    except FileNotFoundError:
        return  # the settings write no index
    try:
        unchanged = target.read_bytes() == new
    except FileNotFoundError:
        unchanged = False
    if unchanged:
        staged.unlink()
    else:
        os.replace(staged, target)


def _prune(builds: Path, keep: set[str | None]) -> None:
    """Remove every build in ``builds`` but ``keep``: older ones, and any a
    killed build left half-written."""
    for entry in builds.iterdir():
        if entry.name == CURRENT or entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            if entry.exists():
                logger.warning("could not remove the old build %s", entry)
        else:
            entry.unlink(missing_ok=True)
