"""Issue 22: a real Pelican blog, built with the project's theme and plugin.

    PYTHONPATH=. .venv/bin/python bench/real_blog.py CONTENT [--conf PELICANCONF]
        [--runs 2] [--comments 5] [--keep]

``CONTENT`` is another blog's content folder, outside the repository (its
text is never copied in). ``--conf`` is that blog's own ``pelicanconf.py``:
it is *read*, never run. Only its assignments of literals are taken
(``ast``; names of earlier ones and sums too, ``ARTICLE_URL + "index.html"``),
and of those only what says where the content is (``CONTENT_SETTINGS``:
``STATIC_PATHS``, ``ARTICLE_PATHS``, ``EXTRA_PATH_METADATA``, …); every
other setting is the project's ``pelicanconf.py``, less ``AUTHOR``
(``tests/site/test_real_content.settings_file``, as the tests build foreign
content).

Builds, each a fresh ``pelican`` process into a temporary folder:

* a **reference build**: the articles and pages alone (no lists, no
  feeds) with Pelican's own defaults (its default theme, no plugin, the
  blog's own URL settings), to tell the warnings the content gives anyway
  from those the project adds, and the links broken in the blog as written
  (compared as written) from those the project breaks. A template the
  content names (``Template:``) that Pelican's theme lacks gets a stub
  there, as the blog's own theme had it;
* the blog **as it is** (no comments) and the same **with comments**
  (``--comments`` synthetic approved comments on every article, made with
  ``make_site.comment_rows``, the approval bench's switch
  ``FEEDBACK_COMMENTS_PATH``), each ``--runs`` times with a cold cache,
  then ``--runs`` times warm, alternating; the overhead is with / without.

Then it reads the output of the blog as it is as a reader's browser would
(``tests.site.test_build.Page``): both forms on every page of every article
(translations too), every local ``<img src>``, ``<a href>`` and other
``href``/``src`` resolving to a file (relative ones from the page's
address), every ``<time datetime>`` valid HTML, highlighted code marked up
with Pygments' classes and its stylesheet linked and present, translations
linking each other both ways; and, with comments, every article showing its
thread. Prints a Markdown table; raw figures go to
``bench/results/real-blog.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from common import ROOT, machine, median, save_results, wait_quiet

sys.path.insert(0, str(ROOT))  # the tests' helpers: PYTHONPATH=. does it too
from tests.site.test_build import Page, the_forms
from tests.site.test_real_content import (
    HTML_DATETIME,
    local_links,
    pages,
    resolves,
    settings_file,
)

#: What the blog's own settings say about where its content is: carried into
#: both builds.
CONTENT_SETTINGS = (
    "TIMEZONE",
    "DEFAULT_LANG",
    "AUTHOR",
    "STATIC_PATHS",
    "STATIC_EXCLUDES",
    "ARTICLE_PATHS",
    "ARTICLE_EXCLUDES",
    "PAGE_PATHS",
    "PAGE_EXCLUDES",
    "IGNORE_FILES",
    "EXTRA_PATH_METADATA",
    "USE_FOLDER_AS_CATEGORY",
    "DEFAULT_CATEGORY",
    "DEFAULT_DATE",
)
#: The blog's addresses: carried into the reference build only (the
#: project's build keeps its own, ``/YYYY/slug/``).
URL_SETTING = re.compile(r"[A-Z_]+_(URL|SAVE_AS)")
#: A log line of Pelican's (rich) handler: level, message, source file.
LOG_LINE = re.compile(
    r"^(?:\[[\d:]+\])?\s+(WARNING|ERROR|CRITICAL)\s+(.*?)\s+[\w.]+\.py:\d+\s*$"
)
TEMPLATE_META = re.compile(r"^:?template:\s*(\S+)", re.I | re.M)


def blog_settings(conf: Path | None) -> dict[str, Any]:
    """Return the settings of the blog's ``pelicanconf.py`` that are
    literals, names of earlier ones, or sums of those
    (``ARTICLE_URL + "index.html"``), without running it."""
    if conf is None:
        return {}
    found: dict[str, Any] = {}

    def value(node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            return found[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)
        return ast.literal_eval(node)

    for node in ast.parse(conf.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name) or not target.id.isupper():
            continue
        try:
            found[target.id] = value(node.value)
        except (ValueError, SyntaxError, KeyError, TypeError):
            continue  # anything else: not a setting this script can use
    return found


def reference_settings(work: Path, content: Path, blog: dict[str, Any]) -> Path:
    """A settings file of Pelican's defaults with the blog's content and URL
    settings, and a stub for each template the content names, that writes
    the articles and pages only (no lists, no feeds)."""
    stubs = work / "reference-templates"
    stubs.mkdir(parents=True, exist_ok=True)
    for source in content.rglob("*"):
        if source.suffix not in (".md", ".markdown", ".rst", ".html"):
            continue
        head = source.read_text(encoding="utf-8", errors="replace")[:2000]
        for name in TEMPLATE_META.findall(head):
            (stubs / f"{name}.html").write_text(
                '{% extends "base.html" %}{% block content %}'
                "{{ (page or article).content }}{% endblock %}\n",
                encoding="utf-8",
            )
    chosen = {
        key: value
        for key, value in blog.items()
        if key in CONTENT_SETTINGS or URL_SETTING.fullmatch(key)
    }
    chosen |= {
        "PLUGINS": [],
        "THEME_TEMPLATES_OVERRIDES": [str(stubs)],
        # Only the articles and pages: links in their own text, as written.
        "DIRECT_TEMPLATES": [],
        **{f"{kind}_SAVE_AS": "" for kind in ("CATEGORY", "TAG", "AUTHOR")},
        **{
            f"{kind}_{form}": None
            for kind in ("FEED_ALL", "CATEGORY_FEED", "TRANSLATION_FEED", "AUTHOR_FEED")
            for form in ("ATOM", "RSS")
        },
    }
    path = work / "referenceconf.py"
    lines = [f"{key} = {value!r}" for key, value in chosen.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Build:
    """One Pelican run: its seconds (wall clock, and the CPU time of the
    process and its children), what it logged, its closing line."""

    seconds: float
    cpu: float
    messages: list[str] = field(default_factory=list)
    done: str = ""


def pelican(
    content: Path,
    settings: Path,
    output: Path,
    overrides: dict[str, Any],
    *,
    cold: bool,
    work: Path,
) -> Build:
    """Run one full build as a fresh process (``cold`` deletes the cache)."""
    cache = Path(overrides["CACHE_PATH"])
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-m", "pelican", str(content), "-s", str(settings)]
    cmd += ["-o", str(output)]
    cmd += ["-e", *(f"{key}={json.dumps(value)}" for key, value in overrides.items())]
    env = {**os.environ, "COLUMNS": "2000"}  # one log message, one line
    started, used = time.perf_counter(), children_cpu()
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"Pelican failed:\n{done.stdout}\n{done.stderr}")
    build = Build(seconds, children_cpu() - used)
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("Done:"):
            build.done = line.strip()
        elif found := LOG_LINE.match(line):
            message = f"{found[1]} {found[2]}"
            for path, name in ((str(work), "<work>"), (str(content), "<content>")):
                message = message.replace(path, name)
            build.messages.append(message)
    return build


def children_cpu() -> float:
    """CPU seconds of this process's children that ended, user and system."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def synthetic_comments(index: Path, folder: Path, count: int) -> int:
    """Write ``count`` approved comments (the bench's own words) for every
    article of the site index into ``folder``; return how many."""
    from make_site import comment_rows

    from feedback_app.site.publishing import write_comment_file

    rng = random.Random(22)  # noqa: S311 (text, not secrets)
    articles = json.loads(index.read_text(encoding="utf-8"))["articles"]
    folder.mkdir(parents=True, exist_ok=True)
    for n, article in enumerate(articles):
        date = datetime.fromisoformat(article["date"]).astimezone(UTC)
        author = (article["authors"] or ["Anonymous"])[0]
        rows = comment_rows(
            article["page_url"], author, n * count + 1, count, date, rng
        )
        published = [
            {
                "id": row["id"],
                "parent": row["parent_id"],
                "name": row["name"],
                "website": row["website"],
                "date": row["created_at"].isoformat(timespec="seconds"),
                "author": row["is_author"],
                "html": row["html"],
            }
            for row in rows
        ]
        write_comment_file(folder, article["page_url"], published)
    return len(articles) * count


