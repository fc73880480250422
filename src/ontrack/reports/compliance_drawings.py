"""The compliance report's two drawings as SVG, for the PDF: the period's track over the
person's zones, and check-in outcomes week by week.

No map tiles: a court's copy must print and archive the same everywhere, and a tile
server is neither needed offline nor a place to send where someone was. Longitude and
latitude are projected equirectangularly with the longitude scaled by the cosine of the
middle latitude, which at the scale of a town keeps distances and shapes true to the eye.
Plain Python, no Django: the report's module hands it numbers and names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

MAP_WIDTH = 480
MAP_HEIGHT = 320
MARGIN = 12
METRES_PER_DEGREE = 111_320.0

ZONE_COLOURS = {"inclusion": "#2e7d32", "exclusion": "#c62828"}
TRACK_COLOUR = "#1f4e8c"

# Check-in outcomes as the check-in table labels them, bottom of the bar first.
OUTCOME_COLOURS: list[tuple[str, str]] = [
    ("On time", "#2e7d32"),
    ("Late", "#9ccc65"),
    ("Missed", "#c62828"),
    ("Technical failure", "#f9a825"),
    ("Excused", "#90a4ae"),
    ("Due", "#d7ccc8"),
]
CHART_WIDTH = 480
CHART_HEIGHT = 200
PLOT_LEFT = 30
PLOT_TOP = 10
PLOT_BOTTOM = 150


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<rect width="{width}" height="{height}" fill="#ffffff" stroke="#bbbbbb"/>'
        + "".join(body)
        + "</svg>"
    )


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """The outer and inner rings of a Polygon or MultiPolygon ([lon, lat] pairs)."""
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def _circle(feature: dict[str, Any]) -> tuple[float, float, float] | None:
    """(lon, lat, radius in metres) of a circle zone (a Point with ``radius_m``)."""
    geometry = feature["geometry"]
    radius = feature["properties"].get("radius_m")
    if geometry["type"] != "Point" or radius is None:
        return None
    lon, lat = geometry["coordinates"][:2]
    return float(lon), float(lat), float(radius)


def _extent(
    track: Sequence[tuple[float, float]], zones: Sequence[dict[str, Any]]
) -> tuple[float, float, float, float]:
    lons = [lon for lon, _lat in track]
    lats = [lat for _lon, lat in track]
    for feature in zones:
        for ring in _rings(feature["geometry"]):
            lons += [point[0] for point in ring]
            lats += [point[1] for point in ring]
        circle = _circle(feature)
        if circle is not None:
            lon, lat, radius = circle
            d_lat = radius / METRES_PER_DEGREE
            d_lon = d_lat / max(math.cos(math.radians(lat)), 0.01)
            lons += [lon - d_lon, lon + d_lon]
            lats += [lat - d_lat, lat + d_lat]
    return min(lons), min(lats), max(lons), max(lats)


def track_map_svg(
    track: Sequence[tuple[float, float]], zones: Sequence[dict[str, Any]], *, title: str
) -> str:
    """The track ((lon, lat) in time order) as a line from a start dot to an end dot, over
    the zones (GeoJSON features as ``zones.queries.zone_feature`` gives them), fitted to
    the drawing with a scale bar."""
    if not track and not zones:
        return _svg(MAP_WIDTH, MAP_HEIGHT, title, [
            f'<text x="{MAP_WIDTH / 2}" y="{MAP_HEIGHT / 2}" text-anchor="middle" '
            'font-size="12">No positions and no zones in this period.</text>'
        ])  # fmt: skip
    west, south, east, north = _extent(track, zones)
    x_scale = math.cos(math.radians((south + north) / 2))
    span_x = max((east - west) * x_scale, 1e-4)
    span_y = max(north - south, 1e-4)
    scale = min((MAP_WIDTH - 2 * MARGIN) / span_x, (MAP_HEIGHT - 2 * MARGIN) / span_y)
    left = (MAP_WIDTH - span_x * scale) / 2
    top = (MAP_HEIGHT - span_y * scale) / 2

    def xy(lon: float, lat: float) -> str:
        x = left + (lon - west) * x_scale * scale
        y = top + (north - lat) * scale
        return f"{x:.1f},{y:.1f}"

    body: list[str] = []
    for feature in zones:
        colour = ZONE_COLOURS.get(feature["properties"].get("kind", ""), "#555555")
        name = escape(str(feature["properties"].get("name", "")))
        style = f'fill="{colour}" fill-opacity="0.15" stroke="{colour}" stroke-width="1.5"'
        path = " ".join(
            "M " + " L ".join(xy(p[0], p[1]) for p in ring) + " Z"
            for ring in _rings(feature["geometry"])
        )
        if path:
            body.append(
                f'<path d="{path}" fill-rule="evenodd" {style}><title>{name}</title></path>'
            )
        circle = _circle(feature)
        if circle is not None:
            lon, lat, radius = circle
            cx, cy = xy(lon, lat).split(",")
            r = radius / METRES_PER_DEGREE * scale
            body.append(
                f'<ellipse cx="{cx}" cy="{cy}" rx="{r:.1f}" ry="{r:.1f}" {style}>'
                f"<title>{name}</title></ellipse>"
            )
    if track:
        points = " ".join(xy(lon, lat) for lon, lat in track)
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{TRACK_COLOUR}" '
            'stroke-width="1.5" stroke-linejoin="round"/>'
        )
        for (lon, lat), colour in ((track[0], "#2e7d32"), (track[-1], "#000000")):
            cx, cy = xy(lon, lat).split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{colour}"/>')
    body.append(_scale_bar(scale / METRES_PER_DEGREE))
    return _svg(MAP_WIDTH, MAP_HEIGHT, title, body)


def _scale_bar(pixels_per_metre: float) -> str:
    """A bar of a round length (1, 2 or 5 times a power of ten metres) about a fifth of the
    drawing wide, bottom left."""
    target = MAP_WIDTH / 5 / pixels_per_metre
    power = 10 ** math.floor(math.log10(target))
    metres = max((m * power for m in (1, 2, 5) if m * power <= target), default=power)
    length = metres * pixels_per_metre
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    y = MAP_HEIGHT - MARGIN
    return (
        f'<line x1="{MARGIN}" y1="{y}" x2="{MARGIN + length:.1f}" y2="{y}" stroke="#000000" '
        f'stroke-width="2"/><text x="{MARGIN}" y="{y - 4}" font-size="10">{label}</text>'
    )


def weekly_compliance_svg(weeks: Sequence[tuple[str, dict[str, int]]], *, title: str) -> str:
    """One stacked bar per week (label, counts by check-in outcome label), with a legend."""
    largest = max((sum(counts.values()) for _label, counts in weeks), default=0) or 1
    slot = (CHART_WIDTH - PLOT_LEFT - 10) / max(len(weeks), 1)
    bar = min(max(slot * 0.7, 1.0), 36.0)
    plot_height = PLOT_BOTTOM - PLOT_TOP
    every = max(1, math.ceil(len(weeks) / 12))  # at most a dozen date labels
    body = [
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{CHART_WIDTH - 10}" y2="{PLOT_BOTTOM}" '
        'stroke="#000000"/>',
        f'<text x="{PLOT_LEFT - 4}" y="{PLOT_TOP + 8}" text-anchor="end" font-size="9">'
        f"{largest}</text>",
        f'<text x="{PLOT_LEFT - 4}" y="{PLOT_BOTTOM}" text-anchor="end" font-size="9">0</text>',
    ]
    for index, (label, counts) in enumerate(weeks):
        x = PLOT_LEFT + index * slot + (slot - bar) / 2
        y = float(PLOT_BOTTOM)
        for outcome, colour in OUTCOME_COLOURS:
            n = counts.get(outcome, 0)
            if not n:
                continue
            height = plot_height * n / largest
            y -= height
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {escape(outcome)} {n}</title></rect>'
            )
        if index % every == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{PLOT_BOTTOM + 12}" text-anchor="middle" '
                f'font-size="8">{escape(label)}</text>'
            )
    for index, (outcome, colour) in enumerate(OUTCOME_COLOURS):
        x = PLOT_LEFT + (index % 3) * 150
        y = PLOT_BOTTOM + 26 + (index // 3) * 13
        body.append(
            f'<rect x="{x}" y="{y - 8}" width="9" height="9" fill="{colour}"/>'
            f'<text x="{x + 13}" y="{y}" font-size="9">{escape(outcome)}</text>'
        )
    return _svg(CHART_WIDTH, CHART_HEIGHT, title, body)


BAR_HEIGHT = 18
BAR_GAP = 6
BAR_LABEL_WIDTH = 220
BAR_WIDTH = 240
BAR_VALUE_WIDTH = 70


def _bar_value(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart_svg(pairs: Sequence[tuple[str, float]], *, title: str) -> str:
    """A horizontal bar chart as one SVG for a PDF page (the console draws its charts as
    HTML, ``charts.bar_chart``), one bar per pair, scaled to the largest value."""
    if not pairs:
        return ""
    largest = max((value for _label, value in pairs), default=0) or 1
    width = BAR_LABEL_WIDTH + BAR_WIDTH + BAR_VALUE_WIDTH
    height = len(pairs) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(pairs):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        length = round(BAR_WIDTH * value / largest, 1)
        text_y = y + BAR_HEIGHT - 5
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(
            f'<text x="{BAR_LABEL_WIDTH - 6}" y="{text_y}" text-anchor="end" '
            f'font-size="12">{escape(short)}</text>'
            f'<rect x="{BAR_LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="#3b6ea5"/>'
            f'<text x="{BAR_LABEL_WIDTH + length + 4}" y="{text_y}" font-size="12">'
            f"{_bar_value(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
