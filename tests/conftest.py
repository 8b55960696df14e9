"""Fixtures in the flaskr manner: a real built site, app, client, runner."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from werkzeug.test import TestResponse

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import Comment, OutboxMessage
from feedback_app.readers import tickets

from . import processes

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "http://localhost"  # the Flask test client's own origin


def build_site(
    out: Path,
    *,
    settings: str = "pelicanconf.py",
    content: Path | None = None,
    extra: dict[str, object] | None = None,
    cpus: set[int] | None = None,
) -> Path:
    """Build a site with Pelican, as `invoke build` does, into ``out``
    (on the ``cpus`` given, or on any).

    Returns the path of the site index the plugin wrote.
    """
    index = out / "site.json"
    overrides = {
        "FEEDBACK_SITE_INDEX": str(index),
        "CACHE_PATH": str(out / "cache"),
        **(extra or {}),
    }
    cmd = [sys.executable, "-m", "pelican", str(content or ROOT / "content")]
    cmd += ["-s", settings, "-o", str(out / "output")]
    # One -e with every pair: Pelican keeps only the last -e it is given.
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]
    subprocess.run(
        cmd,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    return index


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project's own site once per test session; return its folder."""
    out = tmp_path_factory.mktemp("site")
    build_site(out)
    return out


#: A PostgreSQL database to run the suite on: every test that uses the
#: app's database (the ``database_url`` fixture) runs there instead of on a
#: SQLite file, and the tests that never touch it are not run twice.
#: ``.ci/run`` runs the suite once without it and once with it.
TEST_DATABASE_URL = os.environ.get("FEEDBACK_TEST_DATABASE_URL")


@contextlib.contextmanager
def _worker_database(url: str) -> Iterator[str]:
    """``url`` itself, or under an xdist worker a database of the worker's
    own beside it (``<name>_gw0``...), created now and dropped after."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    main = sa.make_url(url)
    name = f"{main.database}_{worker}"
    admin = sa.create_engine(main, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield main.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def _test_postgres() -> Iterator[tuple[str, sa.Engine]]:
    """FEEDBACK_TEST_DATABASE_URL (or this xdist worker's database beside
    it), migrated once for the whole session: its URL and an engine."""
    assert TEST_DATABASE_URL is not None
    with _worker_database(TEST_DATABASE_URL) as url:
        migrating = create_app({"DATABASE_URL": url, "SECRET_KEY": "k"})
        upgrade(migrating)
        get_db(migrating).dispose()
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        yield url, engine
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the head once for the whole session:
    each test starts from a copy, as on PostgreSQL each starts from the
    migrated database emptied (the migrations themselves are tested from
    an empty file in tests/core/test_db.py)."""
    path = tmp_path_factory.mktemp("template") / "feedback.sqlite3"
    migrating = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "k"})
    upgrade(migrating)
    get_db(migrating).dispose()  # the last connection folds the WAL back in
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The app's database for one test, migrated and empty: a copy of the
    session's SQLite template, or, on PostgreSQL, the test database emptied
    (every table but the schema version; connections left by earlier tests
    are closed first)."""
    if TEST_DATABASE_URL is None:
        path = tmp_path / "feedback.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url, engine = request.getfixturevalue("_test_postgres")
    with engine.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        tables = connection.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).scalars()
        connection.exec_driver_sql(
            f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"
        )
    return url


@pytest.fixture
def app(built_site: Path, tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app on a fresh database, migrated, knowing the built site."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(built_site / "site.json"),
            "OUTPUT_PATH": str(built_site / "output"),
            "SITE_URL": "https://blog.example.org",
            # Never touch the project's own content/ or output/.
            "COMMENTS_PATH": str(tmp_path / "comments"),
            "CONTENT_PATH": str(tmp_path / "content"),
            "MAILDIR_PATH": str(tmp_path / "maildir"),
            "REDIRECTS_PATH": str(tmp_path / "redirects.map"),
            "COMMENTS_REBUILD": False,
            # Tests post far more than a reader would; tests of the limits
            # set them.
            "POST_LIMIT_PER_ADDRESS": 0,
            "POST_LIMIT_PER_ARTICLE": 0,
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(tmp_path / "cache")},
        }
    )
    app.instance_path = str(tmp_path)
    upgrade(app)
    yield app
    get_db(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


ARTICLE = "2026/inside-sales-without-the-script/"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"feedback_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


def typed_ticket(app: Flask, slug: str = ARTICLE, seconds: float = 60) -> str:
    """The form ticket of a reader who started writing ``seconds`` ago."""
    with app.test_request_context():
        return tickets.issue(slug, now=time.time() - seconds)


class Reader:
    """A reader sending feedback from an article page of the site, whose
    browser fetched a form ticket a minute before sending."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def send(self, origin: str | None = ORIGIN, **fields: str) -> TestResponse:
        """Post the feedback form as a browser on the site would."""
        data = {
            "article": ARTICLE,
            "message": "Thanks for the article.",
            "ticket": typed_ticket(
                self.client.application, fields.get("article", ARTICLE)
            ),
            **fields,
        }
        headers = {"Origin": origin} if origin else {}
        return self.client.post("/feedback", data=data, headers=headers)

    def send_and_follow(self, **fields: str) -> tuple[str, TestResponse]:
        """Send feedback; return the reply page's token and the thanks page."""
        response = self.send(**fields)
        assert response.status_code == 303, response.text
        token = re.fullmatch(r"/r/([^/]+)/thanks", response.location).group(1)
        return token, self.client.get(response.location)


