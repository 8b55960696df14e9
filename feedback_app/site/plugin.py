"""Pelican plugin: connects the static site to the feedback app.

Settings it reads (``pelicanconf.py``):

``FEEDBACK_URL``, ``FEEDBACK_COMMENTS_URL``, ``FEEDBACK_TICKET_URL``
    Where the article pages' feedback and comment forms post, and where
    their script fetches a form ticket. Default: ``/app/feedback``,
    ``/app/comments`` and ``/app/form-ticket`` under the path of ``SITEURL``
    (the app shares the site's origin).
``FEEDBACK_SITE_INDEX``
    Path of the JSON file that tells the app which articles exist (slug,
    title, URL, site-relative ``page_url`` by which the app knows an article,
    output path, authors), the site's name and its menu pages.
    Written atomically after every build; ``None`` writes nothing.
``FEEDBACK_COMMENTS_PATH``
    Folder of the approved comments the app publishes, one file per article
    named after its URL (``files.comment_file_name``), so two articles with
    the same slug in different years each have their own. A site's older
    ``<article-slug>.json`` is still read for an article that has no file
    of its own yet, if no other article has that slug. Default:
    ``comments`` in the content folder.
``FEEDBACK_PRIVATE_PATHS``
    Folders no file of which may ever reach the output, whatever links it.
    Default: the folder of ``FEEDBACK_SITE_INDEX`` (the app's ``instance/``,
    with its database and secret key).
``COMMENTS_REQUIRE_EMAIL``, ``COMMENTS_MAX_DEPTH``
    Whether the comment form requires an address (default False), and how
    deep replies nest (default 5). Passed to the app through the site index.
``COMMENTS_PER_PAGE``, ``COMMENTS_DEFAULT_PAGE``, ``COMMENTS_ORDER``,
``COMMENTS_FEED_SIZE``
    Long threads in pages, as WordPress does (``thread_model.PAGING_DEFAULTS``):
    50 top-level comments a page (0: all on the article), the ``newest`` or
    ``oldest`` page on the article, ``oldest-first`` or ``newest-first`` on
    a page; the comment feed carries the newest 20 (0: all).
``CODE_STYLE``, ``CODE_STYLE_DARK``
    The Pygments styles of highlighted code on light and dark pages
    (``code_styles.py``); a name Pygments does not know fails the build.
``CSP_FRAME_HOSTS``, ``CSP_SCRIPT_HOSTS``, ``CSP_IMAGE_HOSTS``,
``CSP_STYLE_ATTRIBUTES``, ``FEEDBACK_SECURITY_HEADERS``
    What the pages may load from other hosts, and where the nginx snippet
    of the static pages' headers is written (``page_policy.py``).
``FEEDBACK_GZIP``, ``FEEDBACK_LIVE_OUTPUT``
    Whether each text file gets a ``.gz`` twin for nginx's ``gzip_static``
    (default True), and the live site's folder when a full build writes a
    new one (``live_site.py``): a file the same as there gets the twin it
    has there, a hard link, instead of being compressed again.
``FEEDBACK_WRITE_SELECTED``, ``FEEDBACK_SELECTED_URLS``
    A list of output paths, and the articles they belong to (their
    site-relative URLs). When set, only
    those files are written, only those articles' comments are read, and the
    site index is left as the last full build wrote it: the app's rebuild
    of a page it cannot update itself (a theme without a thread region).

Each article's thread (``build_comments.py``, rendered by
``thread_render.py`` as the app renders it after a moderation action) is in
its page and each of its translations' as ``article.thread_html``, between
``<!-- thread -->`` and ``<!-- /thread -->``; its other comment pages and
its Atom feed of comments are files of their own. A translation shares its
original's thread. Template variables it adds: the three ``FEEDBACK_*_URL``
above, the field limits ``FEEDBACK_MAX_*`` (the app's own defaults, so
``maxlength`` attributes and the app agree), and on each article
``page_url`` (the thread's key, which its forms send as ``article``: the
original's site-relative URL), ``thread_html``, ``comment_count`` and
``comment_feed_url``.

A relative link to a file of the content folder (``images/x.png``) is
made a ``{static}`` link, so that it works under the site's clean
addresses (``local_links.py``).

A post whose ``Template:`` names a template the theme does not have
(another blog's theme had it) is rendered with the theme's ``article`` or
``page`` template, with a warning naming it, instead of stopping the build.

Two guards fail the build (``content_guard.py``): a link that would copy a
file from outside the content folder or from a private folder, and an
intrasite link other than to a content file in a post written in the desk.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Escaping text to write XML (the comment feeds); nothing here parses XML.
from pelican import signals
from pelican.generators import (
    ArticlesGenerator,
    PagesGenerator,
    PelicanTemplateNotFound,
)
from pelican.writers import Writer

from ..core import config as app_config
from . import i18n
from .build_comments import (
    SelectiveWriter,
    attach_comments,
    attach_rendered,
    menu_pages,
    thread_record,
    write_comment_files,
)
from .code_styles import CODE_STYLE_DEFAULTS, write_code_stylesheet
from .content_guard import clean_desk_posts, refuse_outside_files
from .contract import SITE_INDEX_VERSION, site_index_text
from .files import (
    COMPRESSED,
    link_unchanged_twins,
    write_atomically,
    write_compressed,
)
from .languages import JINJA_FILTERS
from .local_links import link_content_files
from .page_policy import (
    POLICY_DEFAULTS,
    check_policy_settings,
    write_headers_snippet,
)
from .thread_model import PAGING_DEFAULTS, check_paging, render_settings

logger = logging.getLogger(__name__)


def add_defaults(pelican: Any) -> None:
    """Give every setting of this plugin its default."""
    settings = pelican.settings
    site_path = urlsplit(settings.get("SITEURL", "")).path.rstrip("/")
    settings.setdefault("FEEDBACK_URL", f"{site_path}/app/feedback")
    settings.setdefault("FEEDBACK_COMMENTS_URL", f"{site_path}/app/comments")
    settings.setdefault("FEEDBACK_TICKET_URL", f"{site_path}/app/form-ticket")
    settings.setdefault("FEEDBACK_SITE_INDEX", None)
    settings.setdefault(
        "FEEDBACK_COMMENTS_PATH", os.path.join(settings["PATH"], "comments")
    )
    settings.setdefault("FEEDBACK_WRITE_SELECTED", None)
    index = settings.get("FEEDBACK_SITE_INDEX")
    private = list(settings.get("FEEDBACK_PRIVATE_PATHS") or ())
    settings["FEEDBACK_PRIVATE_PATHS"] = private + (
        [os.path.dirname(os.path.abspath(index))] if index else []
    )
    settings.setdefault("COMMENTS_REQUIRE_EMAIL", False)
    settings.setdefault("COMMENTS_MAX_DEPTH", 5)
    for key, value in PAGING_DEFAULTS.items():
        settings.setdefault(key, value)
    check_paging(settings)
    settings["JINJA_FILTERS"] = {**JINJA_FILTERS, **settings.get("JINJA_FILTERS", {})}
    for key, value in POLICY_DEFAULTS.items():
        settings.setdefault(key, list(value) if isinstance(value, list) else value)
    check_policy_settings(settings)
    for key, value in CODE_STYLE_DEFAULTS.items():
        settings.setdefault(key, value)
        check_code_style(key, settings[key])
    for name in ("MESSAGE", "NAME", "EMAIL", "WEBSITE"):
        key = f"MAX_{name}_LENGTH"
        settings.setdefault(f"FEEDBACK_{key}", getattr(app_config, key))


def check_code_style(key: str, name: str) -> None:
    """Fail the build, naming the setting, if ``name`` is no Pygments style."""
    from pygments.styles import get_all_styles

    if name not in set(get_all_styles()):
        raise ValueError(
            f"{key} = {name!r} is not a Pygments style; `pygmentize -L styles`"
            " lists them"
        )


def install_translations(generator: Any) -> None:
    """Give the generator's Jinja environment the theme's words in each
    page's language (``i18n.py``)."""
    i18n.install(generator.env)


