"""Static files as production serves them (``ontrack.static_build``): ``ontrack serve``
collects them with hashed names, pages name the hashed files, and those answer with a year's
caching. The rest of the suite serves the source files under their own names."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from ontrack.static_build import static_files_collect
from tests.support import cli_environment, free_port, migrated, wait_for_url

HASHED = re.compile(r"\.[0-9a-f]{12}\.(?:js|css|png)$")
A_YEAR_OR_MORE = re.compile(r"max-age=(\d{8,})")


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Cache-Control", ""), response.read()


def test_serve_collects_the_static_files_and_serves_them_by_hashed_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    migrated(home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "web.log"
    with log.open("w") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "ontrack.cli", "serve", "--port", str(port), "--no-access-log"],
            env=cli_environment(home, own_static_files=True),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_url(f"{base}/healthz", timeout=60)
        _, _, login = _get(f"{base}/login/")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', login.decode())
        assert assets, "the sign-in page names its script and stylesheet"
        for asset in assets:
            assert HASHED.search(asset), f"{asset} is not a hashed name"
            status, cache, _ = _get(base + asset)
            assert status == 200, (asset, status, cache)
            assert A_YEAR_OR_MORE.search(cache), (asset, status, cache)
        manifest = json.loads((home / "static" / "staticfiles.json").read_text())["paths"]
        leaflet = manifest["vendor/leaflet/leaflet.css"]
        _, _, css = _get(f"{base}/static/{leaflet}")
        images = re.findall(r'url\("(images/[^"]+)"\)', css.decode())
        assert len(images) == 3, images
        assert all(HASHED.search(i) for i in images), images
        for image in images:
            status, cache, _ = _get(f"{base}/static/vendor/leaflet/{image}")
            assert status == 200, (image, cache)
            assert A_YEAR_OR_MORE.search(cache), (image, cache)
    finally:
        web.send_signal(signal.SIGINT)
        web.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()


def test_the_files_are_collected_again_only_when_a_source_changed(
    tmp_path: Path, settings: Any
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "site.css").write_text("body { color: black; }")
    settings.STATICFILES_DIRS = [sources]
    settings.STATIC_ROOT = tmp_path / "collected"
    assert static_files_collect(), "a first collection"
    assert not static_files_collect(), "nothing changed"
    (sources / "site.css").write_text("body { color: navy; }")
    assert static_files_collect(), "an edited source"
    assert "navy" in (tmp_path / "collected" / "site.css").read_text()
