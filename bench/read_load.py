"""Reading an article with 50 comments: nginx with the shipped config, vs Isso 0.14.

    .venv/bin/python bench/read_load.py [--duration 10] [--connections 64]

The page is ``page_weight.py``'s: the first article of ``bench/.site-read/``
(50 approved comments, built by Pelican with the project's theme). Measured
with Debian's ``wrk`` (keep-alive, ``-t2 -c64 -d10s --latency``), each
variant in turn and the rounds interleaved, after waiting for the machine to
go quiet:

* ``page``: the article page through nginx running ``deploy/nginx/blog.conf``
  as shipped, with only its operator paths and ports replaced, as
  tests/app/test_nginx.py does (on 127.0.0.1, a temporary prefix, the built site
  as root, the access log kept). The main nginx.conf is Debian's default
  (``worker_processes auto``, ``worker_connections 768``, ``sendfile``,
  ``tcp_nopush``, ``gzip on``) with its paths in the prefix. No request
  says ``Accept-Encoding``: the page is sent as built.
* ``page-gzip``: the same with ``Accept-Encoding: gzip``, as browsers ask:
  nginx sends the ``index.html.gz`` twin the build wrote beside the page
  (``gzip_static on;`` in the shipped config), compressing nothing per
  request.
* ``ceiling``: a file of random bytes of the same size as the page, in the
  same folder and location, which nginx never compresses
  (application/octet-stream): the most nginx serves here.
* ``isso-json``: Isso 0.14 under gunicorn (2 sync workers, as in
  post_load.py; its guard and moderation off) holding the same 50 comments
  (same names, websites, text and reply structure, posted through its API
  before the clock starts), asked for the thread exactly as its embed script
  asks when the page loads: ``GET /?uri=...&sort=oldest&offset=0&nested_limit=5``.
  Isso renders every comment's Markdown on every such request. A reader of
  an Isso page needs this JSON plus the static page (and ``/config``,
  ``embed.min.js``, ``isso.css``), so the thread JSON bounds the pages with
  comments Isso can show per second; the static page itself would come from
  nginx as ours does.

Goal: the page with its comments at least 20,000 requests/s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import (
    ROOT,
    OthersMeter,
    SiteLayout,
    machine,
    median,
    save_results,
    wait_quiet,
)
from page_weight import first_article, page_file, read_site
from post_load import (
    _ArticlePage,
    ensure_isso,
    free_port,
    isso_env,
    stop,
    wait_http,
)

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
WRK = os.environ.get("WRK", "wrk")
PUBLIC_HOST = "blog.example.org"  # server_name of the shipped blog.conf
SNIPPET = ROOT / "theme" / "security-headers.conf"
CEILING = "bench-ceiling.bin"
ISSO_URI = "/bench/article-50/"
GOAL_RPS = 20_000
VARIANTS = ("ceiling", "page", "page-gzip", "isso-json")


# --------------------------------------------------------------------------
# nginx with the shipped site


def site_conf(tmp: Path, output: Path, port: int, app_port: int) -> str:
    """deploy/nginx/blog.conf with the operator's tokens set (as test_nginx)."""
    text = (ROOT / "deploy" / "nginx" / "blog.conf").read_text()
    tokens = {
        "listen 80;": f"listen 127.0.0.1:{port};",
        "listen [::]:80;": "",
        "127.0.0.1:8001": f"127.0.0.1:{app_port}",
        "/srv/blog/output": str(output),
        "/srv/blog/theme/security-headers.conf": str(SNIPPET),
        "/var/log/nginx/blog.access.log": str(tmp / "blog.access.log"),
    }
    for token, value in tokens.items():
        if token not in text:
            raise RuntimeError(f"blog.conf lost the token {token!r}")
        text = text.replace(token, value)
    directives = re.sub(r"#.*", "", text)
    if "/srv/" in directives or "/var/" in directives:
        raise RuntimeError("blog.conf has an operator path this script keeps")
    return text