#: Where a generator keeps its contents, every status and language.
CONTENT_LISTS = (
    "articles",
    "pages",
    "translations",
    "hidden_articles",
    "hidden_pages",
    "hidden_translations",
    "drafts",
    "drafts_translations",
    "draft_pages",
    "draft_translations",
)


def fall_back_to_theme_templates(generator: Any) -> None:
    """Render with the theme's own ``article`` or ``page`` template a post
    whose ``Template:`` names one the theme does not have (another blog's
    theme had it), with a warning, instead of failing the whole build."""
    for name in CONTENT_LISTS:
        for content in getattr(generator, name, ()):
            template = content.template
            if template == content.default_template:
                continue
            try:
                generator.get_template(template)
            except PelicanTemplateNotFound:
                logger.warning(
                    "%s: the theme has no template %r (Template: %s); rendered with %r",
                    content.relative_source_path,
                    template,
                    template,
                    content.default_template,
                )
                content.template = content.default_template


def choose_writer(pelican: Any) -> type[Writer] | None:
    """Use the selective writer when the build names what to write."""
    return SelectiveWriter if pelican.settings.get("FEEDBACK_WRITE_SELECTED") else None


def write_site_index(generators: list[Any]) -> None:
    """Record the site's published articles and menu pages for the app."""
    settings = generators[0].settings
    target = settings.get("FEEDBACK_SITE_INDEX")
    if not target or settings.get("FEEDBACK_WRITE_SELECTED"):
        return  # the app's rebuild of a few pages changes no article
    siteurl = settings.get("SITEURL", "")
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, str]] = []
    for generator in generators:
        if isinstance(generator, ArticlesGenerator):
            for article in generator.articles:
                thread = getattr(article, "feedback_thread", None) or thread_record(
                    article
                )
                articles.append(
                    {
                        "slug": article.slug,
                        "title": article.title,
                        "url": f"{siteurl}/{article.url}",
                        "page_url": article.url,
                        "save_as": article.save_as,
                        "outputs": [v.save_as for v in thread.views] + [thread.feed],
                        "thread": thread.to_json(),
                        "source": article.relative_source_path,
                        "authors": [a.name for a in getattr(article, "authors", ())],
                        "date": article.date.isoformat(),
                        "category": str(getattr(article, "category", "") or ""),
                        "tags": [str(tag) for tag in getattr(article, "tags", ())],
                    }
                )
        elif isinstance(generator, PagesGenerator):
            pages.extend(menu_pages(generator.pages))
    index = {
        "version": SITE_INDEX_VERSION,
        "sitename": settings.get("SITENAME", ""),
        "siteurl": siteurl,
        "archives_url": settings.get("ARCHIVES_URL", "archives.html"),
        "timezone": settings.get("TIMEZONE") or "UTC",
        "comments": {
            "require_email": bool(settings["COMMENTS_REQUIRE_EMAIL"]),
            "max_depth": int(settings["COMMENTS_MAX_DEPTH"]),
        },
        "pages": pages,
        "render": render_settings(settings),
        "articles": articles,
    }
    text = site_index_text(index)
    path = Path(target)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_atomically(path, text)
    logger.info("Site index for the app: %d articles in %s", len(articles), target)


