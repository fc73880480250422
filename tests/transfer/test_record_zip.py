from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.services import participant_close
from ontrack.reviews.services import review_request_submit
from ontrack.transfer import record_zip
from ontrack.transfer.record_zip import ARCHIVE_FILES, participant_record_zip
from ontrack.zones.services import ZoneData, zone_create

from .conftest import FIX_COUNT

pytestmark = pytest.mark.django_db


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_zip_holds_every_part_of_the_seeded_record(tracked: dict[str, Any], officer: User) -> None:
    participant = tracked["participant"]
    content = participant_record_zip(
        user=officer, participant_id=participant.pk, purpose="Court order 24-1187"
    )
    archive = zipfile.ZipFile(content)
    assert sorted(archive.namelist()) == sorted(ARCHIVE_FILES)
    (profile,) = _csv(archive, "profile.csv")
    assert profile["case_number"] == participant.case_number
    assert profile["family_name"] == participant.family_name
    assert profile["has_photo"] == "False"
    assert [row["level"] for row in _csv(archive, "plans.csv")] == ["intensive"]
    assert [row["court"] for row in _csv(archive, "hearings.csv")] == ["Newark Immigration Court"]
    alerts = _csv(archive, "alerts.csv")
    assert sorted(a["kind"] for a in alerts) == sorted(
        Alert.objects.filter(participant=participant).values_list("kind", flat=True)
    )
    steps = _csv(archive, "alert_steps.csv")
    assert {"acknowledged", "resolved"} <= {s["to_status"] for s in steps}
    messages = _csv(archive, "messages.csv")
    directions = {m["direction"]: m for m in messages}
    assert directions["outbound"]["purpose"] == "reminder"
    assert directions["inbound"]["body"] == "Running ten minutes late"
    events = _csv(archive, "device_events.csv")
    assert [e["raw_code"] for e in events] == ["0x03"]


def test_positions_are_a_geojson_feature_collection_with_time_and_accuracy(
    tracked: dict[str, Any], officer: User
) -> None:
    content = participant_record_zip(
        user=officer, participant_id=tracked["participant"].pk, purpose="Transfer to county"
    )
    track = json.loads(zipfile.ZipFile(content).read("positions.geojson"))
    assert track["type"] == "FeatureCollection"
    features = track["features"]
    assert len(features) == FIX_COUNT
    first = features[0]
    assert first["geometry"] == {"type": "Point", "coordinates": [-74.0, 40.7]}
    assert first["properties"]["accuracy_m"] == 5.5
    assert features[2]["properties"]["accuracy_m"] is None
    times = [f["properties"]["time"] for f in features]
    assert times == sorted(times)


def test_export_is_access_logged_with_its_purpose(tracked: dict[str, Any], officer: User) -> None:
    participant = tracked["participant"]
    participant_record_zip(
        user=officer, participant_id=participant.pk, purpose="  Subpoena   from defence counsel "
    )
    entry = AccessLogEntry.objects.get(action=AccessAction.EXPORT, participant_id=participant.pk)
    assert entry.user_id == officer.pk
    assert entry.what == "full record ZIP; purpose: Subpoena from defence counsel"