def main_conf(tmp: Path) -> str:
    """Debian's default nginx.conf, with every path in ``tmp``."""
    user = "user root;" if os.geteuid() == 0 else ""  # workers read the site
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes auto;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"};
events {{ worker_connections 768; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {tmp / "other.access.log"};
    gzip on;
{temp}
    include {tmp / "blog.conf"};
}}
"""


def start_nginx(tmp: Path, output: Path) -> tuple[subprocess.Popen[bytes], int]:
    tmp.mkdir(exist_ok=True)
    port, app_port = free_port(), free_port()
    conf = site_conf(tmp, output, port, app_port)
    (tmp / "blog.conf").write_text(conf)
    (tmp / "nginx.conf").write_text(main_conf(tmp))
    cmd = [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")]
    cmd += ["-g", "daemon off;"]
    log = (tmp / "nginx.out").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    wait_http(port, proc)
    return proc, port


# --------------------------------------------------------------------------
# Isso with the same 50 comments


def start_isso(
    tmp: Path, pages_port: int, site: SiteLayout, slug: str
) -> tuple[subprocess.Popen[bytes], int, str, int]:
    """Start Isso, post the article's comments to it; return the process, its
    port, the thread URL its embed script fetches, and the comments in it."""
    gunicorn = ensure_isso()
    port = free_port()
    host = f"http://127.0.0.1:{pages_port}"
    env = isso_env(tmp, host, port, moderation=False)
    cmd = [str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}"]
    cmd += ["--log-level", "warning", "isso.run:application"]
    log = (tmp / "isso.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=log)
    wait_http(port, proc)
    with sqlite3.connect(site.database) as con:
        ours = con.execute(
            "SELECT id, parent_id, name, website, body FROM comment "
            "WHERE article_slug = ? AND state = 'approved' ORDER BY id",
            (slug,),
        ).fetchall()
    theirs: dict[int, int] = {}
    for cid, parent, name, website, body in ours:
        comment = {
            "text": body,
            "author": name,
            "email": None,
            "website": website,
            "parent": theirs.get(parent) if parent else None,
            "title": None,
            "notification": 0,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/new?{urlencode({'uri': ISSO_URI})}",
            data=json.dumps(comment).encode(),
            headers={
                "Content-Type": "application/json",
                "Origin": host,
                "Referer": host + ISSO_URI,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            theirs[cid] = json.load(response)["id"]
    # What embed.min.js asks for by default (sort oldest, nested limit 5).
    query = {"uri": ISSO_URI, "sort": "oldest", "offset": 0, "nested_limit": 5}
    path = f"/?{urlencode(query)}"
    shown = _isso_comments(port, path)
    if shown < len(ours):  # some replies past the nested limit: ask for all
        path = f"/?{urlencode({k: v for k, v in query.items() if k != 'nested_limit'})}"
        shown = _isso_comments(port, path)
    return proc, port, path, shown


def _isso_comments(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        thread = json.load(r)
    return sum(1 + len(c.get("replies", [])) for c in thread["replies"])


# --------------------------------------------------------------------------
# wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def run_wrk(
    url: str, headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """Run wrk against ``url``; return its figures."""
    cmd = [WRK, f"-t{args.threads}", f"-c{args.connections}"]
    cmd += [f"-d{args.duration}s", "--latency", f"--timeout={args.timeout}s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.duration + 60, check=True
    ).stdout
    result: dict[str, Any] = {"command": " ".join(cmd), "raw": out}
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", out)
    result["requests"] = int(done.group(1))
    read = float(done.group(4)) * _SIZES[done.group(5)]
    result["bytes_per_request"] = read / max(result["requests"], 1)
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(\w+)", out, re.M)
        result[f"p{pct}_ms"] = float(m.group(1)) * _UNITS[m.group(2)] if m else None
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    result["socket_errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    return result


def check_page(port: int, path: str, gzip_: bool) -> dict[str, Any]:
    """Fetch ``path`` once as wrk will; return status, encoding and size."""
    headers = {"Host": PUBLIC_HOST}
    if gzip_:
        headers["Accept-Encoding"] = "gzip"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
        body = r.read()
        return {
            "status": r.status,
            "content_type": r.headers.get("Content-Type"),
            "content_encoding": r.headers.get("Content-Encoding"),
            "body_bytes": len(body),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--timeout", type=int, default=30, help="wrk's, seconds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--max-wait", type=float, default=120.0)
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if not variants or set(variants) - set(VARIANTS):
        parser.error(f"choose from {', '.join(VARIANTS)}")
    site = read_site(args.comments)
    article = first_article(site)
    page = page_file(site, article)
    size = page.stat().st_size
    (site.output / CEILING).write_bytes(os.urandom(size))
    twin = page.with_name(page.name + ".gz")
    if not twin.is_file() or gzip.decompress(twin.read_bytes()) != page.read_bytes():
        raise SystemExit(
            f"{twin} is missing or stale: delete bench/.site-read/ to rebuild it"
        )

    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(["bench/read_load.py", *(argv or sys.argv[1:])]),
        "article": article["url"],
        "page_bytes": size,
        "comments": args.comments,
    }
    pages = ThreadingHTTPServer(("127.0.0.1", 0), _ArticlePage)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="read-load-") as folder:
        tmp = Path(folder)
        (tmp / "isso").mkdir()
        nginx = isso = None
        try:
            nginx, port = start_nginx(tmp / "nginx", site.output)
            base = f"http://127.0.0.1:{port}"
            targets: dict[str, tuple[str, dict[str, str]]] = {
                "ceiling": (f"{base}/{CEILING}", {"Host": PUBLIC_HOST}),
                "page": (f"{base}{article['url']}", {"Host": PUBLIC_HOST}),
                "page-gzip": (
                    f"{base}{article['url']}",
                    {"Host": PUBLIC_HOST, "Accept-Encoding": "gzip"},
                ),
            }
            results["checks"] = {
                "page": check_page(port, article["url"], False),
                "page-gzip": check_page(port, article["url"], True),
                "ceiling": check_page(port, f"/{CEILING}", True),
            }
            if "isso-json" in variants:
                isso, isso_port, path, shown = start_isso(
                    tmp / "isso", pages.server_address[1], site, article["slug"]
                )
                targets["isso-json"] = (f"http://127.0.0.1:{isso_port}{path}", {})
                results["isso"] = {"path": path, "comments_returned": shown}
                print(f"Isso holds the {shown} comments: GET {path}")
            for n in range(args.rounds):
                for variant in variants:
                    busy = wait_quiet(max_wait=args.max_wait)
                    url, headers = targets[variant]
                    others = OthersMeter()
                    r = run_wrk(url, headers, args)
                    r.update(variant=variant, round=n, busy_before=busy)
                    r["others_busy"] = others.share()
                    runs.append(r)
                    print(
                        f"{variant:>10}: {r['rps']:>9,.0f} req/s, p50 "
                        f"{r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                        f"{r['bytes_per_request']:,.0f} B/request, errors "
                        f"{r['socket_errors'] + r['non_2xx']}, others "
                        f"{r['others_busy']:.0%} (busy before {busy:.0%})",
                        flush=True,
                    )
        finally:
            if isso is not None:
                stop(isso)
            if nginx is not None:
                stop(nginx)
            pages.shutdown()
            (site.output / CEILING).unlink(missing_ok=True)
    results["took_s"] = time.monotonic() - started
    for r in runs:
        r.pop("raw")
    results["runs"] = runs
    summary = {
        v: {
            "rps": median([r["rps"] for r in runs if r["variant"] == v]),
            "rps_all": [round(r["rps"]) for r in runs if r["variant"] == v],
            "p50_ms": median([r["p50_ms"] for r in runs if r["variant"] == v]),
            "p99_ms": median([r["p99_ms"] for r in runs if r["variant"] == v]),
            "errors": sum(
                r["socket_errors"] + r["non_2xx"] for r in runs if r["variant"] == v
            ),
            "others_busy": [
                round(r["others_busy"], 2) for r in runs if r["variant"] == v
            ],
            "bytes_per_request": median(
                [r["bytes_per_request"] for r in runs if r["variant"] == v]
            ),
        }
        for v in variants
    }
    results["summary"] = summary
    path = save_results("read_load", results)
    report(summary, results)
    print(f"\nresults: {path}")
    return 0


def report(summary: dict[str, Any], results: dict[str, Any]) -> None:
    print(
        f"\n== Reading {results['article']} ({results['page_bytes']:,} bytes, "
        f"{results['comments']} comments): medians over rounds =="
    )
    for v, s in summary.items():
        print(
            f"{v:>16}: {s['rps']:>9,.0f} req/s (rounds {s['rps_all']}), p50 "
            f"{s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, errors {s['errors']}"
        )
    isso = summary.get("isso-json")
    for v in ("page", "page-gzip"):
        if v not in summary:
            continue
        ours = summary[v]["rps"]
        verdict = "met" if ours >= GOAL_RPS and not summary[v]["errors"] else "MISSED"
        extra = f", {ours / isso['rps']:,.0f}x Isso's thread JSON" if isso else ""
        ceiling = summary.get("ceiling")
        if ceiling:
            extra += f", {ours / ceiling['rps']:.0%} of the ceiling"
        print(f"{v}: {ours:,.0f} req/s (goal >= {GOAL_RPS:,}: {verdict}){extra}")


if __name__ == "__main__":
    sys.exit(main())
