"""Content the project did not write renders right: real Pelican builds of
a site written here the way other Pelican blogs are (no author, dates from
the file system, relative image links, highlighted code with line numbers,
translations and articles in other languages), and of Pelican's own
sample content, from Pelican's source distribution (``make test`` puts it
in ``.cache/test-data/``; see ``pelican_samples``).

Pages are read with ``tests.site.test_build.Page`` (``html.parser``): the
checks are on the files a browser would fetch, as the build wrote them.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser
from pygments.styles import get_style_by_name
from pygments.token import Operator, Whitespace

from feedback_app.core import translations
from feedback_app.site import i18n
from feedback_app.site.code_styles import CODE_STYLE_DEFAULTS
from feedback_app.site.local_links import content_file

from ..conftest import ROOT, build_site
from ..readers import test_browser
from ..readers.test_browser import assert_accessible, new_page
from .test_build import Page, the_forms

pytestmark = pytest.mark.build

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8ffff3f0005fe02fea7d6a4f50000000049454e44ae426082"
)
#: A valid HTML "global date and time string": seconds at most to the
#: millisecond, and an offset.
HTML_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)"
)


def settings_file(folder: Path, **more: object) -> Path:
    """A settings file as another blog's: the project's pelicanconf.py
    without ``AUTHOR``, dates from the file system, and ``more``."""
    path = folder / "otherconf.py"
    lines = [
        "import sys",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from pelicanconf import *  # noqa: F403",
        "del AUTHOR",
        'DEFAULT_DATE = "fs"',
        *(f"{key} = {value!r}" for key, value in more.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def other_blog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A blog written as other Pelican blogs are, built with the project's
    theme and plugin; returns its output folder."""
    tmp = tmp_path_factory.mktemp("other-blog")
    content = tmp / "content"
    # No author anywhere, no date: Pelican takes the file's, to the microsecond.
    bare = write(content / "bare.md", "Title: Nobody signed this\n\nJust text.\n")
    os.utime(bare, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    (content / "images").mkdir()
    (content / "images" / "chart.png").write_bytes(PNG)
    (content / "2019").mkdir()
    (content / "2019" / "photo.png").write_bytes(PNG)
    write(
        content / "2019" / "pictures.md",
        "Title: Pictures\nDate: 2019-05-01 10:00\nAuthor: Ana Ek\n\n"
        "![A chart](images/chart.png) and ![A photo](photo.png).\n\n"
        '<img src="images/chart.png?v=2#top" alt="The chart again">\n\n'
        "[The code](../code.md), [gone](images/missing.png), "
        "[out](../../etc/passwd), [away](https://example.org/a.png).\n",
    )
    write(
        content / "code.md",
        "Title: Code\nDate: 2020-01-02 10:00\nAuthor: Ana Ek\n\n"
        "    :::python\n    def total(xs):\n        return sum(xs)  # all\n\n"
        "    #!python\n    print('numbered')\n",
    )
    write(
        content / "winter.md",
        "Title: Winter calls\nDate: 2024-02-01 09:00\nSlug: winter-calls\n"
        "Author: Ana Ek\n\nIn English.\n",
    )
    write(
        content / "winter-fr.md",
        "Title: Appels d'hiver\nDate: 2024-02-01 09:00\nSlug: winter-calls\n"
        "Lang: fr\nAuthor: Ana Ek\n\nEn français.\n",
    )
    write(
        content / "winter-de.md",
        "Title: Winteranrufe\nDate: 2024-02-01 09:00\nSlug: winter-calls\n"
        "Lang: de\nAuthor: Ana Ek\n\nAuf Deutsch.\n",
    )
    write(
        content / "ru.md",
        "Title: Холодные звонки\nDate: 2024-02-03 09:00\n"
        "Slug: холодные-звонки\nLang: ru\nAuthor: Ana Ek\n\nПо-русски.\n",
    )
    write(
        content / "ar.md",
        "Title: مكالمات\nDate: 2024-02-04 09:00\nSlug: calls-ar\nLang: ar\n"
        "Author: Ana Ek\n\nنص عربي.\n",
    )
    site = tmp / "site"
    build_site(site, settings=str(settings_file(tmp)), content=content)
    return site / "output"


def pages(output: Path) -> list[Path]:
    return sorted(p for p in output.rglob("*.html") if "drafts" not in p.parts)


def article_pages(output: Path) -> list[Path]:
    """The pages that show an article (they carry its comment thread)."""
    return [p for p in pages(output) if 'id="comments"' in p.read_text("utf-8")]


def resolves(output: Path, url: str) -> bool:
    """Tell whether the site-relative ``url`` names a file the build wrote."""
    path = unquote(urlsplit(url).path).lstrip("/")
    target = output / path
    return target.is_file() or (target / "index.html").is_file()


def local_links(html: Page) -> list[str]:
    """Every address the page loads or links on the site itself, but the
    app's (``/app/``, served by Flask) and in-page anchors."""
    found = []
    for element in html.elements:
        for name in ("href", "src"):
            value = element.attrs.get(name)
            if not value or value.startswith("#"):
                continue
            parts = urlsplit(value)
            if parts.scheme or parts.netloc or parts.path.startswith("/app/"):
                continue
            found.append(value)
    return found


def test_an_article_without_any_author_builds_with_both_forms(
    other_blog: Path,
) -> None:
    html = Page.load(other_blog / "2023/nobody-signed-this/index.html")
    the_forms(html)
    assert "by " not in html.one("p", **{"class": "meta"}).text


def test_every_time_element_is_a_valid_html_date(other_blog: Path) -> None:
    """Dates from the file system carry microseconds: HTML allows three
    digits of a second at most."""
    seen = 0
    for path in pages(other_blog):
        for element in Page.load(path).find_all("time"):
            value = element.attrs.get("datetime") or ""
            assert HTML_DATETIME.fullmatch(value), f"{path}: {value}"
            seen += 1
    assert seen > 10


def test_relative_image_links_reach_their_files(other_blog: Path) -> None:
    html = Page.load(other_blog / "2019/pictures/index.html")
    sources = [img.attrs["src"] for img in html.find_all("img")]
    assert sources == [
        "/images/chart.png",
        "/2019/photo.png",
        "/images/chart.png?v=2#top",
    ]
    assert (other_blog / "images/chart.png").read_bytes() == PNG
    assert (other_blog / "2019/photo.png").read_bytes() == PNG
    links = {a.text: a.attrs["href"] for a in html.find_all("a") if a.text}
    assert links["The code"] == "/2020/code/"  # another article's source
    # A file that is not there, or not in the content folder, stays as
    # written (Pelican would copy whatever a {static} link names).
    assert links["gone"] == "images/missing.png"
    assert links["out"] == "../../etc/passwd"
    assert links["away"] == "https://example.org/a.png"
    assert not (other_blog / "etc").exists()


def test_every_local_link_of_every_page_resolves(other_blog: Path) -> None:
    broken = []
    for path in pages(other_blog):
        for url in local_links(Page.load(path)):
            if url.startswith("images/missing") or url.startswith("../../"):
                continue  # written so on purpose (above)
            if not resolves(other_blog, url):
                broken.append(f"{path.relative_to(other_blog)}: {url}")
    assert not broken


@pytest.mark.parametrize("folder", ["", "2019"])
def test_content_file_finds_only_files_inside_the_content_folder(
    tmp_path: Path, folder: str
) -> None:
    root = tmp_path / "content"
    (root / "2019").mkdir(parents=True)
    (root / "2019" / "a.png").write_bytes(PNG)
    (root / "b.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    assert content_file(root, "2019", "a.png") == "2019/a.png"
    assert content_file(root, folder, "b.png") == "b.png"
    assert content_file(root, folder, "b.png?x=1#y") == "b.png"
    for outside in ("../secret.txt", "../../secret.txt", "link.txt", "/b.png"):
        assert content_file(root, folder, outside) is None
    for other in ("https://x.org/b.png", "//x.org/b.png", "{static}/b.png", ""):
        assert content_file(root, folder, other) is None


def test_code_is_highlighted_in_light_and_dark(other_blog: Path) -> None:
    html = Page.load(other_blog / "2020/code/index.html")
    sheets = [link.attrs["href"] for link in html.find_all("link", rel="stylesheet")]
    assert sheets == ["/theme/css/main.css", "/theme/css/pygments.css"]
    css = (other_blog / "theme/css/pygments.css").read_text("utf-8")
    light, dark = css.split("@media (prefers-color-scheme: dark)")
    assert ".highlight .k {" in light and ".highlight .k {" in dark
    assert ".highlight pre, .highlight .highlighttable { background: #f8f8f8;" in light
    assert "background: #0d1117; color: #e6edf3;" in dark
    assert not re.search(r"^pre\b", css, re.M)  # the theme's layout stays
    assert html.find_all("span", **{"class": "k"})  # tokens are marked up
    # Pages without code do not load the sheet.
    plain = Page.load(other_blog / "2024/winter-calls/index.html")
    assert len(plain.find_all("link", rel="stylesheet")) == 1


@pytest.mark.parametrize("setting", sorted(CODE_STYLE_DEFAULTS))
def test_default_code_styles_meet_wcag_aa_contrast(setting: str) -> None:
    """Every token colour but whitespace's on its style's background: 4.5:1."""
    style = get_style_by_name(CODE_STYLE_DEFAULTS[setting])

    def luminance(color: str) -> float:
        channels = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
            for c in channels
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    background = luminance(style.background_color)
    for token, values in style:
        if not values["color"] or token in Whitespace:
            continue
        lighter, darker = sorted((luminance(values["color"]), background))[::-1]
        ratio = (lighter + 0.05) / (darker + 0.05)
        assert ratio >= 4.5, f"{token}: #{values['color']} {ratio:.2f}"


def test_an_unknown_code_style_fails_the_build_naming_it(tmp_path: Path) -> None:
    content = tmp_path / "content"
    write(content / "a.md", "Title: A\nDate: 2024-01-01\n\nText.\n")
    conf = settings_file(tmp_path, CODE_STYLE="no-such-style")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build_site(tmp_path / "site", settings=str(conf), content=content)
    said = " ".join((failed.value.stdout + failed.value.stderr).split())
    assert "CODE_STYLE = 'no-such-style' is not a Pygments style" in said


def test_translations_link_each_other_at_clean_addresses(other_blog: Path) -> None:
    english = Page.load(other_blog / "2024/winter-calls/index.html")
    french = Page.load(other_blog / "fr/2024/winter-calls/index.html")
    for html, other, lang, name in (
        (english, "/fr/2024/winter-calls/", "fr", "français"),
        (french, "/2024/winter-calls/", "en", "English"),
    ):
        link = html.one("a", hreflang=lang)
        assert (link.attrs["href"], link.attrs["lang"], link.text) == (
            other,
            lang,
            name,
        )
        alternate = html.one("link", rel="alternate", hreflang=lang)
        assert alternate.attrs["href"] == other
        the_forms(html)
    assert french.one("html").attrs["lang"] == "fr"
    # The translation shares the original's thread, and its feed.
    feed = french.one("link", type="application/atom+xml").attrs["href"]
    assert feed == "/2024/winter-calls/comments.atom.xml"
    assert resolves(other_blog, feed)


def visible_text(path: Path) -> str:
    """The page's text and attribute values a reader meets, unescaped, with
    whitespace (no-break spaces too) made single spaces."""
    html = Page.load(path)
    parts = [e.text for e in html.elements if e.tag in ("title", "body")]
    for element in html.elements:
        for name in ("aria-label", "title", "placeholder", "alt"):
            parts.append(element.attrs.get(name) or "")
    return " ".join(" ".join(parts).split())


def english_fragments(lang: str) -> list[str]:
    """Pieces of each English message that ``lang`` translates otherwise:
    the text between its placeholders and tags, 8 characters or more."""
    with (i18n.CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    pieces = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if not message.id or message.string in (message.id, ("",), ""):
            continue
        for text in ids:
            for piece in re.split(r"%\(\w+\)s|\{\w+\}|<[^>]+>", text):
                if len(piece.strip()) >= 8:
                    pieces.append(" ".join(piece.split()))
    return pieces


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "fr",
            [
                "Pas encore de commentaire sur « Appels d'hiver »",
                "Laisser un commentaire",
                "Publier le commentaire",
                "Écrire à l’auteur",
                "1 février 2024",
                "Aller au contenu",
            ],
        ),
        (
            "de",
            [
                "Noch keine Kommentare zu „Winteranrufe“",
                "Einen Kommentar schreiben",
                "Kommentar abschicken",
                "Dem Autor schreiben",
                "1. Februar 2024",
                "Zum Inhalt springen",
            ],
        ),
    ],
)
def test_a_translation_speaks_its_own_language(
    other_blog: Path, lang: str, said: list[str]
) -> None:
    """The theme's every word on a translated page, forms included, is in
    its language; dates too (CLDR's names of the months)."""
    page = other_blog / lang / "2024/winter-calls/index.html"
    text = visible_text(page)
    for words in said:
        assert words in text
    left = [piece for piece in english_fragments(lang) if piece in text]
    assert left == []