def page_url(output: Path, path: Path) -> str:
    """The site-relative address a page is read at (``/2019/slug/``)."""
    relative = path.relative_to(output).as_posix()
    return "/" + relative.removesuffix("index.html")


def page_file(output: Path, url: str) -> Path | None:
    """The file the site-relative ``url`` serves, if the build wrote it."""
    if not resolves(output, url):
        return None
    target = output / unquote(urlsplit(url).path).lstrip("/")
    return target if target.is_file() else target / "index.html"


def broken_links(output: Path) -> dict[str, Counter[str]]:
    """Every local address each page loads or links, by kind (``img``,
    ``a``, ``other``), resolved from the page's own address: ``ok`` and
    ``broken`` counts, and the broken ones as written (``written``) and as
    resolved (``targets``)."""
    tally: dict[str, Counter[str]] = {
        kind: Counter() for kind in ("img", "a", "other", "written", "targets")
    }
    for path in pages(output):
        html = Page.load(path)
        here = page_url(output, path)
        local = set(local_links(html))
        for element in html.elements:
            for name in ("href", "src"):
                value = element.attrs.get(name)
                if value not in local:
                    continue
                kind = element.tag if element.tag in ("img", "a") else "other"
                target = urljoin(here, value)
                if resolves(output, target):
                    tally[kind]["ok"] += 1
                else:
                    tally[kind]["broken"] += 1
                    tally["written"][value] += 1
                    tally["targets"][target] += 1
    return tally


