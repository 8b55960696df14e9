"""Invoke tasks for authors and operators: ``invoke --list`` shows them all."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import runpy
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from invoke import Context, Exit, task

HERE = Path(__file__).resolve().parent
CONTENT = HERE / "content"
PELICAN = f"{shlex.quote(sys.executable)} -m pelican"
FLASK = f"{shlex.quote(sys.executable)} -m flask --app feedback_app"
PREVIEW = HERE / "output-preview"
DEV_SETTINGS = "pelicanconf.py"
PUBLISH_SETTINGS = "publishconf.py"


def _pelican(c: Context, settings: str, *, after: Any = None) -> None:
    """Build the whole site into a new folder and make it output/ in one step
    (feedback_app/site/live_site.py), under the app's publish lock (not
    while the app rebuilds a page, on this host or, on PostgreSQL, any
    other); then ``after(app)``, still under it."""
    from feedback_app import create_app
    from feedback_app.site.live_site import LayoutError, new_build
    from feedback_app.site.lock import publish_lock

    # The app's own settings (instance/config.py, FEEDBACK_*), for the site
    # these tasks build: this folder's output/ with these settings.
    output = HERE / "output"
    app = create_app(
        {
            "OUTPUT_PATH": str(output),
            "PELICAN_SETTINGS": str(HERE / settings),
            "CONTENT_PATH": str(CONTENT),
        }
    )
    index = _settings(settings).get("FEEDBACK_SITE_INDEX")
    try:
        with publish_lock(app):
            with new_build(output, HERE / index if index else None) as build:
                folder = shlex.quote(str(build.folder))
                cmd = f"{PELICAN} content -s {settings} -o {folder}"
                # The comments the app writes, wherever COMMENTS_PATH puts them.
                extra = {
                    "FEEDBACK_COMMENTS_PATH": app.config["COMMENTS_PATH"],
                    **build.settings(),
                }
                values = [f"{k}={json.dumps(v)}" for k, v in extra.items()]
                if values:  # one -e: Pelican keeps only the last one
                    cmd += " -e " + " ".join(shlex.quote(v) for v in values)
                c.run(cmd, echo=True)
            if after is not None:
                after(app)
    except LayoutError as exc:
        raise Exit(str(exc), code=1) from None


@task
def build(c: Context) -> None:
    """Build the site into output/ with the development settings."""
    _pelican(c, DEV_SETTINGS)


@task
def rebuild(c: Context) -> None:
    """Delete output/ and the content cache, then build from scratch."""
    clean(c)
    build(c)


@task
def clean(c: Context) -> None:
    """Delete output/ (the link and every build) and the content cache."""
    from feedback_app.site.live_site import builds_folder

    output = HERE / "output"
    if output.is_symlink():
        output.unlink()
    for folder in (output, builds_folder(output), HERE / "cache"):
        shutil.rmtree(folder, ignore_errors=True)


@task(name="db-upgrade")
def db_upgrade(c: Context) -> None:
    """Create or migrate the app's database to the newest schema."""
    c.run(f"{FLASK} db upgrade", echo=True)


@task(help={"host": "address to listen on", "port": "port (default: $PORT or 8000)"})
def serve(c: Context, host: str = "127.0.0.1", port: int = 0) -> None:
    """Build the site, migrate the database, and serve site and app together."""
    build(c)
    db_upgrade(c)
    _serve(host, port or int(os.environ.get("PORT", 8000)))


@task(help={"host": "address to listen on", "port": "port (default: $PORT or 8000)"})
def livereload(c: Context, host: str = "127.0.0.1", port: int = 0) -> None:
    """Like serve, and rebuild the site whenever content, theme or settings change.

    The site is rebuilt on every save; reload the page in the browser to see it
    (nothing is injected into the pages).
    """
    build(c)
    db_upgrade(c)
    threading.Thread(target=_rebuild_on_change, args=(c,), daemon=True).start()
    _serve(host, port or int(os.environ.get("PORT", 8000)))


@task(
    help={
        "host": "address to listen on",
        "port": "port (default: $PREVIEW_PORT or 8001; `make serve` keeps 8000)",
        "siteurl": "the SITEURL to build with (default: the preview's own "
        "address, so that every link and style works there)",
        "serve": "serve the preview after building it (default); "
        "--no-serve only builds it",
    }
)
def preview(
    c: Context,
    host: str = "127.0.0.1",
    port: int = 0,
    siteurl: str = "",
    serve: bool = True,
) -> None:
    """Build the site with the production settings (publishconf.py) into
    output-preview/ and serve it on its own port; output/, the site index
    and whatever `make serve` serves stay as they are."""
    port = port or int(os.environ.get("PREVIEW_PORT", 8001))
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    siteurl = (siteurl or url).rstrip("/")
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        headers = Path(tmp) / "security-headers.conf"
        # Its own cache, no site index (the app's is output/'s) and its own
        # copy of the headers snippet: nothing of the development site is
        # written.
        overrides = {
            "FEEDBACK_SITE_INDEX": None,
            "FEEDBACK_SECURITY_HEADERS": str(headers),
            "CACHE_PATH": str(Path(tmp) / "cache"),
        }
        shutil.rmtree(PREVIEW, ignore_errors=True)
        cmd = f"{PELICAN} content -s {PUBLISH_SETTINGS} -o {shlex.quote(str(PREVIEW))}"
        cmd += " -e " + " ".join(
            shlex.quote(f"{k}={json.dumps(v)}") for k, v in overrides.items()
        )
        # publishconf.py reads SITEURL (and its feeds' domain) from here.
        c.run(cmd, echo=True, env={"SITEURL": siteurl})
        where = PREVIEW.relative_to(HERE)
        if not serve:
            print(f"Built {where}/ with the production settings, for {siteurl}/.")
            return
        _serve_preview(host, port, headers)


