"""The draft post that answers feedback in public: quoting, parsing, files."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import pytest

from feedback_app.drafts import DraftError, content_file, parse, quote_markdown

TRICKY = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1)) and ![img](http://x/y.png)",
    "**bold** _em_ `code` ~~gone~~ # not a heading",
    "1. not a list\n- nor this\n> nor a quote",
    "<https://autolink.example/> &amp; &lt;b&gt; \\*escaped\\*",
    "---\n\n    indented like code\n| a | b |\n|---|---|",
    "Plain words, with a full stop. And (parentheses)!",
]


def rendered_text(markdown_text: str) -> str:
    """What a reader of the built page sees: the HTML's text, unescaped."""
    page = markdown.markdown(markdown_text, extensions=["extra"])
    assert "<a " not in page and "<img" not in page and "<script" not in page
    assert "<strong>" not in page and "<code>" not in page and "<li>" not in page
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize("text", TRICKY)
def test_a_quote_renders_as_exactly_what_the_reader_typed(text: str) -> None:
    quoted = quote_markdown(text)
    assert all(line.startswith(">") for line in quoted.splitlines())
    seen = rendered_text(quoted)
    for line in text.splitlines():
        assert line.strip() in seen


def test_metadata_and_body_are_split_at_the_first_empty_line() -> None:
    post = parse("p.md", "Title: Hello\nStatus: draft\nSlug: hello\n\nBody: text\n")
    assert (post.title, post.status, post.slug) == ("Hello", "draft", "hello")
    assert post.body == "Body: text"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Status: draft\n\nNo title.", "Title"),
        ("Title: T\nStatus: maybe\n\nx", "Status"),
        ("Title: T\nSlug: Not A Slug\n\nx", "Slug"),
        ("Title: T\nthis is not metadata\n\nx", "Line 2"),
    ],
)
def test_a_malformed_post_is_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(DraftError, match=why):
        parse("p.md", text)


@pytest.mark.parametrize(
    "source", ["../outside.md", "/etc/passwd.md", "sub/../../x.md", "post.txt"]
)
def test_only_markdown_files_inside_the_content_folder(
    tmp_path: Path, source: str
) -> None:
    config = {"CONTENT_PATH": str(tmp_path / "content")}
    with pytest.raises(DraftError):
        content_file(config, source)
    assert content_file(config, "a-post.md") == (tmp_path / "content" / "a-post.md")