@pytest.mark.parametrize("purpose", ["", "   ", "x"])
def test_export_without_a_purpose_is_refused_and_not_logged(
    tracked: dict[str, Any], officer: User, purpose: str
) -> None:
    with pytest.raises(ValidationError):
        participant_record_zip(
            user=officer, participant_id=tracked["participant"].pk, purpose=purpose
        )
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_officer_of_another_office_cannot_export(
    tracked: dict[str, Any], make_office: Callable[..., Any], make_user: Callable[..., User]
) -> None:
    stranger = make_user(Role.OFFICER, office=make_office("Elizabeth"))
    with pytest.raises(Http404):
        participant_record_zip(
            user=stranger, participant_id=tracked["participant"].pk, purpose="Curiosity only"
        )
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_operator_who_may_read_may_not_export(
    tracked: dict[str, Any], make_user: Callable[..., User]
) -> None:
    operator = make_user(Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        participant_record_zip(
            user=operator, participant_id=tracked["participant"].pk, purpose="Night shift check"
        )


def test_console_download_returns_a_zip_and_refuses_without_purpose(
    tracked: dict[str, Any], supervisor: User, client_for: Callable[[User], Any]
) -> None:
    participant = tracked["participant"]
    client = client_for(supervisor)
    page = client.get(f"/participants/{participant.pk}/")
    assert f"/transfer/{participant.pk}/record.zip" in page.content.decode()
    refused = client.post(f"/transfer/{participant.pk}/record.zip", {"purpose": ""})
    assert refused.status_code == 302
    response = client.post(
        f"/transfer/{participant.pk}/record.zip", {"purpose": "Supervisor case review"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    body = io.BytesIO(b"".join(response.streaming_content))
    assert "profile.csv" in zipfile.ZipFile(body).namelist()
    assert AccessLogEntry.objects.filter(
        action=AccessAction.EXPORT, user=supervisor, what__contains="Supervisor case review"
    ).exists()


def test_checkin_photos_leave_as_a_yes_no_column_never_as_bytes() -> None:
    from ontrack.schedule.models import Checkin
    from ontrack.transfer.record_zip import _columns

    headers = [header for header, _, _ in _columns(Checkin)]
    assert "has_photo" in headers
    assert "photo" not in headers


def _record(tracked: dict[str, Any], user: User) -> zipfile.ZipFile:
    content = participant_record_zip(
        user=user, participant_id=tracked["participant"].pk, purpose="Participant's own request"
    )
    return zipfile.ZipFile(content)


def test_zip_holds_the_closure_decider_phones_addresses_and_the_case_timeline(
    tracked: dict[str, Any], officer: User
) -> None:
    participant = tracked["participant"]
    participant_close(participant, actor=officer, reason="detained", note="Held at Elizabeth")
    archive = _record(tracked, officer)
    (profile,) = _csv(archive, "profile.csv")
    assert (profile["closure_note"], profile["closed_by"]) == ("Held at Elizabeth", str(officer))
    assert [p["number"] for p in _csv(archive, "phones.csv")] == ["+19735550142"]
    (address,) = _csv(archive, "addresses.csv")
    assert (address["line1"], address["postal_code"]) == ("12 Broad St", "07102")
    events = _csv(archive, "case_events.csv")
    kinds = [e["kind"] for e in events]
    assert "enrolled" in kinds
    assert kinds[-1] == "closed"
    assert [e["at"] for e in events] == sorted(e["at"] for e in events), "oldest first"
    assert len(kinds) == participant.events.count()


def test_zip_holds_supervision_reviews_and_the_participants_requests(
    tracked: dict[str, Any], officer: User
) -> None:
    participant = tracked["participant"]
    review_request_submit(participant=participant, reason="Nine months without a miss.")
    archive = _record(tracked, officer)
    (review,) = _csv(archive, "reviews.csv")
    assert (review["origin"], review["outcome"]) == ("participant_request", "pending")
    (request,) = _csv(archive, "review_requests.csv")
    assert request["reason"] == "Nine months without a miss."


def test_zip_holds_the_participants_zones_as_geojson(
    tracked: dict[str, Any], officer: User
) -> None:
    ring = [[-74.18, 40.73], [-74.17, 40.73], [-74.17, 40.74], [-74.18, 40.74], [-74.18, 40.73]]
    zone_create(
        actor=officer,
        participant=tracked["participant"],
        data=ZoneData(name="Home", kind="inclusion", geometry={"type": "Polygon",
                      "coordinates": [ring]}),
    )  # fmt: skip
    zones = json.loads(_record(tracked, officer).read("zones.geojson"))
    assert zones["type"] == "FeatureCollection"
    (home,) = zones["features"]
    assert home["properties"]["name"] == "Home"
    assert home["properties"]["kind"] == "inclusion"
    assert home["geometry"]["coordinates"] == [ring]


def test_a_large_record_is_spooled_to_disk_not_held_in_memory(
    tracked: dict[str, Any], officer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_zip, "SPOOL_MAX_BYTES", 1024)
    content = participant_record_zip(
        user=officer, participant_id=tracked["participant"].pk, purpose="Court order 24-1187"
    )
    assert isinstance(content, tempfile.SpooledTemporaryFile)
    # typeshed leaves out the private _rolled, the one way to see the rollover without
    # causing one (fileno() rolls the file over)
    rolled = content._rolled  # type: ignore[attr-defined]
    assert rolled, "past the threshold the archive lives in a file on disk"
    assert content.tell() == 0
    assert sorted(zipfile.ZipFile(content).namelist()) == sorted(ARCHIVE_FILES)
