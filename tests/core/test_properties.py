"""Property-based tests (hypothesis) of the sanitiser and the Unicode policy."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from feedback_app.core.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_comment
from feedback_app.core.text import REFUSED, STRIPPED, TextPolicyError, clean_text
from feedback_app.site.drafts import quote_markdown

# Text with plenty of what attacks are made of: markup, quotes, schemes,
# Markdown syntax, controls, bidi and zero-width characters.
PIECES = st.sampled_from(
    [
        "<",
        ">",
        "&",
        '"',
        "'",
        "`",
        "[",
        "]",
        "(",
        ")",
        "*",
        "_",
        "!",
        "#",
        "\n",
        "\n\n",
        "    ",
        "<script>",
        "</script>",
        "<img src=x onerror=1>",
        "<a href='javascript:alert(1)'>",
        "javascript:",
        "data:text/html,",
        "vbscript:",
        "//evil.example/",
        "https://ok.example/",
        "mailto:a@b.c",
        "[x](javascript:alert(1))",
        "![i](http://x/i.png)",
        "<!--",
        "-->",
        "<svg onload=alert(1)>",
        "\u202e",
        "\u2066",
        "\u200b",
        "\ufeff",
        "\x00",
        "\x1b",
        "\x7f",
        "é",
        "✓",
        "\u200d",
    ]
)
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=30).map("".join)


class Inventory(HTMLParser):
    """Every tag and attribute of a piece of HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments += 1


def inventory(html: str) -> Inventory:
    found = Inventory()
    found.feed(html)
    found.close()
    return found


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
@example('<a href="javascript:alert(1)">x</a> [y](JAVASCRIPT:alert(1))')
@example("[x](//evil.example/) <img src=x onerror=alert(1)>")
def test_rendered_comments_hold_only_allowed_markup(text: str) -> None:
    found = inventory(render_comment(text))
    assert found.comments == 0
    for tag, attrs in found.tags:
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}
            if name == "href":
                assert re.match(r"(?i)(https?|mailto):", value or "")


@settings(max_examples=300)
@given(HOSTILE)
def test_the_unicode_policy_strips_or_refuses(text: str) -> None:
    try:
        cleaned = clean_text(text)
    except TextPolicyError:
        assert REFUSED.search(text.replace("\r", "\n"))
        return
    assert not STRIPPED.search(cleaned)
    assert not REFUSED.search(cleaned)
    assert clean_text(cleaned) == cleaned  # stable: cleaning twice changes nothing
    # Nothing else is lost: the text is the input without stripped characters.
    assert cleaned == STRIPPED.sub("", text.replace("\r\n", "\n")).strip() or (
        "\r" in text
    )


@settings(max_examples=200)
@given(HOSTILE)
def test_a_quote_in_a_draft_is_one_block_of_escaped_text(text: str) -> None:
    quoted = quote_markdown(text)
    found = inventory(quoted)
    assert [t for t, _ in found.tags if t not in ("blockquote", "p", "br")] == []
    assert [t for t, _ in found.tags].count("blockquote") == 1
    assert "\n\n" not in quoted  # one HTML block: Markdown never looks inside


def test_the_renderer_is_ready_for_threads_when_handed_out() -> None:
    """markdown-it builds its rule chains, in place, on the first render
    after they change; two threads of a gthread worker must never find them
    half built. The renderer is handed out only once they are built (and
    ``factory.warm_up`` builds it before gunicorn forks)."""
    check = (
        "from feedback_app.core import rendering as r\n"
        "md = r._markdown()\n"
        "rulers = [md.core.ruler, md.block.ruler, md.inline.ruler, md.inline.ruler2]\n"
        "print(sum(ruler.__cache__ is None for ruler in rulers))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "0"
