"""The port-80 server certbot's ``--redirect`` adds, after deploy/README's
``sed``: the real nginx, the shipped blog.conf, certbot's block as certbot
writes it, and the guide's own command applied to the file, twice (as after
``certbot --reinstall``).

Without the ``sed`` that block logs with nginx's default format (the
client's address, a reply page's token) and names nginx's version.
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
from pathlib import Path

import pytest

from .test_nginx import (
    DEPLOY,
    PUBLIC_HOST,
    free_port,
    main_conf,
    nginx_binary,
    site_conf,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow

#: What ``certbot --nginx --redirect`` appends for the site's name.
CERTBOT_BLOCK = """
server {
    if ($host = blog.example.org) {
        return 301 https://$host$request_uri;
    } # managed by Certbot


    listen 80;
    listen [::]:80;
    server_name blog.example.org;
    return 404; # managed by Certbot


}
"""

TOKEN = "Zq3v8KfT0aB7xYwLmN2pRs5u"  # a reply page's token in an http:// link


def guide_sed() -> str:
    """The ``sed`` line deploy/README.md runs after certbot (in step 5 and
    in "Upgrading": the same line)."""
    text = (DEPLOY / "README.md").read_text()
    (line,) = {
        line
        for line in text.splitlines()
        if line.startswith("sed -i ") and "return 404; # managed by Certbot" in line
    }
    return line


def test_certbots_port_80_block_keeps_the_sites_log_and_hides_the_version(
    tmp_path: Path, built_site: Path
) -> None:
    port, redirect_port = free_port(), free_port()
    conf = tmp_path / "blog.conf"
    conf.write_text(
        site_conf(tmp_path, built_site / "output", port, free_port())
        + CERTBOT_BLOCK.replace(
            "listen 80;", f"listen 127.0.0.1:{redirect_port};"
        ).replace("    listen [::]:80;\n", "")
    )
    command = guide_sed().replace("/etc/nginx/sites-available/blog", str(conf))
    subprocess.run(["sh", "-c", command], check=True)
    # Again, as after `certbot --reinstall`: the file stays as it was.
    once = conf.read_text()
    subprocess.run(["sh", "-c", command], check=True)
    assert conf.read_text() == once
    conf.write_text(
        conf.read_text().replace(
            "/var/log/nginx/blog.access.log", str(tmp_path / "blog.access.log")
        )
    )
    (tmp_path / "nginx.conf").write_text(main_conf(tmp_path))
    nginx = [nginx_binary(), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    nginx += ["-e", str(tmp_path / "error.log")]
    checked = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    with open(tmp_path / "nginx.out", "wb") as out:
        web = subprocess.Popen(
            [*nginx, "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(port, "/", web, tmp_path / "error.log")
            connection = http.client.HTTPConnection("127.0.0.1", redirect_port)
            connection.request(
                "GET", f"/app/r/{TOKEN}/?lang=fr", headers={"Host": PUBLIC_HOST}
            )
            response = connection.getresponse()
            response.read()
            connection.close()
        finally:
            stop(web, signal.SIGTERM)

    assert response.status == 301
    assert response.getheader("Location") == (
        f"https://{PUBLIC_HOST}/app/r/{TOKEN}/?lang=fr"
    )
    assert response.getheader("Server") == "nginx"  # no version
    default_log = tmp_path / "other.access.log"
    assert not default_log.exists() or default_log.read_text() == ""
    log = (tmp_path / "blog.access.log").read_text()
    last = log.splitlines()[-1]  # after wait_for's request to the site
    assert re.fullmatch(r'\S+ "GET /app/r/-/" 301 \d+ [\d.]+', last), log
    assert TOKEN not in log and "127.0.0.1" not in log
