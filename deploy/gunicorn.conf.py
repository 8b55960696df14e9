"""gunicorn settings for the app behind nginx (deploy/systemd/blog-app.service).

    gunicorn --config deploy/gunicorn.conf.py 'feedback_app:create_app()'

From the environment (``/etc/blog/app.env`` under systemd):

``GUNICORN_BIND``
    Where to listen; default ``127.0.0.1:8001``, the upstream of
    ``deploy/nginx/blog.conf``. Loopback only: nginx is the way in.
``GUNICORN_WORKERS``
    How many worker processes; default 2 x CPU cores + 1, at most 8 (SQLite
    takes one writer at a time, so more buy little).
``GUNICORN_WORKER_CLASS``, ``GUNICORN_THREADS``
    Default: sync workers on SQLite; gthread workers with 4 threads each
    when ``FEEDBACK_DATABASE_URL`` names PostgreSQL (see below).

Logs go to stdout (access) and stderr (errors), that is to journald. The
access log names no reader: one line per request with the time, method,
path (without the query string, and with secret tokens replaced by "-"),
status, bytes sent and duration in ms; no client address, user agent or
referer.
"""

from __future__ import annotations

import os
import re

from gunicorn import glogging


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8001"]
workers = int(os.environ.get("GUNICORN_WORKERS") or 0) or min(2 * _cores() + 1, 8)


def _on_postgresql() -> bool:
    """Whether the app's database, as the environment names it, is PostgreSQL."""
    url = os.environ.get("FEEDBACK_DATABASE_URL", "").strip().strip("\"'")
    return url.startswith("postgres")


# On SQLite, sync workers: writers take turns at the database's one write
# lock and a post's work is the CPU's, so threads would only queue for the
# lock and the GIL. On PostgreSQL, 4 threads a worker: one runs while the
# others wait for the database's answers. (bench/README.md, 2 workers: on
# SQLite 529 comments/s with sync workers, 402/s with 4 threads; on
# PostgreSQL 439/s and 570/s.) Either way nginx buffers requests and
# responses, so a slow client never holds a worker or a thread.
# GUNICORN_WORKER_CLASS and GUNICORN_THREADS override the choice (a
# database URL set only in the instance's config.py is not seen here).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or (
    "gthread" if _on_postgresql() else "sync"
)
# gunicorn turns sync workers into gthread ones if threads is over 1.
threads = int(os.environ.get("GUNICORN_THREADS") or 0) or (
    4 if worker_class == "gthread" else 1
)
# Load the app once in the master, then fork: workers start fast and a
# broken configuration stops the start at once. A code upgrade therefore
# needs a restart (systemctl restart), not a reload (HUP).
preload_app = True
# A sync worker silent this long is killed and replaced. Generous, because
# publishing a post from the desk runs in the request: waiting for another
# host's build (PUBLISH_LOCK_TIMEOUT, 120 s), a whole Pelican build, then
# PUBLISH_COMMAND (PUBLISH_COMMAND_TIMEOUT, 120 s). nginx waits a bit longer.
# A gthread worker is only killed if it stops answering as a whole, not for
# one long request: each of those steps has a timeout of its own
# (BUILD_TIMEOUT for Pelican).
timeout = 300
# On stop or restart, requests in progress get this long to finish.
graceful_timeout = 30
# Recycle workers now and then, so a slow leak never grows.
max_requests = 2000
max_requests_jitter = 200

# Only nginx on this host may say the request came over https, and only with
# the header nginx sets (and overwrites): X-Forwarded-Proto. The app's
# ProxyFix (FEEDBACK_PROXY_COUNT=1) reads the same one, and X-Forwarded-For
# is read by the app itself, from FEEDBACK_TRUSTED_PROXIES only.
forwarded_allow_ips = "127.0.0.1,::1"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# No control socket (gunicornc): systemctl does what it would, and the
# default path ($HOME/.gunicorn) is read-only under the service's hardening.
control_socket_disable = True

proc_name = "blog-app"
accesslog = "-"
errorlog = "-"
loglevel = "info"
#: [time] "METHOD /path" status bytes duration
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

#: A path segment this long is a secret, not a name: the reply page's token
#: (/r/<token>), the one-action and confirmation links in mail, a comment's
#: ticket. The app's other segments are words and numbers.
_SECRET_SEGMENT = re.compile(r"(?<=/)[^/]{20,}")


def private_path(path: str | None) -> str:
    """Return ``path`` with every secret-looking segment replaced by ``-``."""
    return _SECRET_SEGMENT.sub("-", path or "-")


class PrivateLogger(glogging.Logger):
    """gunicorn's logger, with the path's secrets left out of the access log."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = private_path(atoms["U"])
        return atoms


logger_class = PrivateLogger


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """Let a recycled or stopping worker finish the page rebuilds it queued
    after approvals, which run in a thread of its own."""
    app = getattr(worker, "wsgi", None)
    publisher = getattr(app, "extensions", {}).get("publisher")
    if publisher is not None:
        publisher.wait_idle(timeout=graceful_timeout)


def when_ready(server):  # type: ignore[no-untyped-def]
    """In the master, once the app is loaded and before any worker is forked:
    load what the app otherwise loads on first use (``factory.warm_up``), so
    that the workers share it and none of their first requests waits."""
    from feedback_app.factory import warm_up

    warm_up()
