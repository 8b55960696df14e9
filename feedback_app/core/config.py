"""Every setting of the app, with its default and its meaning.

Settings are read in this order, each overriding the one before:

1. the defaults below;
2. ``instance/config.py`` (a plain Python file of UPPERCASE names);
3. environment variables prefixed ``FEEDBACK_``, e.g. ``FEEDBACK_SITE_URL``;
   values are parsed as JSON when they can be (``FEEDBACK_MAX_MESSAGE_LENGTH=2000``);
4. the mapping given to ``create_app(test_config)``.

Paths left as ``None`` are filled in from the instance folder by
``finalize()``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .dev_address import served_url


def project_root() -> Path:
    """Return the project's folder (where content/, theme/ and output/ are)."""
    return Path(__file__).resolve().parents[2]


#: Signs the session cookie and the CSRF tokens. When unset, a random key is
#: created once in ``instance/secret_key`` so that development needs no setup;
#: production sets its own (``FEEDBACK_SECRET_KEY``).
SECRET_KEY: str | None = None

#: SQLAlchemy URL of the database. Default: SQLite at
#: ``instance/feedback.sqlite3``. PostgreSQL: ``postgresql+psycopg://...``.
DATABASE_URL: str | None = None

#: Seconds a SQLite writer waits for the lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 5.0
#: SQLite's ``synchronous``. NORMAL (with WAL, as Rails 8 ships it) writes
#: every commit to the WAL before answering but waits for the disk only at
#: checkpoints: nothing acknowledged is lost when the app crashes or is
#: killed, and commits cost far less; a power cut or kernel crash may lose
#: the last commits. FULL waits for the disk at every commit.
SQLITE_SYNCHRONOUS = "NORMAL"

#: Public address of the blog, without a trailing slash. Cross-site posts are
#: refused by comparing a request's Origin (or Referer) with this origin (or
#: the request's own), and the app's pages link the site's pages under its
#: path; mail and the command line link pages under it. Production sets it.
#: Unset, it is the address the development server (``make serve PORT=N``,
#: ``invoke serve``) is serving, for every process that reads this instance
#: folder: the server, its sender thread, and ``flask --app feedback_app …``
#: run in another shell. The server records it in
#: ``instance/dev-server.json`` with its process id and removes the file when
#: it stops; a file whose process is gone (a server killed) is ignored. With
#: no server running: http://127.0.0.1:8000.
SITE_URL: str | None = None

#: The app's own public address, for links in mail sent outside a request
#: (from the command line). Default: SITE_URL + "/app".
APP_URL: str | None = None

#: The JSON file the Pelican build writes: the site's name, its menu pages and
#: every published article (slug, title, URL, authors). Default:
#: ``instance/site.json``; ``pelicanconf.py`` writes to the same place.
SITE_INDEX_PATH: str | None = None

#: The built site, served next to the app by ``invoke serve`` (and by nginx):
#: a link to the live build in ``<OUTPUT_PATH>.builds/``, which every full
#: build replaces in one step (``feedback_app/site/live_site.py``). Whoever
#: builds must be able to write that folder. Default: the project's output/.
OUTPUT_PATH: str | None = None

#: The redirect map: a previous site's addresses (WordPress's /?p=123,
#: its permalinks, archives and feeds) and this site's pages they now answer
#: with a 301. The import writes it (``feedback_app/site/redirects.py``);
#: nginx includes it (deploy/nginx/blog.conf: reload nginx after an
#: import) and the development server reads it. No file: no redirects.
#: Default: redirects.map in the project's folder.
REDIRECTS_PATH: str | None = None

#: Largest request body accepted, in bytes; larger requests get 413.
MAX_CONTENT_LENGTH = 64 * 1024
#: Largest non-file form body kept in memory, and most form fields accepted.
MAX_FORM_MEMORY_SIZE = 64 * 1024
MAX_FORM_PARTS = 50

#: Field limits, in characters, for what readers send.
MAX_MESSAGE_LENGTH = 5000
MAX_NAME_LENGTH = 100
#: RFC 5321 caps a forward path at 256 octets, so an address at 254.
MAX_EMAIL_LENGTH = 254

#: Rate limits on readers' posts (comments and feedback together), exact
#: across all workers: at most POST_LIMIT_PER_ADDRESS from one client address
#: and POST_LIMIT_PER_ARTICLE on one article in POST_LIMIT_WINDOW seconds;
#: past them, 429 with Retry-After. 0 turns a limit off.
POST_LIMIT_WINDOW = 60
POST_LIMIT_PER_ADDRESS = 5
POST_LIMIT_PER_ARTICLE = 60

