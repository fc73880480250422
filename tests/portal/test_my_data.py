"""\"My data\" is complete: the download holds every kind of record the data inventory lists
(zones, supervision reviews, who read the record...), every row however many, the photos,
and names and explanations in the person's language; the page shows the records too."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Callable

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.test import AsyncClient, Client
from django.utils import timezone, translation

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData
from ontrack.portal import labels
from ontrack.reports.inventory import data_inventory
from ontrack.reviews.services import review_request_submit
from ontrack.schedule.models import Checkin, CheckinWindow
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services import device_directory, store_batch
from ontrack.zones.services import ZoneData, zone_create
from tests.support import photo_bytes

pytestmark = pytest.mark.django_db

IMEI = "358899051234561"
JPEG = photo_bytes()
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[-74.18, 40.73], [-74.16, 40.73], [-74.16, 40.74], [-74.18, 40.74], [-74.18, 40.73]]
    ],
}


def _download(client: Client) -> zipfile.ZipFile:
    response = client.get("/me/my-data/download/")
    assert response.status_code == 200
    assert response.streaming, "the download is built in memory, not streamed"
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.getvalue()))


def _table(archive: zipfile.ZipFile, key: str, language: str) -> list[dict[str, str]]:
    with translation.override(language):
        name = labels.record_label(key, key)
    (member,) = [n for n in archive.namelist() if n.endswith(f" {name}.csv")]
    return list(csv.DictReader(io.StringIO(archive.read(member).decode("utf-8"))))


def test_the_download_has_a_file_for_every_kind_the_data_inventory_lists(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="es")
    archive = _download(portal_client(participant))
    names = archive.namelist()
    for entry in data_inventory():
        if entry.label == "participants.Participant":
            continue  # the profile: "Sobre mí"
        key = entry.label.lower()
        assert key in labels.RECORDS, f"{entry.label} has no name for the participant"
        assert key in labels.EXPLANATIONS, f"{entry.label} has no explanation"
        with translation.override("es"):
            name = str(labels.RECORDS[key])
            explanation = str(labels.EXPLANATIONS[key])
        assert any(n.endswith(f" {name}.csv") for n in names), f"no file for {entry.label}"
        assert explanation in archive.read("README.txt").decode("utf-8")
    assert any(n.endswith(" Sobre mí.csv") for n in names)


def test_names_and_explanations_are_the_persons_words_not_internal_keys(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="es")
    archive = _download(portal_client(participant))
    readme = archive.read("README.txt").decode("utf-8")
    assert "Números de teléfono.csv" in readme
    assert "participants.phone" not in readme
    assert not any("participants." in n or "schedule." in n for n in archive.namelist())


def test_zones_reviews_and_who_read_the_record_are_in_the_download(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant(preferred_language="en")
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(name="Grandmother's house", kind="inclusion", geometry=SQUARE),
    )
    review_request_submit(participant=participant, reason="Eight months without a miss.")
    client_for(officer).get(f"/participants/{participant.pk}/")
    archive = _download(portal_client(participant))
    assert [z["Name"] for z in _table(archive, "zones.zone", "en")] == ["Grandmother's house"]
    assert len(_table(archive, "reviews.supervisionreview", "en")) == 1
    readers = {row["Username"] for row in _table(archive, "audit.accesslogentry", "en")}
    assert officer.username in readers
    assert all("Ip address" not in row for row in _table(archive, "audit.accesslogentry", "en"))


def test_every_row_is_in_the_download_past_ten_thousand(
    worn_gt06: Callable[[str], Participant], portal_client: Callable[..., Client]
) -> None:
    participant = worn_gt06(IMEI)
    info = device_directory()[IMEI]
    start = timezone.now() - dt.timedelta(hours=1)
    fixes = [
        (info, Fix(IMEI, start + dt.timedelta(milliseconds=250 * i), 40.7357, -74.1724))
        for i in range(10_050)
    ]
    store_batch(fixes, received_at=timezone.now())
    archive = _download(portal_client(participant))
    assert len(_table(archive, "tracking.position", "es")) == 10_050


def test_checkin_photos_are_in_the_zip(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    client = portal_client(participant)
    client.post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": timezone.now().isoformat(),
            "photo": SimpleUploadedFile("me.jpg", JPEG, content_type="image/jpeg"),
        },
    )
    archive = _download(client)
    (checkin,) = _table(archive, "schedule.checkin", "en")
    assert checkin["Photo"].startswith("photos/")
    stored = Checkin.objects.get(participant=participant).photo
    with stored.open("rb") as kept:
        assert archive.read(checkin["Photo"]) == kept.read(), "the photo as the record keeps it"


def test_the_page_shows_the_records_not_only_counts(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    officer: User,
) -> None:
    review = timezone.localdate() + dt.timedelta(days=90)
    participant = make_participant(
        preferred_language="es", plan=PlanData(level="standard", review_date=review)
    )
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(name="Casa de mi abuela", kind="inclusion", geometry=SQUARE),
    )
    page = portal_client(participant).get("/me/my-data/").content.decode()
    assert "+19735550142" in page
    assert "Casa de mi abuela" in page
    assert "Quién consultó su expediente" in page
    assert "participant self-service: my data page" in page


def test_under_asgi_the_download_is_sent_as_it_is_written(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="en")
    session = portal_client(participant).cookies["sessionid"].value
    client = AsyncClient()
    client.cookies["sessionid"] = session
    response = async_to_sync(client.get)("/me/my-data/download/")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse), "the archive is streamed"
    assert response.is_async, "Django would read the whole archive into memory first"
