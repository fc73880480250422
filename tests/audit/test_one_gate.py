"""One gate for reading a person's data, checked over every route there is.

The test is generated: it walks every URL pattern (``get_resolver()``, recursively; the
JSON API's routes are among them through ``api.urls`` and are checked against the NinjaAPI's
own list) as each staff role, substituting for each parameter the id of a record of an
in-scope participant, of an out-of-scope one, and an id that does not exist. It checks that

* out of scope answers exactly as a non-existent id, and never with the record (404, or
  the same refusal a missing id gets);
* every successful GET that shows a person's data wrote an access-log row about that
  person. A page shows a person's data when its route names one of their records, or when
  its body carries their case number, family name or last position.

A new view that reads a participant without ``participants.gate`` fails it, whatever its
URL, unless its route is added to ``SKIPPED`` below with a reason.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.services import alert_raise, alerts_promote_due
from ontrack.api import api
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.services import inbound_receive, message_queue
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData, hearing_add, participant_enrol
from ontrack.reviews.models import ReviewOrigin, SupervisionReview
from ontrack.schedule.models import (
    Appointment,
    AppointmentKind,
    AppointmentType,
    Checkin,
    CheckinWindow,
    Outcome,
    RescheduleRequest,
    Task,
    TaskKind,
)
from ontrack.tracking.models import DeviceCommand
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services import device_assign, device_directory, device_register, store_batch
from ontrack.zones.services import ZoneData, zone_create

MISSING = 987_654

# Routes that cannot be walked generically, each with why. Matched against the route.
SKIPPED: dict[str, str] = {
    r"^account/": "staff members' own accounts and second factors: no supervised person",
    r"^admin/(accounts|audit|axes|otp_\w+|django_otp_webauthn|auth)/": "admin of staff, "
    "tokens, offices, sign-in attempts, the access log and retention: no supervised person",
    r"^admin/r/": "the admin's view-on-site redirect: a content type and any object",
    r"\(\?P<": "the admin's regular-expression routes (app index, catch-all): no record id",
    r"^audit/": "the access log names its subjects as text for the auditor; it opens no "
    "record (DESIGN.md, roles)",
    r"^participants/import/": "a caseload import file, logged as IMPORT when it is applied",
    r"^participants/bulk/": "a bulk action by id: it lists only the people the reader sees, "
    "404 when none, logged as LIST (tests/participants/test_bulk_transfer_views.py)",
    r"^schedule/bulk/\S+": "a bulk appointment run by id: it lists only the people the reader "
    "sees, 404 when none, logged as LIST (tests/schedule/test_bulk_undo.py)",
    r"^alerts/(rules/program|notifications|on-call)/": "program rules, office notification "
    "settings and on-call rotas: staff, no person",
    r"^(schedule|api)/offices/": "an office's calendar, slots and closures, by office id",
    r"^messaging/(inbox|held)/\S+/": "POST-only actions on one message, by message id",
    r"^(messaging/bulk|api/broadcasts)/\S+": "a broadcast by id: its audience is only counted",
    r"^messaging/templates/\S+": "message templates: no person",
    r"^me/(link|appointments)/": "the participant's own portal, signed in as the participant",
    r"^reports/\S+\.csv": "report tables by key: counts, no person",
}

# Which of a person's records a route parameter names, by parameter name.
PARAMETER_KINDS: dict[str, str] = {
    "participant_id": "participant",
    "hearing_pk": "hearing",
    "hearing_id": "hearing",
    "device_id": "device",
    "zone_id": "zone",
    "alert_id": "alert",
    "task_id": "task",
    "request_id": "reschedule_request",
    "checkin_id": "checkin",
    "window_id": "window",
    "appointment_id": "appointment",
    "review_id": "review",
}
# ``pk`` names a different record on each app's pages; the route says which.
PK_KINDS: list[tuple[str, str]] = [
    (r"^tracking/devices/", "device"),
    (r"^tracking/commands/", "command"),
    (r"^alerts/<int:pk>/", "alert"),
    (r"^(participants|tracking/participants|zones/participant|alerts/rules/participant"
     r"|schedule/participant|messaging/participants|me/staff|transfer|reports/participants)/",
     "participant"),
]  # fmt: skip
ADMIN_KINDS: dict[str, str] = {
    "participants/participant": "participant",
    "participants/supervisionplan": "plan",
    "participants/participantevent": "event",
    "tracking/device": "device",
    "tracking/deviceassignment": "assignment",
    "tracking/deviceeventrecord": "device_event",
    "tracking/devicecommand": "command",
}
FIXED_VALUES = {"fmt": "geojson"}

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _skipped(route: str) -> bool:
    return any(re.search(rule, route) for rule in SKIPPED)


def _kind(route: str, name: str) -> str:
    if name in PARAMETER_KINDS:
        return PARAMETER_KINDS[name]
    if name == "object_id" and route.startswith("admin/"):
        for model, kind in ADMIN_KINDS.items():
            if route.startswith(f"admin/{model}/"):
                return kind
    if name == "pk":
        for rule, kind in PK_KINDS:
            if re.search(rule, route):
                return kind
    raise AssertionError(
        f"{route}: which record does <{name}> name? Map it in test_one_gate.py, or skip the "
        "route there with a reason."
    )


def _walked_routes() -> list[str]:
    """Every route but the skipped ones, each once (a route serving GET and POST is one)."""
    return sorted({r for r in _routes(get_resolver().url_patterns) if not _skipped(r)})


@dataclass(frozen=True)
class Person:
    participant: Participant
    ids: dict[str, int]
    markers: tuple[str, ...]


def _person(officer: User, office: Office, serial: int) -> Person:
    """A participant with one of every record a route can name, made as the services do
    where it is cheap and with plain rows where only the row's existence matters."""
    now = timezone.now()
    participant = _enrol(officer, office, serial)
    device = device_register(
        actor=SYSTEM, identifier=f"35933907500{serial:04d}", kind="ankle", protocol="gt06"
    )
    device_assign(device, participant, actor=SYSTEM, at=now - dt.timedelta(hours=3))
    info = device_directory()[device.identifier]
    latitude = 40.7 + serial / 1000 + 0.0001234
    store_batch(
        [
            (info, Fix(device.identifier, now - dt.timedelta(hours=1), latitude, -74.0123)),
            (
                info,
                DeviceEvent(
                    device.identifier, now - dt.timedelta(hours=1), EventKind.TAMPER, "0x03"
                ),
            ),
        ],
        received_at=now,
    )
    alert = alert_raise(
        participant_id=participant.pk,
        kind="sos",
        source=f"test:sos:{serial}",
        occurred_at=now - dt.timedelta(minutes=5),
        device_id=device.pk,
        now=now - dt.timedelta(minutes=5),
    )
    alerts_promote_due(now=now)
    assert alert is not None
    zone = zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Home",
            kind="inclusion",
            geometry={
                "type": "Polygon",
                "coordinates": [
                    [
                        [-74.02, 40.69],
                        [-74.0, 40.69],
                        [-74.0, 40.71],
                        [-74.02, 40.71],
                        [-74.02, 40.69],
                    ]
                ],
            },
        ),
    )
    hearing = hearing_add(
        participant,
        actor=officer,
        scheduled_at=now + dt.timedelta(days=10),
        court="Newark Immigration Court",
        kind="master_calendar",
    )
    appointment = Appointment.objects.create(
        participant=participant,
        office=office,
        kind=AppointmentKind.HOME_VISIT,
        type=AppointmentType.values[0],
        starts_at=now + dt.timedelta(days=2),
        ends_at=now + dt.timedelta(days=2, hours=1),
        created_at=now,
    )
    window = CheckinWindow.objects.create(
        participant=participant,
        local_date=now.date(),
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(hours=1),
    )
    checkin = Checkin.objects.create(
        participant=participant,
        client_ref=f"gate-{serial}",
        reference=f"GATE{serial:04d}",
        outcome=Outcome.values[0],
        attempted_at=now,
        received_at=now,
        photo_content_type="image/jpeg",
    )
    checkin.photo.save(f"gate-{serial}.jpg", ContentFile(_jpeg()))
    participant.photo.save(f"gate-{serial}.jpg", ContentFile(_jpeg()))
    request = RescheduleRequest.objects.create(
        participant=participant, appointment=appointment, reason="Work shift", created_at=now
    )
    task = Task.objects.create(
        participant=participant,
        kind=TaskKind.RESCHEDULE_REQUEST,
        source=f"test:gate:{serial}",
        summary="Call back",
        created_at=now,
    )
    review = SupervisionReview.objects.create(
        participant=participant,
        origin=ReviewOrigin.REVIEW_DATE,
        opened_at=now,
        period_days=90,
        proposal="Step down to standard",
    )
    message_queue(
        participant=participant,
        template_key="appointment_reminder",
        context={"when": now + dt.timedelta(days=2), "place": "Newark office", "purpose": "visit"},
        purpose="reminder",
    )
    inbound_receive(
        provider="test",
        provider_message_id=f"SM-gate-{serial}",
        from_number=f"+1973555{serial:04d}",
        body="Running ten minutes late",
        received_at=now,
    )
    command = DeviceCommand.objects.create(
        device=device,
        participant=participant,
        text="WHERE#",
        requested_at=now,
        lat=latitude,
        lon=-74.0123,
    )
    ids = {
        "participant": participant.pk,
        "device": device.pk,
        "alert": alert.pk,
        "zone": zone.pk,
        "hearing": hearing.pk,
        "appointment": appointment.pk,
        "window": window.pk,
        "checkin": checkin.pk,
        "reschedule_request": request.pk,
        "task": task.pk,
        "review": review.pk,
        "command": command.pk,
        "plan": participant.plans.get().pk,
        "event": participant.events.first().pk,  # type: ignore[union-attr]
        "assignment": participant.device_assignments.get().pk,
        "device_event": device.events.get().pk,
    }
    markers = (participant.case_number, participant.family_name, f"{latitude:.6f}"[:8])
    return Person(participant, ids, markers)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "JPEG")
    return out.getvalue()