@pytest.fixture
def reader(client: FlaskClient) -> Reader:
    return Reader(client)


class Commenter:
    """A reader posting the "Leave a reply" form of an article page, whose
    browser fetched a form ticket a minute before posting."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(
        self,
        origin: str | None = ORIGIN,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> TestResponse:
        data = {
            "article": ARTICLE,
            "name": "Ana",
            "email": "ana@example.org",
            "body": "A *thoughtful* comment.",
            "ticket": typed_ticket(
                self.client.application, fields.get("article", ARTICLE)
            ),
            **fields,
        }
        sent = {"Origin": origin} if origin else {}
        return self.client.post("/comments", data=data, headers=sent | (headers or {}))

    def post_ok(self, **fields: str) -> Comment:
        """Post, check it was taken, and return the comment stored last."""
        response = self.post(**fields)
        assert response.status_code == 303, response.text
        assert response.location.startswith("/comments/posted/")
        return newest_comment(self.client.application)


@pytest.fixture
def commenter(client: FlaskClient) -> Commenter:
    return Commenter(client)


def newest_comment(app: Flask) -> Comment:
    with get_db(app).read() as session:
        return session.scalars(select(Comment).order_by(Comment.id.desc())).first()


def outbox(app: Flask, kind: str | None = None) -> list[OutboxMessage]:
    """Return the queued and sent mail, oldest first (of one kind, if given)."""
    with get_db(app).read() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(session.scalars(query))


# --- the author's desk ---------------------------------------------------------

PASSWORD = "correct horse battery staple"
MAYA = "Maya Lindqvist"  # author of ARTICLE and of the reader-mail post
TOMAS = "Tomás Ferreira"  # author of follow-up-emails-that-get-answered
TOMAS_ARTICLE = "2026/follow-up-emails-that-get-answered/"


def add_author(
    app: Flask,
    name: str = MAYA,
    email: str = "maya@example.org",
    *,
    role: str = "author",
    password: str | None = PASSWORD,
) -> None:
    """Create an author account (with a desk password unless None)."""
    from feedback_app.core.models import Author
    from feedback_app.desk.auth import set_password

    with get_db(app).write() as session:
        author = Author(name=name, email=email, role=role)
        if password is not None:
            set_password(author, password, min_length=1)
        session.add(author)


class Desk:
    """An author's browser session on the desk, through the test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def sign_in(self, name: str = MAYA, password: str = PASSWORD) -> TestResponse:
        """Sign in; on success keep the session's CSRF token for ``post``."""
        page = self.client.get("/desk/sign-in")
        response = self.client.post(
            "/desk/sign-in",
            data={
                "csrf_token": csrf_token(page.text),
                "name": name,
                "password": password,
            },
        )
        if response.status_code == 303:
            self.token = csrf_token(self.client.get("/desk/").text)
        return response

    def get(self, path: str, **kwargs: object) -> TestResponse:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, object] | None = None) -> TestResponse:
        """Post a desk form with the session's CSRF token."""
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})})


