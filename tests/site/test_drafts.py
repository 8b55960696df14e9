"""The draft post that answers feedback in public: quoting, parsing, files."""

from __future__ import annotations

import html
import re
from pathlib import Path

import markdown
import pytest
from pelican.settings import DEFAULT_CONFIG

from feedback_app.site.drafts import content_file, quote_markdown
from feedback_app.site.post_fields import (
    DraftError,
    PostFields,
    compose,
    one_line,
    parse,
    split_tags,
)

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


FIELDS = PostFields(
    title="Reader mail: on calls",
    body="Hello.\n\nSecond paragraph.",
    summary="A *short* summary.",
    category="Reader mail",
    tags=("calls", "reader feedback"),
    author="Maya Lindqvist",
    slug="reader-mail-on-calls",
    date="2026-12-01 10:00",
)


def test_the_desk_reads_back_the_fields_it_wrote() -> None:
    assert parse(compose(FIELDS)) == FIELDS


@pytest.mark.parametrize(
    "text",
    [
        "Title: T\nSave_as: index.html\n\nx",
        "Title: T\nSlug: a\nSlug: b\n\nx",
        "Title: T\n    continued\n\nx",
        "Status: draft\n\nNo title.",
        "Title: T only",
    ],
)
def test_a_file_not_in_the_desks_form_is_not_edited_in_the_desk(text: str) -> None:
    with pytest.raises(DraftError):
        parse(text)


@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb", "a\x02b", "a\x9bb", "a\x7fb"])
def test_control_characters_are_refused_in_a_header_value(value: str) -> None:
    with pytest.raises(DraftError):
        one_line(value, "title")


def test_every_line_break_becomes_a_space_in_a_header_value() -> None:
    breaks = "\n\r\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029\t"
    assert one_line(f"A{breaks}Slug: other", "title") == "A Slug: other"
    assert split_tags("a, b; c,, a") == ("a", "b", "c")


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
