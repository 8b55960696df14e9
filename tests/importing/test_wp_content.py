"""WordPress post and comment bodies become Markdown (or HTML) that shows
the same words: rendered here with the project's own Markdown settings, as
Pelican renders them, and with the real comment renderer."""

from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path

import lxml.etree
import lxml.html
import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pelican.readers import MarkdownReader
from pelican.settings import read_settings

from feedback_app.core.rendering import render_comment
from feedback_app.importing.wp_content import (
    Converted,
    convert_comment,
    convert_post,
    split_more,
    wpautop,
)

ROOT = Path(__file__).resolve().parents[2]
PELICAN_EXPORT = (
    Path(markdown.__file__).resolve().parents[1]
    / "pelican/tests/content/wordpressexport.xml"
)
UPLOADS_URL = "https://example.com/wp-content/uploads"
FOLDER = "images/wordpress"


@cache
def _reader() -> MarkdownReader:
    return MarkdownReader(read_settings(str(ROOT / "pelicanconf.py")))


def pelican(text: str) -> str:
    """The HTML Pelican's Markdown reader (with the project's settings)
    makes of ``text`` as an article's body."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "post.md"
        path.write_text(f"Title: A post\n\n{text}\n", encoding="utf-8")
        content, metadata = _reader().read(str(path))
    assert metadata["title"] == "A post"
    return content


def shown(converted: Converted) -> str:
    """The HTML a reader gets for a converted body."""
    return pelican(converted.text) if converted.format == "markdown" else converted.text


def words(html: str) -> list[str]:
    """The words a browser shows for ``html``."""
    if not html.strip():
        return []
    return (
        lxml.html.fragment_fromstring(html, create_parent="div").text_content().split()
    )


def convert(html: str, uploads: Path | None = None, **options: object) -> Converted:
    return convert_post(
        html,
        uploads_url=UPLOADS_URL,
        uploads_dir=uploads,
        image_folder=FOLDER,
        **options,
    )


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    for name in (
        "2019/05/cat.jpg",
        "2019/05/dog-1024x768.jpg",
        "2020/01/café über.png",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"\x89image " + name.encode())
    (root / "2019/05/report.pdf").write_bytes(b"%PDF-1.4")
    return root


# --- wpautop ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        (" \n\n ", ""),
        ("a\n\nb\nc", "<p>a</p>\n<p>b<br />\nc</p>\n"),
        ("a\r\n\r\nb", "<p>a</p>\n<p>b</p>\n"),
        ("a<br><br>b", "<p>a</p>\n<p>b</p>\n"),
        ("<div>x</div>", "<div>x</div>\n"),
        (
            "x<blockquote>q</blockquote>",
            "<p>x</p>\n<blockquote><p>q</p></blockquote>\n",
        ),
        ("<pre>a\n\nb\nc</pre>\n\nd", "<pre>a\n\nb\nc</pre>\n<p>d</p>\n"),
        (
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n",
        ),
        ("<h2>Títol</h2>\nText", "<h2>Títol</h2>\n<p>Text</p>\n"),
        ('<a href="x"\ntitle="t">l</a>', '<p><a href="x"\ntitle="t">l</a></p>\n'),
    ],
)
def test_wpautop_makes_paragraphs_as_wordpress_does(text: str, expected: str) -> None:
    assert wpautop(text) == expected


def test_wpautop_leaves_script_lines_alone() -> None:
    assert wpautop("<script>\nvar a;\n</script>\nb") == (
        "<p><script>\nvar a;\n</script><br />\nb</p>\n"
    )


# --- posts ----------------------------------------------------------------------

CLASSIC = """Γειά σου! This is the first paragraph &amp; it has a <em>few</em> words.
A second line of the same paragraph.

[caption id="attachment_12" align="aligncenter" width="300"]<a
 href="{up}/2019/05/cat.jpg"><img class="size-medium wp-image-12"
 src="{up}/2019/05/cat-300x200.jpg" alt="A sleeping cat"
 width="300" height="200" srcset="{up}/2019/05/cat-300x200.jpg 300w"
 /></a> Mía, asleep on the <strong>sofa</strong>[/caption]

