"""Small real sites, one in each language the theme ships, for the checks
that must see every page type in every language (``test_languages_axe``,
``test_valid_html``).

Each is a real Pelican build with the project's theme and plugin and the
project's pelicanconf.py, ``DEFAULT_LANG`` set to the language: articles in
two categories with tags and two authors, one translated into another
language, a page, and a thread long enough for comment pages of its own.
English, French and German have catalogues; Arabic has none and must come
out right to left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..conftest import ROOT, build_site

#: The shipped languages (feedback_app/translations/ and English) and one
#: written right to left.
LANGS = ("en", "fr", "de", "ar")


@dataclass(frozen=True)
class Words:
    """What the authors of a site in one language wrote."""

    titles: tuple[str, str, str]
    body: str
    categories: tuple[str, str]
    tags: tuple[str, str, str]
    page_title: str
    #: The language the first article is translated into, and its title.
    other_lang: str
    other_title: str


WORDS = {
    "en": Words(
        ("Cold calls in winter", "Letters that get answers", "A quiet quarter"),
        "A paragraph of *plain* text, with [a link](https://example.org/).",
        ("Calling", "Writing"),
        ("phone", "mail", "habits"),
        "About this blog",
        "fr",
        "Appels à froid en hiver",
    ),
    "fr": Words(
        (
            "Appels à froid en hiver",
            "Des lettres qui ont réponse",
            "Un trimestre calme",
        ),
        "Un paragraphe de texte *simple*, avec [un lien](https://example.org/).",
        ("Appeler", "Écrire"),
        ("téléphone", "courrier", "habitudes"),
        "À propos de ce blog",
        "en",
        "Cold calls in winter",
    ),
    "de": Words(
        (
            "Kaltakquise im Winter",
            "Briefe, die Antwort bekommen",
            "Ein ruhiges Quartal",
        ),
        "Ein Absatz *schlichter* Text, mit [einem Link](https://example.org/).",
        ("Anrufen", "Schreiben"),
        ("Telefon", "Post", "Gewohnheiten"),
        "Über dieses Blog",
        "en",
        "Cold calls in winter",
    ),
    "ar": Words(
        ("مكالمات باردة في الشتاء", "رسائل تلقى جوابًا", "ربع سنة هادئ"),
        "فقرة من نص *بسيط*، مع [رابط](https://example.org/).",
        ("الاتصال", "الكتابة"),
        ("هاتف", "بريد", "عادات"),
        "عن هذه المدونة",
        "en",
        "Cold calls in winter",
    ),
}
AUTHORS = ("Ana Ek", "Jonas Berg")
#: The article that has comments (and comment pages), and its slug.
THREADED = "first"
COMMENTS_PER_PAGE = 2


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _comments(lang: str) -> list[dict[str, Any]]:
    """Five comments, one of them a reply by the article's author: with
    two top-level comments a page, three comment pages."""
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    names = ["Rita Lund", AUTHORS[0], "Omar Haddad", "Léa Martin", "Karl Vogt"]
    return [
        {
            "id": cid,
            "parent": 1 if cid == 2 else None,
            "name": name,
            "website": "https://rita.example/" if cid == 1 else None,
            "date": (start + timedelta(hours=cid)).isoformat(),
            "author": cid == 2,
            "html": f"<p>{WORDS[lang].body.split('*')[0]} {cid}.</p>",
        }
        for cid, name in enumerate(names, start=1)
    ]


def build_language_site(tmp: Path, lang: str) -> Path:
    """Build the site whose ``DEFAULT_LANG`` is ``lang`` in ``tmp``; return
    its output folder."""
    words = WORDS[lang]
    content = tmp / "content"
    slugs = (THREADED, "second", "third")
    for number, (slug, title) in enumerate(zip(slugs, words.titles, strict=True)):
        category = words.categories[number % 2]
        tags = ", ".join(words.tags[: number + 1])
        _write(
            content / f"{slug}.md",
            f"Title: {title}\nDate: 2024-0{number + 1}-15 10:00\nSlug: {slug}\n"
            f"Category: {category}\nTags: {tags}\nAuthor: {AUTHORS[number % 2]}\n"
            f"Summary: {words.body}\n\n{words.body}\n\n## {title}\n\n{words.body}\n",
        )
    _write(
        content / f"{THREADED}-{words.other_lang}.md",
        f"Title: {words.other_title}\nDate: 2024-01-15 10:00\nSlug: {THREADED}\n"
        f"Lang: {words.other_lang}\nCategory: {words.categories[0]}\n"
        f"Author: {AUTHORS[0]}\n\n{WORDS[words.other_lang].body}\n",
    )
    _write(
        content / "pages" / "about.md",
        f"Title: {words.page_title}\nSlug: about\n\n{words.body}\n",
    )
    comments = content / "comments"
    comments.mkdir()
    (comments / f"{THREADED}.json").write_text(
        json.dumps({"article": THREADED, "comments": _comments(lang)}),
        encoding="utf-8",
    )
    settings = tmp / "languageconf.py"
    settings.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from pelicanconf import *  # noqa: F403\n"
        f"DEFAULT_LANG = {lang!r}\n"
        f"COMMENTS_PER_PAGE = {COMMENTS_PER_PAGE}\n",
        encoding="utf-8",
    )
    site = tmp / "site"
    build_site(
        site,
        settings=str(settings),
        content=content,
        extra={"FEEDBACK_COMMENTS_PATH": str(comments)},
    )
    return site / "output"


#: Each page type of a language site: a name, and its path in the output.
PAGE_TYPES = {
    "index": "",
    "article": f"2024/{THREADED}/",
    "translation": "{other}/2024/" + THREADED + "/",
    "comment page": f"2024/{THREADED}/comment-page-1/",
    "page": "about/",
    "category": "category/{category}/",
    "categories": "categories/",
    "tag": "tag/{tag}/",
    "tags": "tags/",
    "author": "author/ana-ek/",
    "authors": "authors/",
    "archives": "archives/",
    "404": "404.html",
    "413": "413.html",
}


def page_path(output: Path, lang: str, kind: str) -> str:
    """The site-relative path of the page of type ``kind`` in the site of
    ``lang``, checked to exist."""
    template = PAGE_TYPES[kind]
    found = ""
    if "{category}" in template or "{tag}" in template:
        folder = output / template.split("/")[0]
        found = sorted(p.name for p in folder.iterdir() if p.is_dir())[0]
    path = template.format(other=WORDS[lang].other_lang, category=found, tag=found)
    target = output / path
    assert target.is_file() or (target / "index.html").is_file(), path
    return path
