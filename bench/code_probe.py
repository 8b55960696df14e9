"""gunicorn settings for ``post_load.py --code``: each worker says which
``feedback_app`` it imported, so the bench can check that a code version's
server really runs that checkout's code (not the bench's own, nor the venv's
editable install).

    gunicorn -c bench/code_probe.py ... 'feedback_app:create_app()'

Not a test module, and nothing else: every other setting is gunicorn's
default or given on the command line, as without ``--code``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

MARK = "bench-code-probe"


def post_worker_init(worker: Any) -> None:
    """Called in each worker once it has loaded the app: one line on stderr
    (the bench's gunicorn.log) with the worker's pid and the file of the
    ``feedback_app`` package it runs."""
    module = sys.modules.get("feedback_app")
    where = getattr(module, "__file__", None) or "-"
    sys.stderr.write(f"{MARK} {os.getpid()} {os.path.realpath(where)}\n")
    sys.stderr.flush()