<h2>Lists &#8211; nested</h2>
<ul>
<li>Apples</li>
<li>Pears
<ul>
<li>Conference</li>
<li>Williams</li>
</ul>
</li>
</ul>
<ol>
<li>First</li>
<li>Second</li>
</ol>
<blockquote>Quoted text, with a <a href="https://other.example/page?a=1&amp;b=2">link</a>.</blockquote>
That&#8217;s all&nbsp;for now — 終わり.""".replace("{up}", UPLOADS_URL)


def test_a_classic_post_becomes_markdown_with_paragraphs_and_a_caption(
    uploads: Path,
) -> None:
    converted = convert(CLASSIC, uploads)
    assert converted.format == "markdown"
    page = shown(converted)
    tree = lxml.html.fragment_fromstring(page, create_parent="div")
    paragraphs = tree.xpath("./p")
    assert (
        paragraphs[0]
        .text_content()
        .startswith("Γειά σου! This is the first paragraph & it")
    )
    assert len(paragraphs[0].xpath(".//br")) == 1
    image = tree.xpath("//img")[0]
    assert image.get("src") == "{static}/images/wordpress/2019/05/cat.jpg"
    assert image.get("alt") == "A sleeping cat"
    assert image.getparent().tag == "a"
    assert image.getparent().get("href") == "{static}/images/wordpress/2019/05/cat.jpg"
    caption = image.getparent().getparent().getnext()
    assert caption.xpath("./em")[0].text_content() == "Mía, asleep on the sofa"
    assert tree.xpath("//h2")[0].text_content() == "Lists – nested"
    assert [li.text for li in tree.xpath("//ul/li/ul/li")] == ["Conference", "Williams"]
    assert [li.text for li in tree.xpath("//ol/li")] == ["First", "Second"]
    assert (
        tree.xpath("//blockquote//a")[0].get("href")
        == "https://other.example/page?a=1&b=2"
    )
    assert tree.xpath("./p")[-1].text_content() == "That’s all\xa0for now — 終わり."
    # The resized image was missing: the original is used, and copied once.
    assert converted.images == (
        (uploads / "2019/05/cat.jpg", f"{FOLDER}/2019/05/cat.jpg"),
    )
    assert "srcset" not in converted.text
    assert converted.notes == ()


def test_a_gutenberg_post_loses_its_block_comments_and_gets_no_line_breaks() -> None:
    post = """<!-- wp:paragraph -->
<p>Ein Absatz, der im Editor
über zwei Zeilen geht.</p>
<!-- /wp:paragraph -->

<!-- wp:image {"id":5,"sizeSlug":"large"} -->
<figure class="wp-block-image size-large"><img src="https://elsewhere.example/x.png"
 alt="Bild" class="wp-image-5"/><figcaption>Eine Beschriftung</figcaption></figure>
<!-- /wp:image -->

<!-- wp:heading {"level":3} -->
<h3>Überschrift</h3>
<!-- /wp:heading -->

<!-- wp:separator -->
<hr class="wp-block-separator"/>
<!-- /wp:separator -->"""
    converted = convert(post)
    assert converted.format == "markdown"
    assert "wp:" not in converted.text
    page = shown(converted)
    assert "<br" not in page
    assert "Ein Absatz, der im Editor über zwei Zeilen geht." in " ".join(words(page))
    assert "<h3>Überschrift</h3>" in page
    assert '<img alt="Bild" src="https://elsewhere.example/x.png"' in page
    assert "<em>Eine Beschriftung</em>" in page
    assert converted.notes == (
        "image not from the uploads, left as is: https://elsewhere.example/x.png",
    )