def _enrol(officer: User, office: Office, serial: int) -> Participant:
    return participant_enrol(
        actor=SYSTEM,
        program=office.program,
        office=office,
        officer=officer,
        case_number=f"GATE-{serial:04d}",
        given_name="Ana",
        family_name=f"Gatekeeper{serial}",
        date_of_birth=dt.date(1990, 5, 17),
        preferred_language="es",
        phones=[f"(973) 555-{serial:04d}"],
        plan=PlanData(
            level="intensive",
            review_date=timezone.localdate() + dt.timedelta(days=90),
            gps_device=True,
        ),
    )


def _path(route: str, ids: dict[str, int] | None) -> str:
    """The route with every parameter filled: a record of the person, or MISSING."""

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name in FIXED_VALUES:
            return FIXED_VALUES[name]
        kind = _kind(route, name)
        return str(ids[kind]) if ids is not None else str(MISSING)

    return "/" + PARAMETER.sub(value, route)


def _body(response: HttpResponseBase) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode(errors="replace")  # type: ignore[arg-type]
    return getattr(response, "content", b"").decode(errors="replace")


def _logged_about(after: int, person: Person) -> bool:
    pid = person.participant.pk
    new = AccessLogEntry.objects.filter(pk__gt=after)
    return any(pid in entry.listed_ids for entry in new)


