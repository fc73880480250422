"""Map tiles by default: OpenStreetMap's standard layer with its attribution, the
Content-Security-Policy's img-src following whichever tile host is configured, and an
explicitly empty setting turning tiles off. Settings are read once, at start, so each case
runs in a process of its own with the environment an operator would give it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import cli_environment

PROBE = (
    "import json; from ontrack import settings as s; "
    "print(json.dumps([s.ONTRACK_MAP_TILES, s.ONTRACK_MAP_ATTRIBUTION, "
    "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']]))"
)


def _settings(tmp_path: Path, **env: str) -> tuple[str, str, list[str]]:
    environment = cli_environment(tmp_path / "home")
    environment.pop("ONTRACK_MAP_TILES", None)  # tests/settings.py turns tiles off
    environment.pop("ONTRACK_MAP_ATTRIBUTION", None)
    environment.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    ).stdout
    tiles, attribution, img_src = json.loads(out.strip().splitlines()[-1])
    return tiles, attribution, img_src


def test_tiles_default_to_openstreetmap_with_its_attribution_and_csp_source(
    tmp_path: Path,
) -> None:
    tiles, attribution, img_src = _settings(tmp_path)
    assert tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "OpenStreetMap" in attribution
    assert "https://www.openstreetmap.org/copyright" in attribution
    assert img_src == ["'self'", "data:", "blob:", "https://tile.openstreetmap.org"]


def test_an_explicitly_empty_setting_turns_tiles_off_and_out_of_the_csp(tmp_path: Path) -> None:
    tiles, attribution, img_src = _settings(tmp_path, ONTRACK_MAP_TILES="")
    assert (tiles, attribution) == ("", "")
    assert img_src == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("http://tiles.internal:8080/osm/{z}/{x}/{y}.png", "http://tiles.internal:8080"),
    ],
)
def test_the_csp_img_src_follows_a_configured_tile_server(
    tmp_path: Path, template: str, source: str
) -> None:
    tiles, attribution, img_src = _settings(
        tmp_path, ONTRACK_MAP_TILES=template, ONTRACK_MAP_ATTRIBUTION="© Example"
    )
    assert (tiles, attribution) == (template, "© Example")
    assert img_src == ["'self'", "data:", "blob:", source]
