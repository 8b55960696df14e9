"""The static pages' content security policy, as a browser enforces it: an
article's embed and image from a host that ``pelicanconf.py`` allows show,
the same from a host it does not are blocked, on a site built with the
project's theme and plugin and served by the development server's static
side with the snippet that build wrote (the headers nginx sends).

The other host is a second local server: ``127.0.0.1`` is allowed,
``localhost`` (the same server, another origin) is not.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser
from werkzeug.serving import make_server

from feedback_app.devserver import StaticSite, static_headers

from ..conftest import build_site
from ..readers import test_browser
from ..readers.test_browser import new_page
from .test_real_content import PNG, serve_folder, serve_in_thread, settings_file, write

pytestmark = pytest.mark.build

# readers/test_browser.py's fixtures (Chromium, or skip/fail), shared by name.
playwright = test_browser.playwright
browser = test_browser.browser

EMBED = "<!doctype html><title>Embed</title><p id=embedded>Played from elsewhere</p>"


@pytest.fixture(scope="module")
def other_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another site's embed page and picture; returns its port."""
    root = tmp_path_factory.mktemp("other-host")
    (root / "embed.html").write_text(EMBED, encoding="utf-8")
    (root / "pic.png").write_bytes(PNG)
    for url in serve_folder(root):
        yield str(urlsplit(url).port)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, other_host: str) -> Iterator[str]:
    """An article embedding from both hosts, built with only 127.0.0.1
    allowed; served with the headers its build wrote. Returns its URL."""
    tmp = tmp_path_factory.mktemp("policy-site")
    allowed = f"http://127.0.0.1:{other_host}"
    refused = f"http://localhost:{other_host}"
    write(
        tmp / "content" / "embeds.md",
        "Title: Embeds\nDate: 2024-05-01 10:00\n\n"
        f'<iframe id="allowed" title="Allowed" src="{allowed}/embed.html"></iframe>\n'
        f'<iframe id="refused" title="Refused" src="{refused}/embed.html"></iframe>\n\n'
        f'<img id="allowed-img" alt="Allowed" src="{allowed}/pic.png">\n'
        f'<img id="refused-img" alt="Refused" src="{refused}/pic.png">\n',
    )
    snippet = tmp / "security-headers.conf"
    conf = settings_file(
        tmp,
        CSP_FRAME_HOSTS=[allowed],
        CSP_IMAGE_HOSTS=[allowed],
        FEEDBACK_SECURITY_HEADERS=str(snippet),
    )
    build_site(tmp / "site", settings=str(conf), content=tmp / "content")
    policy = static_headers(snippet)["Content-Security-Policy"]
    assert f"frame-src {allowed};" in policy
    output = tmp / "site" / "output"
    yield from serve_in_thread(
        make_server("127.0.0.1", 0, StaticSite(output, snippet), threaded=True)
    )


def test_allowed_embeds_and_images_show_and_others_are_blocked(
    browser: Browser, site: str
) -> None:
    with new_page(browser) as page:
        blocked: list[str] = []
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
        )
        page.goto(f"{site}/2024/embeds/")
        page.wait_for_load_state("load")
        allowed = page.frame_locator("#allowed").locator("#embedded")
        assert allowed.inner_text() == "Played from elsewhere"
        refused = page.frame_locator("#refused").locator("#embedded")
        assert refused.count() == 0
        widths = page.evaluate(
            "() => ['allowed-img', 'refused-img'].map("
            "id => document.getElementById(id).naturalWidth)"
        )
        assert widths == [1, 0]
    assert any("frame-src" in m for m in blocked)
    assert any("img-src" in m for m in blocked)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CSP_FRAME_HOSTS", ["https://x.org; script-src *"]),
        ("CSP_FRAME_HOSTS", ["'unsafe-inline'"]),
        ("CSP_SCRIPT_HOSTS", ['https://x.org" always;\nadd_header X "y']),
        ("CSP_SCRIPT_HOSTS", ["*"]),
        ("CSP_IMAGE_HOSTS", "https:"),
        ("CSP_STYLE_ATTRIBUTES", "yes"),
    ],
)
def test_a_malformed_policy_setting_fails_the_build_naming_it(
    tmp_path: Path, setting: str, value: object
) -> None:
    """No setting can add a directive to the policy or a line to nginx's
    configuration: the build stops and says which setting is wrong."""
    write(tmp_path / "content" / "a.md", "Title: A\nDate: 2024-01-01\n\nText.\n")
    snippet = tmp_path / "security-headers.conf"
    conf = settings_file(
        tmp_path, **{setting: value, "FEEDBACK_SECURITY_HEADERS": str(snippet)}
    )
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build_site(tmp_path / "site", settings=str(conf), content=tmp_path / "content")
    said = " ".join((failed.value.stdout + failed.value.stderr).split())
    assert setting in said
    assert not snippet.exists()