def test_a_gallery_shows_its_known_images_and_reports_the_others(uploads: Path) -> None:
    attachments = {
        "7": f"{UPLOADS_URL}/2019/05/cat.jpg",
        "8": f"{UPLOADS_URL}/2019/05/dog-1024x768.jpg",
    }
    converted = convert('Before\n\n[gallery ids="7,8,9" columns="2"]\n\nAfter', uploads,
                        attachments=attachments)  # fmt: skip
    page = shown(converted)
    assert re.findall(r'<img alt="" src="([^"]+)"', page) == [
        "{static}/images/wordpress/2019/05/cat.jpg",
        "{static}/images/wordpress/2019/05/dog-1024x768.jpg",
    ]
    assert "gallery images not known (attachments 9)" in converted.notes
    assert words(page) == ["Before", "After"]
    # No ids: the post's own attachments, when the importer knows them.
    own = convert("[gallery]", uploads, attachments=attachments, children=["8"])
    assert own.images == (
        (uploads / "2019/05/dog-1024x768.jpg", f"{FOLDER}/2019/05/dog-1024x768.jpg"),
    )
    unknown = convert("[gallery]")
    assert unknown.text == ""
    assert unknown.notes == (
        "gallery images not known (attachments the post's own attachments)",
    )


def test_embeds_and_urls_on_their_own_line_become_links() -> None:
    post = (
        'Watch this:\n\n[embed width="500"]https://video.example/watch?v=1&amp;t=2[/embed]\n\n'
        "https://music.example/track/ünï\n\nSee https://inline.example/ in a sentence."
    )
    converted = convert(post)
    page = shown(converted)
    hrefs = lxml.html.fragment_fromstring(page, create_parent="div").xpath("//a/@href")
    assert hrefs == [
        "https://video.example/watch?v=1&t=2",
        "https://music.example/track/ünï",
    ]
    assert "See https://inline.example/ in a sentence." in page
    assert converted.notes == (
        "embedded media kept as a link: https://video.example/watch?v=1&t=2",
        "embedded media kept as a link: https://music.example/track/ünï",
    )


def test_audio_and_video_keep_a_player_and_the_post_stays_html(uploads: Path) -> None:
    (uploads / "2019/05/song.mp3").write_bytes(b"ID3")
    post = (
        f'[audio mp3="{UPLOADS_URL}/2019/05/song.mp3"]\n\n'
        '[video mp4="https://cdn.example/clip.mp4" poster="https://cdn.example/p.jpg"'
        ' width="640"]'
    )
    converted = convert(post, uploads)
    assert converted.format == "html"
    tree = lxml.html.fragment_fromstring(converted.text, create_parent="div")
    assert tree.xpath("//audio/@src") == ["{static}/images/wordpress/2019/05/song.mp3"]
    assert tree.xpath("//video/@src") == ["https://cdn.example/clip.mp4"]
    assert tree.xpath("//video/@width") == ["640"]
    assert tree.xpath("//video/a/@href") == ["https://cdn.example/clip.mp4"]
    assert any(
        note.startswith("kept as HTML") and "<audio>" in note
        for note in converted.notes
    )


def test_unknown_shortcodes_stay_as_text_and_escaped_ones_are_literal() -> None:
    post = (
        'Form: [contact-form-7 id="3" title="Kontakt"]\n\n'
        'Show [[caption]] and [[gallery ids="1"]].'
    )
    converted = convert(post)
    page = shown(converted)
    assert words(page) == [
        "Form:", "[contact-form-7", 'id="3"', 'title="Kontakt"]',
        "Show", "[caption]", "and", '[gallery', 'ids="1"].',
    ]  # fmt: skip
    assert converted.notes == (
        "shortcode [contact-form-7] not converted: left as text",
    )


CODE = """Some code:

<pre><code class="language-python">def greet(name: str) -&gt; str:
    return f"&lt;b&gt;{name}&lt;/b&gt; * 2"


print("```")</code></pre>

[code language="php"]<?php
echo "a < b && c";

if ($x) { echo '[caption]'; }
?>[/code]

Inline <code>x * y_z</code> too."""


