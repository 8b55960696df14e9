"""The feedback app: readers talk back, authors answer.

``create_app()`` builds it; see ``config.py`` for every setting.

Importing this package is cheap on purpose: Pelican imports
``feedback_app.site.plugin`` on every build, including the selective
rebuild after each approval, and must not pay for Flask, SQLAlchemy and the
rest of the app it does not use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the app (see ``factory.create_app``)."""
    from .factory import create_app as factory

    return factory(test_config)
