"""The address the development server is serving, for every process of its
instance folder: the server itself, its sender thread, and the ``flask``
commands run meanwhile in another shell (SITE_URL's default, see
``config.py``).

The server records it in ``instance/dev-server.json`` with its process id
when it starts, and removes the file when it stops. A file whose process is
gone (a server killed before it could remove it) is ignored, so a stale
address is never used; a file written by a newer server is not removed by
an older one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def served_file(instance_path: str | os.PathLike[str]) -> Path:
    """Return where the development server records the address it serves."""
    return Path(instance_path) / "dev-server.json"


def record_served_url(instance_path: str | os.PathLike[str], url: str) -> Path:
    """Record that this process serves the site at ``url`` (the default
    SITE_URL of every process reading this instance folder, while this one
    runs); return the file, for ``forget_served_url``."""
    path = served_file(instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"url": url.rstrip("/"), "pid": os.getpid()}))
    os.replace(tmp, path)  # whole or not at all, for a reader at that moment
    return path


def forget_served_url(path: Path) -> None:
    """Remove the record ``record_served_url`` wrote, unless another server
    has written its own since."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def served_url(instance_path: str | os.PathLike[str]) -> str | None:
    """Return the address a running development server recorded, or None
    (no file, an unreadable one, or one whose server is gone)."""
    try:
        served = json.loads(served_file(instance_path).read_text())
        url, pid = str(served["url"]), int(served["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if _running(pid) else None


def _running(pid: int) -> bool:
    """Tell whether process ``pid`` exists (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    except OSError:
        return False
    return pid > 0