def _serve_preview(host: str, port: int, headers: Path) -> None:
    """Serve output-preview/ as nginx would serve the site (its headers, the
    redirect map); the app is not run: its addresses say so."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from feedback_app.devserver import APP_PREFIX, PrivateRequestHandler, StaticSite

    not_here = Response(
        "The preview serves the built site only: the forms and the desk are"
        " the app's, which `make serve` runs.\n",
        503,
        mimetype="text/plain",
    )
    redirects = os.environ.get("FEEDBACK_REDIRECTS_PATH") or HERE / "redirects.map"
    site = StaticSite(PREVIEW, snippet=headers, redirects=redirects)
    server = make_server(  # listening from here on
        host,
        port,
        DispatcherMiddleware(site, {APP_PREFIX: not_here}),
        threaded=True,
        request_handler=PrivateRequestHandler,
    )
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(
        f"Serving the preview ({PREVIEW.relative_to(HERE)}/) on {url}/ (Ctrl-C stops)",
        flush=True,
    )
    print("output/ and `make serve` are not touched; the app does not run here.")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


@task(
    help={
        "command": "run after the build, e.g. an rsync "
        "(default: the app's PUBLISH_COMMAND, FEEDBACK_PUBLISH_COMMAND)"
    }
)
def publish(c: Context, command: str = "") -> None:
    """Build with the production settings, then run the publish command if any,
    as the app does after each of its rebuilds (under the same lock)."""
    from feedback_app.site.publishing import run_publish_command

    def copy(app: Any) -> None:
        # PUBLISH_COMMAND in the environment: what earlier versions read.
        chosen = (
            command
            or app.config["PUBLISH_COMMAND"]
            or os.environ.get("PUBLISH_COMMAND", "")
        )
        if not chosen:
            # Nothing is missing: output/ is the live site wherever it is served.
            print(
                f"Built {HERE / 'output'}, live now (no PUBLISH_COMMAND:"
                " nothing to copy to other machines)."
            )
            return
        print(f"Running {chosen}")
        run_publish_command(app, chosen)

    _pelican(c, PUBLISH_SETTINGS, after=copy)


@task
def docs(c: Context) -> None:
    """Regenerate docs/configuration.md from the comments in the app's config.py."""
    from feedback_app.core import config_reference

    path = HERE / "docs" / "configuration.md"
    if config_reference.main(["--output", str(path)]):
        sys.exit(1)  # a setting without a description, named on stderr
    print(f"Wrote {path.relative_to(HERE)}")


@task(
    help={
        "title": "the post's title",
        "author": "author name (default: AUTHOR of pelicanconf.py)",
        "category": "category (default: Sales)",
        "tags": "comma-separated tags",
        "summary": "one or two sentences for the index and the feeds "
        "(default: none; Pelican takes the post's beginning)",
    }
)
def new(
    c: Context,
    title: str,
    author: str = "",
    category: str = "Sales",
    tags: str = "",
    summary: str = "",
) -> None:
    """Create a draft post in content/ from a title, and say where to see it."""
    try:
        path = new_post(
            title, author=author, category=category, tags=tags, summary=summary
        )
    except FileExistsError as exc:
        taken = Path(exc.filename)
        where = taken.relative_to(HERE) if taken.is_relative_to(HERE) else taken
        raise Exit(f"{where} already exists: choose another title.", code=1) from None
    except ValueError as exc:
        raise Exit(str(exc), code=1) from None
    print(f"Created {path.relative_to(HERE)} (Status: draft)")
    print(f"See it at {draft_url(path.stem)} once the site is built:")
    print(
        "`invoke livereload` rebuilds on every save; with `make serve` running,"
        " run `invoke build`."
    )


