"""Comment and feedback POST under load: this app against Isso 0.14.

    .venv/bin/python bench/post_load.py [--duration 10] [--warmup 2] [--clients 16]
        [--database sqlite,postgres] [--kinds comment,feedback] [--seeded]
        [--limits off,database,redis] [--workers sync,gthread|shipped]
        [--code LABEL=PATH[,LABEL=PATH...]]

Each server runs under gunicorn with 2 workers on 127.0.0.1, on a fresh
database, first with sync workers, then with gthread workers (``--threads
4``). 16 concurrent clients (one asyncio loop in this process, stdlib only,
keep-alive when the server allows it) post distinct comments for
``--warmup`` seconds (not counted) and then ``--duration`` seconds.
Reported: accepted posts/s, p50/p99 latency of all requests, errors (any
other answer, or none within 10 s), whether the database then holds exactly
one row per accepted post (warm-up included), and the resident memory
(VmRSS) of each gunicorn worker right after the load.

* This app, on SQLite (a fresh file) and on PostgreSQL (a fresh database of
  the server at ``--pg-url``, dropped afterwards), with every check on:
  - ``POST /comments``, the article page's form (form-encoded): Origin
    guard, honeypot (empty), a valid form ticket (``tickets.issue(page_url,
    now=time.time() - 60)``, as the page's script fetches one when the
    reader starts typing), form validation, Markdown + nh3 rendering,
    moderation rules, duplicate check, idempotency key, the authors'
    notification (the two bench authors are registered, mail is queued in
    the outbox). Names and addresses vary, so every comment is held for
    moderation (a first comment from an address, or one without address):
    no rebuilds run. Accepted = 303.
  - ``POST /feedback``, the private feedback form: Origin guard, honeypot,
    ticket, validation, the stored reply token, the authors' notification.
    Accepted = 303.
  The rate limits are off (``POST_LIMIT_PER_*`` = 0): every client here
  shares one address, 127.0.0.1, so the per-address limit would refuse all
  but 5 posts a minute. ``--limits database`` and ``--limits redis`` run
  the same loads with the limits as shipped (5 posts a minute per address,
  60 per article), counted in the post's write transaction or in the Redis
  of 127.0.0.1:6379 (under a key prefix of the run's own): 127.0.0.1 is
  then a trusted proxy and every post says, in ``X-Forwarded-For``, that it
  comes from an address of its own, as readers' posts do. The 1,000
  articles get about 17 posts a minute each, so none is refused: what the
  limits cost. The site index is the 1,000-article bench site's.
* Isso 0.14.0, installed from PyPI into ``bench/.isso-venv`` (made on first
  use): ``POST /new?uri=/bench/article-N/`` with a JSON comment, as its
  embed script sends it. Moderation on (held, like ours), its guard off (the
  guard is its rate limits, which load from one address would trip; rate
  limits are off for ours too). Threads are created on first use by fetching
  the article page from ``host``, a small static server in this process.
  Accepted = 201 or 202. Isso has SQLite only and no private feedback: both
  of ours are compared with its comment POST in the same run.

A/B (``--code base=/work/wt-a,other=/work/wt-b``): each of this app's runs
is repeated once per code version, each PATH a checkout of the project (a
git worktree). Its server is started with ``--chdir PATH`` and
``PYTHONPATH=PATH`` (gunicorn puts its folder first on ``sys.path``), so
that its workers import that checkout's ``feedback_app``; each worker says
which one it imported (``bench/code_probe.py``) and a run whose workers
imported another is an error. The versions alternate inside each round (A
B A B ...), in the opposite order every other round, so neither always goes
first; Isso runs once per round. The venv (gunicorn, the libraries) is this
checkout's, and so is the code that prepares each run (the migrations, the
authors, the form tickets): the versions compared must agree on the schema.
Printed per version: the median over rounds, the spread (min-max), the
ratio to the first version and to Isso. Without ``--code``, as before.

``--workers shipped``: this app with the worker class
``deploy/gunicorn.conf.py`` picks for its database (sync on SQLite, gthread
with 4 threads on PostgreSQL), Isso with both (each of ours is then judged
against Isso at its best).

Goal: this app at least 1.5x Isso's accepted posts/s, p99 under 100 ms, no
errors, exactly one row per accepted post, every worker under 100 MiB RSS
(VmRSS as /proc gives it, in KiB; ``max_peak_MiB`` is the highest VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import (
    BENCH,
    DEFAULT_SITE,
    ROOT,
    CpuMeter,
    OthersMeter,
    SiteLayout,
    app_config,
    app_env,
    machine,
    make_app,
    median,
    percentile,
    save_results,
    wait_quiet,
)
from make_site import AUTHORS, make_site

ISSO_VENV = BENCH / ".isso-venv"
ISSO_VERSION = "0.14.0"
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS_PER_CLIENT = 50_000
THREADS = 4
APP_SPEC = "feedback_app:create_app()"
ISSO_THREADS = 40  # article pages comments are spread over
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KINDS = ("comment", "feedback")
#: The worker class deploy/gunicorn.conf.py picks for each database.
SHIPPED_WORKERS = {"sqlite": "sync", "postgres": "gthread"}
CODE_PROBE = BENCH / "code_probe.py"
QUIET = 0.10  # a round is quiet if other processes used less of the machine

BuildRequest = Callable[[int, int], bytes]


# --------------------------------------------------------------------------
# The load client


@dataclass
class Load:
    """What one load phase saw."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    accepted: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)  # a few error answers
    client_cpu_s: float = 0.0
    machine_busy: float = 0.0
    others_busy: float = 0.0  # the part of it not ours (common.OthersMeter)

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "requests": len(self.latencies),
            "accepted": self.accepted,
            "accepted_per_s": self.accepted / self.seconds,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": percentile(self.latencies, 50) * 1000,
            "p90_ms": percentile(self.latencies, 90) * 1000,
            "p99_ms": percentile(self.latencies, 99) * 1000,
            "max_ms": max(self.latencies, default=float("nan")) * 1000,
            "client_cpu_s": self.client_cpu_s,
            "machine_busy": self.machine_busy,
            "others_busy": self.others_busy,
            "error_samples": self.samples,
        }


