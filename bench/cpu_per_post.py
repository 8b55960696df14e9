"""CPU per post, in-process: the app's own and PostgreSQL's, without HTTP or load.

    .venv/bin/python bench/cpu_per_post.py [--posts 1000] [--kind comment]
        [--database postgres|sqlite]

    # instructions instead of seconds (steady on a shared machine):
    valgrind --tool=callgrind --instr-atstart=no \\
        .venv/bin/python bench/cpu_per_post.py --posts 200 --callgrind

The app is made as ``post_load.py`` makes it (the 1,000-article bench site,
its two authors registered, so every post queues their mail), on a fresh
database: a new PostgreSQL database on ``--pg-url`` (dropped afterwards) or
a SQLite file. The posts are the bench's own forms, built beforehand, and go
straight to the WSGI app one after another: 100 to warm up, then
``--posts`` measured. Reported per measured post: the process's user and
system CPU, and the CPU of the PostgreSQL backends serving this database
(``/proc/<pid>/stat``). ``--callgrind`` switches valgrind's
instrumentation on for the measured posts only (``callgrind_control``):
valgrind's summary then counts their instructions, to be divided by
``--posts``.

To compare two commits: check the other out with ``git worktree add
/tmp/old <commit>`` and run this script with ``PYTHONPATH=/tmp/old`` (the
app is then imported from there), alternating with runs of this checkout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import DEFAULT_SITE, SiteLayout, make_app
from post_load import PG_ADMIN_URL, add_authors, form_fields, pg_create, pg_drop

ORIGIN = "http://127.0.0.1:9"


def forms(site: SiteLayout, app: Any, kind: str, count: int) -> list[bytes]:
    """Return ``count`` distinct form bodies of ``kind``, post_load.py's own."""
    from feedback_app.readers import tickets

    articles = list(json.loads(site.site_index.read_text())["articles"])
    rng = random.Random(1)  # noqa: S311 (test data)
    bodies = []
    with app.app_context():
        for n in range(count):
            page_url = articles[rng.randrange(len(articles))]["page_url"]
            ticket = tickets.issue(page_url, now=time.time() - 60)
            fields = form_fields(kind, page_url, ticket, run="cpu", client=0, n=n)
            bodies.append(urlencode(fields).encode())
    return bodies


def post(app: Any, path: str, body: bytes) -> None:
    """Send one form to the WSGI app; fail unless it is accepted (303)."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "9",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:9",
        "HTTP_ORIGIN": ORIGIN,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    statuses: list[str] = []
    b"".join(app.wsgi_app(environ, lambda s, h, e=None: statuses.append(s)))
    if not statuses[0].startswith("303"):
        raise RuntimeError(f"post refused: {statuses[0]}")


def backends_cpu(admin_url: str, database: str) -> float:
    """Seconds of CPU used so far by the PostgreSQL backends of ``database``."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as connection:
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # another host's server: not counted
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def callgrind(switch: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", switch, str(os.getpid())],
        check=True,
        capture_output=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--kind", choices=("comment", "feedback"), default="comment")
    parser.add_argument(
        "--database", choices=("postgres", "sqlite"), default="postgres"
    )
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args(argv)

    from feedback_app.core.db import get_db, upgrade

    site = SiteLayout(DEFAULT_SITE)
    tmp = Path(tempfile.mkdtemp(prefix="cpu-per-post-"))
    name = f"bench_cpu_{uuid.uuid4().hex[:8]}"
    if args.database == "postgres":
        url = pg_create(args.pg_url, name)
    else:
        url = f"sqlite:///{tmp / 'feedback.sqlite3'}"
    try:
        app = make_app(
            SiteLayout(tmp),
            DATABASE_URL=url,
            SITE_URL=ORIGIN,
            SITE_INDEX_PATH=str(site.site_index),
            COMMENTS_PATH=str(tmp / "comments"),
            OUTPUT_PATH=str(tmp / "output"),
        )
        upgrade(app)
        add_authors(app)
        path = "/comments" if args.kind == "comment" else "/feedback"
        bodies = forms(site, app, args.kind, args.posts + 100)
        for body in bodies[:100]:
            post(app, path, body)
        pg = args.database == "postgres"
        pg_before = backends_cpu(args.pg_url, name) if pg else 0.0
        if args.callgrind:
            callgrind("on")
        before, wall = os.times(), time.perf_counter()
        for body in bodies[100:]:
            post(app, path, body)
        after, wall = os.times(), time.perf_counter() - wall
        if args.callgrind:
            callgrind("off")
        pg_after = backends_cpu(args.pg_url, name) if pg else 0.0
        get_db(app).dispose()
    finally:
        if args.database == "postgres":
            pg_drop(args.pg_url, name)
    per = 1000 / args.posts
    print(
        f"{args.kind}, {args.database}, {args.posts} posts: per post, app "
        f"{(after.user - before.user) * per:.3f} ms user + "
        f"{(after.system - before.system) * per:.3f} ms system, PostgreSQL "
        f"{(pg_after - pg_before) * per:.3f} ms, wall {wall * per:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
