"""What the build refuses, for the Pelican plugin: a link that would make
Pelican copy a file from outside the content folder or from a private folder
(Pelican copies the target of a ``{static}`` or ``{attach}`` link wherever
it lies), and a ``{static}`` or ``{attach}`` link in a post written in the
desk (``content/desk/``), whose HTML is also cleaned with the desk's
allow-list (``post_markup``) before it is written. Either fails the build:
Pelican exits 1, naming the file and the link.

Imports without Flask (Pelican loads it on every build).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pelican.generators import ArticlesGenerator, StaticGenerator

from . import post_markup


class UnsafeContentError(Exception):
    """Fails the build: content that would publish what it may not."""

    exitcode = 1


def _all_articles(generator: ArticlesGenerator) -> list[Any]:
    return [
        *generator.articles,
        *generator.translations,
        *generator.drafts,
        *generator.drafts_translations,
        *generator.hidden_articles,
        *generator.hidden_translations,
    ]


def clean_desk_posts(generator: ArticlesGenerator) -> None:
    """Clean the HTML of every article in the desk's folder with the desk's
    allow-list, and refuse its intrasite links but ``{filename}`` ones to a
    content file (the desk links the answered article so).

    :raise UnsafeContentError: for any other intrasite link there, looked
        for before cleaning and after (where Pelican will rewrite them).
    """
    pattern = generator.settings["INTRASITE_LINK_REGEX"]
    folder = f"{post_markup.DESK_FOLDER}/"
    for article in _all_articles(generator):
        source = Path(article.relative_source_path).as_posix()
        if not source.startswith(folder):
            continue
        cleaned = post_markup.clean(article._content)
        summary = article.metadata.get("summary")
        for html in (
            article._content,
            cleaned,
            summary,
            summary and post_markup.clean(summary),
        ):
            for what, value in post_markup.intrasite_links(html or "", pattern):
                if what != "filename" or not post_markup.CONTENT_LINK.fullmatch(value):
                    raise UnsafeContentError(
                        f"{source}: a post written in the desk may not carry the "
                        f"link “{{{what}}}{value}”; only someone with shell "
                        "access links the site's files."
                    )
        article._content = cleaned
        if summary is not None:
            article.metadata["summary"] = post_markup.clean(summary)
        if hasattr(article, "_summary"):
            article._summary = post_markup.clean(article._summary)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_outside_files(generator: StaticGenerator) -> None:
    """Refuse to copy a file from outside the content folder, or from a
    private folder, into the output (the file is not copied: the build stops).

    :raise UnsafeContentError: naming the file and the content linking it.
    """
    settings = generator.settings
    root = os.path.realpath(settings["PATH"])
    private = [os.path.realpath(p) for p in settings["FEEDBACK_PRIVATE_PATHS"]]
    for static in generator.staticfiles:
        real = os.path.realpath(static.source_path)
        if _inside(real, root) and not any(_inside(real, p) for p in private):
            continue
        raise UnsafeContentError(
            f"{_linked_by(generator, static.source_path)} would publish "
            f"{static.source_path}, which is "
            + ("in a private folder" if _inside(real, root) else "outside the content")
            + " folder: remove the link."
        )


def _linked_by(generator: StaticGenerator, source_path: str) -> str:
    """Name the content and link that make Pelican copy ``source_path``."""
    pattern = generator.settings["INTRASITE_LINK_REGEX"]
    target = os.path.abspath(source_path)
    root = generator.settings["PATH"]
    for content in generator.context.get("generated_content", {}).values():
        for what, value in post_markup.intrasite_links(content._content or "", pattern):
            if what not in ("static", "attach"):
                continue
            path = urlsplit(value).path.replace("%20", " ")
            if path.startswith("/"):
                linked = os.path.join(root, path[1:])
            else:
                linked = os.path.join(os.path.dirname(content.source_path), path)
            if os.path.abspath(linked) == target:
                return f"{content.relative_source_path}: the link “{{{what}}}{value}”"
    return "A static path"
