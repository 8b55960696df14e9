"""The app's layout keeps its shape: imports point down, never sideways
between the readers' and the author's sides, never round in a circle; the
Pelican plugin imports without Flask; long modules say why they are long.

Read from the source with ``ast`` (every import, also those inside functions
and under ``TYPE_CHECKING``), so that a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "feedback_app"

#: Bottom to top; a module may import its own room and the rooms below it.
#: Rooms on one level (readers, desk) may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("site",),
    ("store",),
    ("mail",),
    ("services",),
    ("readers", "desk", "importing"),
    ("cli",),
    ("",),  # the app: factory, health, devserver, the package itself
)
#: Inside mail, bottom to top (the issue's order: the outbox and its transport
#: at the bottom, then what each message says, then subscriptions and the
#: pages behind links, the sender on top).
MAIL = (
    "conversations",
    "authentication",
    "inbound",
    "imap",
    "outbox",
    "transport",
    "links",
    "formats",
    "messages",
    "subscriptions",
    "digests",
)
MAIL_TOP = ("sender",)
#: Lines above which a module must say at its top why it is that long.
LONG = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.relative_to(PACKAGE).parts
    }


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The app's modules that ``name`` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names]
            targets.append(module)
        else:
            continue
        for target in targets:
            # The deepest known module the target names.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = app_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def room(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and is_room(parts[1])) else ""


def is_room(part: str) -> bool:
    return any(part in level for level in LAYERS)


def level(room_name: str) -> int:
    return next(i for i, rooms in enumerate(LAYERS) if room_name in rooms)


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import that points up or sideways, as 'a -> b (why)'."""
    found = []
    for name, targets in sorted(edges.items()):
        for target in sorted(targets):
            here, there = room(name), room(target)
            if here == there:
                if here == "mail":
                    found.extend(_mail_order(name, target))
                continue
            if there == "" and target == "feedback_app" and name.count(".") <= 1:
                continue
            if level(there) > level(here):
                found.append(f"{name} -> {target} (up from {here} to {there})")
            elif level(there) == level(here):
                found.append(f"{name} -> {target} (sideways: {here} and {there})")
    return found


def _mail_order(name: str, target: str) -> list[str]:
    order = {m: i for i, m in enumerate(MAIL)} | {m: len(MAIL) for m in MAIL_TOP}
    a, b = name.rpartition(".")[2], target.rpartition(".")[2]
    if a in order and b in order and order[b] > order[a]:
        return [f"{name} -> {target} (up inside mail)"]
    return []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_imports_point_down_only() -> None:
    assert violations(graph()) == []


def test_no_module_imports_itself_round_a_circle() -> None:
    assert cycles(graph()) == []


def test_every_module_is_in_a_room_that_says_what_it_owns() -> None:
    for name, path in app_modules().items():
        assert ast.get_docstring(ast.parse(path.read_text())), f"{name}: no docstring"
        parts = name.split(".")
        if len(parts) > 2:
            assert is_room(parts[1]), f"{name} is in no room of LAYERS"
    for rooms in LAYERS:
        for name in filter(None, rooms):
            doc = ast.get_docstring(
                ast.parse((PACKAGE / name / "__init__.py").read_text())
            )
            assert doc and "May import" in doc, (
                f"{name}/__init__.py: say what it may import"
            )


def test_long_modules_say_why() -> None:
    for name, path in app_modules().items():
        if len(path.read_text().splitlines()) > LONG:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "Longer than" in doc, f"{name}: over {LONG} lines without a reason"


def test_the_checks_catch_what_they_are_for() -> None:
    """The rules fail on an upward import, a sideways one and a circle."""
    edges = {
        "feedback_app.core.db": {"feedback_app.mail.outbox"},
        "feedback_app.readers.comments": {"feedback_app.desk.auth"},
        "feedback_app.mail.outbox": {"feedback_app.mail.sender"},
        "feedback_app.mail.sender": {"feedback_app.mail.outbox"},
        "feedback_app.desk.auth": set(),
    }
    assert violations(edges) == [
        "feedback_app.core.db -> feedback_app.mail.outbox (up from core to mail)",
        "feedback_app.mail.outbox -> feedback_app.mail.sender (up inside mail)",
        "feedback_app.readers.comments -> feedback_app.desk.auth"
        " (sideways: readers and desk)",
    ]
    assert cycles(edges) == [["feedback_app.mail.outbox", "feedback_app.mail.sender"]]


@pytest.mark.parametrize(
    "module", ["feedback_app.site.plugin", "feedback_app.pelican_plugin"]
)
def test_the_pelican_plugin_imports_without_flask(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'werkzeug', 'sqlalchemy', 'flask_wtf')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
