"""Posts written for another theme: ``Template:`` names a template this
theme does not have (the other blog's theme had it for its landing pages).
Pelican would stop the whole build; the plugin renders such a post with the
theme's own ``page`` or ``article`` template and warns, naming the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import ROOT
from .test_build import Page, the_forms
from .test_real_content import settings_file, write

pytestmark = pytest.mark.build


def test_a_template_the_theme_lacks_falls_back_with_a_warning(
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"
    write(
        content / "pages" / "landing.md",
        "Title: Our landing page\nTemplate: landing\n\nWelcome.\n",
    )
    write(
        content / "fancy.md",
        "Title: A fancy post\nDate: 2021-03-04 10:00\nAuthor: Ana Ek\n"
        "Template: fancy-article\n\nText.\n",
    )
    write(
        content / "plain.md",
        "Title: A plain post\nDate: 2021-03-05 10:00\nAuthor: Ana Ek\n\nText.\n",
    )
    out = tmp_path / "site"
    cmd = [sys.executable, "-m", "pelican", str(content)]
    cmd += ["-s", str(settings_file(tmp_path)), "-o", str(out / "output")]
    cmd += ["-e", f'CACHE_PATH="{out / "cache"}"', "FEEDBACK_SITE_INDEX=null"]
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        # Wide enough that the log does not wrap a message.
        env={**os.environ, "COLUMNS": "400"},
    )
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, said
    assert (
        "pages/landing.md: the theme has no template 'landing'"
        " (Template: landing); rendered with 'page'"
    ) in said
    assert "fancy.md: the theme has no template 'fancy-article'" in said
    assert "plain.md" not in said
    landing = Page.load(out / "output/our-landing-page/index.html")
    assert landing.one("h1").text == "Our landing page"
    fancy = Page.load(out / "output/2021/a-fancy-post/index.html")
    the_forms(fancy)