def check_output(output: Path, index: Path) -> dict[str, Any]:
    """Read the build as a reader would; return each check's counts."""
    articles = json.loads(index.read_text(encoding="utf-8"))["articles"]
    forms: Counter[str] = Counter()
    langs: Counter[str] = Counter()
    for article in articles:
        for view in article["outputs"]:
            if not view.endswith(".html"):
                continue
            html = Page.load(output / view)
            langs[html.one("html").attrs.get("lang") or ""] += 1
            try:
                the_forms(html)
                forms["ok"] += 1
            except AssertionError:
                forms["missing"] += 1
    times: Counter[str] = Counter()
    code: Counter[str] = Counter()
    translations: Counter[str] = Counter()
    for path in pages(output):
        html = Page.load(path)
        for element in html.find_all("time"):
            valid = HTML_DATETIME.fullmatch(element.attrs.get("datetime") or "")
            times["ok" if valid else "invalid"] += 1
        blocks = [e for e in html.elements if "highlight" in e.classes]
        marked = {
            id(ancestor)
            for e in html.find_all("span")
            if e.classes
            for ancestor in e.ancestors()
        }
        for block in blocks:
            tokens = id(block) in marked
            code["blocks with Pygments tokens" if tokens else "plain blocks"] += 1
        if blocks:
            sheets = {e.attrs.get("href") for e in html.find_all("link")}
            linked = "/theme/css/pygments.css" in sheets
            code["pages linking pygments.css" if linked else "pages without it"] += 1
        here = page_url(output, path)
        for link in html.find_all("a"):
            if not link.attrs.get("hreflang"):
                continue
            other = page_file(output, urljoin(here, link.attrs.get("href") or ""))
            if other is None:
                translations["broken"] += 1
            elif Page.load(other).find_all("a", href=here):
                translations["both ways"] += 1
            else:
                translations["one way"] += 1
    css = output / "theme/css/pygments.css"
    text = css.read_text("utf-8") if css.is_file() else ""
    code["pygments.css light and dark"] = int(
        ".highlight .k" in text and "prefers-color-scheme: dark" in text
    )
    return {
        "articles in the site index": len(articles),
        "forms": forms,
        "languages": langs,
        "time": times,
        "code": code,
        "translations": translations,
    }


