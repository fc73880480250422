"""Full location-history exports: right content, streamed; only for the people answerable
for the case, with a stated purpose that goes into the access log."""

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


PURPOSE = "Court order 24-1187"


def _url(participant_pk: int, fmt: str) -> str:
    return f"/tracking/participants/{participant_pk}/export.{fmt}"


def _get(client: Client, participant_pk: int, fmt: str) -> tuple[Any, str]:
    response = client.post(_url(participant_pk, fmt), {"purpose": PURPOSE})
    assert response.status_code == 200
    assert response.streaming, "exports must stream"
    return response, response.getvalue().decode()


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
    response = client_for(stranger).post(_url(participant.pk, "csv"), {"purpose": PURPOSE})
    assert response.status_code == 404
    assert not AccessLogEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize("purpose", [None, "", "   ", "x"])
def test_an_export_without_a_stated_purpose_is_refused_and_not_logged(
    worn_track: dict[str, Any],
    officer: User,
    client_for: Callable[[User], Client],
    purpose: str | None,
) -> None:
    participant = worn_track["participant"]
    data = {} if purpose is None else {"purpose": purpose}
    response = client_for(officer).post(_url(participant.pk, "geojson"), data)
    assert response.status_code == 400
    assert not AccessLogEntry.objects.filter(action="export").exists()


def test_a_link_followed_without_a_form_exports_nothing(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get(_url(worn_track["participant"].pk, "csv"))
    assert response.status_code == 405
    assert not AccessLogEntry.objects.filter(action="export").exists()


def test_an_operator_who_may_read_the_track_may_not_export_it(
    worn_track: dict[str, Any],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    operator = make_user(Role.OPERATOR)
    response = client_for(operator).post(
        _url(worn_track["participant"].pk, "csv"), {"purpose": PURPOSE}
    )
    assert response.status_code == 403
    assert not AccessLogEntry.objects.filter(action="export").exists()


def test_the_officer_of_the_case_exports_and_the_purpose_is_logged(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    _get(client_for(officer), participant.pk, "gpx")
    entry = AccessLogEntry.objects.get(action="export", participant_id=participant.pk)
    assert entry.user_id == officer.pk
    assert entry.what == f"full location history (gpx); purpose: {PURPOSE}"


def test_the_track_page_offers_the_export_as_a_form_with_a_purpose(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    html = client_for(officer).get(f"/tracking/participants/{participant.pk}/track/").content
    page = html.decode()
    assert f'action="{_url(participant.pk, "geojson")}"' in page
    assert 'name="purpose" required' in page
    assert f'href="{_url(participant.pk, "csv")}"' not in page
