"""Bringing a blog from elsewhere: ``flask import wordpress|disqus|isso``.

Each command reads its whole source first (a broken one fails with the
line and the reason, having written nothing), imports, and prints a report.
Running it again with the same source changes nothing and says so.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..importing.records import SourceError
from ..importing.report import Report
from ..site.lock import PublishError

import_cli = AppGroup(
    "import", help="Import posts and comments from WordPress, Disqus or Isso."
)

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _finish(report: Report) -> None:
    click.echo(report.text(), nl=False)


@import_cli.command("wordpress")
@click.argument("export", type=_FILE)
@click.option(
    "--uploads",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A copy of the site's wp-content/uploads folder: its images are "
    "copied into content/ and their links rewritten.",
)
@click.option("--dry-run", is_flag=True, help="Read and convert; write nothing.")
def import_wordpress(export: Path, uploads: Path | None, dry_run: bool) -> None:
    """Import a WordPress export (Tools → Export → All content)."""
    from ..importing.wordpress_import import import_wordpress as run

    try:
        report = run(current_app, export, uploads=uploads, dry_run=dry_run)
    except SourceError as exc:
        raise click.ClickException(f"{export}: {exc}") from None
    except PublishError as exc:
        raise click.ClickException(f"The site did not build: {exc}") from None
    _finish(report)


def _import_threads(source: str, path: Path, origin: str, dry_run: bool) -> None:
    from ..importing.threads import import_threads

    if source == "disqus":
        from ..importing.disqus import read_disqus as read
    else:
        from ..importing.isso import read_isso as read
    report = Report(str(path), dry_run=dry_run)
    try:
        threads = read(path)
        import_threads(
            current_app,
            threads,
            origin=origin,
            source_name=source.capitalize(),
            report=report,
            dry_run=dry_run,
        )
    except SourceError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    except PublishError as exc:
        raise click.ClickException(
            f"The comments were stored but the site did not build: {exc}"
        ) from None
    _finish(report)


@import_cli.command("disqus")
@click.argument("export", type=_FILE)
@click.option("--dry-run", is_flag=True, help="Read and match; write nothing.")
def import_disqus(export: Path, dry_run: bool) -> None:
    """Import the comments of a Disqus export (its XML file)."""
    _import_threads("disqus", export, "disqus", dry_run)


@import_cli.command("isso")
@click.argument("database", type=_FILE)
@click.option("--dry-run", is_flag=True, help="Read and match; write nothing.")
def import_isso(database: Path, dry_run: bool) -> None:
    """Import the comments of an Isso database (its comments.db)."""
    _import_threads("isso", database, "isso", dry_run)
