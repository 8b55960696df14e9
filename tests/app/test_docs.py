"""The documentation: the generated configuration reference is current, every
setting is described, README.md stays a front page, and no link is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedback_app.core import config_reference

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The Markdown files whose relative links must resolve.
LINKED = [
    ROOT / "README.md",
    *sorted(DOCS.glob("*.md")),
    ROOT / "deploy" / "README.md",
    ROOT / "SECURITY.md",
]

# [text](target) and [text](target "title"); images too. Not inside code.
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"`+[^`]*`+")
# A part of a Markdown file named anywhere, code included: a command's
# comment "(docs/operators.md#health)" is followed like a link.
_MENTION = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w.-]+\.md)#([\w-]+)")


def _config_source() -> str:
    return config_reference.CONFIG_PATH.read_text(encoding="utf-8")


def test_configuration_reference_is_current() -> None:
    expected = config_reference.render(_config_source())
    path = DOCS / "configuration.md"
    assert path.exists(), "docs/configuration.md is missing: run `invoke docs`."
    assert path.read_text(encoding="utf-8") == expected, (
        "docs/configuration.md differs from what config.py's comments make: "
        "run `invoke docs` and commit the result."
    )


def test_every_setting_has_a_description() -> None:
    source = _config_source()
    assert config_reference.missing_descriptions(source) == [], (
        "Describe these settings with `#:` lines directly above them in config.py."
    )
    names = [s.name for g in config_reference.parse(source).groups for s in g.settings]
    # The parser sees every setting the app has (the UPPERCASE names).
    assert {"SECRET_KEY", "DATABASE_URL", "SMTP_PASSWORD", "PROXY_COUNT"} <= set(names)
    assert len(names) == len(set(names))


SAMPLE = '''"""Settings, read in this order."""

#: The first one.
ONE = 1
#: Two and three share this.
TWO: int = 2
THREE = "three"  # a note

UNDESCRIBED = None
#: A block over a blank line describes nothing.

ALSO_UNDESCRIBED = []
lowercase_is_no_setting = 0


def f() -> None:
    INSIDE = 1
AFTER_A_FUNCTION = 1
'''


def test_the_generator_reports_what_is_not_described() -> None:
    assert config_reference.missing_descriptions(SAMPLE) == [
        "UNDESCRIBED",
        "ALSO_UNDESCRIBED",
        "AFTER_A_FUNCTION",
    ]
    groups = config_reference.parse(SAMPLE).groups
    assert [[s.name for s in g.settings] for g in groups][:2] == [
        ["ONE"],
        ["TWO", "THREE"],
    ]
    text = config_reference.render(SAMPLE)
    assert "Settings, read in this order." in text
    assert "| `TWO` | `FEEDBACK_TWO` | `2` (`int`) |" in text
    assert '| `THREE` | `FEEDBACK_THREE` | `"three"`: a note |' in text
    assert "Two and three share this." in text


def test_readme_is_a_front_page_that_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150, f"README.md has {len(lines)} lines; move detail to docs/"
    # The first code block is the quick start: make serve, then make test.
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    commands = [line.strip() for line in lines[start + 1 : end] if line.strip()]
    assert commands[:2] == ["make serve", "make test"], commands
    assert all(not line.startswith("```") for line in lines[:start])


def _links(text: str) -> list[str]:
    text = _FENCE.sub("", text)
    text = _CODE_SPAN.sub("", text)
    return _LINK.findall(text)


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    anchors: set[str] = set()
    for line in _FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchor, repeat = slug, 0
            while anchor in anchors:  # a repeated heading: slug-1, slug-2, ...
                repeat += 1
                anchor = f"{slug}-{repeat}"
            anchors.add(anchor)
    return anchors


def _broken_links(path: Path) -> list[str]:
    """Links that lead nowhere, then parts of files named in the text (in
    code too) that do not exist: a path from the file's folder or, as in a
    command, from the project's."""
    broken = []
    text = path.read_text(encoding="utf-8")
    for target in _links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # another site, or mail
        file, _, anchor = target.partition("#")
        linked = (path.parent / file.split("?", 1)[0]) if file else path
        checks_anchor = bool(anchor) and linked.suffix == ".md"
        if not linked.exists() or (checks_anchor and anchor not in _anchors(linked)):
            broken.append(target)
    for mention in _MENTION.finditer(text):
        file, anchor = mention.groups()
        named = path.parent / file
        named = named if named.exists() else ROOT / file
        missing = not named.exists() or anchor not in _anchors(named)
        if missing and mention.group(0) not in broken:
            broken.append(mention.group(0))
    return broken


@pytest.mark.parametrize("path", LINKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    assert path.exists()
    assert _broken_links(path) == []


def test_the_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# There\n\n## A part: `code`, too\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](there.md) [ok too](there.md#a-part-code-too) [up](#page)\n"
        "[web](https://example.org/x) [mail](mailto:a@example.org)\n"
        "[gone](missing.md) ![img](img/none.png) [no part](there.md#nowhere)\n"
        "[not here](#nowhere)\n"
        "`[code](not-a-link.md)`\n```\n[fenced](not-a-link.md)\n```\n"
        "```sh\ncurl -sS x  # (there.md#a-part-code-too, there.md#gone)\n```\n"
        "`docs/operators.md#backups` `docs/operators.md#nothing` `gone.md#x`\n"
        "https://example.org/elsewhere.md#anything\n"
    )
    assert _broken_links(page) == [
        "missing.md",
        "img/none.png",
        "there.md#nowhere",
        "#nowhere",
        "there.md#gone",
        "docs/operators.md#nothing",
        "gone.md#x",
    ]


def test_the_command_refuses_a_setting_without_a_description(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.py"
    config.write_text(SAMPLE, encoding="utf-8")
    monkeypatch.setattr(config_reference, "CONFIG_PATH", config)
    out = tmp_path / "configuration.md"
    assert config_reference.main(["-o", str(out)]) == 1
    assert "UNDESCRIBED, ALSO_UNDESCRIBED" in capsys.readouterr().err
    assert not out.exists()
