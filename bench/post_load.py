"""Comment POST throughput under load: this app against Isso 0.14.

    .venv/bin/python bench/post_load.py [--duration 10] [--warmup 2] [--clients 16]

Each server runs under gunicorn with 2 workers on 127.0.0.1, on a fresh
SQLite database, first with sync workers, then with gthread workers
(``--threads 4``). 16 concurrent clients (one asyncio loop in this process,
stdlib only, keep-alive when the server allows it) post distinct comments
for ``--warmup`` seconds (not counted) and then ``--duration`` seconds.
Reported: accepted posts/s, p50/p99 latency of all requests, errors (any
other answer, or none within 10 s), and whether the database then holds
exactly one row per accepted post (warm-up included).

* This app: ``POST /comments``, the article page's form (form-encoded) with
  every check on: Origin guard, honeypot (empty), form validation, Markdown
  + nh3 rendering, moderation rules, duplicate check, idempotency key.
  Names and addresses vary, so every comment is held for moderation (a first
  comment from an address, or one without address): no rebuilds run.
  Accepted = 303. The site index is the 1,000-article bench site's.
* Isso 0.14.0, installed from PyPI into ``bench/.isso-venv`` (made on first
  use): ``POST /new?uri=/bench/article-N/`` with a JSON comment, as its
  embed script sends it. Moderation on (held, like ours), its guard off (the
  guard is its rate limits, which load from one address would trip; rate
  limits are off for ours too). Threads are created on first use by fetching
  the article page from ``host``, a small static server in this process.
  Accepted = 201 or 202.

Goal: this app at least 1.5x Isso's accepted posts/s, p99 under 100 ms, no
errors, exactly one row per accepted post.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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
from make_site import make_site

ISSO_VENV = BENCH / ".isso-venv"
ISSO_VERSION = "0.14.0"
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS_PER_CLIENT = 50_000
THREADS = 4
APP_SPEC = "feedback_app:create_app()"
ISSO_THREADS = 40  # article pages comments are spread over

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

    async def everyone() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(c, port, build, accept, deadline, load) for c in range(clients))
        )

    asyncio.run(everyone())
    load.client_cpu_s = time.process_time() - cpu
    load.machine_busy = meter.busy()
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


@dataclass
class Target:
    """A server under test: how to start it, ask it, and count its rows."""

    name: str
    start: Callable[[int, str, Path], subprocess.Popen[bytes]]
    build: Callable[[int, str], BuildRequest]
    accept: set[int]
    rows: Callable[[Path], dict[str, int]]


def ours(site: SiteLayout, app_spec: str = APP_SPEC, seeded: bool = False) -> Target:
    """This app under gunicorn, on a fresh database (or, ``seeded``, on a copy
    of the bench site's: 10,000 approved comments)."""
    slugs = list(json.loads(site.site_index.read_text())["articles"])

    def start(port: int, worker: str, tmp: Path) -> subprocess.Popen[bytes]:
        config = app_config(
            site,
            DATABASE_URL=f"sqlite:///{tmp / 'feedback.sqlite3'}",
            SITE_URL=f"http://127.0.0.1:{port}",
            # Nothing is approved here; if something were, its rebuild must
            # not touch the bench site's comments.
            COMMENTS_PATH=str(tmp / "comments"),
            OUTPUT_PATH=str(tmp / "output"),
        )
        from feedback_app.db import get_db, upgrade

        instance = SiteLayout(tmp)
        if seeded:
            shutil.copyfile(site.database, tmp / "feedback.sqlite3")
        app = make_app(instance, **config)
        upgrade(app)
        get_db(app).dispose()
        env = app_env(instance, config)
        # So that ``--app module:factory()`` can name a module in bench/.
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(BENCH), os.environ.get("PYTHONPATH")])
        )
        cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), *gunicorn_args(port, worker)]
        cmd.append(app_spec)
        log = (tmp / "gunicorn.log").open("wb")
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)

    def build(port: int, run: str) -> BuildRequest:
        origin = f"http://127.0.0.1:{port}"
        rng = random.Random(run)  # noqa: S311 (test data, not secrets)

        def request(client: int, n: int) -> bytes:
            article = slugs[rng.randrange(len(slugs))]
            fields = {
                "article": article["slug"],
                "parent": "",
                "submission_key": f"{run}-{client:02d}-{n:06d}",
                "body": f"Comment {n} from client {client} ({run}): I *liked* the part "
                f"about `notes`.\n\n> quoted line\n\nMore at https://example.org/{n}",
                "name": f"Reader {client}-{n % 97}",
                "email": f"reader{client}.{n}@example.org" if n % 3 else "",
                "website": f"https://example.org/~r{client}" if n % 2 else "",
                "homepage": "",
            }
            if n % 5 == 0:
                fields["remember"] = "y"
            body = urlencode(fields).encode()
            head = (
                f"POST /comments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: {origin}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            )
            return head.encode() + body

        return request

    def rows(tmp: Path) -> dict[str, int]:
        with sqlite3.connect(tmp / "feedback.sqlite3") as con:
            total, keys, approved = con.execute(
                "SELECT count(*), count(DISTINCT submission_key), "
                "coalesce(sum(state = 'approved'), 0) FROM comment"
            ).fetchone()
        return {"rows": total, "distinct_keys": keys, "approved": approved}

    name = "talkback (this app)" + (", bench DB" if seeded else "")
    return Target(name, start, build, {303}, rows)


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


def isso(pages_port: int) -> Target:
    """Isso 0.14 under gunicorn (its own venv), on a fresh database."""
    host = f"http://127.0.0.1:{pages_port}"

    def start(port: int, worker: str, tmp: Path) -> subprocess.Popen[bytes]:
        gunicorn = ensure_isso()
        cfg = tmp / "isso.cfg"
        cfg.write_text(
            "[general]\n"
            f"dbpath = {tmp / 'isso.db'}\n"
            f"host = {host}/\n"
            "notify = stdout\n"
            "gravatar = false\n"
            "[moderation]\nenabled = true\n"
            "[guard]\nenabled = false\n"
            f"[server]\nlisten = http://127.0.0.1:{port}\n"
        )
        env = {**os.environ, "ISSO_SETTINGS": str(cfg)}
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


def measure(
    target: Target, worker: str, clients: int, warmup: float, duration: float
) -> dict[str, Any]:
    """Start ``target`` fresh, load it, stop it, check its rows."""
    with tempfile.TemporaryDirectory(prefix="post-load-") as folder:
        tmp = Path(folder)
        port = free_port()
        proc = target.start(port, worker, tmp)
        try:
            wait_http(port, proc)
            before = target.rows(tmp)  # a seeded database has rows already
            # Every phase its own run id: submission keys never repeat.
            run = uuid.uuid4().hex[:12]
            wait_quiet()
            build = target.build(port, f"{run}-w")
            warm = run_load(port, build, target.accept, clients, warmup)
            build = target.build(port, f"{run}-m")
            load = run_load(port, build, target.accept, clients, duration)
        finally:
            stop(proc)
            log = (tmp / "gunicorn.log").read_text(errors="replace")
        rows = target.rows(tmp)
    result = {"server": target.name, "worker": worker, **load.summary()}
    result["warmup_accepted"] = warm.accepted
    result["warmup_errors"] = warm.errors
    expected = warm.accepted + load.accepted
    rows = {key: value - before.get(key, 0) for key, value in rows.items()}
    result["db"] = rows
    result["exact_rows"] = rows["rows"] == expected
    result["expected_rows"] = expected
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
        help="gunicorn worker classes to try, comma-separated",
    )
    parser.add_argument("--only", choices=("ours", "isso"), help="run one server only")
    parser.add_argument(
        "--seeded",
        action="store_true",
        help="also run this app (sync) on a copy of the bench site's database",
    )
    parser.add_argument("--rounds", type=int, default=3, help="repeat everything")
    parser.add_argument("--app", default=APP_SPEC, help="gunicorn app spec to try")
    args = parser.parse_args(argv)
    site = make_site(args.target)

    pages = ThreadingHTTPServer(("127.0.0.1", 0), _ArticlePage)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    targets = [ours(site, args.app), isso(pages.server_address[1])]
    if args.only:
        targets = targets[:1] if args.only == "ours" else targets[1:]
    seeded = ours(site, args.app, seeded=True)
    plan = []
    for _ in range(args.rounds):  # rounds interleaved, so drift hits all alike
        for worker in args.workers.split(","):
            plan += [(worker, t) for t in targets]
            if args.seeded and worker == "sync" and args.only != "isso":
                plan.append((worker, seeded))
    results: dict[str, Any] = {"machine": machine(), "clients": args.clients}
    runs = []
    try:
        for worker, target in plan:
            print(f"{target.name}, gunicorn -w 2 {worker} ...", flush=True)
            r = measure(target, worker, args.clients, args.warmup, args.duration)
            runs.append(r)
            print(
                f"  {r['accepted_per_s']:.0f} accepted posts/s, p50 "
                f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors "
                f"{r['errors']}, rows {r['db']['rows']}/{r['expected_rows']} "
                f"({'exact' if r['exact_rows'] else 'NOT EXACT'}), "
                f"client CPU {r['client_cpu_s']:.1f} s, machine busy "
                f"{r['machine_busy']:.0%}",
                flush=True,
            )
            for sample in r["error_samples"]:
                print(f"    error: {sample}")
    finally:
        pages.shutdown()
    results["runs"] = runs
    summary = aggregate(runs)
    results["summary"] = [
        {"server": server, "worker": worker, **a}
        for (server, worker), a in summary.items()
    ]
    path = save_results("post_load", results)
    report(summary)
    print(f"\nresults: {path}")
    return 0


