"""The configuration reference (docs/configuration.md), made from config.py.

This module owns the reference's text and layout, not its content: every
setting, its default and its description are read from ``config.py`` beside
this file, so the reference cannot drift from the code. ``config.py`` is
parsed (``ast`` and its source lines), never imported, so this needs neither
Flask nor the app's settings.

A setting is an UPPERCASE name assigned at the top level of ``config.py``.
Its description is the block of ``#:`` comment lines directly above it; the
assignments that follow it on the very next lines, with no comment block of
their own, share that description. A setting with neither has no
description: ``missing_descriptions()`` names it, and the tests fail.

``python -m feedback_app.core.config_reference`` prints the reference to standard
output; ``-o PATH`` writes it to PATH instead. ``invoke docs`` writes
docs/configuration.md.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: The settings module this reference describes: the sibling file.
CONFIG_PATH = Path(__file__).with_name("config.py")

#: What each setting is called in the environment.
ENV_PREFIX = "FEEDBACK_"

_UPPERCASE = re.compile(r"[A-Z][A-Z0-9_]*")
_CODE_SPAN = re.compile(r"(`[^`]*`)")


@dataclass(frozen=True)
class Setting:
    """One UPPERCASE assignment of the settings module."""

    name: str
    default: str  # the value as written in the source
    annotation: str | None
    note: str | None  # a comment at the end of the assignment's line
    line: int


@dataclass
class Group:
    """Settings described by one ``#:`` block (empty: no description)."""

    description: list[str]
    settings: list[Setting] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    """What the settings module says: its docstring and its settings."""

    docstring: str
    groups: list[Group]


def _own_module() -> str:
    """This module's dotted name, also when run with ``python -m``."""
    return __spec__.name if __spec__ is not None else __name__


def _config_display_path() -> str:
    """config.py's path as the project names it, e.g. feedback_app/config.py."""
    package = _own_module().rpartition(".")[0]
    return "/".join([*package.split("."), CONFIG_PATH.name])


def _target(node: ast.stmt) -> tuple[str, ast.expr | None, ast.expr | None] | None:
    """(name, value, annotation) of an assignment to one UPPERCASE name."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value, annotation = node.targets[0], node.value, None
    elif isinstance(node, ast.AnnAssign):
        target, value, annotation = node.target, node.value, node.annotation
    else:
        return None
    if isinstance(target, ast.Name) and _UPPERCASE.fullmatch(target.id):
        return target.id, value, annotation
    return None


def _comment_block(lines: list[str], lineno: int) -> list[str]:
    """The ``#:`` lines directly above line ``lineno`` (1-based), unprefixed."""
    block: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        text = lines[index].lstrip()[2:]
        block.append(text[1:] if text.startswith(" ") else text)
        index -= 1
    return block[::-1]


def _trailing_comment(lines: list[str], node: ast.stmt) -> str | None:
    """A ``# ...`` comment after the assignment on its last line, if any."""
    if node.end_lineno is None or node.end_col_offset is None:
        return None
    # Column offsets count UTF-8 bytes.
    line = lines[node.end_lineno - 1].encode("utf-8")
    rest = line[node.end_col_offset :].decode("utf-8").strip()
    if not rest.startswith("#"):
        return None
    return rest.lstrip("#").strip() or None


def _one_line(code: str) -> str:
    """Source code spread over lines, on one (for a table cell)."""
    return re.sub(r"\s*\n\s*", " ", code)


def parse(source: str) -> Reference:
    """Read the settings, their defaults and their descriptions from
    ``source``, the text of a settings module."""
    tree = ast.parse(source)
    lines = source.splitlines()
    groups: list[Group] = []
    previous_end: int | None = None  # last line of the previous setting
    for node in tree.body:
        found = _target(node)
        if found is None:
            previous_end = None
            continue
        name, value, annotation = found
        block = _comment_block(lines, node.lineno)
        setting = Setting(
            name=name,
            default=""
            if value is None
            else _one_line(ast.get_source_segment(source, value) or ""),
            annotation=None
            if annotation is None
            else ast.get_source_segment(source, annotation),
            note=_trailing_comment(lines, node),
            line=node.lineno,
        )
        follows = previous_end is not None and node.lineno == previous_end + 1
        if block or not follows or not groups:
            groups.append(Group(description=block))
        groups[-1].settings.append(setting)
        previous_end = node.end_lineno
    return Reference(docstring=ast.get_docstring(tree) or "", groups=groups)


def missing_descriptions(source: str) -> list[str]:
    """The names of the settings in ``source`` that have no description."""
    return [
        setting.name
        for group in parse(source).groups
        if not any(line.strip() for line in group.description)
        for setting in group.settings
    ]


def _markdown(text: str) -> str:
    """Comment text as Markdown: reStructuredText's ``literal`` as Markdown's
    `literal`, and outside literals ``<`` and ``*`` escaped, so that
    ``<article-slug>`` is not taken for an HTML tag."""
    parts = _CODE_SPAN.split(text.replace("``", "`"))
    return "".join(
        part if part.startswith("`") else re.sub(r"([<*])", r"\\\1", part)
        for part in parts
    )


def _code(text: str) -> str:
    """``text`` as a Markdown code span that may sit in a table cell."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def render(source: str) -> str:
    """The configuration reference, in Markdown, for the settings module
    whose text is ``source``."""
    reference = parse(source)
    config = _config_display_path()
    out = [
        "# Configuration reference",
        "",
        f"<!-- Generated from {config} by `invoke docs`"
        f" (python -m {_own_module()}): edit the comments there, not this file. -->",
        "",
        f"Generated from the `#:` comments in [`{config}`](../{config}): a test"
        " fails when this page and the code disagree. Every setting can be set"
        f" in the environment under its name with the `{ENV_PREFIX}` prefix.",
        "",
        _markdown(reference.docstring),
        "",
        "## Settings",
        "",
    ]
    for group in reference.groups:
        names = ", ".join(f"`{s.name}`" for s in group.settings)
        out += [
            f"### {names}",
            "",
            "| setting | environment variable | default |",
            "|---|---|---|",
        ]
        for s in group.settings:
            default = _code(s.default) if s.default else "none"
            if s.annotation:
                default += f" ({_code(s.annotation)})"
            if s.note:
                default += f": {_markdown(s.note)}".replace("|", "\\|")
            out.append(f"| `{s.name}` | `{ENV_PREFIX}{s.name}` | {default} |")
        out += ["", _markdown("\n".join(group.description)).strip(), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the reference, or write it to the file given with ``-o``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {_own_module()}",
        description="Make the configuration reference from config.py's comments.",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="write it here instead of printing it"
    )
    args = parser.parse_args(argv)
    source = CONFIG_PATH.read_text(encoding="utf-8")
    missing = missing_descriptions(source)
    if missing:
        print(f"No description in {CONFIG_PATH}: {', '.join(missing)}", file=sys.stderr)
        return 1
    text = render(source)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
