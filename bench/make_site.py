"""Generate a bench site: N small Markdown articles, 10 approved comments each.

    .venv/bin/python bench/make_site.py [--articles 1000] [--target bench/.site]

Writes, under the target folder (see ``common.SiteLayout``):

* ``content/<slug>.md``: N articles of a few paragraphs of varied text, by two
  authors, in a few categories, with tags;
* ``comments.sqlite3``: the app's database, migrated with the app's own
  ``upgrade(app)``, holding 10 approved comments per article (about a third
  of them replies, some by the article's author), rendered with the app's
  own ``render_comment`` and inserted in one transaction;
* ``content/comments/<page URL, percent-encoded>.json``: what the app
  publishes of them, written with
  ``publishing.write_comment_file(folder, page_url, published_comments(...))``;
* ``no-comments/``: an empty folder, to build the same site without comments;
* with ``--build`` (default), a first full build: ``output/``, the content
  cache and ``site.json`` (the site index the app reads).

The same arguments give the same site; an existing site with the same
parameters is kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import DEFAULT_SITE, SiteLayout, full_build, make_app

AUTHORS = ("Maya Lindqvist", "Jonas Berg")
CATEGORIES = ("Sales", "Customer Care", "Writing", "Tools", "Hiring")
TAGS = (
    "inside sales",
    "prospecting",
    "calls",
    "e-mail",
    "follow-up",
    "training",
    "notes",
    "pricing",
    "objections",
    "teams",
    "CRM",
    "listening",
)
TOPICS = (
    "cold calls",
    "follow-up mail",
    "discovery questions",
    "pricing talks",
    "handover notes",
    "quiet weeks",
    "a new rep's first month",
    "objections",
    "renewals",
    "the pipeline review",
    "voicemail",
    "referrals",
)
OPENERS = (
    "Most of what I know about {t} I learned by getting it wrong first.",
    "Every team I have worked with had a different theory about {t}.",
    "A reader asked me last week how I handle {t}, and the honest answer is long.",
    "There is a quiet skill behind {t} that nobody puts in a job description.",
    "I used to think {t} was a matter of talent; now I think it is a habit.",
)
SENTENCES = (
    "The first week feels awkward, and then it stops feeling like anything.",
    "Write down what the customer actually said, not what you hoped to hear.",
    "A short plan beats a long script, because a plan leaves room to listen.",
    "Ask one more question before you answer the one you were asked.",
    "Nobody remembers the pitch; they remember whether you understood them.",
    "Keep the notes short enough that the next person will read them.",
    "A clear no is a good outcome: it frees the afternoon for somebody else.",
    "The numbers matter, but they are the end of the story, not the start.",
    "Most follow-ups fail because they say nothing new.",
    "Silence on the phone is not a problem to fix; it is time to think.",
    "If the meeting has no date, it is not a next step.",
    "Read the last three notes before you dial, every time.",
    "People buy from someone who can say plainly what the product does not do.",
    "The best reps I know are curious first and persuasive second.",
    "A template is a starting point, never a finished message.",
)
COMMENTERS = (
    "Ana",
    "Bram de Vries",
    "Chidi",
    "Dorota K.",
    "Eli",
    "Fatima Z.",
    "Gus",
    "Hanna Svensson",
    "Ivo",
    "Jun",
    "Kai Müller",
    "Lena",
)
COMMENT_BODIES = (
    "This matches what I saw on my own team. *Especially* the part about notes.",
    "I tried the one-more-question habit for a week. It works, but it is tiring.",
    "Could you write more about **renewals**? Nobody covers them.",
    "We use a shared doc for handovers; see [our template](https://example.org/t).",
    "> a clear no is a good outcome\n\nI needed to read that today. Thank you.",
    "Three things that helped me:\n\n- shorter calls\n- better notes\n- `#sales` "
    "channel etiquette",
    "Respectfully disagree: scripts helped me a lot in my first month.",
    "How do you handle a prospect who only ever answers by e-mail?",
    "Printed this and put it on the wall.",
    "Great piece. The voicemail section could be its own article.",
)


def slug_for(i: int, rng: random.Random) -> str:
    topic = rng.choice(TOPICS).replace("'", "").replace(" ", "-")
    return f"{topic}-{i:04d}"


def article_text(i: int, slug: str, rng: random.Random, date: datetime) -> str:
    """Return one article's Markdown source, with Pelican metadata."""
    topic = rng.choice(TOPICS)
    title = f"On {topic}, part {i + 1}"
    tags = ", ".join(rng.sample(TAGS, 3))
    paragraphs = [rng.choice(OPENERS).format(t=topic)]
    for _ in range(rng.randint(3, 5)):
        paragraphs.append(" ".join(rng.sample(SENTENCES, rng.randint(3, 6))))
    paragraphs.insert(2, f"## What changed\n\n{rng.choice(SENTENCES)}")
    summary = paragraphs[0]
    return (
        f"Title: {title}\n"
        f"Date: {date:%Y-%m-%d %H:%M}\n"
        f"Category: {rng.choice(CATEGORIES)}\n"
        f"Tags: {tags}\n"
        f"Slug: {slug}\n"
        f"Author: {AUTHORS[i % 2]}\n"
        f"Summary: {summary}\n\n" + "\n\n".join(paragraphs) + "\n"
    )