def test_code_keeps_its_text_its_blank_lines_and_its_language() -> None:
    converted = convert(CODE)
    assert converted.format == "markdown"
    assert "````python\n" in converted.text
    assert "```php\n" in converted.text
    page = shown(converted)
    tree = lxml.html.fragment_fromstring(page, create_parent="div")
    blocks = [block.text_content() for block in tree.xpath("//pre")]
    assert blocks == [
        "def greet(name: str) -> str:\n"
        '    return f"<b>{name}</b> * 2"\n\n\nprint("```")\n',
        "<?php\necho \"a < b && c\";\n\nif ($x) { echo '[caption]'; }\n?>\n",
    ]
    assert tree.xpath("//p/code")[0].text == "x * y_z"
    assert converted.notes == ()


def test_a_simple_table_is_markdown_and_a_spanning_one_stays_html() -> None:
    simple = (
        "<table><thead><tr><th>Stadt</th><th>Einwohner</th></tr></thead>"
        "<tbody><tr><td>Zürich</td><td>421 878</td></tr>"
        "<tr><td>A | B</td><td><em>x</em></td></tr>"
        "</tbody></table>"
    )
    converted = convert(simple)
    assert converted.format == "markdown"
    tree = lxml.html.fragment_fromstring(shown(converted), create_parent="div")
    assert [c.text_content() for c in tree.xpath("//th")] == ["Stadt", "Einwohner"]
    assert [c.text_content() for c in tree.xpath("//td")] == [
        "Zürich",
        "421 878",
        "A | B",
        "x",
    ]
    spanning = simple.replace("<td>Zürich</td>", '<td colspan="2">Zürich</td>')
    kept = convert(spanning)
    assert kept.format == "html"
    assert '<td colspan="2">Zürich</td>' in kept.text
    assert "table cells spanning rows or columns" in kept.notes[-1]
    headless = convert("<table><tr><td>a</td><td>b</td></tr></table>")
    assert headless.format == "html"


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ('<iframe src="https://v.example/embed/1"></iframe>', "<iframe>"),
        ("<dl><dt>Term</dt><dd>Meaning</dd></dl>", "<dl>"),
        ("H<sub>2</sub>O and 10<sup>6</sup>", "<sub>"),
        ('<p style="text-align:center">Centred</p>', "inline styles"),
        ('<p dir="rtl" lang="ar">مرحبا بالعالم</p>', "dir= attributes"),
        ('<a href="#part-2">Jump</a><h2 id="part-2">Part 2</h2>', "in-page anchors"),
        (
            '<ol start="3"><li>three</li></ol>',
            "a numbered list that does not count 1, 2, 3",
        ),
        ("<ul><li>x<pre>code</pre></li></ul>", "code inside a list, quote or table"),
        ("<del>gone</del> and <u>under</u>", "<del>"),
    ],
)
def test_what_markdown_would_lose_stays_html(html: str, reason: str) -> None:
    converted = convert(html)
    assert converted.format == "html"
    assert reason in converted.notes[-1]
    assert words(converted.text) == words(wpautop(html))


TRICKY_TEXT = [
    "*not emphasis* and _not either_ and **nor this**",
    "# not a heading",
    "#hashtag at the start",
    "1984. A year, not a list",
    "- not a list item",
    "+ nor this",
    "> not a quote",
    "[not a link](http://x.example) nor ![an image](y.png)",
    "[^1] and [ref]: http://ref.example",
    "A heading's attributes {: .class #id}",
    "`not code` and ``neither``",
    "a backslash \\ and \\* stays",
    "&copy; as typed, &amp; the ampersand, &#8217; too",
    "<b>not bold</b> <!-- not a comment --> <https://not.autolink.example>",
    ": not a definition",
    "~~~ not a fence",
    "ǅemal, Ŋ, 日本語, עִבְרִית, हिन्दी, emoji 🐦",
]


@pytest.mark.parametrize("text", TRICKY_TEXT)
def test_markdown_characters_in_text_show_as_written(text: str) -> None:
    post = "<p>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</p>"
    converted = convert(post)
    assert converted.format == "markdown"
    assert words(shown(converted)) == text.split()
    assert words(render_comment(convert_comment(post))) == text.split()


