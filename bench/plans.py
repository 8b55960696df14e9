"""Does a plan PostgreSQL made while a table was empty keep scanning it?

    .venv/bin/python bench/plans.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

The one database tactic the project keeps (``core/db._custom_plans``,
``plan_cache_mode = force_custom_plan``) exists for this: psycopg prepares a
statement once a connection has run it five times, and PostgreSQL may then
keep one generic plan for it, costed at the table's size of that moment,
until the next ANALYZE. On a new site that moment is an empty table.

For each setting (the app's engine as shipped, and PostgreSQL's default
``auto``) this script makes a database of its own, runs the comment's
duplicate check (the query every comment post runs first) 12 times on the
empty ``comment`` table, adds 20,000 comments without an ANALYZE
(autovacuum off for the table), runs the query 5 times more and counts,
from this backend's own statistics before and after those 5, the
sequential and index scans of ``comment``. A private query of the app is
used on purpose, which is why this is a benchmark script and not a test.
Exit status 1 if the shipped engine scanned the grown table.
"""

from __future__ import annotations

import argparse
import sys
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from feedback_app import create_app
from feedback_app.core.db import get_db, upgrade
from feedback_app.core.models import utcnow
from feedback_app.store.comments import _EARLIER

GROW = (
    "INSERT INTO comment (article_slug, article_page_url, article_authors,"
    " depth, name, body, html, state, is_author, fingerprint, created_at,"
    " updated_at) SELECT 'a', 'a/', '[]', 1, 'n', 'b', 'b', 'pending', false,"
    " md5(i::text), now(), now() FROM generate_series(1, 20000) AS i"
)


def scans(connection: sa.Connection) -> tuple[int, int]:
    """This backend's sequential and index scans of ``comment`` so far."""
    row = connection.execute(
        sa.text(
            "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables"
            " WHERE relname = 'comment'"
        )
    ).one()
    return row.seq_scan, row.idx_scan


def measure(server: str, shipped: bool) -> tuple[int, int]:
    """(sequential, index) scans of the grown table in 5 runs of the query."""
    name = f"bench_plans_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        upgrade(app)
        engine = get_db(app).engine if shipped else sa.create_engine(url)
        params = {"key": "k" * 20, "fingerprint": "f" * 64, "since": utcnow()}
        with engine.connect() as connection:
            connection.execute(
                sa.text("ALTER TABLE comment SET (autovacuum_enabled = false)")
            )
            connection.commit()
            for _ in range(12):  # prepared, and a plan cached, on the empty table
                connection.execute(_EARLIER, params).all()
            connection.commit()
            connection.execute(sa.text(GROW))
            connection.commit()
            before = scans(connection)
            for _ in range(5):
                connection.execute(_EARLIER, params).all()
            after = scans(connection)
            connection.commit()
        engine.dispose()
        get_db(app).dispose()
        return after[0] - before[0], after[1] - before[1]
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    results = {
        "shipped (force_custom_plan)": measure(args.pg_url, shipped=True),
        "PostgreSQL's default (auto)": measure(args.pg_url, shipped=False),
    }
    for label, (seq, idx) in results.items():
        print(f"{label:30} sequential scans {seq}, index scans {idx} in 5 runs")
    seq, idx = results["shipped (force_custom_plan)"]
    return 0 if seq == 0 and idx >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