#: Proxies (addresses or networks, e.g. ["127.0.0.1", "10.0.0.0/8"]) whose
#: X-Forwarded-For is believed: the client is the first address, from the
#: right, that is not one of them. Empty: the peer is the client, and an
#: X-Forwarded-For header changes nothing.
TRUSTED_PROXIES: list[str] = []

#: Where several app hosts share their rate limits and sign-in throttle:
#: a Redis URL (redis://host:6379/0). Unset, they are counted in the
#: database, which is exact for one host (SQLite) or for every host of one
#: PostgreSQL database. Keys start with RATELIMIT_KEY_PREFIX.
RATELIMIT_STORAGE_URL: str | None = None
RATELIMIT_KEY_PREFIX = "feedback:"

#: Form tickets. The article pages' script asks for a signed ticket when a
#: reader starts writing; the app's own pages carry one. A form sent sooner
#: than FORM_MIN_SECONDS after its ticket was issued was not typed by a
#: person: it is stored as spam (and looks accepted to the sender). A
#: comment sent without a valid ticket (no JavaScript, a ticket older than
#: FORM_TICKET_HOURS, or one for another article) is held for moderation
#: when FORM_TICKETS is on; feedback is private anyway and is stored as usual.
FORM_TICKETS = True
FORM_MIN_SECONDS = 3
FORM_TICKET_HOURS = 24

#: Longest answer an author writes in the desk (to feedback or a comment).
MAX_REPLY_LENGTH = 20000

#: Comments: longest website address accepted.
MAX_WEBSITE_LENGTH = 500

#: Moderation rules for comments, as WordPress users know them. A comment is
#: held (pending) when any hold rule matches, and approved at once otherwise.
#: - a first comment from an address is held; once a comment with the same
#:   address and name is approved, later ones appear at once;
#: - a comment with no address is held unless this is False;
COMMENTS_HOLD_WITHOUT_EMAIL = True
#: - a comment with more web addresses than this is held;
COMMENTS_MAX_LINKS = 2
#: - a comment containing one of these words (case-insensitive, in the name,
#:   address, website or text) is held, or marked spam.
COMMENTS_HOLD_WORDS: list[str] = []
COMMENTS_SPAM_WORDS: list[str] = []

#: Approved comments are written here for the build, one JSON file per article,
#: named after the article's URL (``site/files.comment_file_name``). Default:
#: ``comments/`` in CONTENT_PATH. A server keeps them outside its git checkout
#: (deploy/README.md: ``/var/lib/blog/comments``), so that upgrading with
#: ``git pull`` never meets them; every build reads them from here.
COMMENTS_PATH: str | None = None

#: The site's Markdown folder (Pelican's PATH): where the desk writes the
#: draft posts that answer feedback in public, and what a build reads.
#: Default: the project's content/.
CONTENT_PATH: str | None = None

#: How the app rebuilds pages after a comment is approved or removed: the
#: Pelican settings file, and extra settings passed to it (as ``-e``).
PELICAN_SETTINGS: str | None = None
PELICAN_EXTRA_SETTINGS: dict[str, Any] = {}
#: The app's log lines (mail sent or deferred, pages rebuilt, errors) go to
#: standard error at this level and above; under gunicorn and systemd, to
#: the journal. Requests are logged by gunicorn (deploy/gunicorn.conf.py).
LOG_LEVEL = "INFO"

#: Run after every rebuild (pages after an approval, the whole site after a
#: post is published) and by ``invoke publish``, for a site whose static
#: files are served elsewhere: e.g. "rsync -a --delete output/ web:/srv/blog/".
#: No shell; it runs in the project folder with OUTPUT_PATH in its
#: environment, under the publish lock. Unset: nothing runs.
PUBLISH_COMMAND: str | None = None
PUBLISH_COMMAND_TIMEOUT = 120
#: A Pelican build (a page's or the whole site's) is stopped after this
#: many seconds and reported as failed, so that a hung build cannot hold the
#: publish lock: a gthread worker, unlike a sync one, is not killed when one
#: of its requests outlasts gunicorn's timeout.
BUILD_TIMEOUT = 600
#: How long a build waits for another host's to end (PostgreSQL), seconds.
#: A post published from the desk waits in the request: gunicorn's timeout
#: (deploy/gunicorn.conf.py) covers this, a build and the publish command.
PUBLISH_LOCK_TIMEOUT = 120

#: Rebuild pages automatically when comments change. Off, the JSON files are
#: still written and the next build publishes them.
COMMENTS_REBUILD = True