def test_a_line_of_equals_signs_and_heading_hashes_stay_text() -> None:
    converted = convert("Title line\n===\n\n<h2>C# and F#</h2>")
    page = shown(converted)
    assert "<h1>" not in page
    assert words(page) == ["Title", "line", "===", "C#", "and", "F#"]
    assert "<h2>C# and F#</h2>" in page


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(
        alphabet=st.sampled_from(list("ab1. #*_-+>[]()!`\\{}:|=~<&;/é日\n")),
        max_size=40,
    )
)
def test_any_text_shows_its_words_in_posts_and_comments(text: str) -> None:
    post = "<p>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</p>"
    expected = words(post)
    assert words(shown(convert(post))) == expected
    assert words(render_comment(convert_comment(post))) == expected


# --- uploads --------------------------------------------------------------------


def test_upload_links_in_every_url_form_are_copied_once(uploads: Path) -> None:
    forms = [
        f"{UPLOADS_URL}/2019/05/cat.jpg",
        "http://example.com/wp-content/uploads/2019/05/cat.jpg",
        "//www.example.com/wp-content/uploads/2019/05/cat.jpg?w=300",
        "/wp-content/uploads/2019/05/cat-150x150.jpg",
        f"{UPLOADS_URL}/2020/01/caf%C3%A9%20%C3%BCber.png",
    ]
    post = "".join(f'<p><img src="{url}" alt="{n}"></p>' for n, url in enumerate(forms))
    post += f'<p><a href="{UPLOADS_URL}/2019/05/report.pdf">The report</a></p>'
    converted = convert(post, uploads)
    page = shown(converted)
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources == ["{static}/images/wordpress/2019/05/cat.jpg"] * 4 + [
        "{static}/images/wordpress/2020/01/caf%C3%A9%20%C3%BCber.png"
    ]
    assert 'href="{static}/images/wordpress/2019/05/report.pdf"' in page
    assert converted.images == (
        (uploads / "2019/05/cat.jpg", f"{FOLDER}/2019/05/cat.jpg"),
        (uploads / "2020/01/café über.png", f"{FOLDER}/2020/01/café über.png"),
        (uploads / "2019/05/report.pdf", f"{FOLDER}/2019/05/report.pdf"),
    )
    assert converted.notes == ()


def test_missing_and_foreign_files_are_left_and_reported(uploads: Path) -> None:
    post = (
        f'<img src="{UPLOADS_URL}/2019/05/gone.jpg" alt="">'
        '<img src="https://cdn.other.example/wp-content/uploads/2019/05/cat.jpg"'
        ' alt="">'
        f'<a href="{UPLOADS_URL}/2019/05/gone.pdf">pdf</a> <a href="https://other.example/">site</a>'
    )
    converted = convert(post, uploads)
    assert converted.images == ()
    assert f"{UPLOADS_URL}/2019/05/gone.jpg" in converted.text
    assert converted.notes == (
        f"image not found in the uploads, left as is: {UPLOADS_URL}/2019/05/gone.jpg",
        "image not from the uploads, left as is: "
        "https://cdn.other.example/wp-content/uploads/2019/05/cat.jpg",
        "linked file not found in the uploads, left as is: "
        f"{UPLOADS_URL}/2019/05/gone.pdf",
    )
    without = convert(f'<img src="{UPLOADS_URL}/2019/05/cat.jpg">', None)
    assert without.images == ()
    assert without.notes == (
        f"image left as is (uploads folder not given): {UPLOADS_URL}/2019/05/cat.jpg",
    )


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "2019/../../secret.txt",
        "%2e%2e/secret.txt",
        "2019/%2E%2E/%2e%2e/secret.txt",
        "..%2fsecret.txt",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "2019//05/cat.jpg",
        "C:%5Csecret.txt",
        "2019/05/cat.jpg%00.png",
        "link-out/secret.txt",
        "file-out.txt",
    ],
)
def test_no_path_leaves_the_uploads(uploads: Path, path: str) -> None:
    secret = uploads.parent / "secret.txt"
    secret.write_text("not for the blog")
    (uploads / "link-out").symlink_to(uploads.parent, target_is_directory=True)
    (uploads / "file-out.txt").symlink_to(secret)
    converted = convert(f'<img src="{UPLOADS_URL}/{path}" alt="x">', uploads)
    assert converted.images == ()
    assert "{static}" not in converted.text
    assert len(converted.notes) == 1