def aggregate(runs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Combine the rounds of each (server, worker): medians, worst cases."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["server"], r["worker"]), []).append(r)
    return {
        key: {
            "rounds": len(rs),
            "accepted_per_s": median([r["accepted_per_s"] for r in rs]),
            "accepted_per_s_all": [round(r["accepted_per_s"]) for r in rs],
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "p99_ms_worst": max(r["p99_ms"] for r in rs),
            "errors": sum(r["errors"] + r["warmup_errors"] for r in rs),
            "exact_rows": all(r["exact_rows"] for r in rs),
            "rows": sum(r["db"]["rows"] for r in rs),
        }
        for key, rs in groups.items()
    }


def report(summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Print the figures against the goals."""
    print("\n== Comment POST under load: medians over rounds ==")
    print(
        f"{'server':<30} {'worker':<8} {'posts/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'worst p99':>9} {'errors':>6}  rows"
    )
    for (server, worker), a in summary.items():
        print(
            f"{server:<30} {worker:<8} {a['accepted_per_s']:>8.0f} "
            f"{a['p50_ms']:>7.1f} {a['p99_ms']:>7.1f} {a['p99_ms_worst']:>9.1f} "
            f"{a['errors']:>6}  {a['rows']} "
            + ("exact" if a["exact_rows"] else "NOT EXACT")
        )
    print("\nGoals: >= 1.5x Isso, p99 < 100 ms, no errors, one row per accepted post")
    for worker in dict.fromkeys(w for _, w in summary):
        mine = summary.get(("talkback (this app)", worker))
        theirs = summary.get((f"Isso {ISSO_VERSION}", worker))
        if mine is None:
            continue
        ratio = mine["accepted_per_s"] / theirs["accepted_per_s"] if theirs else None
        checks = {
            "ratio >= 1.5": ratio is not None and ratio >= 1.5,
            "p99 < 100 ms": mine["p99_ms"] < 100,
            "no errors": mine["errors"] == 0,
            "exact rows": mine["exact_rows"],
        }
        shown = f"{ratio:.2f}x Isso" if ratio else "Isso not run"
        verdicts = ", ".join(
            f"{k}: {'met' if ok else 'MISSED'}" for k, ok in checks.items()
        )
        print(f"{worker}: {shown}; {verdicts}")


if __name__ == "__main__":
    sys.exit(main())
