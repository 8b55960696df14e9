"""No process a test starts outlives the test session.

Every process a test starts (a dev server, nginx, gunicorn, Chromium, a
Pelican build) inherits the environment of pytest, and with it
``SESSION_MARK``, a value new in each session. After each test the processes
carrying the mark are noted with the test they appeared in; at the session's
end any still running fails the run, named with its command line and that
test, and is stopped (``tests/conftest.py`` calls these hooks). A session
killed before its end cannot check: the processes it left carry the mark of
a pytest that is gone, and the next session names them at its start.

With pytest-xdist each worker is a session of its own with its own mark
(its processes carry it, not the controller's): a worker checks its own and
hands what it found to the controller, which fails the run.

Linux only (``/proc``, ``prctl``); elsewhere nothing is checked.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

SESSION_MARK = "TALKBACK_TEST_SESSION"
#: How long processes being stopped at the session's end may take to go.
GRACE_SECONDS = 30

_mark = f"{SESSION_MARK}={os.getpid()}-{uuid.uuid4().hex}".encode()
#: The marked processes seen so far: pid -> the test they appeared in.
_seen: dict[int, str] = {}
#: The C library, loaded before any fork (a forked child only calls it).
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def dies_with_this_process() -> None:
    """Run in a child before it starts (``Popen(preexec_fn=...)``): when the
    process that started it dies, even killed with no time to clean up
    (SIGKILL, a harness's time limit), the child gets SIGTERM.

    A test's ``finally`` stops what it started when the test fails; this
    stops it when pytest itself never reaches that ``finally``.
    """
    if _libc is None:
        return
    parent = os.getppid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # died before the line above: go now
        os._exit(1)


#: The guard of ``guard_group``: on SIGTERM (its parent's death, or the
#: fixture done with the group) it stops the group, then ends.
_GUARD = """
import os, signal, sys
group = int(sys.argv[1])
def stop_group(*_):
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, stop_group)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    signal.pause()
"""


def guard_group(group: int) -> subprocess.Popen[bytes]:
    """Start a guard that sends SIGTERM to the process group ``group`` when
    this process dies without stopping it (see ``dies_with_this_process``).

    For a child started in a session of its own (``start_new_session``),
    whose own children a signal to it alone would leave running (``make
    serve``: make, a shell, then the server). Stop the group first, then
    the guard (``stop(guard, signal.SIGTERM)``).
    """
    return subprocess.Popen(
        [sys.executable, "-c", _GUARD, str(group)],
        preexec_fn=dies_with_this_process,
    )


def stop(proc: subprocess.Popen[bytes], first: signal.Signals) -> None:
    """Stop ``proc`` with ``first``, or SIGKILL if it is still running 10
    seconds later; return once it has ended."""
    if proc.poll() is None:
        proc.send_signal(first)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def mark_this_session() -> None:
    """Give every process started from now on this session's mark."""
    name, _, value = _mark.decode().partition("=")
    os.environ[name] = value


def marked_processes() -> dict[int, str]:
    """The running processes (but this one) that carry this session's
    mark: pid -> command line."""
    found: dict[int, str] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if _mark in environ.split(b"\0"):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(
                "utf-8", "replace"
            )
    return found


def orphans_of_killed_sessions() -> dict[int, str]:
    """Processes left by an earlier test session that was killed before its
    end (so before its own check): their mark names a pytest process that is
    no longer running. pid -> command line. Told, not stopped: another
    person's."""
    found: dict[int, str] = {}
    prefix = f"{SESSION_MARK}=".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        marks = [v[len(prefix) :] for v in environ if v.startswith(prefix)]
        if not marks or marks[0] == _mark[len(prefix) :]:
            continue
        session_pid = marks[0].split(b"-", 1)[0]
        if session_pid.isdigit() and not Path(f"/proc/{int(session_pid)}").exists():
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(
                "utf-8", "replace"
            )
    return found


def warn_of_orphans(config: pytest.Config) -> None:
    """Say which processes a killed test session left running, if any."""
    orphans = orphans_of_killed_sessions()
    if not orphans:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    reporter.write_sep("=", "processes left by a killed test session", yellow=True)
    for pid, cmdline in sorted(orphans.items()):
        reporter.write_line(f"pid {pid} ({cmdline.strip()})")


def note_processes(nodeid: str) -> None:
    """Note the marked processes that appeared during the test ``nodeid``."""
    for pid in marked_processes():
        _seen.setdefault(pid, nodeid)


def processes_left() -> list[str]:
    """Wait for the marked processes to end (``GRACE_SECONDS`` at most);
    stop those still running and describe each."""
    deadline = time.monotonic() + GRACE_SECONDS
    left = marked_processes()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = marked_processes()
    described = []
    for pid, cmdline in sorted(left.items()):
        where = _seen.get(pid, "the session's end")
        described.append(f"pid {pid} ({cmdline.strip()}), started in {where}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return described


def check_session_end(session: pytest.Session, left: list[str] | None = None) -> None:
    """Fail the session if a process a test started is still running
    (``left``: those the session's xdist workers found, already stopped)."""
    if left is None:
        left = processes_left()
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["processes left running by the tests (now killed):", *left]
    if reporter is not None:
        reporter.write_sep("=", "processes left running", red=True)
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