def test_a_symlink_that_stays_inside_the_uploads_is_followed(uploads: Path) -> None:
    (uploads / "latest.jpg").symlink_to(uploads / "2019/05/cat.jpg")
    converted = convert(f'<img src="{UPLOADS_URL}/latest.jpg" alt="">', uploads)
    assert converted.images == ((uploads / "2019/05/cat.jpg", f"{FOLDER}/latest.jpg"),)


@pytest.mark.parametrize("folder", ["", "/", "../images", "images/../../x", "a/./b"])
def test_the_image_folder_must_stay_under_content(folder: str) -> None:
    with pytest.raises(ValueError):
        convert_post(
            "x", uploads_url=UPLOADS_URL, uploads_dir=None, image_folder=folder
        )


# --- summaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "body", "summary"),
    [
        ("No marker here.", "No marker here.", None),
        ("Intro.\n<!--more-->\nRest.", "Intro.\n\nRest.", "Intro.\n"),
        ("Intro <!--more Keep reading…-->Rest", "Intro Rest", "Intro "),
        ("<!--more-->Only after", "Only after", None),
        ("A<!--more-->B<!--more-->C", "AB<!--more-->C", "A"),
        ("Unclosed <!--more", "Unclosed <!--more", None),
        ("<!--noteaser-->Teaser<!--more-->Rest", "TeaserRest", "<!--noteaser-->Teaser"),
    ],
)
def test_split_more(html: str, body: str, summary: str | None) -> None:
    assert split_more(html) == (body, summary)


# --- comments -------------------------------------------------------------------


def test_a_comment_keeps_links_and_emphasis_and_its_words() -> None:
    comment = (
        "Merci pour l&#8217;article ! Voir "
        '<a href="https://exemple.fr/page">cette page</a>.\n'
        "Deuxième ligne avec <strong>gras</strong> et <em>italique</em>.\n\n"
        '<img src="https://x.example/smile.png" alt="sourire"> <h2>Pas un titre</h2>'
        "<blockquote>Citation</blockquote>\n\n<del>barré</del> [gallery] *étoiles*"
    )
    markdown_text = convert_comment(comment)
    page = render_comment(markdown_text)
    tree = lxml.html.fragment_fromstring(page, create_parent="div")
    assert tree.xpath("//a/@href") == ["https://exemple.fr/page"]
    assert tree.xpath("//strong/text()") == ["gras"]
    assert tree.xpath("//em/text()") == ["italique"]
    assert tree.xpath("//blockquote")[0].text_content().strip() == "Citation"
    assert len(tree.xpath("//br")) == 1
    assert words(page) == [
        "Merci", "pour", "l’article", "!", "Voir", "cette", "page.",
        "Deuxième", "ligne", "avec", "gras", "et", "italique.",
        "sourire", "Pas", "un", "titre", "Citation", "barré", "[gallery]", "*étoiles*",
    ]  # fmt: skip


def test_a_comment_with_script_shows_no_script() -> None:
    page = render_comment(
        convert_comment("Hi <script>alert(1)</script> &lt;script&gt; there")
    )
    assert "<script" not in page
    assert words(page) == ["Hi", "<script>", "there"]


# --- robustness -----------------------------------------------------------------

