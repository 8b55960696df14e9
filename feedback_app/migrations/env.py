"""Alembic environment: migrate the engine the app (or the caller) gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from feedback_app.core.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations in one write transaction."""
    engine = config.attributes.get("engine")
    if engine is None:  # run by the ``alembic`` command: use the app's settings
        from feedback_app import create_app
        from feedback_app.core.db import get_db

        app = create_app()
        engine = get_db(app).engine
        config.attributes.setdefault("site_index_path", app.config["SITE_INDEX_PATH"])
    with engine.execution_options(write=True).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, "OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # SQLite alters tables by copying them
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
            # SQLite's DDL is not transactional for Alembic: the statements
            # after its commit (the check) began another transaction, which
            # must end before the pragma can work again.
            connection.commit()
        finally:
            if sqlite:
                _foreign_keys(connection, "ON")


def _foreign_keys(connection: Connection, state: str) -> None:
    """Turn SQLite's foreign keys on or off for this connection.

    A batch copies a table, drops it and renames the copy: with foreign
    keys on, the drop would delete or unlink every row that points at the
    table (a feedback's whole conversation, ON DELETE CASCADE). SQLite's
    own procedure for changing a table turns them off around it, and the
    pragma works only outside a transaction: it is sent to the driver's
    connection before the migration's transaction begins.
    """
    driver = connection.connection.driver_connection
    if driver is None:  # an open connection always has one
        raise RuntimeError("The migration's connection is closed.")
    driver.execute(f"PRAGMA foreign_keys={state}")


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse a migration that left a row pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"The migration broke foreign keys: {broken[:10]}")


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported.")
run_migrations_online()