def new_post(
    title: str,
    *,
    author: str = "",
    category: str = "Sales",
    tags: str = "",
    summary: str = "",
    now: datetime | None = None,
    content: Path = CONTENT,
) -> Path:
    """Write a new draft Markdown post, ``<slug>.md`` as the desk names its
    posts, and return its path. Every header value is made one line; tags
    and the summary are written only if given (an empty summary would be
    published as is, and the index would show no excerpt).

    :raise FileExistsError: if a post with that slug exists, here or among
        the desk's posts.
    :raise ValueError: if the title is empty.
    """
    from pelican.settings import DEFAULT_CONFIG
    from pelican.utils import slugify

    title, summary = _one_line(title), _one_line(summary)
    if not title:
        raise ValueError("A post needs a title.")
    settings = _settings()
    # Pelican reads a Date without an offset in TIMEZONE: write it in that zone.
    now = (now or datetime.now(UTC)).astimezone(ZoneInfo(settings["TIMEZONE"]))
    slug = slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])
    author = _one_line(author) or settings.get("AUTHOR", "")
    path = content / f"{slug}.md"
    desk_post = content / "desk" / path.name  # feedback_app/site/drafts.py
    if desk_post.exists():
        raise FileExistsError(errno.EEXIST, "A desk post has that slug", desk_post)
    lines = [
        f"Title: {title}",
        f"Date: {now:%Y-%m-%d %H:%M}",
        f"Author: {author}",
        f"Category: {_one_line(category)}",
        *([f"Tags: {_one_line(tags)}"] if tags.strip() else []),
        f"Slug: {slug}",
        *([f"Summary: {summary}"] if summary else []),
        "Status: draft",
        "",
        "Write here. Set Status to published (or remove it) when it is ready.",
        "",
    ]
    with open(path, "x", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return path


def draft_url(slug: str) -> str:
    """Where the development server shows the draft ``slug`` (DRAFT_URL):
    at the address a running ``make serve`` recorded, else at the one it
    takes by default."""
    from pelican.settings import DEFAULT_CONFIG

    from feedback_app.core.config import project_instance
    from feedback_app.core.dev_address import served_url

    served = served_url(project_instance())
    base = served or f"http://127.0.0.1:{os.environ.get('PORT', 8000)}"
    pattern = _settings().get("DRAFT_URL", DEFAULT_CONFIG["DRAFT_URL"])
    return f"{base}/{pattern.format(slug=slug)}"


def _one_line(value: str) -> str:
    """``value`` as one header line: runs of white space (line ends too)
    become one space, so that nothing typed can start another header."""
    return " ".join(value.split())


def _settings(name: str = DEV_SETTINGS) -> dict[str, Any]:
    """Return the names defined in a settings file (default: pelicanconf.py)."""
    return runpy.run_path(str(HERE / name))


def _warn_of_unheard_authors(app: Any) -> None:
    """Print which articles' authors nobody hears for (no account, no editor)."""
    from feedback_app.core.db import get_db
    from feedback_app.mail.messages import unheard_author_names, unheard_warning
    from feedback_app.site.index import site_index

    with app.app_context(), get_db(app).read() as session:
        unheard = unheard_author_names(session, site_index(app).current())
    if unheard:
        print(unheard_warning(unheard))


def _serve(host: str, port: int) -> None:
    """Serve the site and the app on ``host:port``, with the outbox sender.

    Unless SITE_URL is set, the address served is every process's SITE_URL
    while this one runs: this server's, its sender's and that of any
    ``flask --app feedback_app`` command run meanwhile (``record_served_url``),
    so every link in mail and every address a command prints names it.
    """
    import signal

    from werkzeug.serving import run_simple

    from feedback_app import create_app
    from feedback_app.core.config import project_instance
    from feedback_app.core.dev_address import forget_served_url, record_served_url
    from feedback_app.devserver import PrivateRequestHandler, make_site_app
    from feedback_app.mail.sender import OutboxWorker
    from feedback_app.mail.transport import smtp_settings
    from feedback_app.services.jobs import periodic

    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    record = record_served_url(project_instance(), url)
    # A stop by SIGTERM ends run_simple as Ctrl-C does: the record goes too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app = create_app()
        OutboxWorker(app, periodic()).start()  # mail goes out in the background
        where = (
            "SMTP"
            if smtp_settings(app.config)
            else f"the Maildir {app.config['MAILDIR_PATH']}"
        )
        print(f"Serving the site and the app on {url}/ (Ctrl-C stops)")
        print(f"Links in mail and from `flask` commands: {app.config['SITE_URL']}/")
        print(f"Mail goes to {where}; `flask --app feedback_app outbox list` shows it.")
        _warn_of_unheard_authors(app)
        run_simple(
            host,
            port,
            make_site_app(app),
            threaded=True,
            use_reloader=False,
            request_handler=PrivateRequestHandler,
        )
    finally:
        forget_served_url(record)


def _rebuild_on_change(c: Context) -> None:
    from watchfiles import DefaultFilter, watch

    watched = [CONTENT, HERE / "theme", HERE / DEV_SETTINGS]
    comments = str(CONTENT / "comments")
    default = DefaultFilter()

    def not_comments(change: Any, path: str) -> bool:
        # The app rebuilds the pages its comment files feed by itself.
        return default(change, path) and not path.startswith(comments)

    for changes in watch(*watched, watch_filter=not_comments):
        print(f"Changed: {', '.join(sorted({Path(p).name for _, p in changes}))}")
        try:
            build(c)
        except Exception as exc:  # keep serving; the next save tries again
            print(f"Build failed: {exc}", file=sys.stderr)