async def _exchange(
    port: int,
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    request: bytes,
) -> tuple[int, bytes, tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]:
    """Send one request (reusing ``conn`` if open); return status, body and
    the connection if the server keeps it open."""
    if conn is None:
        conn = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed before answering")
    status = int(status_line.split()[1])
    length = 0
    keep = True
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    if not keep:
        writer.close()
        return status, body, None
    return status, body, conn


async def _client(
    cid: int,
    port: int,
    build: BuildRequest,
    accept: set[int],
    deadline: float,
    load: Load,
) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    for n in range(MAX_REQUESTS_PER_CLIENT):
        if time.perf_counter() >= deadline:
            break
        request = build(cid, n)
        started = time.perf_counter()
        try:
            status, body, conn = await asyncio.wait_for(
                _exchange(port, conn, request), REQUEST_TIMEOUT
            )
        except (TimeoutError, OSError, ValueError, IndexError) as exc:
            status, body = 0, repr(exc).encode()
            if conn is not None:
                conn[1].close()
            conn = None
        load.latencies.append(time.perf_counter() - started)
        load.statuses[status] = load.statuses.get(status, 0) + 1
        if status in accept:
            load.accepted += 1
        else:
            load.errors += 1
            if len(load.samples) < 3:
                load.samples.append(
                    f"{status}: {body[:300].decode('utf-8', 'replace')}"
                )
    if conn is not None:
        conn[1].close()


def run_load(
    port: int, build: BuildRequest, accept: set[int], clients: int, seconds: float
) -> Load:
    """Run ``clients`` concurrent clients for ``seconds``; return what they saw."""
    load = Load(seconds)
    cpu = time.process_time()
    meter = CpuMeter()
    others = OthersMeter()

    async def everyone() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(c, port, build, accept, deadline, load) for c in range(clients))
        )

    asyncio.run(everyone())
    load.client_cpu_s = time.process_time() - cpu
    load.machine_busy = meter.busy()
    load.others_busy = others.share()
    return load


# --------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something answers HTTP on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET /nothing-here HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} in {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn master we started (it stops its workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def gunicorn_args(port: int, worker: str) -> list[str]:
    args = ["-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if worker == "gthread":
        args += ["-k", "gthread", "--threads", str(THREADS)]
    return args


def worker_memory(master: int) -> list[dict[str, int]]:
    """Return the memory of each child of process ``master`` (gunicorn's
    workers), from /proc/<pid>/status: VmRSS, VmHWM (its peak) and RssAnon
    (the part not shared with files), in kB."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        entry = {"pid": int(stat.parent.name)}
        for key in ("VmRSS", "VmHWM", "RssAnon"):
            entry[f"{key}_kB"] = int(values.get(key, "0 kB").split()[0])
        workers.append(entry)
    return sorted(workers, key=lambda w: w["pid"])


# --------------------------------------------------------------------------
# Databases


def pg_create(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as con:
            con.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    url = make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False)


def pg_drop(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as con:
            con.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


COMMENT_COUNTS = """
SELECT count(*), count(DISTINCT submission_key),
       sum(CASE WHEN state = 'approved' THEN 1 ELSE 0 END),
       sum(CASE WHEN state = 'spam' THEN 1 ELSE 0 END),
       -- what tickets.examine says of a missing, forged or too quick ticket
       sum(CASE WHEN reason LIKE '%ticket%' OR reason LIKE '%form was shown%'
           THEN 1 ELSE 0 END)
FROM comment
"""
COMMENT_COUNT_NAMES = ("rows", "distinct_keys", "approved", "spam", "ticket_findings")
FEEDBACK_COUNTS = """
SELECT count(*), sum(CASE WHEN state = 'spam' THEN 1 ELSE 0 END) FROM feedback
"""


def count_rows(url: str, kind: str) -> dict[str, int]:
    """Count what a run left in the app's database at ``url``."""
    from sqlalchemy import create_engine, text

    if kind == "comment":
        query, names = COMMENT_COUNTS, COMMENT_COUNT_NAMES
    else:
        query, names = FEEDBACK_COUNTS, ("rows", "spam")
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            counts = con.execute(text(query)).one()
            (mail,) = con.execute(text("SELECT count(*) FROM outbox_message")).one()
    finally:
        engine.dispose()
    rows = {name: int(value or 0) for name, value in zip(names, counts, strict=True)}
    rows["mail_queued"] = int(mail)
    return rows


@dataclass
class Target:
    """A server under test: how to start it, ask it, count its rows, and
    clean up after it."""

    name: str
    start: Callable[[int, str, Path], subprocess.Popen[bytes]]
    build: Callable[[int, str], BuildRequest]
    accept: set[int]
    rows: Callable[[Path], dict[str, int]]
    cleanup: Callable[[Path], None] = lambda tmp: None
    database: str | None = None  # this app's: "sqlite" or "postgres"
    group: str | None = None  # the name without the code version's label
    code: str | None = None  # the code version's label (--code)
    code_path: Path | None = None  # ... and its checkout


DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _shipped_limits() -> dict[str, Any]:
    """The rate limits as shipped, behind a proxy on 127.0.0.1."""
    from feedback_app.core import config

    return {
        "POST_LIMIT_PER_ADDRESS": config.POST_LIMIT_PER_ADDRESS,
        "POST_LIMIT_PER_ARTICLE": config.POST_LIMIT_PER_ARTICLE,
        "TRUSTED_PROXIES": ["127.0.0.1"],
    }


#: Each ``--limits``' settings, given the run's folder.
LIMITS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "off": lambda tmp: {},
    "database": lambda tmp: _shipped_limits(),
    "redis": lambda tmp: {
        **_shipped_limits(),
        "RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"talkback-bench:{tmp.name}:",
    },
}


