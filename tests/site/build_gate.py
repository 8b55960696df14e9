"""A Pelican plugin for the tests: holds a build until the test lets it go.

With ``BUILD_GATE`` set to a folder, a build that has read everything (the
content and the comment files; with ``DELETE_OUTPUT_DIRECTORY``, after
emptying its output folder) and written nothing yet creates
``<gate>/entered``, then waits until ``<gate>/open`` exists. A gate never
opened fails the build after ``BUILD_GATE_TIMEOUT`` seconds (default 120).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pelican import signals


def hold(generators: list[Any]) -> None:
    """Wait at the gate, if the settings name one."""
    settings = generators[0].settings
    if not settings.get("BUILD_GATE"):
        return
    gate = Path(settings["BUILD_GATE"])
    (gate / "entered").touch()
    deadline = time.monotonic() + settings.get("BUILD_GATE_TIMEOUT", 120)
    while not (gate / "open").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"nobody opened the gate {gate}")
        time.sleep(0.01)


def register() -> None:
    """Connect the gate after the content and its comments are read."""
    signals.all_generators_finalized.connect(hold)
