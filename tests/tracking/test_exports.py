"""Full location-history exports: right content, streamed, logged."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.audit.models import AccessLogEntry

pytestmark = pytest.mark.django_db


def _get(client: Client, participant_pk: int, fmt: str) -> tuple[Any, str]:
    response = client.get(f"/tracking/participants/{participant_pk}/export.{fmt}")
    assert response.status_code == 200
    assert response.streaming, "exports must stream"
    return response, b"".join(response.streaming_content).decode()


def test_geojson_export_has_one_point_per_position(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    _, body = _get(client_for(officer), participant.pk, "geojson")
    document = json.loads(body)
    assert document["type"] == "FeatureCollection"
    coordinates = [f["geometry"]["coordinates"] for f in document["features"]]
    assert coordinates == [[-74.0, 40.7], [-74.0, 40.701], [-74.0, 40.702]]


def test_gpx_export_is_valid_gpx_with_times(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    response, body = _get(client_for(officer), participant.pk, "gpx")
    assert response["Content-Type"] == "application/gpx+xml"
    root = ET.fromstring(body)  # noqa: S314
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    points = root.findall(".//g:trkpt", ns)
    assert [p.get("lat") for p in points] == ["40.7000000", "40.7010000", "40.7020000"]
    assert all(p.find("g:time", ns) is not None for p in points)


def test_csv_export_lists_every_position(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    response, body = _get(client_for(officer), participant.pk, "csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["lat"] for row in rows] == ["40.7", "40.701", "40.702"]
    assert rows[0]["accuracy_m"] == "12.0"
    assert "attachment" in response["Content-Disposition"]


def test_every_export_is_logged_as_an_export(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    client = client_for(officer)
    for fmt in ("geojson", "gpx", "csv"):
        _get(client, participant.pk, fmt)
    logged = AccessLogEntry.objects.filter(participant_id=participant.pk, action="export")
    assert logged.count() == 3


def test_an_export_outside_ones_caseload_is_refused_and_not_logged(
    worn_track: dict[str, Any],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = worn_track["participant"]
    stranger = make_user(Role.OFFICER)
    response = client_for(stranger).get(f"/tracking/participants/{participant.pk}/export.csv")
    assert response.status_code == 404
    assert not AccessLogEntry.objects.filter(action="export").exists()