@pytest.fixture
def desk(app: Flask) -> Desk:
    """A signed-in desk session of Maya, an author (not an editor)."""
    add_author(app)
    desk = Desk(app.test_client())
    assert desk.sign_in().status_code == 303
    return desk


@pytest.fixture
def own_site(tmp_path: Path) -> Path:
    """A copy of the project's content/, built into ``tmp_path``.

    For tests that write posts or rebuild pages: ``tmp_path / "content"``
    (with an empty ``comments/``), ``output/``, ``site.json`` and ``cache/``.
    """
    import shutil

    content = tmp_path / "content"
    shutil.copytree(
        ROOT / "content", content, ignore=shutil.ignore_patterns("comments")
    )
    (content / "comments").mkdir()
    build_site(
        tmp_path,
        content=content,
        extra={"FEEDBACK_COMMENTS_PATH": str(content / "comments")},
    )
    return tmp_path


@pytest.fixture
def publishing_app(own_site: Path, database_url: str) -> Iterator[Flask]:
    """An app whose content, output and site index are ``own_site``'s.

    Publishing (a draft post, approved comments) rebuilds that site for real.
    """
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test secret",
            "DATABASE_URL": database_url,
            "SITE_INDEX_PATH": str(own_site / "site.json"),
            "OUTPUT_PATH": str(own_site / "output"),
            "CONTENT_PATH": str(own_site / "content"),
            "COMMENTS_PATH": str(own_site / "content" / "comments"),
            "MAILDIR_PATH": str(own_site / "maildir"),
            "SITE_URL": "https://blog.example.org",
            "PELICAN_EXTRA_SETTINGS": {"CACHE_PATH": str(own_site / "cache")},
        }
    )
    app.instance_path = str(own_site)
    upgrade(app)
    yield app
    app.extensions["publisher"].wait_idle()
    get_db(app).dispose()


def csrf_token(html: str) -> str:
    """Return the first CSRF token in a page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Mark tests by the real components they need; on PostgreSQL, run
    only the tests that use the app's database, and skip SQLite's own."""
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.browser)
    if TEST_DATABASE_URL is None:
        return
    on_sqlite = pytest.mark.skip(reason="about SQLite itself")
    kept, dropped = [], []
    for item in items:
        (kept if "database_url" in item.fixturenames else dropped).append(item)
        if item.get_closest_marker("sqlite"):
            item.add_marker(on_sqlite)
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept


os.environ.setdefault("PYTHONHASHSEED", "0")
processes.mark_this_session()


def _xdist_controller(config: pytest.Config) -> bool:
    """Whether this process hands tests to xdist workers and runs none."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(
        config, "workerinput"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Name the processes an earlier, killed test session left running."""
    if not hasattr(session.config, "workerinput"):
        processes.warn_of_orphans(session.config)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int, str]) -> None:
    """Note the processes this test (its fixtures too) left running."""
    processes.note_processes(nodeid)


#: Processes that xdist workers found left running at their end.
_left_in_workers: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """Collect what a finished xdist worker found left running."""
    _left_in_workers.extend(getattr(node, "workeroutput", {}).get("left", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any process a test started outlives the session."""
    config = session.config
    if hasattr(config, "workerinput"):  # an xdist worker: tell the controller
        config.workeroutput["left"] = processes.processes_left()
    elif _xdist_controller(config):
        processes.check_session_end(session, _left_in_workers)
    else:
        processes.check_session_end(session)