def compress_output(pelican: Any) -> None:
    """Give each text file of the build a ``.gz`` twin (``FEEDBACK_GZIP``,
    on by default): all of them after a full build, only the selected ones
    after the app's rebuild of an article."""
    if not pelican.settings.get("FEEDBACK_GZIP", True):
        return
    output = Path(pelican.output_path)
    selected = pelican.settings.get("FEEDBACK_WRITE_SELECTED")
    if selected:
        paths = [output / name for name in selected]
    else:
        paths = [p for p in output.rglob("*") if p.suffix in COMPRESSED]
        live = pelican.settings.get("FEEDBACK_LIVE_OUTPUT")
        if live:  # a new folder: the live site's twins of the same files
            paths = link_unchanged_twins(paths, output, Path(live))
        # Twins of pages a build no longer makes go with them.
        for twin in output.rglob("*.gz"):
            if not twin.with_suffix("").exists():
                twin.unlink()
    written = write_compressed(p for p in paths if p.suffix in COMPRESSED)
    logger.info("Compressed %d changed files for gzip_static", written)


def register() -> None:
    """Connect the plugin's handlers (module-level: Pelican holds them weakly)."""
    signals.initialized.connect(add_defaults)
    signals.get_writer.connect(choose_writer)
    signals.generator_init.connect(install_translations)
    signals.content_object_init.connect(link_content_files)
    signals.article_generator_finalized.connect(fall_back_to_theme_templates)
    signals.page_generator_finalized.connect(fall_back_to_theme_templates)
    signals.article_generator_finalized.connect(clean_desk_posts)
    signals.article_generator_finalized.connect(attach_comments)
    signals.article_generator_write_article.connect(attach_rendered)
    signals.static_generator_finalized.connect(refuse_outside_files)
    signals.article_writer_finalized.connect(write_comment_files)
    signals.all_generators_finalized.connect(write_site_index)
    signals.finalized.connect(write_code_stylesheet)
    signals.finalized.connect(write_headers_snippet)
    signals.finalized.connect(compress_output)