CATALOGUE_LANGS = sorted(
    p.name for p in i18n.CATALOGUES.iterdir() if (p / "LC_MESSAGES").is_dir()
)


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s|\{\w+\}", text))


def test_the_template_of_catalogues_holds_every_word_of_the_sources(
    tmp_path: Path,
) -> None:
    """``make messages`` was run: nothing the templates or the code say is
    missing from ``messages.pot`` (and so from the catalogues), nothing
    there is left over."""
    fresh = tmp_path / "messages.pot"
    pybabel = str(Path(sys.executable).parent / "pybabel")
    subprocess.run(
        [pybabel, "extract", "-F", "babel.cfg", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def ids(path: Path) -> set[object]:
        with path.open("rb") as fh:
            return {m.id for m in read_po(fh) if m.id}

    assert ids(fresh) == ids(i18n.CATALOGUES / "messages.pot")


@pytest.mark.parametrize("lang", CATALOGUE_LANGS)
def test_every_catalogue_is_complete_and_keeps_the_placeholders(lang: str) -> None:
    assert {"de", "fr"} <= set(CATALOGUE_LANGS)
    with (i18n.CATALOGUES / "messages.pot").open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (i18n.CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    messages = [m for m in catalog if m.id]
    assert {m.id for m in messages} == wanted
    for m in messages:
        assert not m.fuzzy, m.id
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert len(strings) == (catalog.num_plurals if len(ids) > 1 else 1), m.id
        for text in strings:
            assert text, m.id
            # Each form keeps the English placeholders (the singular may
            # leave out the count: "Un commentaire").
            assert set(placeholders(text)) <= set(placeholders(ids[-1])), m.id
            assert set(placeholders(ids[0])) - {"%(count)s"} <= set(
                placeholders(text)
            ), m.id


def test_the_sites_language_keeps_pelicans_date_format(other_blog: Path) -> None:
    text = visible_text(other_blog / "2024/winter-calls/index.html")
    assert "1 February 2024" in text  # DEFAULT_DATE_FORMAT, "%-d %B %Y"
    assert "No comments yet on “Winter calls”" in text
    assert "Leave a reply" in text


def test_an_article_in_another_language_lives_under_it(other_blog: Path) -> None:
    russian = other_blog / "ru/2024/холодные-звонки/index.html"
    html = Page.load(russian)
    assert html.one("html").attrs["lang"] == "ru"
    assert html.one("html").attrs["dir"] == "ltr"
    assert not html.find_all("p", **{"class": "translations"})
    feed = html.one("link", type="application/atom+xml").attrs["href"]
    assert resolves(other_blog, feed)
    feed_text = (other_blog / unquote(feed).lstrip("/")).read_text("utf-8")
    assert '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="ru">' in feed_text
    the_forms(html)


def test_a_right_to_left_language_sets_the_direction(other_blog: Path) -> None:
    html = Page.load(other_blog / "ar/2024/calls-ar/index.html")
    assert (html.one("html").attrs["lang"], html.one("html").attrs["dir"]) == (
        "ar",
        "rtl",
    )
    index = Page.load(other_blog / "index.html")
    assert index.one("html").attrs["dir"] == "ltr"


def test_every_page_has_an_icon_so_no_page_asks_for_favicon_ico(
    other_blog: Path,
) -> None:
    for path in pages(other_blog):
        icon = Page.load(path).one("link", rel="icon").attrs["href"]
        assert resolves(other_blog, icon), path


# --- Pelican's own sample content ------------------------------------------


def pelican_version() -> str:
    import pelican

    return pelican.__version__


SAMPLES_ARCHIVE = ROOT / ".cache" / "test-data" / f"pelican-{pelican_version()}.tar.gz"


@pytest.fixture(scope="module")
def pelican_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pelican's ``samples/content`` (translations, drafts, rST, several
    authors, pictures, line-numbered code), built with the project's
    pelicanconf.py; returns the output folder. The archive is Pelican's
    source distribution from PyPI, which ``make test`` downloads once
    (``make test-data``): it is not in the repository (AGPL)."""
    if not SAMPLES_ARCHIVE.is_file():
        pytest.fail(f"{SAMPLES_ARCHIVE} is missing: run `make test-data` first")
    tmp = tmp_path_factory.mktemp("pelican-samples")
    prefix = f"pelican-{pelican_version()}/samples/content/"
    with tarfile.open(SAMPLES_ARCHIVE) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        for member in members:
            member.name = member.name[len(prefix) :]
        archive.extractall(tmp / "content", members=members, filter="data")
    build_site(tmp / "site", content=tmp / "content")
    return tmp / "site" / "output"


def test_pelican_samples_every_article_has_both_forms(pelican_samples: Path) -> None:
    shown = article_pages(pelican_samples)
    assert len(shown) >= 12
    for path in shown:
        the_forms(Page.load(path))


def test_pelican_samples_translations_and_pictures(pelican_samples: Path) -> None:
    english = Page.load(pelican_samples / "2010/oh-yeah/index.html")
    french = Page.load(pelican_samples / "fr/2010/oh-yeah/index.html")
    assert english.one("a", hreflang="fr").attrs["href"] == "/fr/2010/oh-yeah/"
    assert french.one("a", hreflang="en").attrs["href"] == "/2010/oh-yeah/"
    broken = []
    for path in pages(pelican_samples):
        for url in local_links(Page.load(path)):
            # Pelican's own sample links a picture that is not in it.
            if url.endswith("/images/Fat_Cat.jpg"):
                continue
            if not resolves(pelican_samples, url):
                broken.append(f"{path.relative_to(pelican_samples)}: {url}")
    assert not broken
    assert (pelican_samples / "pictures/Sushi.jpg").is_file()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP as a static host would; yield its URL."""
    handler = functools.partial(Quiet, directory=str(folder))
    yield from serve_in_thread(
        http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    )


def serve_in_thread(server: Any) -> Iterator[str]:
    """Run ``server`` (bound to 127.0.0.1) in a thread; yield its URL, then
    stop it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="module")
def samples_url(pelican_samples: Path) -> Iterator[str]:
    """The built samples, served over HTTP."""
    yield from serve_folder(pelican_samples)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pelican_samples_code_reads_as_code_in_a_browser(
    browser: Browser, samples_url: str, scheme: str
) -> None:
    """Line numbers in a table are one box beside the code, line-number
    links are numbers (not underlined blanks), tokens take the scheme's
    colours with enough contrast (axe), and no page asks for
    /favicon.ico."""
    asked: list[str] = []
    with new_page(browser, color_scheme=scheme) as page:
        page.on("request", lambda request: asked.append(urlsplit(request.url).path))
        page.goto(f"{samples_url}/2010/unbelievable/")
        page.wait_for_load_state("load")
        table = page.locator("table.highlighttable").first
        boxes = table.evaluate(
            """t => [...t.querySelectorAll("pre")].map(pre => {
                const s = getComputedStyle(pre);
                return [s.borderTopWidth, s.marginBottom];
            })"""
        )
        assert boxes == [["0px", "0px"], ["0px", "0px"]]
        assert table.evaluate("t => getComputedStyle(t).borderTopWidth") == "1px"
        numbers, code = table.locator("td").all()
        assert numbers.bounding_box()["x"] < code.bounding_box()["x"]  # type: ignore[index]
        link = page.locator('.highlight a[href="#foo-9"]')
        assert link.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"
        # "and" is an Operator.Word, coloured by the scheme's Pygments style.
        setting = "CODE_STYLE" if scheme == "light" else "CODE_STYLE_DARK"
        style = get_style_by_name(CODE_STYLE_DEFAULTS[setting])
        wanted = style.style_for_token(Operator.Word)["color"]
        word = page.locator(".highlight .ow").first
        colour = word.evaluate("w => getComputedStyle(w).color")
        rgb = ", ".join(str(int(wanted[i : i + 2], 16)) for i in (0, 2, 4))
        assert colour == f"rgb({rgb})"
        # Less the links that the sample's own options (:anchorlinenos: with
        # :linenospecial: 2) make of blank line numbers: empty by request.
        page.evaluate(
            """() => document.querySelectorAll('.highlight a[href^="#foo-"]')
                .forEach(a => { if (!a.textContent.trim()) a.remove(); })"""
        )
        assert_accessible(page, f"Pelican's sample code, {scheme}")
    assert "/theme/css/pygments.css" in asked
    assert "/favicon.ico" not in asked


@pytest.fixture(scope="module")
def other_blog_url(other_blog: Path) -> Iterator[str]:
    """The other blog's build, served over HTTP."""
    yield from serve_folder(other_blog)


@pytest.mark.parametrize("lang", ["fr", "de", "ar"])
def test_pages_in_other_languages_are_accessible_and_rtl_mirrors(
    browser: Browser, other_blog_url: str, lang: str
) -> None:
    """axe finds nothing serious on a French, German or Arabic page; the
    Arabic one runs right to left: its text starts at the column's right."""
    path = {"ar": "ar/2024/calls-ar/"}.get(lang, f"{lang}/2024/winter-calls/")
    with new_page(browser) as page:
        page.goto(f"{other_blog_url}/{path}")
        page.wait_for_load_state("load")
        assert_accessible(page, f"a page in {lang}")
        direction = page.evaluate("getComputedStyle(document.body).direction")
        assert direction == ("rtl" if lang == "ar" else "ltr")
        if lang == "ar":
            sides = page.evaluate(
                """() => {
                    const p = document.querySelector(".post-content p");
                    const range = document.createRange();
                    range.selectNodeContents(p);
                    const text = range.getBoundingClientRect();
                    const column = p.getBoundingClientRect();
                    return [text.left - column.left, column.right - text.right];
                }"""
            )
            gap_left, gap_right = sides
            assert gap_right < 2 < gap_left  # flush right, free on the left


@pytest.mark.parametrize("lang", ["../../etc", "fr/../de", "", "fr\x00", "x" * 40])
def test_only_a_language_code_names_a_catalogue(lang: str) -> None:
    """A page's ``Lang:`` is the author's text: anything but a language
    code reads no catalogue (English), never a file elsewhere."""
    assert translations.candidates(lang) == []
    assert translations.translations(lang).gettext("Leave a reply") == "Leave a reply"
    assert translations.translations("fr-CA").gettext("Leave a reply") == (
        "Laisser un commentaire"
    )