def form_fields(
    kind: str, page_url: str, ticket: str, *, run: str, client: int, n: int
) -> dict[str, str]:
    """Return the form of ``kind`` ("comment" or "feedback") that client
    ``client`` of run ``run`` posts ``n``-th, on the article at ``page_url``
    (its site-relative URL, as the page's hidden field has it): distinct
    text, names and addresses (a third without one), submission keys."""
    if kind == "comment":
        fields = {
            "article": page_url,
            "parent": "",
            "submission_key": f"{run}-{client:02d}-{n:06d}",
            "body": f"Comment {n} from client {client} ({run}): I *liked* "
            "the part about `notes`.\n\n> quoted line\n\n"
            f"More at https://example.org/{n}",
            "name": f"Reader {client}-{n % 97}",
            "email": f"reader{client}.{n}@example.org" if n % 3 else "",
            "website": f"https://example.org/~r{client}" if n % 2 else "",
            "homepage": "",
            "ticket": ticket,
        }
        if n % 5 == 0:
            fields["remember"] = "y"
    else:
        fields = {
            "article": page_url,
            "message": f"Feedback {n} from client {client} ({run}): the "
            "part about notes was useful.\n\nOne question: how do you keep "
            "them short?",
            "name": f"Reader {client}-{n % 97}" if n % 2 else "",
            "email": f"reader{client}.{n}@example.org" if n % 3 else "",
            "homepage": "",
            "ticket": ticket,
        }
        if n % 4 == 0:
            fields["may_quote"] = "y"
    return fields


def add_authors(app: Any) -> None:
    """Register the bench site's authors in ``app``'s database, told of
    every post at once, as they would be."""
    from feedback_app.core.db import get_db
    from feedback_app.core.models import Author

    with get_db(app).write() as session:
        for n, author in enumerate(AUTHORS):
            session.add(
                Author(name=author, email=f"author{n}@example.org", notify="immediate")
            )


