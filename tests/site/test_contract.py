"""The files between the build and the app keep their written contract
(``feedback_app/site/contract.py``): what a real Pelican build writes and
what the app writes validate against the schemas, the app rebuilds exactly
the outputs the build recorded, and a file of a newer version is refused
with a clear message instead of being misread.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import jsonschema
import pytest
from flask import Flask

from feedback_app.site.contract import (
    COMMENT_FILE_SCHEMA,
    COMMENT_FILE_VERSION,
    SITE_INDEX_SCHEMA,
    SITE_INDEX_VERSION,
    site_index_text,
    split_site_index,
)
from feedback_app.site.files import comment_feed_path, comment_file_name
from feedback_app.site.index import SiteIndex

from ..conftest import ARTICLE, Commenter, build_site

pytestmark = pytest.mark.build


def test_the_build_writes_a_site_index_the_schema_accepts(built_site: Path) -> None:
    data = json.loads((built_site / "site.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SITE_INDEX_SCHEMA)
    assert data["version"] == SITE_INDEX_VERSION
    output = built_site / "output"
    for article in data["articles"]:
        # Every recorded output is a file of the build, the page first.
        assert article["outputs"][0] == article["save_as"]
        for path in article["outputs"]:
            assert (output / path).is_file(), path


def test_the_schemas_refuse_what_breaks_the_contract(built_site: Path) -> None:
    data = json.loads((built_site / "site.json").read_text(encoding="utf-8"))
    data["articles"][0]["outputs"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SITE_INDEX_SCHEMA)
    comment = {"id": 1, "parent": None, "name": "A", "date": "2026-01-01T00:00:00"}
    leaky = {
        "version": COMMENT_FILE_VERSION,
        "article": ARTICLE,
        "comments": [comment | {"author": False, "html": "<p>x</p>", "email": "a@b"}],
    }
    with pytest.raises(jsonschema.ValidationError, match="email"):
        jsonschema.validate(leaky, COMMENT_FILE_SCHEMA)
    # An imported comment's anchor is a fragment, never markup.
    for anchor in ('x" onclick="y', "1abc", "a b", "a" * 101):
        hostile = leaky | {
            "comments": [comment | {"author": False, "html": "", "anchor": anchor}]
        }
        with pytest.raises(jsonschema.ValidationError, match=r"anchor|does not match"):
            jsonschema.validate(hostile, COMMENT_FILE_SCHEMA)


def test_a_published_comment_file_keeps_the_contract_and_only_the_outputs_are_rebuilt(
    publishing_app: Flask,
) -> None:
    """The app writes a comment file the schema accepts, and its rebuild
    writes the article's recorded outputs and nothing else."""
    app = publishing_app
    commenter = Commenter(app.test_client())
    comment = commenter.post_ok(body="Kept to the *contract*.")
    site = app.extensions["site_index"].current()
    article = site.articles[ARTICLE]
    output = Path(app.config["OUTPUT_PATH"])
    before = {p: p.stat().st_mtime_ns for p in output.rglob("*") if p.is_file()}
    result = app.test_cli_runner().invoke(args=["comments", "approve", str(comment.id)])
    assert result.exit_code == 0, result.output
    path = Path(app.config["COMMENTS_PATH"]) / comment_file_name(ARTICLE)
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, COMMENT_FILE_SCHEMA)
    assert [c["id"] for c in data["comments"]] == [comment.id]
    changed = {
        p.relative_to(output).as_posix()
        for p in output.rglob("*")
        if p.is_file() and before.get(p) != p.stat().st_mtime_ns
    }
    # The outputs and their compressed twins, nothing else.
    assert {p.removesuffix(".gz") for p in changed} <= set(article.outputs)
    assert set(article.outputs) <= changed
    assert "Kept to the <em>contract</em>." in (output / article.save_as).read_text()


def test_the_app_refuses_a_site_index_of_a_newer_version(
    tmp_path: Path, built_site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = json.loads((built_site / "site.json").read_text(encoding="utf-8"))
    data["version"] = SITE_INDEX_VERSION + 1
    newer = tmp_path / "site.json"
    newer.write_text(json.dumps(data), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="feedback_app"):
        assert SiteIndex(str(newer)).article(ARTICLE) is None
    assert "newer than this app reads" in caplog.text


def test_a_site_index_from_before_versions_is_still_read(
    tmp_path: Path, built_site: Path
) -> None:
    """Version 1 had no ``version`` and no ``outputs``: the page and its
    comment feed are its outputs."""
    data = json.loads((built_site / "site.json").read_text(encoding="utf-8"))
    del data["version"]
    for article in data["articles"]:
        del article["outputs"]
    older = tmp_path / "site.json"
    older.write_text(json.dumps(data), encoding="utf-8")
    article = SiteIndex(str(older)).article(ARTICLE)
    assert article is not None
    assert article.outputs == (article.save_as, comment_feed_path(article.save_as))


def test_the_build_refuses_a_comment_file_of_a_newer_version(own_site: Path) -> None:
    content = own_site / "content"
    (content / "comments" / comment_file_name(ARTICLE)).write_text(
        json.dumps({"version": 99, "article": ARTICLE, "comments": []}),
        encoding="utf-8",
    )
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build_site(
            own_site,
            content=content,
            extra={"FEEDBACK_COMMENTS_PATH": str(content / "comments")},
        )
    assert "VersionError: The comment file" in failed.value.stdout + failed.value.stderr


HOSTILE_TITLES = [
    'Quote " and comma,\nnewline',
    '",\n{"page_url": "2026/forged/", "title": "x"}',
    "Line\u2028separator and \u2029 paragraph",
    "\\",
    "",
]


@pytest.mark.parametrize("articles", [0, 1, 3])
def test_the_site_index_is_json_with_an_article_a_line_whatever_its_titles(
    built_site: Path, tmp_path: Path, articles: int
) -> None:
    """Any JSON reader reads it whole; the app reads one article without the
    others, and both read the same articles, whatever the titles hold."""
    index = json.loads((built_site / "site.json").read_text("utf-8"))
    entry = index["articles"][0]
    index["articles"] = [
        {**entry, "page_url": f"2026/a{n}/", "title": HOSTILE_TITLES[n % 5]}
        for n in range(articles)
    ] + [{**entry, "page_url": f'2026/{t[:3]}"/', "title": t} for t in HOSTILE_TITLES][
        : articles and 5
    ]
    text = site_index_text(index)
    assert json.loads(text) == index
    jsonschema.validate(json.loads(text), SITE_INDEX_SCHEMA)
    split = split_site_index(text.encode())
    if articles:
        assert split is not None
        head, lines = split
        assert set(lines) == {a["page_url"] for a in index["articles"]}
        assert head == {k: v for k, v in index.items() if k != "articles"}
    path = tmp_path / "site.json"
    path.write_text(text, "utf-8")
    site = SiteIndex(str(path)).current()
    assert {url: a.title for url, a in site.articles.items()} == {
        a["page_url"]: a["title"] for a in index["articles"]
    }
    # The same index written whole, as by hand, reads the same.
    path.write_text(json.dumps(index, indent=2), "utf-8")
    assert split_site_index(path.read_bytes()) is None
    again = SiteIndex(str(path)).current()
    assert {u: a.title for u, a in again.articles.items()} == {
        u: a.title for u, a in site.articles.items()
    }