def _last_log_id() -> int:
    return AccessLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@dataclass
class World:
    mine: Person
    theirs: Person
    clients: dict[str, Client]


@pytest.fixture
def world(
    make_office: Callable[..., Office],
    office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    settings: Any,
    tmp_path: Path,
) -> World:
    settings.MEDIA_ROOT = tmp_path  # the photos the pages serve
    elsewhere = make_office("Elsewhere")
    colleague = make_user(Role.OFFICER, office=elsewhere)
    staff = {
        Role.OFFICER: officer,
        Role.SUPERVISOR: make_user(Role.SUPERVISOR),
        Role.OPERATOR: make_user(Role.OPERATOR),
        Role.AUDITOR: make_user(Role.AUDITOR),
        Role.ADMINISTRATOR: make_user(Role.ADMINISTRATOR),
    }
    return World(
        mine=_person(officer, office, 1),
        theirs=_person(colleague, elsewhere, 2),
        clients={role: client_for(user) for role, user in staff.items()},
    )


@pytest.mark.django_db
def test_every_api_route_is_walked() -> None:
    """The resolver walk reaches the JSON API through ``api.urls``; this keeps it so."""
    walked = set(_routes(get_resolver().url_patterns))
    for path in api.get_openapi_schema()["paths"]:
        route = re.sub(r"\{(\w+)\}", r"<\1>", path).lstrip("/")
        assert route in walked, f"API route {route} is not in the URL patterns walked"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_out_of_scope_answers_as_missing_and_every_read_is_logged(world: World, role: str) -> None:
    client = world.clients[role]
    theirs_in_scope = role in {Role.OPERATOR, Role.ADMINISTRATOR}
    unlogged: list[str] = []
    leaks: list[str] = []
    for route in _walked_routes():
        names_a_record = bool(PARAMETER.search(route.replace("<str:fmt>", "")))
        before = _last_log_id()
        response = client.get(_path(route, world.mine.ids if names_a_record else None))
        shown = response.status_code == 200 and (
            names_a_record or any(m in _body(response) for m in world.mine.markers)
        )
        if shown and not _logged_about(before, world.mine):
            unlogged.append(route)
        if not names_a_record or theirs_in_scope:
            continue
        for method in (client.get, client.post):
            missing = method(_path(route, None))
            other = method(_path(route, world.theirs.ids))
            if other.status_code != missing.status_code or other.status_code < 300:
                leaks.append(
                    f"{method.__name__.upper()} {route}: out of scope {other.status_code}, "
                    f"missing {missing.status_code}"
                )
    assert not unlogged, f"{role}: these showed a person's data with no access-log row: {unlogged}"
    assert not leaks, f"{role}: out of scope does not answer as a missing id: {leaks}"