def ours(
    site: SiteLayout,
    kind: str = "comment",
    database: str = "sqlite",
    *,
    pg_url: str = PG_ADMIN_URL,
    app_spec: str = APP_SPEC,
    seeded: bool = False,
    limits: str = "off",
    code: tuple[str, Path] | None = None,
) -> Target:
    """This app under gunicorn, on a fresh database: a SQLite file, or a new
    PostgreSQL database; ``seeded``: a copy of the bench site's SQLite file
    (10,000 approved comments). ``kind`` is what the clients post:
    "comment" or "feedback". ``code``: a label and a checkout of the project
    whose ``feedback_app`` the server runs (``--code``); None: this one's."""
    articles = list(json.loads(site.site_index.read_text())["articles"])
    app_of: dict[int, Any] = {}  # by port: the app that signs its tickets

    def db_name(tmp: Path) -> str:
        return "bench_" + re.sub(r"[^a-z0-9_]", "_", tmp.name.lower())

    def db_url(tmp: Path) -> str:
        if database == "sqlite":
            return f"sqlite:///{tmp / 'feedback.sqlite3'}"
        from sqlalchemy.engine import make_url

        url = make_url(pg_url).set(database=db_name(tmp))
        return url.render_as_string(hide_password=False)

    def start(port: int, worker: str, tmp: Path) -> subprocess.Popen[bytes]:
        from feedback_app.core.db import get_db, upgrade

        if database == "postgres":
            pg_create(pg_url, db_name(tmp))
        elif seeded:
            shutil.copyfile(site.database, tmp / "feedback.sqlite3")
        config = app_config(
            site,
            DATABASE_URL=db_url(tmp),
            SITE_URL=f"http://127.0.0.1:{port}",
            # Nothing is approved here; if something were, its rebuild must
            # not touch the bench site's comments.
            COMMENTS_PATH=str(tmp / "comments"),
            OUTPUT_PATH=str(tmp / "output"),
            **LIMITS[limits](tmp),
        )
        app = make_app(SiteLayout(tmp), **config)
        upgrade(app)
        add_authors(app)
        get_db(app).dispose()
        app_of[port] = app
        env = app_env(SiteLayout(tmp), config)
        # So that ``--app module:factory()`` can name a module in bench/;
        # with --code, the checkout's code first (gunicorn's --chdir puts it
        # at the head of sys.path too).
        checkout = code[1] if code else None
        env["PYTHONPATH"] = os.pathsep.join(
            filter(
                None,
                [str(checkout or ""), str(BENCH), os.environ.get("PYTHONPATH")],
            )
        )
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), *gunicorn_args(port, worker)]
        if checkout is not None:
            cmd += ["-c", str(CODE_PROBE), "--chdir", str(checkout)]
        cmd.append(app_spec)
        log = (tmp / "gunicorn.log").open("wb")
        return subprocess.Popen(
            cmd, cwd=checkout or ROOT, env=env, stdout=log, stderr=log
        )

    def build(port: int, run: str) -> BuildRequest:
        from feedback_app.readers import tickets

        app = app_of[port]
        origin = f"http://127.0.0.1:{port}"
        rng = random.Random(run)  # noqa: S311 (test data, not secrets)

        def request(client: int, n: int) -> bytes:
            page_url = articles[rng.randrange(len(articles))]["page_url"]
            # As if the page's script had fetched it when the reader began
            # typing a minute ago: past FORM_MIN_SECONDS, so no finding.
            with app.app_context():
                ticket = tickets.issue(page_url, now=time.time() - 60)
            fields = form_fields(kind, page_url, ticket, run=run, client=client, n=n)
            body = urlencode(fields).encode()
            # Behind the "proxy" (--limits), each post from an address of its own.
            sender = f"10.{client}.{n >> 8 & 255}.{n & 255}"
            head = (
                f"POST /{kind.replace('comment', 'comments')} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n"
                f"X-Forwarded-For: {sender}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            )
            return head.encode() + body

        return request

    def rows(tmp: Path) -> dict[str, int]:
        return count_rows(db_url(tmp), kind)

    def cleanup(tmp: Path) -> None:
        app_of.clear()  # runs come one at a time
        if database == "postgres":
            pg_drop(pg_url, db_name(tmp))

    name = f"talkback {kind}, {DATABASE_NAMES[database]}"
    name += ", bench DB" if seeded else ""
    name += f", limits in {limits}" if limits != "off" else ""
    group = name
    name += f" [{code[0]}]" if code else ""
    return Target(
        name,
        start,
        build,
        {303},
        rows,
        cleanup,
        database=database,
        group=group,
        code=code[0] if code else None,
        code_path=code[1] if code else None,
    )


class _ArticlePage(BaseHTTPRequestHandler):
    """Every path is an article page with an Isso thread (for thread titles)."""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><title>Bench article</title>"
            f'<div id="isso-thread" data-title="Article {self.path}"></div>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def ensure_isso() -> Path:
    """Return Isso's gunicorn, installing Isso into its own venv if needed."""
    gunicorn = ISSO_VENV / "bin" / "gunicorn"
    python = ISSO_VENV / "bin" / "python"
    if gunicorn.exists() and (ISSO_VENV / "bin" / "isso").exists():
        return gunicorn
    print(f"installing isso=={ISSO_VERSION} into {ISSO_VENV} ...")
    subprocess.run([sys.executable, "-m", "venv", str(ISSO_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            f"isso=={ISSO_VERSION}",
            "gunicorn",
        ],
        check=True,
        timeout=600,
    )
    return gunicorn


def isso_env(tmp: Path, host: str, port: int, *, moderation: bool) -> dict[str, str]:
    """Write Isso's settings into ``tmp`` (its database there, threads
    titled from pages at ``host``, listening on ``port``, its guard off),
    create its database (see ``init_isso``); return the environment that
    points Isso at them."""
    cfg = tmp / "isso.cfg"
    cfg.write_text(
        "[general]\n"
        f"dbpath = {tmp / 'isso.db'}\n"
        f"host = {host}/\n"
        "notify = stdout\n"
        "gravatar = false\n"
        f"[moderation]\nenabled = {str(moderation).lower()}\n"
        "[guard]\nenabled = false\n"
        f"[server]\nlisten = http://127.0.0.1:{port}\n"
    )
    env = {**os.environ, "ISSO_SETTINGS": str(cfg)}
    init_isso(env, tmp)
    return env


def init_isso(env: dict[str, str], tmp: Path) -> None:
    """Create Isso's database before its workers start: two workers that both
    find it missing race to fill its preferences table, and one of them dies
    of "UNIQUE constraint failed: preferences.key", taking gunicorn down."""
    python = ISSO_VENV / "bin" / "python"
    subprocess.run(
        [str(python), "-c", "import isso.run"],
        cwd=tmp,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )


def isso(pages_port: int) -> Target:
    """Isso 0.14 under gunicorn (its own venv), on a fresh database."""
    host = f"http://127.0.0.1:{pages_port}"

    def start(port: int, worker: str, tmp: Path) -> subprocess.Popen[bytes]:
        gunicorn = ensure_isso()
        env = isso_env(tmp, host, port, moderation=True)
        cmd = [str(gunicorn), *gunicorn_args(port, worker), "isso.run:application"]
        log = (tmp / "gunicorn.log").open("wb")
        return subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=log)

    def build(port: int, run: str) -> BuildRequest:
        rng = random.Random(run)  # noqa: S311 (test data, not secrets)

        def request(client: int, n: int) -> bytes:
            uri = f"/bench/article-{rng.randrange(ISSO_THREADS)}/"
            comment = {
                "text": f"Comment {n} from client {client} ({run}): I *liked* the part "
                f"about `notes`.\n\n> quoted line\n\nMore at https://example.org/{n}",
                "author": f"Reader {client}-{n % 97}",
                "email": f"reader{client}.{n}@example.org" if n % 3 else None,
                "website": f"https://example.org/~r{client}" if n % 2 else None,
                "parent": None,
                "title": None,
                "notification": 0,
            }
            body = json.dumps(comment).encode()
            head = (
                f"POST /new?uri={uri} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: {host}\r\nReferer: {host}{uri}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            )
            return head.encode() + body

        return request

    def rows(tmp: Path) -> dict[str, int]:
        with sqlite3.connect(tmp / "isso.db") as con:
            (total,) = con.execute("SELECT count(*) FROM comments").fetchone()
            (approved,) = con.execute(
                "SELECT count(*) FROM comments WHERE mode = 1"
            ).fetchone()
        return {"rows": total, "approved": approved}

    return Target(f"Isso {ISSO_VERSION}", start, build, {201, 202}, rows)


def check_code(log: str, checkout: Path) -> list[str]:
    """Return the ``feedback_app`` files the workers said they imported
    (``code_probe.py``'s lines in ``log``).

    :raise RuntimeError: if no worker said, or one imported another
        checkout's: the run measured the wrong code.
    """
    from code_probe import MARK

    files = sorted(
        {line.split(" ", 2)[2] for line in log.splitlines() if line.startswith(MARK)}
    )
    expected = str((checkout / "feedback_app" / "__init__.py").resolve())
    if not files or files != [expected]:
        raise RuntimeError(
            f"the workers imported {files or 'nothing they said'}, not {expected}"
        )
    return files


def describe_code(label: str, checkout: Path) -> dict[str, Any]:
    """The commit a code version's checkout is at, and its changed files."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout

    entry: dict[str, Any] = {"label": label, "path": str(checkout)}
    try:
        entry["commit"] = git("rev-parse", "--short", "HEAD").strip()
        entry["branch"] = git("rev-parse", "--abbrev-ref", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
        entry["changed_files"] = [line[3:] for line in changed]
    except (OSError, subprocess.SubprocessError):
        pass
    return entry


def parse_codes(value: str | None) -> list[tuple[str, Path]]:
    """Read ``--code LABEL=PATH[,LABEL=PATH...]``.

    :raise ValueError: for a malformed entry, a repeated label, or a PATH
        that holds no ``feedback_app``.
    """
    if not value:
        return []
    codes: list[tuple[str, Path]] = []
    for entry in value.split(","):
        label, sep, path = entry.partition("=")
        label, path = label.strip(), path.strip()
        if not sep or not label or not path:
            raise ValueError(f"--code wants LABEL=PATH, not {entry!r}")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", label):
            raise ValueError(f"--code: a label of letters, digits, . _ -: {label!r}")
        checkout = Path(path).expanduser().resolve()
        if not (checkout / "feedback_app" / "__init__.py").is_file():
            raise ValueError(f"--code: no feedback_app in {checkout}")
        if label in {c[0] for c in codes}:
            raise ValueError(f"--code: label {label!r} given twice")
        codes.append((label, checkout))
    return codes


def make_plan(
    rounds: int,
    workers: list[str],
    targets: list[list[Target]],
    *,
    seeded: list[Target] | None = None,
) -> list[tuple[str, Target]]:
    """Return the runs, in order: ``rounds`` rounds; in each, every worker
    class in turn, and for each every target. A target is a list of code
    versions (one without ``--code``), run one after the other, in the
    opposite order every other round. ``workers`` ["shipped"]: this app's
    targets with the class deploy/gunicorn.conf.py picks for their database,
    Isso's with both. ``seeded``: the bench-DB target's versions, after the
    others with sync workers."""

    def classes(target: Target) -> list[str]:
        if workers != ["shipped"]:
            return workers
        if target.database is None:  # Isso
            return ["sync", "gthread"]
        return [SHIPPED_WORKERS[target.database]]

    order: list[str] = []
    for t in targets:
        order += [w for w in classes(t[0]) if w not in order]
    if seeded and "sync" not in order:
        order.append("sync")
    plan = []
    for rnd in range(rounds):  # rounds interleaved, so drift hits all alike
        for worker in order:
            for versions in targets:
                if worker in classes(versions[0]):
                    ordered = versions if rnd % 2 == 0 else versions[::-1]
                    plan += [(worker, t) for t in ordered]
            if seeded and worker == "sync":
                ordered = seeded if rnd % 2 == 0 else seeded[::-1]
                plan += [(worker, t) for t in ordered]
    return plan


def measure(
    target: Target,
    worker: str,
    clients: int,
    warmup: float,
    duration: float,
    max_wait: float,
) -> dict[str, Any]:
    """Start ``target`` fresh, load it, stop it, check its rows."""
    with tempfile.TemporaryDirectory(prefix="post-load-") as folder:
        tmp = Path(folder)
        port = free_port()
        try:
            proc = target.start(port, worker, tmp)
            try:
                wait_http(port, proc)
                before = target.rows(tmp)  # a seeded database has rows already
                # Every phase its own run id: submission keys never repeat.
                run = uuid.uuid4().hex[:12]
                quiet = wait_quiet(max_wait=max_wait)
                build = target.build(port, f"{run}-w")
                warm = run_load(port, build, target.accept, clients, warmup)
                build = target.build(port, f"{run}-m")
                load = run_load(port, build, target.accept, clients, duration)
                memory = worker_memory(proc.pid)
            finally:
                stop(proc)
                log = (tmp / "gunicorn.log").read_text(errors="replace")
            rows = target.rows(tmp)
        finally:
            target.cleanup(tmp)
    result = {"server": target.name, "worker": worker, **load.summary()}
    if target.code_path is not None:
        result["target"] = target.group
        result["code"] = target.code
        result["code_files"] = check_code(log, target.code_path)
    result["busy_before"] = quiet
    result["warmup_accepted"] = warm.accepted
    result["warmup_errors"] = warm.errors
    result["warmup_error_samples"] = warm.samples
    result["workers_memory"] = memory
    result["max_rss_MiB"] = max((w["VmRSS_kB"] for w in memory), default=0) / 1024
    expected = warm.accepted + load.accepted
    rows = {key: value - before.get(key, 0) for key, value in rows.items()}
    result["db"] = rows
    result["expected_rows"] = expected
    result["exact_rows"] = rows["rows"] == expected and (
        rows.get("distinct_keys", rows["rows"]) == rows["rows"]
    )
    # Ours only: every post went the normal way (no spam, no ticket finding).
    result["normal_path"] = (
        rows.get("spam", 0) == 0 and rows.get("ticket_findings", 0) == 0
    )
    if not result["exact_rows"] or load.errors or warm.errors:
        result["server_log_tail"] = log[-2000:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=DEFAULT_SITE)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--workers",
        default="sync,gthread",
        help="gunicorn worker classes to try, comma-separated: sync, gthread; "
        "or shipped (ours: the class deploy/gunicorn.conf.py picks for the "
        "database; Isso: both)",
    )
    parser.add_argument(
        "--database",
        default="sqlite,postgres",
        help="this app's databases, comma-separated: sqlite, postgres",
    )
    parser.add_argument(
        "--kinds",
        default="comment,feedback",
        help="what this app is sent, comma-separated: comment, feedback",
    )
    parser.add_argument(
        "--limits",
        default="off",
        help="this app's rate limits, comma-separated: off, database (counted "
        "in the post's transaction), redis (counted in Redis); on, they are "
        "as shipped and every post comes from an address of its own",
    )
    parser.add_argument(
        "--pg-url",
        default=PG_ADMIN_URL,
        help="a PostgreSQL database to connect to; each run creates (and "
        "drops) a database of its own on that server",
    )
    parser.add_argument("--only", choices=("ours", "isso"), help="run one server only")
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="also run this app (sync, comments, SQLite) on a copy of the bench "
        "site's database",
    )
    parser.add_argument("--rounds", type=int, default=3, help="repeat everything")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=120.0,
        help="seconds to wait, before each run, for the machine to go quiet",
    )
    parser.add_argument("--app", default=APP_SPEC, help="gunicorn app spec to try")
    parser.add_argument(
        "--code",
        help="A/B: LABEL=PATH[,LABEL=PATH...], each PATH a checkout of the "
        "project (a git worktree) whose feedback_app this app's servers run; "
        "each of our runs is repeated per version, alternating; ratios to the "
        "first",
    )
    args = parser.parse_args(argv)
    try:
        codes = parse_codes(args.code)
    except ValueError as exc:
        parser.error(str(exc))
    workers = [w for w in args.workers.split(",") if w]
    if workers != ["shipped"] and (not workers or set(workers) - {"sync", "gthread"}):
        parser.error("--workers: sync, gthread, or shipped alone")
    databases = [d for d in args.database.split(",") if d]
    kinds = [k for k in args.kinds.split(",") if k]
    limits = [v for v in args.limits.split(",") if v]
    for value, allowed in (
        (databases, DATABASE_NAMES),
        (kinds, KINDS),
        (limits, LIMITS),
    ):
        if not value or set(value) - set(allowed):
            parser.error(f"choose from {', '.join(allowed)}")
    site = make_site(args.target)

    pages = ThreadingHTTPServer(("127.0.0.1", 0), _ArticlePage)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    versions: list[tuple[str, Path] | None] = list(codes) or [None]
    mine = [
        [
            ours(
                site,
                kind,
                database,
                pg_url=args.pg_url,
                app_spec=args.app,
                limits=lim,
                code=code,
            )
            for code in versions
        ]
        for lim in limits
        for database in databases
        for kind in kinds
    ]
    theirs = [[isso(pages.server_address[1])]]
    targets = {"ours": mine, "isso": theirs}.get(args.only or "", mine + theirs)
    seeded = [ours(site, app_spec=args.app, seeded=True, code=c) for c in versions]
    plan = make_plan(
        args.rounds,
        workers,
        targets,
        seeded=seeded if args.seeded and args.only != "isso" else None,
    )
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["bench/post_load.py", *(argv or sys.argv[1:])]),
        "clients": args.clients,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
    }
    if codes:
        results["codes"] = [describe_code(label, path) for label, path in codes]
        for entry in results["codes"]:
            print(
                f"code {entry['label']}: {entry['path']} at "
                f"{entry.get('branch', '?')} {entry.get('commit', '?')}"
                + (
                    f", changed: {entry['changed_files']}"
                    if entry.get("changed_files")
                    else ""
                ),
                flush=True,
            )
    print(f"{len(plan)} runs planned", flush=True)
    runs = []
    started = time.monotonic()
    try:
        for worker, target in plan:
            print(f"{target.name}, gunicorn -w 2 {worker} ...", flush=True)
            r = measure(
                target, worker, args.clients, args.warmup, args.duration, args.max_wait
            )
            runs.append(r)
            print(
                f"  {r['accepted_per_s']:.0f} accepted posts/s, p50 "
                f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors "
                f"{r['errors']}, rows {r['db']['rows']}/{r['expected_rows']} "
                f"({'exact' if r['exact_rows'] else 'NOT EXACT'}), "
                f"{'' if r['normal_path'] else 'NOT ALL NORMAL, '}"
                f"mail {r['db'].get('mail_queued', '-')}, worker RSS "
                + "/".join(f"{w['VmRSS_kB'] / 1024:.0f}" for w in r["workers_memory"])
                + f" MiB, client CPU {r['client_cpu_s']:.1f} s, machine busy "
                f"{r['machine_busy']:.0%}, others {r['others_busy']:.0%} (before: "
                f"{r['busy_before']:.0%})",
                flush=True,
            )
            for sample in r["error_samples"]:
                print(f"    error: {sample}")
            if r.get("code_files"):
                print(f"    ran {r['code_files'][0]}", flush=True)
    finally:
        pages.shutdown()
    results["took_s"] = time.monotonic() - started
    results["runs"] = runs
    summary = aggregate(runs)
    results["summary"] = [
        {"server": server, "worker": worker, **a}
        for (server, worker), a in summary.items()
    ]
    results["goals"] = goals(summary)
    if codes:
        results["versions"] = compare_versions(summary, [c[0] for c in codes])
    path = save_results("post_load", results)
    report(summary, results["goals"])
    if codes:
        report_versions(results["versions"])
    print(f"\nresults: {path}")
    return 0


def aggregate(runs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Combine the rounds of each (server, worker): medians, worst cases."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["server"], r["worker"]), []).append(r)
    return {
        key: {
            "target": rs[0].get("target", key[0]),
            "code": rs[0].get("code"),
            "rounds": len(rs),
            "accepted_per_s": median([r["accepted_per_s"] for r in rs]),
            "accepted_per_s_all": [round(r["accepted_per_s"]) for r in rs],
            "accepted_per_s_min": min(r["accepted_per_s"] for r in rs),
            "accepted_per_s_max": max(r["accepted_per_s"] for r in rs),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "p99_ms_worst": max(r["p99_ms"] for r in rs),
            "posts": sum(r["requests"] for r in rs),
            "errors": sum(r["errors"] + r["warmup_errors"] for r in rs),
            "exact_rows": all(r["exact_rows"] for r in rs),
            "normal_path": all(r["normal_path"] for r in rs),
            "rows": sum(r["db"]["rows"] for r in rs),
            "mail_queued": sum(r["db"].get("mail_queued", 0) for r in rs),
            "max_rss_MiB": max(r["max_rss_MiB"] for r in rs),
            "max_peak_MiB": max(
                (w["VmHWM_kB"] for r in rs for w in r["workers_memory"]), default=0
            )
            / 1024,
            "machine_busy_max": max(r["machine_busy"] for r in rs),
            "others_busy": [round(r["others_busy"], 2) for r in rs],
            # Rounds in which other processes used under 10 % of the machine
            "quiet_rounds": sum(r["others_busy"] < QUIET for r in rs),
            "accepted_per_s_quiet": median(
                [r["accepted_per_s"] for r in rs if r["others_busy"] < QUIET]
            ),
            "p99_ms_quiet": median(
                [r["p99_ms"] for r in rs if r["others_busy"] < QUIET]
            ),
        }
        for key, rs in groups.items()
    }


def goals(summary: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge each of this app's variants against Isso: with the same workers,
    and against Isso with whichever workers served it best in this run. The
    goal's ratio is the second, the stricter when the two differ: each server
    as it runs best."""
    isso = {w: a for (s, w), a in summary.items() if s.startswith("Isso")}
    best = max(isso, key=lambda w: isso[w]["accepted_per_s"], default=None)
    verdicts = []
    for (server, worker), a in summary.items():
        if not server.startswith("talkback"):
            continue
        theirs = isso.get(worker)
        ratio = a["accepted_per_s"] / theirs["accepted_per_s"] if theirs else None
        ratio_best = (
            a["accepted_per_s"] / isso[best]["accepted_per_s"] if best else None
        )
        quiet = (
            a["accepted_per_s_quiet"] / theirs["accepted_per_s_quiet"]
            if theirs and a["quiet_rounds"] and theirs["quiet_rounds"]
            else None
        )
        checks = {
            "ratio >= 1.5": ratio_best is not None and ratio_best >= 1.5,
            "p99 < 100 ms": a["p99_ms"] < 100,
            "no errors": a["errors"] == 0,
            "exact rows": a["exact_rows"],
            "normal path": a["normal_path"],
            "RSS < 100 MiB": a["max_rss_MiB"] < 100,
        }
        verdicts.append(
            {
                "server": server,
                "worker": worker,
                "ratio": ratio,
                "ratio_quiet_rounds": quiet,
                "ratio_to_best_isso": ratio_best,
                "best_isso_worker": best,
                "checks": checks,
                "met": all(checks.values()),
            }
        )
    return verdicts


def compare_versions(
    summary: dict[tuple[str, str], dict[str, Any]], labels: list[str]
) -> list[dict[str, Any]]:
    """For each of this app's targets and worker classes, each code
    version's median posts/s, its spread over rounds (min-max), and its
    ratio to the first version's and to Isso's (with the same workers, and
    at Isso's best in this run)."""
    isso = {w: a for (s, w), a in summary.items() if s.startswith("Isso")}
    best = max(isso.values(), key=lambda a: a["accepted_per_s"], default=None)
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for (_, worker), a in summary.items():
        if a.get("code") is not None:
            groups.setdefault((a["target"], worker), {})[a["code"]] = a
    rows = []
    for (target, worker), by_label in groups.items():
        first = by_label.get(labels[0])
        for label in labels:
            a = by_label.get(label)
            if a is None:
                continue
            rows.append(
                {
                    "target": target,
                    "worker": worker,
                    "code": label,
                    "rounds": a["rounds"],
                    "accepted_per_s": a["accepted_per_s"],
                    "accepted_per_s_all": a["accepted_per_s_all"],
                    "min": a["accepted_per_s_min"],
                    "max": a["accepted_per_s_max"],
                    "spread": (a["accepted_per_s_max"] - a["accepted_per_s_min"])
                    / a["accepted_per_s"]
                    if a["accepted_per_s"]
                    else None,
                    "ratio_to_first": a["accepted_per_s"] / first["accepted_per_s"]
                    if first and first["accepted_per_s"]
                    else None,
                    "ratio_to_isso": a["accepted_per_s"]
                    / isso[worker]["accepted_per_s"]
                    if worker in isso
                    else None,
                    "ratio_to_best_isso": a["accepted_per_s"] / best["accepted_per_s"]
                    if best
                    else None,
                    "p99_ms": a["p99_ms"],
                    "errors": a["errors"],
                    "exact_rows": a["exact_rows"],
                }
            )
    return rows


def report_versions(rows: list[dict[str, Any]]) -> None:
    """Print the code versions side by side (``--code``)."""
    print(
        "\n== Code versions: median posts/s over rounds, spread (min-max), "
        "ratio to the first version and to Isso =="
    )
    wide = max([34, *(len(r["target"]) for r in rows)])
    code = max([8, *(len(r["code"]) for r in rows)])
    print(
        f"{'target':<{wide}} {'worker':<8} {'code':<{code}} {'posts/s':>8} "
        f"{'min-max':>11} {'spread':>6} {'vs first':>8} {'vs Isso':>7} "
        f"{'best':>5} {'p99 ms':>7}  rounds"
    )
    for r in rows:

        def x(value: float | None) -> str:
            return f"{value:.2f}x" if value is not None else "-"

        print(
            f"{r['target']:<{wide}} {r['worker']:<8} {r['code']:<{code}} "
            f"{r['accepted_per_s']:>8.0f} "
            f"{r['min']:>5.0f}-{r['max']:<5.0f} "
            f"{(r['spread'] or 0):>6.0%} {x(r['ratio_to_first']):>8} "
            f"{x(r['ratio_to_isso']):>7} {x(r['ratio_to_best_isso']):>5} "
            f"{r['p99_ms']:>7.1f}  {r['accepted_per_s_all']}"
            + ("" if r["exact_rows"] and not r["errors"] else "  NOT EXACT/ERRORS")
        )


def report(
    summary: dict[tuple[str, str], dict[str, Any]], verdicts: list[dict[str, Any]]
) -> None:
    """Print the figures against the goals."""
    print("\n== POST under load: medians over rounds ==")
    wide = max([40, *(len(server) for server, _ in summary)])
    print(
        f"{'server':<{wide}} {'worker':<8} {'posts/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'worst p99':>9} {'errors':>6} {'RSS MiB':>7} {'quiet':>5}  rows"
    )
    for (server, worker), a in summary.items():
        print(
            f"{server:<{wide}} {worker:<8} {a['accepted_per_s']:>8.0f} "
            f"{a['p50_ms']:>7.1f} {a['p99_ms']:>7.1f} {a['p99_ms_worst']:>9.1f} "
            f"{a['errors']:>6} {a['max_rss_MiB']:>7.1f} "
            f"{a['quiet_rounds']:>2}/{a['rounds']:<2}  {a['rows']} "
            + ("exact" if a["exact_rows"] else "NOT EXACT")
        )
    print(
        "\nGoals: >= 1.5x Isso (with the workers that served it best), "
        "p99 < 100 ms, no errors, one row per accepted post, every post on the "
        "normal path, RSS per worker < 100 MiB"
    )
    for v in verdicts:
        shown = (
            f"{v['ratio']:.2f}x Isso {v['worker']}" if v["ratio"] else "Isso not run"
        )
        if v["ratio_quiet_rounds"]:
            shown += f" ({v['ratio_quiet_rounds']:.2f}x in quiet rounds)"
        if v["ratio_to_best_isso"] and v["best_isso_worker"] != v["worker"]:
            shown += (
                f", {v['ratio_to_best_isso']:.2f}x Isso at its best"
                f" ({v['best_isso_worker']})"
            )
        checks = ", ".join(
            f"{k}: {'met' if ok else 'MISSED'}" for k, ok in v["checks"].items()
        )
        print(f"{v['server']}, {v['worker']}: {shown}; {checks}")


if __name__ == "__main__":
    sys.exit(main())
