"""ownership recorded: each feedback and comment keeps its article's URL and authors

Revision ID: 7c1e0f3a9b52
Revises: 38c2d12131d0
Create Date: 2026-12-06 02:30:00

Existing rows get ``article_page_url`` and ``article_authors`` from the site
index the app is configured with (``SITE_INDEX_PATH``), as it is when the
migration runs: feedback by the article URL it stored when sent, else (and
comments always) by slug when exactly one published article has that slug.
A row the index cannot place (its article is gone, the index is missing,
or two articles share its slug) keeps its slug as ``article_page_url`` and
no authors: editors see it, authors do not, until an editor gives it
authors with ``flask authors reassign``. Comment files keep their old
``<slug>.json`` names until the app next publishes the article; the build
reads them meanwhile (``site.build_comments.comment_file``).
"""

import json
import logging
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "7c1e0f3a9b52"
down_revision: str | None = "38c2d12131d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def _site_articles() -> list[dict]:
    path = context.config.attributes.get("site_index_path")
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        logger.warning("no site index at %s: rows keep their slugs", path)
        return []
    siteurl = data.get("siteurl", "")
    articles = []
    for a in data.get("articles", ()):
        page_url = a.get("page_url")
        if not page_url:
            url = a["url"]
            if siteurl and url.startswith(siteurl + "/"):
                url = url[len(siteurl) + 1 :]
            page_url = url.lstrip("/")
        articles.append({**a, "page_url": page_url})
    return articles


def _authors(names: list[str]) -> str:
    return json.dumps(list(names), separators=(",", ":"), ensure_ascii=True)


def upgrade() -> None:
    for table in ("feedback", "comment"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("article_page_url", sa.String(length=1000), nullable=True)
            )
            batch_op.add_column(sa.Column("article_authors", sa.Text(), nullable=True))

    articles = _site_articles()
    by_url = {a["url"]: a for a in articles}
    slug_count = Counter(a["slug"] for a in articles)
    by_slug = {a["slug"]: a for a in articles if slug_count[a["slug"]] == 1}
    connection = op.get_bind()
    unplaced = 0
    for table in ("feedback", "comment"):
        t = sa.table(
            table,
            sa.column("id", sa.Integer),
            sa.column("article_slug", sa.String),
            sa.column("article_page_url", sa.String),
            sa.column("article_authors", sa.Text),
            *([sa.column("article_url", sa.String)] if table == "feedback" else []),
        )
        columns = [t.c.id, t.c.article_slug]
        if table == "feedback":
            columns.append(t.c.article_url)
        for row in connection.execute(sa.select(*columns)).all():
            found = None
            if table == "feedback":
                found = by_url.get(row.article_url)
            found = found or by_slug.get(row.article_slug)
            if found is None:
                unplaced += 1
            connection.execute(
                t.update()
                .where(t.c.id == row.id)
                .values(
                    article_page_url=found["page_url"] if found else row.article_slug,
                    article_authors=_authors(found["authors"] if found else []),
                )
            )
    if unplaced:
        logger.warning(
            "%d feedback and comments name no article the site index places: "
            "editors only, until `flask authors reassign` gives them authors",
            unplaced,
        )

    for table in ("feedback", "comment"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "article_page_url", existing_type=sa.String(length=1000), nullable=False
            )
            batch_op.alter_column(
                "article_authors", existing_type=sa.Text(), nullable=False
            )
            batch_op.create_index(
                batch_op.f(f"ix_{table}_article_page_url"),
                ["article_page_url"],
                unique=False,
            )


def downgrade() -> None:
    for table in ("feedback", "comment"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_article_page_url"))
            batch_op.drop_column("article_authors")
            batch_op.drop_column("article_page_url")
