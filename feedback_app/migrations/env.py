"""Alembic environment: migrate the engine the app (or the caller) gives."""

from __future__ import annotations

from alembic import context

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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported.")
run_migrations_online()