def comment_rows(
    page_url: str,
    author: str,
    first_id: int,
    count: int,
    date: datetime,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """Return ``count`` approved comments on one article, some of them replies."""
    from feedback_app.core.rendering import render_comment
    from feedback_app.site.ownership import encode_authors
    from feedback_app.store.comments import fingerprint

    rows: list[dict[str, Any]] = []
    for k in range(count):
        parent = (
            rows[rng.randrange(len(rows))] if rows and rng.random() < 0.35 else None
        )
        by_author = parent is not None and rng.random() < 0.3
        name = author if by_author else rng.choice(COMMENTERS)
        body = rng.choice(COMMENT_BODIES)
        created = date + timedelta(hours=k + 1, minutes=rng.randrange(60))
        email = f"{name.split()[0].lower()}.{first_id + k}@example.org"
        rows.append(
            {
                "id": first_id + k,
                "article_slug": page_url.split("/")[1],
                "article_page_url": page_url,
                "article_authors": encode_authors([author]),
                "parent_id": parent["id"] if parent else None,
                "depth": min(parent["depth"] + 1, 5) if parent else 1,
                "name": name,
                "email": email,
                "website": "https://example.org/me" if rng.random() < 0.2 else None,
                "body": body,
                "html": render_comment(body),
                "state": "approved",
                "is_author": by_author,
                "submission_key": f"bench-{first_id + k:08d}-seeded",
                "fingerprint": fingerprint(
                    page_url, parent["id"] if parent else None, name, email, body
                ),
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


def make_site(
    target: Path,
    articles: int = 1000,
    comments_per_article: int = 10,
    seed: int = 1,
    *,
    build: bool = True,
    force: bool = False,
) -> SiteLayout:
    """Generate (or keep) the bench site in ``target``; return its layout."""
    site = SiteLayout(target.resolve())
    params = {"articles": articles, "comments": comments_per_article, "seed": seed}
    if (
        not force
        and site.params.is_file()
        and site.site_index.is_file()
        and json.loads(site.params.read_text()) == params
    ):
        return site
    started = time.perf_counter()
    shutil.rmtree(site.root, ignore_errors=True)
    for folder in (site.content, site.comments, site.no_comments, site.instance):
        folder.mkdir(parents=True)
    rng = random.Random(seed)  # noqa: S311 (text, not secrets)
    start = datetime(2020, 1, 6, 9, 0)
    slugs: list[tuple[str, str, datetime]] = []
    for i in range(articles):
        date = start + timedelta(days=i * 2, hours=rng.randrange(8))
        slug = slug_for(i, rng)
        text = article_text(i, slug, rng, date)
        (site.content / f"{slug}.md").write_text(text, encoding="utf-8")
        # Its URL as pelicanconf.py's ARTICLE_URL makes it: the app's key.
        slugs.append((f"{date:%Y}/{slug}/", AUTHORS[i % 2], date.replace(tzinfo=UTC)))

    from sqlalchemy import insert

    from feedback_app.core.db import get_db, upgrade
    from feedback_app.core.models import Comment
    from feedback_app.site.publishing import write_comment_file
    from feedback_app.site.threads import published_comments

    app = make_app(site)
    upgrade(app)
    db = get_db(app)
    rows: list[dict[str, Any]] = []
    for n, (page_url, author, date) in enumerate(slugs):
        first = n * comments_per_article + 1
        rows += comment_rows(page_url, author, first, comments_per_article, date, rng)
    with db.write() as session:
        session.execute(insert(Comment), rows)
    with db.read() as session:
        for page_url, _, _ in slugs:
            write_comment_file(
                site.comments, page_url, published_comments(session, page_url)
            )
    db.dispose()
    generated = time.perf_counter() - started
    print(
        f"generated {articles} articles and {len(rows)} comments "
        f"in {generated:.1f} s: {site.root}"
    )
    if build:
        seconds = full_build(site, cold=True)
        print(f"first full build (cold cache): {seconds:.2f} s")
    site.params.write_text(json.dumps(params) + "\n")
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=10, help="per article")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--no-build", action="store_true", help="skip the build")
    parser.add_argument("--force", action="store_true", help="regenerate")
    args = parser.parse_args(argv)
    site = make_site(
        args.target,
        args.articles,
        args.comments,
        args.seed,
        build=not args.no_build,
        force=args.force,
    )
    print(f"site ready: {site.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