def thread_counts(output: Path, index: Path, count: int) -> Counter[str]:
    """Whether each article's page shows its ``count`` comments."""
    shown: Counter[str] = Counter()
    for article in json.loads(index.read_text(encoding="utf-8"))["articles"]:
        html = Page.load(output / article["save_as"])
        found = [
            e
            for e in html.find_all("li")
            if (e.attrs.get("id") or "").startswith("comment-")
        ]
        shown["all shown" if len(found) == count else "not all"] += 1
    return shown


def timed_builds(
    content: Path, settings: Path, work: Path, runs: int
) -> dict[str, list[float]]:
    """Cold, then warm builds without and with comments, alternating."""
    times: dict[str, list[float]] = {}
    for cache in ("cold", "warm"):
        for run in range(runs):
            order = ("without", "with") if run % 2 == 0 else ("with", "without")
            for variant in order:
                wait_quiet(max_wait=20)
                build = pelican(
                    content,
                    settings,
                    work / f"output-{variant}",
                    overrides(work, variant),
                    cold=cache == "cold",
                    work=work,
                )
                times.setdefault(f"{cache} {variant}", []).append(build.seconds)
                times.setdefault(f"{cache} {variant} cpu", []).append(build.cpu)
                print(
                    f"  {cache} build, {variant} comments: {build.seconds:.2f} s"
                    f" (CPU {build.cpu:.2f} s)"
                )
    return times


def overrides(work: Path, variant: str) -> dict[str, Any]:
    """The ``-e`` settings of the project's build of one variant."""
    return {
        "CACHE_PATH": str(work / "cache"),
        "FEEDBACK_SITE_INDEX": str(work / f"site-{variant}.json"),
        "FEEDBACK_COMMENTS_PATH": str(work / f"comments-{variant}"),
    }


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} s"


def cell(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in counter.items()) or "none"


def report(results: dict[str, Any]) -> None:
    """Print the results as a Markdown table."""
    times = results["times"]
    print("\n| what | result |\n| --- | --- |")
    print(f"| content | {results['content stats']} |")
    print(f"| Pelican (reference build) | {results['done_reference']} |")
    print(f"| Pelican (project's build) | {results['done']} |")
    for cache in ("cold", "warm"):
        for clock, suffix in (("wall clock", ""), ("CPU", " cpu")):
            without = times[f"{cache} without{suffix}"]
            with_ = times[f"{cache} with{suffix}"]
            overhead = (median(with_) / median(without) - 1) * 100
            print(
                f"| {cache} full build, {clock}: as it is / with comments"
                f" | {median(without):.2f} s ({spread(without)}) /"
                f" {median(with_):.2f} s ({spread(with_)}): {overhead:+.1f} % |"
            )
    checks = results["checks"]
    print(f"| articles in the site index | {checks['articles in the site index']:,} |")
    print(f"| both forms on every article page | {cell(checks['forms'])} |")
    print(f"| languages of the article pages | {cell(checks['languages'])} |")
    for kind, label in (
        ("img", "<img src>"),
        ("a", "<a href>"),
        ("other", "other href/src"),
    ):
        print(f"| local {label} resolve | {cell(results['links'][kind])} |")
    written = results["links"]["written"]
    known = set(results["reference links"]["written"])
    as_blog = sum(n for value, n in written.items() if value in known)
    print(
        f"| of the broken: also broken in the reference build (the blog's own)"
        f" / only in the project's build | {as_blog:,}"
        f" / {written.total() - as_blog:,} |"
    )
    print(f"| `<time datetime>` valid | {cell(checks['time'])} |")
    print(f"| highlighted code | {cell(checks['code'])} |")
    print(f"| translations link each other | {cell(checks['translations'])} |")
    print(f"| threads with comments | {cell(results['threads'])} |")
    warnings = results["warnings"]
    for key in (
        "also in the reference build",
        "only in the project's build",
        "only in the reference build",
    ):
        print(f"| warnings {key} | {sum(warnings[key].values()):,} |")
    for key in warnings:
        for message, n in Counter(warnings[key]).most_common(6):
            print(f"|   {key}: {n} times | {message[:160]} |")
    for value, n in written.most_common(12):
        where = "also in the reference" if value in known else "only here"
        print(f"|   broken, {where} ({n} times) | `{value}` |")


