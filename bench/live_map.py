"""Drawing the live map of a large caseload in Chromium: N wearers (5,000 by default) spread
over US cities, drawn by the real page scripts (Leaflet, Leaflet.markercluster, ontrack's
map.js and live_map.js) from a positions answer of the endpoint's shape, then one poll that
moves a tenth of them and recolours a twentieth, updated in place.

The browser part only: the page and its JSON are served from a temporary folder by a plain
HTTP server, so the figure is Chromium's (parsing, clustering, drawing), not the database's
(``tests/tracking/test_live_map.py`` pins the endpoint to one query). Tiles are off, as on a
machine with no network; the base layer of boundaries is drawn.

    uv run python bench/live_map.py [--wearers 5000] [--rounds 5]

Baseline: the same page drawing the base layer alone (no wearer).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ontrack

STATIC = Path(ontrack.__file__).parent / "static"
SCRIPTS = [
    "vendor/leaflet/leaflet.js",
    "vendor/topojson-client/topojson-client.min.js",
    "ontrack/map.js",
    "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "tracking/live_map.js",
]
STYLES = [
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet.markercluster/MarkerCluster.css",
    "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "ontrack/console.css",
]
CITIES = [(40.73, -74.17), (39.74, -104.99), (41.88, -87.63), (29.76, -95.37), (25.77, -80.19),
          (34.05, -118.24), (47.61, -122.33), (33.45, -112.07), (42.36, -71.06),
          (32.78, -96.80)]  # fmt: skip
STATES = ["urgent", "alert", "stale", "current"]


def _static_path(relative: str) -> Path:
    path = STATIC / relative
    if path.exists():
        return path
    return Path(ontrack.__file__).parent / "tracking" / "static" / relative


def _page(root: Path) -> None:
    for relative in [*SCRIPTS, *STYLES, "vendor/world-atlas/countries-110m.json",
                     "vendor/us-atlas/states-10m.json"]:  # fmt: skip
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_static_path(relative), target)
    head = "".join(f'<link rel="stylesheet" href="/{s}">' for s in STYLES) + "".join(
        f'<script src="/{s}" defer></script>' for s in SCRIPTS
    )
    (root / "index.html").write_text(
        f"<!doctype html><html><head>{head}</head><body>"
        '<div id="live-map-empty" hidden></div>'
        '<div id="live-map" class="live-map" data-tiles="" data-attribution="" '
        'data-base-world="/vendor/world-atlas/countries-110m.json" '
        'data-base-states="/vendor/us-atlas/states-10m.json" '
        'data-positions="/positions.json" data-query="" data-poll-ms="3600000"></div>'
        '<p id="live-map-summary"></p><section id="live-map-unplaced-card" hidden>'
        '<ul id="live-map-unplaced"></ul></section></body></html>'
    )


def _wearers(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        lat, lon = rng.choice(CITIES)
        state = rng.choices(STATES, weights=[2, 8, 10, 80])[0]
        rows.append(
            {"id": i + 1, "name": f"Person {i + 1}", "case_number": f"C-{i + 1:06d}",
             "url": f"/participants/{i + 1}/", "level": "intensive", "office": "Office",
             "officer": "Officer", "device": f"35{i:013d}",
             "lat": lat + rng.gauss(0, 0.15), "lon": lon + rng.gauss(0, 0.15),
             "fix_time": "2026-12-05T12:00:00+00:00", "minutes_since_fix": 3,
             "stale": state == "stale", "open_alerts": int(state in ("urgent", "alert")),
             "top_priority": {"urgent": 4, "alert": 2}.get(state), "state": state}
        )  # fmt: skip
    return rows


def _write(root: Path, wearers: list[dict[str, Any]]) -> None:
    lats, lons = [w["lat"] for w in wearers], [w["lon"] for w in wearers]
    bounds = [min(lats), min(lons), max(lats), max(lons)] if wearers else None
    body = {"generated_at": "2026-12-05T12:00:00+00:00", "stale_after_minutes": 30,
            "scope": {"wearers": len(wearers), "placed": len(wearers), "bounds": bounds},
            "wearers": wearers}  # fmt: skip
    (root / "positions.json").write_text(json.dumps(body))


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, never cached (positions.json changes between loads), quietly."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _draw(page: Any, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#live-map[data-updates='1']", state="attached", timeout=120_000)
    page.wait_for_selector("#live-map[data-base-drawn]", state="attached", timeout=120_000)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wearers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rng = random.Random(17)
    root = Path(tempfile.mkdtemp(prefix="ontrack-live-map-bench-"))
    _page(root)
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    first: list[float] = []
    updates: list[float] = []
    baseline: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            _write(root, [])
            _draw(page, url)  # warm-up: the browser's own start is nobody's figure
            for _ in range(args.rounds):
                _write(root, [])
                baseline.append(_draw(page, url))
                wearers = _wearers(args.wearers, rng)
                _write(root, wearers)
                first.append(_draw(page, url))
                assert page.get_attribute("#live-map", "data-placed") == str(args.wearers)
                for w in rng.sample(wearers, len(wearers) // 10):
                    w["lat"] += 0.01
                for w in rng.sample(wearers, len(wearers) // 20):
                    w["state"] = "urgent"
                    w["open_alerts"] = 1
                _write(root, wearers)
                started = time.perf_counter()
                page.evaluate("window.ontrackLiveMap.reload()")
                page.wait_for_selector(
                    "#live-map[data-updates='2']", state="attached", timeout=120_000
                )
                updates.append((time.perf_counter() - started) * 1000)
            browser.close()
    finally:
        server.shutdown()
        shutil.rmtree(root, ignore_errors=True)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    print(f"wearers={args.wearers} rounds={args.rounds}")
    print(f"first draw (load, fetch, cluster, draw): median {med(first):.0f} ms, "
          f"max {max(first):.0f} ms")  # fmt: skip
    print(f"poll update (10% moved, 5% recoloured): median {med(updates):.0f} ms, "
          f"max {max(updates):.0f} ms")  # fmt: skip
    print(f"baseline (base layer alone): median {med(baseline):.0f} ms")
    print(
        f"RESULT live_map_first_draw_ms={med(first):.0f} ms baseline={med(baseline):.0f} "
        f"ratio={med(first) / med(baseline):.1f}"
    )


if __name__ == "__main__":
    main()