#: Mail. With no SMTP server set, mail goes to a local Maildir (MAILDIR_PATH,
#: default instance/maildir) so everything works offline and can be read.
#: SMTP_URL sets all at once: smtp://host:25, smtp+starttls://user:pass@host
#: (587), smtps://user:pass@host (465); or the SMTP_* settings one by one.
SMTP_URL: str | None = None
SMTP_HOST: str | None = None
SMTP_PORT = 25
SMTP_TLS = "none"  # "none", "starttls" or "tls" (implicit TLS)
SMTP_USERNAME: str | None = None
SMTP_PASSWORD: str | None = None
#: Seconds to wait for the mail server before trying again later.
SMTP_TIMEOUT = 10.0
#: A CA bundle to trust for the server's TLS certificate (a private CA);
#: default: the system's.
SMTP_CA_FILE: str | None = None
#: The From header of every message (the site's own address, never a
#: reader's). Default: noreply@ the host of SITE_URL.
MAIL_FROM: str | None = None
MAILDIR_PATH: str | None = None
#: The name shown beside MAIL_FROM ("Site name <noreply@…>"). Default: the
#: site's SITENAME from the site index.
MAIL_FROM_NAME: str | None = None
#: The HELO/EHLO name given to the SMTP server. Default: this host's FQDN.
SMTP_LOCAL_HOSTNAME: str | None = None
#: Replies and bounces by mail. Each conversation gets its own address on the
#: site's mailbox: ``{token}`` is replaced by a token signed for that
#: conversation and recipient (plus-addressing, e.g. "blog+{token}@example.org").
#: It is the Reply-To of mail about feedback and comments and, with the token
#: of one message, the envelope sender, so bounces name what bounced. Default:
#: MAIL_FROM with "+{token}" after its local part. "" turns replies by mail
#: off: Reply-To is then the other person's own address.
MAIL_REPLY_ADDRESS: str | None = None
#: The authserv-id of the Authentication-Results header the site's own mail
#: server adds (OpenDMARC, rspamd, Exim's authresults). Set, a reply by mail
#: is applied only when that header says the From domain passed DMARC or
#: DKIM; else it is held for an editor. The server must remove such headers
#: that arrive from outside (they all do). None: the signed token suffices.
MAIL_AUTHSERV_ID: str | None = None
#: An IMAP mailbox the sender polls for replies and bounces, for sites whose
#: mail server cannot pipe mail to ``flask mail receive``:
#: imaps://user:password@host/INBOX (TLS, verified) or
#: imap+starttls://user:password@host:143/INBOX. Messages read are deleted.
IMAP_URL: str | None = None
#: A CA bundle to trust for the IMAP server's certificate; default: the system's.
IMAP_CA_FILE: str | None = None
#: How often the IMAP mailbox is polled (seconds).
IMAP_POLL_INTERVAL = 60.0
#: How often the outbox sender looks for due mail (seconds), and how many
#: times a message is tried before it is marked failed.
OUTBOX_POLL_INTERVAL = 2.0
OUTBOX_MAX_ATTEMPTS = 10

#: One-action links in mail to authors (approve, spam, trash a held comment)
#: and subscription confirmations stop working after this many days.
MAIL_LINK_DAYS = 7

#: Check that an address's domain exists (a DNS query). Off by default so the
#: app works offline; syntax is always checked.
EMAIL_CHECK_DELIVERABILITY = False

#: The author's desk. A session lasts this long after signing in, however
#: active; changing the password ends every session at once.
DESK_SESSION_HOURS = 12
#: Shortest desk password, wherever one is chosen (the desk's password
#: pages, ``authors set-password``).
MIN_PASSWORD_LENGTH = 12
#: Failed sign-ins are counted over this many minutes, per account (the
#: name typed) and per client address. From SIGNIN_SLOW_AFTER failures on,
#: each next try must wait twice as long as the one before (1 s, 2 s,
#: 4 s, ...); at SIGNIN_LOCK_AFTER failures of one account, or
#: SIGNIN_LOCK_AFTER_CLIENT from one address, sign-in is refused until the
#: oldest of them is older than the window, and the author is told by mail.
SIGNIN_WINDOW_MINUTES = 15
SIGNIN_SLOW_AFTER = 3
SIGNIN_LOCK_AFTER = 10
SIGNIN_LOCK_AFTER_CLIENT = 30
#: "Forgot your password?" on the sign-in page mails a link that sets a new
#: one: it works once, for this many minutes. Over the same minutes, one
#: account gets at most PASSWORD_RESET_LIMIT_PER_ACCOUNT such mails (asking
#: again sends none, and the page says the same), and one client address may
#: ask PASSWORD_RESET_LIMIT_PER_CLIENT times. 0 turns a limit off.
PASSWORD_RESET_MINUTES = 60
PASSWORD_RESET_LIMIT_PER_ACCOUNT = 3
PASSWORD_RESET_LIMIT_PER_CLIENT = 10

