"""A hostile co-author at the desk's post editor: what Pelican reads and
publishes is only what the app meant to write.

Properties (hypothesis) throw arbitrary text, every kind of line break and
repeated metadata keys at the editor's fields; the written file is then read
by Pelican's own Markdown reader, as a build reads it. Builds of content
with hostile links and a desk post that reached ``content/desk/`` some other
way show the plugin's own guards.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pelican.readers import MarkdownReader
from playwright.sync_api import Browser

from feedback_app.site import post_check, post_fields, post_markup

from ..app.test_surfaces import Watch
from ..conftest import ROOT
from ..readers import test_browser
from ..readers.test_browser import new_page

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

CONFIG = {"PELICAN_SETTINGS": str(ROOT / "pelicanconf.py")}

#: Pieces that have broken metadata or markup checks before.
HOSTILE = [
    "\n",
    "\r",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\v",
    "\f",
    "\x1c",
    "\t",
    "    ",
    "Slug: inside-sales-without-the-script",
    "Author: Tomas Berg",
    "Save_as: index.html",
    "Status: published",
    "Title : x",
    "---",
    "\n\n",
    ",",
    ";",
    ":",
    "<!-->",
    "<!--",
    "-->",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">j</a>',
    "[d](data:text/html,<script>alert(1)</script>)",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    "<form action=https://evil.example><button>go</button></form>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    '<p style="position:fixed">',
    "{static}/../instance/secret_key",
    "[k]({static}/../instance/secret_key)",
    "![i]({attach}../x.png)",
    '<a href="{filename}/../etc/passwd.md">f</a>',
    "`code`",
    "*em*",
    "<",
    ">",
    '"',
    "'",
    "&",
    "=",
    "Ä ü 日本",
    "<![",
    "toc-backref",
    '<div class="contents">',
    '<a href="https://e.example/" title="c class=">',
]
pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
hostile_text = st.lists(pieces, max_size=12).map("".join)

DANGEROUS_TAGS = {"script", "style", "meta", "base", "form", "iframe", "frame"}
DANGEROUS_TAGS |= {"frameset", "object", "embed", "svg", "math", "input", "button"}
DANGEROUS_TAGS |= {"link", "textarea", "select", "template", "noscript"}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS or tag not in post_markup.TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or (name == "style" and "text-align" not in value):
                self.found.append(name)
            if name in ("href", "src"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                if scheme in ("javascript", "data", "vbscript", "file"):
                    self.found.append(value or "")

    handle_startendtag = handle_starttag


def dangers(html: str) -> list[str]:
    """Script, handlers, dangerous URLs and tags in ``html``: read by
    html.parser and, independently, by pattern on the raw text (the cleaned
    HTML escapes every ``<`` of text, so a raw ``<script`` is a tag)."""
    audit = _Audit()
    audit.feed(html)
    audit.close()
    raw = re.findall(
        r"<\s*(?:script|meta|base|form|i?frame|object|embed|svg|style)\b"
        r"|\son[a-z]+\s*=|javascript:|vbscript:",
        html,
        re.I,
    )
    return audit.found + raw


@pytest.fixture(scope="module")
def pelican_settings() -> dict:
    return post_check.pelican_settings(CONFIG)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    title=hostile_text,
    summary=hostile_text,
    category=hostile_text,
    tags=hostile_text,
    body=hostile_text,
)
def test_pelican_reads_exactly_what_the_desk_meant_and_nothing_runs(
    tmp_path_factory: pytest.TempPathFactory,
    pelican_settings: dict,
    title: str,
    summary: str,
    category: str,
    tags: str,
    body: str,
) -> None:
    try:
        fields = post_fields.PostFields(
            title=post_fields.one_line(title, "title"),
            summary=post_fields.one_line(summary, "summary"),
            category=post_fields.one_line(category, "category"),
            tags=post_fields.split_tags(tags),
            body=post_fields.normal_body(body),
            author="Maya Lindqvist",
            slug="reader-mail",
            date="2026-12-01 10:00",
        )
        post = post_check.check_now(CONFIG, fields)
    except post_fields.DraftError:
        return  # refused, with a reason: nothing is written
    # The file as the desk writes it, read by Pelican as a build reads it.
    path = tmp_path_factory.mktemp("post") / "post.md"
    path.write_text(post_fields.compose(fields), encoding="utf-8")
    content, meta = MarkdownReader(pelican_settings).read(str(path))
    expected = {
        "title": fields.title,
        "date": "2026-12-01 10:00",
        "author": "Maya Lindqvist",
        "slug": "reader-mail",
        "status": "draft",
    }
    if fields.category:
        expected["category"] = fields.category
    if fields.tags:
        expected["tags"] = list(fields.tags)
    read = {
        "title": meta["title"],
        "date": meta["date"].strftime("%Y-%m-%d %H:%M"),
        "author": meta["author"].name,
        "slug": meta["slug"],
        "status": meta["status"],
    }
    if "category" in meta:
        read["category"] = meta["category"].name
    if "tags" in meta:
        read["tags"] = [tag.name for tag in meta["tags"]]
    assert read == expected
    assert set(meta) - {"summary"} == set(expected)
    assert ("summary" in meta) == bool(fields.summary)
    # What the site publishes (the build cleans desk posts) and the preview.
    for html in (content, post.html, str(meta.get("summary", ""))):
        assert dangers(post_markup.clean(html)) == []
    assert dangers(post.html) == [] and dangers(post.summary_html) == []
    links = post_markup.intrasite_links(content, r"[{|](?P<what>.*?)[|}]")
    assert links == []


# --- builds ------------------------------------------------------------------------


def pelican(content: Path, out: Path, **extra: object) -> subprocess.CompletedProcess:
    overrides = {
        "FEEDBACK_SITE_INDEX": str(out / "instance" / "site.json"),
        "CACHE_PATH": str(out / "cache"),
        **extra,
    }
    cmd = [sys.executable, "-m", "pelican", str(content), "-s", "pelicanconf.py"]
    cmd += ["-o", str(out / "output")]
    cmd += ["-e", *(f"{k}={json.dumps(v)}" for k, v in overrides.items())]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def site_with_desk_post(tmp_path: Path, text: str) -> Path:
    """The project's content, with ``text`` as a post in content/desk/ that
    got there without the desk (by hand, a restored backup, ...)."""
    content = tmp_path / "content"
    shutil.copytree(
        ROOT / "content", content, ignore=shutil.ignore_patterns("comments")
    )
    (content / "desk").mkdir()
    (content / "desk" / "post.md").write_text(text, encoding="utf-8")
    return content


ARTICLE = "Title: A\nDate: 2026-01-01 10:00\nAuthor: Tomas Berg\n\n"


@pytest.mark.build
@pytest.mark.parametrize(
    "link",
    [
        "[k]({static}/../instance/secret_key)",
        "[k]({static}../instance/secret_key)",
        "![k]({attach}/../instance/feedback.sqlite3)",
        '<a href="|static|/../instance/secret_key">k</a>',
        "[k]({static}/../../../../etc/hostname)",
        "[k]({static}/private/secret_key)",  # a private folder inside content
        "[k]({static}/escape/secret_key)",  # a link out of content
    ],
)
def test_no_content_file_makes_pelican_copy_a_file_from_outside_content(
    tmp_path: Path, link: str
) -> None:
    content = tmp_path / "content"
    content.mkdir()
    instance = tmp_path / "instance"
    instance.mkdir()
    (content / "private").mkdir()
    for folder in (instance, content / "private"):
        (folder / "secret_key").write_text("s3cret", encoding="utf-8")
        (folder / "secret_key").chmod(0o600)
    (instance / "feedback.sqlite3").write_text("db", encoding="utf-8")
    (content / "escape").symlink_to(instance)
    (content / "a.md").write_text(ARTICLE + link + "\n", encoding="utf-8")
    result = pelican(
        content, tmp_path, FEEDBACK_PRIVATE_PATHS=[str(content / "private")]
    )
    assert result.returncode == 1, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "a.md: the link" in said
    output = tmp_path / "output"
    found = [p for p in output.rglob("*") if p.is_file()] if output.exists() else []
    assert not [p for p in found if p.read_bytes() in (b"s3cret", b"db")]


@pytest.mark.build
def test_a_desk_post_that_reached_the_folder_another_way_is_published_clean(
    tmp_path: Path,
) -> None:
    content = site_with_desk_post(
        tmp_path,
        "Title: Evil\nDate: 2026-01-01 10:00\nAuthor: Tomas Berg\nSlug: evil\n"
        "Summary: <script>alert(1)</script> <a href='javascript:x'>s</a>\n\n"
        "Hello <script>alert(2)</script> <img src=x onerror=alert(3)>\n\n"
        '<meta http-equiv="refresh" content="0;url=https://evil.example">\n'
        "<!--> <img src=x onerror=alert(4)> -->\n",
    )
    result = pelican(content, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    output = tmp_path / "output"
    page = (output / "2026" / "evil" / "index.html").read_text(encoding="utf-8")
    body = page.split('<div class="post-content">', 1)[1].split("</div>", 1)[0]
    assert "Hello" in body and dangers(body) == []
    index = (output / "index.html").read_text(encoding="utf-8")
    assert "alert(1)" not in index and "javascript:" not in index

    (content / "desk" / "post.md").write_text(
        "Title: Evil\nDate: 2026-01-01 10:00\nSlug: evil\n\n"
        "[x]({static}/pages/about.md)\n",
        encoding="utf-8",
    )
    result = pelican(content, tmp_path)
    assert result.returncode == 1
    said = " ".join((result.stdout + result.stderr).split())
    assert "may not carry the link “{static}/pages/about.md”" in said


@pytest.mark.build
@pytest.mark.parametrize(
    "link",
    [
        '<a href="&#123;index}javascript://x?%0Aalert(1)">x</a>',
        "<a href={tag}javascript://x/a?%0Aalert(1)>x</a>",
        '<a title=">" href="{author}javascript://x?%0Aalert(1)">x</a>',
        '<a href="&#123;attach}/images/chart.png">x</a>',
        '<a href="&#123;filename}javascript://x?%0Aalert(1)">x</a>',
    ],
)
def test_a_desk_post_with_a_hidden_intrasite_link_fails_the_build(
    tmp_path: Path, link: str
) -> None:
    """Pelican rewrites intrasite links in the HTML it writes (cleaned), and
    keeps the javascript: that follows the token: none may be there."""
    content = site_with_desk_post(
        tmp_path, f"Title: T\nDate: 2026-01-01 10:00\nSlug: t\n\n{link}\n"
    )
    result = pelican(content, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "desk/post.md: a post written in the desk may not carry the link" in said


#: What in a page could run or leave: handlers, script addresses, frames,
#: refreshes, forms to elsewhere, scripts but the theme's own.
LIVE = """
() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const value = attr.value.replace(/[\\x00-\\x20]/g, "");
      if (attr.name.startsWith("on") || /^(javascript|vbscript|data):/i.test(value)) {
        found.push(`<${el.localName} ${attr.name}>`);
      }
    }
  }
  const bad = "iframe, frame, object, embed, svg, math, base, meta[http-equiv], form";
  for (const el of document.querySelectorAll(bad)) {
    if (el.localName !== "form" || !/\\/app\\//.test(el.action)) {
      found.push(`<${el.localName}>`);
    }
  }
  for (const script of document.scripts) {
    if (script.textContent.trim() || !script.src.includes("/theme/js/")) {
      found.push(`<script src=${script.src}>`);
    }
  }
  return found;
}
"""
PAYLOADS = (
    "Read this.\n\n"
    "<script>window.__pwned = 1</script>\n\n"
    '<img src=x onerror="window.__pwned = 2">\n\n'
    '<!--> <img src=x onerror="window.__pwned = 3"> -->\n\n'
    '<a href="javascript:window.__pwned = 4">a link</a>\n\n'
    '<svg><animate onbegin="window.__pwned = 5" attributeName=x dur=1s>\n\n'
    '<meta http-equiv="refresh" content="0;url=about:blank#left">\n\n'
    '<form action="https://evil.example/"><button>Go</button></form>\n'
)


@pytest.mark.build
@pytest.mark.browser
def test_no_script_in_a_desk_post_runs_in_chromium(
    tmp_path: Path, browser: Browser
) -> None:
    """However a desk post got its markup, its page runs nothing of it."""
    content = site_with_desk_post(
        tmp_path,
        "Title: Hostile\nDate: 2026-01-01 10:00\nAuthor: Tomas Berg\n"
        'Slug: hostile\nSummary: <img src=x onerror="window.__pwned = 6">\n\n'
        + PAYLOADS,
    )
    assert pelican(content, tmp_path).returncode == 0
    output = tmp_path / "output"
    with new_page(browser) as page:
        watch = Watch(page)
        for path in ("2026/hostile/index.html", "index.html"):
            url = (output / path).as_uri()
            page.goto(url)
            page.wait_for_timeout(300)  # a refresh or an animation, if any
            assert page.url == url
            assert page.evaluate("window.__pwned") is None, path
            assert watch.dialogs == [], path
            assert page.evaluate(LIVE) == [], path
        assert "Read this." in page.content() or "Hostile" in page.content()
