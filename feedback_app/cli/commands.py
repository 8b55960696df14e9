"""Every command group, registered on the app (``flask --app feedback_app …``)."""

from __future__ import annotations

from flask import Flask

from .authors import authors_cli
from .comments import comments_cli
from .database import backup_command, db_cli
from .feedback import feedback_cli
from .mail import mail_cli
from .outbox import outbox_cli
from .readers import purge_command, readers_cli


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(feedback_cli)
    app.cli.add_command(comments_cli)
    app.cli.add_command(authors_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(readers_cli)
    app.cli.add_command(purge_command)
    app.cli.add_command(db_cli)
    app.cli.add_command(backup_command)
