"""The compliance report's drawings, plain SVG from numbers: the track and zones fitted to
the map with true proportions, and one bar per week as tall as its windows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ontrack.reports.compliance_drawings import (
    MAP_HEIGHT,
    MAP_WIDTH,
    track_map_svg,
    weekly_compliance_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
HOME: dict[str, Any] = {
    "geometry": {"type": "Point", "coordinates": [-74.17, 40.735]},
    "properties": {"name": "Home", "kind": "inclusion", "radius_m": 200},
}
SCHOOL: dict[str, Any] = {
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-74.2, 40.7], [-74.19, 40.7], [-74.19, 40.71], [-74.2, 40.7]]],
    },
    "properties": {"name": "School <&>", "kind": "exclusion"},
}


def _svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own drawing)


def _points(svg: str) -> list[tuple[float, float]]:
    (line,) = _svg(svg).iter(f"{SVG}polyline")
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.attrib["points"].split())]


def test_the_track_fits_inside_the_map_north_up() -> None:
    track = [(-74.18, 40.73), (-74.16, 40.75)]
    points = _points(track_map_svg(track, [HOME, SCHOOL], title="Track"))
    for x, y in points:
        assert 0 <= x <= MAP_WIDTH
        assert 0 <= y <= MAP_HEIGHT
    (x0, y0), (x1, y1) = points
    assert x1 > x0, "east is right"
    assert y1 < y0, "north is up"


def test_a_degree_of_longitude_is_drawn_shorter_than_one_of_latitude() -> None:
    """At 40.7° N a degree of longitude is about 0.76 of a degree of latitude on the ground;
    the map keeps that, so a square on the ground is a square on the map."""
    (x0, y0), (x1, y1) = _points(track_map_svg([(-74.0, 40.7), (-73.99, 40.71)], [], title="t"))
    ratio = (x1 - x0) / (y0 - y1)
    assert 0.75 < ratio < 0.77


def test_zones_are_drawn_in_their_kinds_colours_with_their_names_escaped() -> None:
    svg = track_map_svg([], [HOME, SCHOOL], title="Zones")
    root = _svg(svg)
    (circle,) = root.iter(f"{SVG}ellipse")
    (polygon,) = root.iter(f"{SVG}path")
    assert circle.attrib["stroke"] == "#2e7d32"
    assert polygon.attrib["stroke"] == "#c62828"
    assert polygon.find(f"{SVG}title").text == "School <&>"  # type: ignore[union-attr]


def test_a_period_without_positions_or_zones_says_so() -> None:
    assert "No positions and no zones in this period." in track_map_svg([], [], title="Empty")


def test_each_weeks_bar_is_as_tall_as_its_windows() -> None:
    svg = weekly_compliance_svg(
        [("11-02", {"On time": 3, "Missed": 1}), ("11-09", {"On time": 2})], title="Weeks"
    )
    heights = {
        title: float(rect.attrib["height"])
        for rect in _svg(svg).iter(f"{SVG}rect")
        if (title := rect.findtext(f"{SVG}title"))
    }
    assert heights["11-02: On time 3"] == 1.5 * heights["11-09: On time 2"]
    assert heights["11-02: On time 3"] == 3 * heights["11-02: Missed 1"]
    assert re.search(r">11-09</text>", svg)
