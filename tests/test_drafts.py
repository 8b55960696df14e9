"""The draft post that answers feedback in public: quoting, parsing, files."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import pytest
from pelican.settings import DEFAULT_CONFIG

from feedback_app.drafts import DraftError, content_file, parse, quote_markdown

TRICKY = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1)) and ![img](http://x/y.png)",
    "**bold** _em_ `code` ~~gone~~ # not a heading",
    "1. not a list\n- nor this\n> nor a quote",
    "<https://autolink.example/> &amp; &lt;b&gt; \\*escaped\\*",
    "---\n\n    indented like code\n| a | b |\n|---|---|",
    "Plain words, with a full stop. And (parentheses)!",
    "My take\n===\n\nQuota\n: a number someone else picked",
    "</blockquote><p onclick=x>out</p> <!-- comment -->",
]


def rendered(markdown_text: str) -> str:
    """The HTML Pelican makes of a post's text (its default Markdown setup)."""
    return markdown.markdown(markdown_text, **DEFAULT_CONFIG["MARKDOWN"])


@pytest.mark.parametrize("text", TRICKY)
def test_a_quote_renders_as_exactly_what_the_reader_typed(text: str) -> None:
    page = rendered(f"Before.\n\n{quote_markdown(text)}\n\nAfter *this*.")
    # Only the quote's own tags: nothing the reader typed became markup.
    tags = set(re.findall(r"<(/?[a-z0-9]+)", page))
    assert tags <= {"p", "/p", "blockquote", "/blockquote", "br", "em", "/em"}
    assert page.count("<blockquote") == 1 and page.count("<em>") == 1
    quote = page[page.index("<blockquote") : page.index("</blockquote>")]
    seen = html.unescape(re.sub(r"<[^>]+>", "", quote))
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