def content_stats(content: Path, index: Path) -> str:
    """What the blog holds: sources, image files, authors."""
    sources = Counter(p.suffix for p in content.rglob("*") if p.is_file())
    images = sum(sources[s] for s in (".png", ".jpg", ".jpeg", ".gif", ".svg"))
    articles = json.loads(index.read_text(encoding="utf-8"))["articles"]
    authors = {name for article in articles for name in article["authors"]}
    return (
        f"{sources['.md']:,} Markdown, {sources['.rst']:,} rST,"
        f" {sources['.ipynb']:,} notebooks (no reader here), {images:,} image"
        f" files; {len(authors)} authors of the published articles"
    )


def kinds(messages: list[str]) -> Counter[str]:
    """Messages with their file names and numbers blurred, to compare kinds."""
    blur = r"'[^']*'|\S*[/.]\S*|(?<=: )[\w-]+|\d+"
    return Counter(re.sub(blur, "…", m) for m in messages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content", type=Path, help="the blog's content folder")
    parser.add_argument("--conf", type=Path, help="the blog's pelicanconf.py (read)")
    parser.add_argument("--runs", type=int, default=2, help="builds of each kind")
    parser.add_argument("--comments", type=int, default=5, help="per article")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args(argv)
    content = args.content.resolve()
    blog = blog_settings(args.conf)
    work = Path(tempfile.mkdtemp(prefix="real-blog-"))
    print(f"building {content} in {work}")
    try:
        carried = {k: v for k, v in blog.items() if k in CONTENT_SETTINGS}
        ours = settings_file(work, **carried)
        reference = pelican(
            content,
            reference_settings(work, content, blog),
            work / "output-reference",
            {"CACHE_PATH": str(work / "cache-reference")},
            cold=True,
            work=work,
        )
        first = pelican(
            content,
            ours,
            work / "output-without",
            overrides(work, "without"),
            cold=True,
            work=work,
        )
        written = synthetic_comments(
            work / "site-without.json", work / "comments-with", args.comments
        )
        print(f"  {written:,} synthetic comments; {first.done}")
        times = timed_builds(content, ours, work, args.runs)
        output = work / "output-without"
        ours_kinds, ref_kinds = kinds(first.messages), kinds(reference.messages)
        results = {
            "machine": machine(),
            "content": str(content),
            "carried settings": carried,
            "done_reference": reference.done,
            "done": first.done,
            "content stats": content_stats(content, work / "site-without.json"),
            "times": times,
            "checks": check_output(output, work / "site-without.json"),
            "links": broken_links(output),
            "reference links": broken_links(work / "output-reference"),
            "threads": thread_counts(
                work / "output-with", work / "site-with.json", args.comments
            ),
            "warnings": {
                "also in the reference build": ours_kinds & ref_kinds,
                "only in the project's build": ours_kinds - ref_kinds,
                "only in the reference build": ref_kinds - ours_kinds,
            },
            "messages": {"project": first.messages, "reference": reference.messages},
        }
        report(results)
        print(f"\nraw figures: {save_results('real-blog', results)}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