GARBAGE = [
    "<p><b><i>unclosed",
    "</div></p></li>stray closers",
    "<<<>>> <a href= <img src=> & &# &#x; &bogus;",
    "<!-- never closed",
    "<![CDATA[ half",
    "[caption]no image[/caption] [caption id=1] [/caption] [gallery ids=',,']",
    "[audio] [video] [audio src=''] [video mp4=x] [caption][/caption]",
    "[embed]not a url[/embed] [embed][/embed] [[[[caption]]]] ]]]][[[[",
    "[code]never closed <pre> also not",
    "<table><tr><td>1<td>2<tr><th>3</table>",
    "<ul><li><ul><li><ol start=x><li>deep",
    "<img src='//' alt><img src='http://[::1'><a href='https://ex ample.com/%zz'>x</a>",
    '<pre class="brush: ;;;"><code class="language-">x</code></pre><pre></pre>',
    "\x00\x01\x7f\ud7ff\ufffe text with controls",
    "<svg><script>alert(1)</script></svg><math><mi>x</mi></math>",
    '<a href="javascript:alert(1)">js</a> <img src="data:image/png;base64,AAAA">',
]


@pytest.mark.parametrize("html", GARBAGE)
def test_garbage_never_raises(html: str, uploads: Path) -> None:
    converted = convert(html, uploads)
    assert converted.format in ("markdown", "html")
    shown(converted)
    render_comment(convert_comment(html))


PATHOLOGICAL = [
    " " * 200_000 + "x",
    "\n \n" * 50_000,
    "<div>" * 5_000 + "deep" + "</div>" * 5_000,
    "[a]" * 30_000,
    "[caption " * 20_000,
    "<script" * 20_000,
    "<pre" * 20_000 + "</pre>",
    "<p>" * 20_000,
    "<!--" * 20_000,
    "<!--more" * 20_000,
    ("x" * 50 + "\n") * 10_000,
    "<option" + " " * 100_000,
    f"<img src='{UPLOADS_URL}/" + "a/" * 20_000 + "x.jpg'>",
    "*_`[" * 50_000,
    "https://e.example/" + "a" * 100_000,
]


@pytest.mark.parametrize("html", PATHOLOGICAL, ids=lambda h: repr(h[:20]))
def test_long_pathological_input_completes(html: str, uploads: Path) -> None:
    converted = convert(html, uploads)
    assert converted.format in ("markdown", "html")
    convert_comment(html)


# --- Pelican's own WordPress export ---------------------------------------------

NS = {"content": "http://purl.org/rss/1.0/modules/content/"}


def _export_bodies() -> list[str]:
    tree = lxml.etree.parse(str(PELICAN_EXPORT))
    return [node.text or "" for node in tree.iterfind(".//item/content:encoded", NS)]


def _visible_before(html: str) -> list[str]:
    """The words WordPress would show, shortcode tags left out."""
    return words(re.sub(r"\[/?[a-z_]+(?:\s[^\]]*)?\]", " ", wpautop(html)))


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(word == found for found in remaining) for word in needles)


@pytest.mark.skipif(
    not PELICAN_EXPORT.exists(), reason="Pelican's test export not installed"
)
def test_every_post_of_pelicans_export_converts_and_keeps_its_text() -> None:
    bodies = _export_bodies()
    assert len(bodies) >= 15
    formats = []
    for body in bodies:
        converted = convert(body)
        formats.append(converted.format)
        after = words(shown(converted))
        assert _in_order(_visible_before(body), after), body[:60]
    assert "markdown" in formats and "html" in formats  # the iframe post stays HTML


@pytest.mark.skipif(
    not PELICAN_EXPORT.exists(), reason="Pelican's test export not installed"
)
def test_pelicans_caption_post_keeps_all_three_captions() -> None:
    body = next(b for b in _export_bodies() if "[caption" in b)
    converted = convert(body)
    page = shown(converted)
    captions = lxml.html.fragment_fromstring(page, create_parent="div").xpath("//p/em")
    assert [c.text_content() for c in captions] == [
        "This is a pelican",
        "This also a pelican",
        "Yet another pelican",
    ]
    assert converted.images == ()
    assert (
        sum(note.startswith("image not from the uploads") for note in converted.notes)
        == 2
    )