#: Comments and feedback in spam or trash are deleted for good
#: this many days after they got there (by the outbox sender, hourly, or by
#: ``flask --app feedback_app purge``). 0 keeps them.
PURGE_AFTER_DAYS = 30

#: Flask-WTF: CSRF tokens of the app's own pages stay valid this long (s).
WTF_CSRF_TIME_LIMIT = 3600 * 8

#: Cookies (the session, "remember me"): HttpOnly for the session, SameSite
#: Lax, and Secure whenever SITE_URL is https (None: decide from SITE_URL).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE: bool | None = None

#: Behind a reverse proxy (nginx), how many proxies to trust for
#: X-Forwarded-For/-Proto/-Host/-Prefix, so that the app's own links (the
#: reply page's address on the thanks page) come out right. 0: none.
PROXY_COUNT = 0


def project_instance() -> Path:
    """Return the instance folder ``create_app`` uses (FEEDBACK_INSTANCE_PATH,
    default the project's instance/), for a process that has no app yet."""
    return Path(
        os.environ.get("FEEDBACK_INSTANCE_PATH", str(project_root() / "instance"))
    )


def finalize(config: Any, instance_path: str) -> None:
    """Fill in the defaults that depend on the instance folder, and check
    the settings a typo would turn into a locked door.

    :raise ValueError: naming a setting that cannot work.
    """
    instance = Path(instance_path)
    if not config.get("SITE_URL"):
        config["SITE_URL"] = served_url(instance) or "http://127.0.0.1:8000"
    for key in ("SIGNIN_SLOW_AFTER", "SIGNIN_LOCK_AFTER", "SIGNIN_LOCK_AFTER_CLIENT"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise ValueError(f"{key} must be a whole number, 1 or more.")
    config["LOG_LEVEL"] = str(config["LOG_LEVEL"]).upper()
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'feedback.sqlite3'}"
    if not config.get("SITE_INDEX_PATH"):
        config["SITE_INDEX_PATH"] = str(instance / "site.json")
    if not config.get("OUTPUT_PATH"):
        config["OUTPUT_PATH"] = str(project_root() / "output")
    if not config.get("CONTENT_PATH"):
        config["CONTENT_PATH"] = str(project_root() / "content")
    if not config.get("COMMENTS_PATH"):
        config["COMMENTS_PATH"] = str(Path(config["CONTENT_PATH"]) / "comments")
    if not config.get("REDIRECTS_PATH"):
        config["REDIRECTS_PATH"] = str(project_root() / "redirects.map")
    if not config.get("MAILDIR_PATH"):
        config["MAILDIR_PATH"] = str(instance / "maildir")
    if not config.get("MAIL_FROM"):
        host = urlsplit(str(config["SITE_URL"])).hostname or ""
        if not host or host.replace(".", "").isdigit() or ":" in host:
            host = "localhost"  # an IP address is no mail domain
        config["MAIL_FROM"] = f"noreply@{host}"
    if config.get("MAIL_REPLY_ADDRESS") is None:
        # MAIL_FROM may carry a name: "Talking Shop <blog@example.org>".
        local, _, domain = parseaddr(str(config["MAIL_FROM"]))[1].rpartition("@")
        config["MAIL_REPLY_ADDRESS"] = f"{local}+{{token}}@{domain}"
    elif config["MAIL_REPLY_ADDRESS"] and "{token}" not in config["MAIL_REPLY_ADDRESS"]:
        raise ValueError("MAIL_REPLY_ADDRESS must contain {token}, or be empty.")
    if not config.get("PELICAN_SETTINGS"):
        config["PELICAN_SETTINGS"] = str(project_root() / "pelicanconf.py")
    config["SITE_URL"] = str(config["SITE_URL"]).rstrip("/")
    if not config.get("APP_URL"):
        config["APP_URL"] = config["SITE_URL"] + "/app"
    # The desk's session cookie expires with the session itself.
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=float(config["DESK_SESSION_HOURS"])
    )
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = config["SITE_URL"].startswith("https://")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


def _instance_secret(path: Path) -> str:
    """Return the key kept in ``path``, creating it (mode 0600) if missing.

    The key is written to a file of its own and then linked into place, so a
    worker starting at the same moment finds either no key or the whole key.
    """
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with open(tmp, "w", opener=_open_private) as fh:
        fh.write(key)
    try:
        os.link(tmp, path)
    except FileExistsError:  # another process won the race: use its key
        theirs = path.read_text().strip()
        if not theirs:  # an empty file (made by hand): replace it
            os.replace(tmp, path)
            return key
        key = theirs
    tmp.unlink()
    return key


def _open_private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
