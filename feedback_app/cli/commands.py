"""Every command group, registered on the app (``flask --app feedback_app …``).

Each command is registered by name, with the first sentence of its help,
and its module is imported only when the command runs or shows its own
help: ``flask comments approve`` loads the comments module, not the mail
parsing behind ``flask mail`` nor the address checks behind ``flask
authors``, and ``flask --help`` loads none of them. The tests check that
each line of ``COMMANDS`` matches the command it stands for. The process
also ends without the interpreter's last garbage collection
(``_exit_quickly_at_the_end``).
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
from typing import Any

import click
from flask import Flask

from ..core.db import dispose_all

#: Name: (module of ``feedback_app.cli``, its command, the help's first sentence).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "feedback": ("feedback", "feedback_cli", "Read what readers sent privately."),
    "comments": ("comments", "comments_cli", "Moderate public comments."),
    "authors": (
        "authors",
        "authors_cli",
        "The site's authors and their notifications.",
    ),
    "outbox": ("outbox", "outbox_cli", "Mail waiting to be sent, and the sender."),
    "mail": ("mail", "mail_cli", "Mail received: replies and bounces."),
    "readers": (
        "readers",
        "readers_cli",
        "What is stored about a reader's address.",
    ),
    "purge": (
        "readers",
        "purge_command",
        "Delete spam and trash comments, spam feedback, and mail received that"
        " was ignored or discarded, older than the limit.",
    ),
    "db": ("database", "db_cli", "Manage the database schema."),
    "backup": (
        "database",
        "backup_command",
        "Back up the app's database to PATH while the site keeps running.",
    ),
    "import": (
        "imports",
        "import_cli",
        "Import posts and comments from WordPress, Disqus or Isso.",
    ),
}


class LazyCommand(click.Command):
    """Stands for a command in its group's help; loads it to run it."""

    def __init__(self, name: str, module: str, attribute: str, summary: str) -> None:
        super().__init__(name, help=summary)
        self.module = f"{__package__}.{module}"
        self.attribute = attribute

    def load(self) -> click.Command:
        """Import the real command."""
        command: click.Command = getattr(
            importlib.import_module(self.module), self.attribute
        )
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The context is the real command's, so click runs (and completes,
        # and shows the help of) the real command from here on.
        return self.load().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.load().invoke(ctx)

    def to_info_dict(self, ctx: click.Context) -> dict[str, Any]:
        return self.load().to_info_dict(ctx)


@functools.cache
def _exit_quickly_at_the_end() -> None:
    """Make the process end quickly once its command is done (registered
    once per process, by every process that creates the app).

    On its way out, Python collects every object of the modules it loaded:
    with the app loaded that took 100 ms on a small server, longer than most
    commands' own work. At exit, this closes the database's connections, as
    that collection would, then freezes the objects left so the collection
    skips them; they go with the process. The other ``atexit`` handlers,
    and the flushing of output, run as before.
    """
    atexit.register(_exit_quickly)


def _exit_quickly() -> None:
    dispose_all()
    gc.freeze()


def init_app(app: Flask) -> None:
    """Register the commands."""
    _exit_quickly_at_the_end()
    for name, (module, attribute, summary) in COMMANDS.items():
        app.cli.add_command(LazyCommand(name, module, attribute, summary))
