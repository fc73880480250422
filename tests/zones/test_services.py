"""Zone writes, validation, imports, and the engine's state kept in the database."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.alerts.services import alerts_promote_due
from ontrack.participants.models import Participant
from ontrack.zones import engine, services
from ontrack.zones.models import Zone, ZoneClock, ZoneState
from tests.zones.conftest import offset, square

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Fix:
    participant_id: int | None
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = 5.0
    device_id: int = 1


def fix_at(participant: Participant, minutes: float, north_m: float = 0.0) -> Fix:
    lat, lon = offset(north_m, 0)
    return Fix(participant.pk, T0 + timedelta(minutes=minutes), lat, lon)


def data(**fields: Any) -> services.ZoneData:
    return services.ZoneData(
        **{"name": "Home", "kind": "inclusion", "geometry": square(100), **fields}
    )


def test_an_officer_writes_zones_of_their_own_caseload_only(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    mine = make_participant()
    other = make_user(Role.OFFICER)
    theirs = make_participant(officer=other)
    zone = services.zone_create(actor=officer, participant=mine, data=data())
    assert zone.participant == mine
    assert zone.program == mine.program
    with pytest.raises(PermissionDenied):
        services.zone_create(actor=officer, participant=theirs, data=data())
    with pytest.raises(PermissionDenied):
        services.zone_update(actor=other, zone=zone, data=data(name="Moved"))


def test_shared_zones_are_written_by_supervisors_of_the_office_and_administrators(
    make_user: Callable[..., User],
    officer: User,
    office: Office,
    make_office: Callable[..., Office],
) -> None:
    with pytest.raises(PermissionDenied):
        services.zone_create(actor=officer, office=office, data=data(name="Court"))
    supervisor = make_user(Role.SUPERVISOR)
    court = services.zone_create(actor=supervisor, office=office, data=data(name="Court"))
    assert court.is_shared
    elsewhere = make_user(Role.SUPERVISOR, office=make_office("Elsewhere"))
    with pytest.raises(PermissionDenied):
        services.zone_delete(actor=elsewhere, zone=court)
    services.zone_delete(actor=make_user(Role.ADMINISTRATOR), zone=court)
    assert not Zone.objects.exists()


def test_every_edit_bumps_the_version_and_the_bounding_box(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    zone = services.zone_create(actor=officer, participant=make_participant(), data=data())
    services.zone_update(actor=officer, zone=zone, data=data(geometry=square(1_000)))
    zone.refresh_from_db()
    assert zone.version == 2
    assert zone.max_lat - zone.min_lat == pytest.approx(2_000 / engine.M_PER_DEG, rel=1e-6)


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}, "range"),
        ({"type": "Circle", "center": [0, 95], "radius_m": 10}, "range"),
        ({"type": "Circle", "center": [0, 0], "radius_m": 0}, "radius"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "Polygon or a Circle"),
    ],
)
def test_invalid_geometry_is_refused_with_the_reason(geometry: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        services.geometry_validate(geometry)


def test_a_polygon_with_too_many_vertices_is_refused() -> None:
    ring = [[i / 10_000, 0.0] for i in range(services.MAX_VERTICES)] + [[0.05, 0.05], [0, 0]]
    with pytest.raises(ValidationError, match="vertices"):
        services.geometry_validate({"type": "Polygon", "coordinates": [ring]})


def test_geojson_features_and_wkt_import_to_the_same_polygon() -> None:
    feature = (
        '{"type": "Feature", "geometry": '
        '{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}'
    )
    wkt = "POLYGON ((0 0, 1 0, 1 1, 0 0))"
    assert services.geometry_parse(feature) == services.geometry_parse(wkt)
    with pytest.raises(ValidationError, match="POLYGON"):
        services.geometry_parse("POINT (1 2)")


def test_a_multipolygon_imports_from_wkt_and_geojson_alike_and_boxes_all_its_parts(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    wkt = "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"
    geometry = services.geometry_parse(wkt)
    assert geometry["type"] == "MultiPolygon"
    assert len(geometry["coordinates"]) == 2
    assert services.geometry_parse(
        f'{{"type": "Feature", "geometry": {json.dumps(geometry)}}}'
    ) == (geometry)
    zone = services.zone_create(
        actor=officer, participant=make_participant(), data=data(geometry=geometry)
    )
    assert (zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat) == (0, 0, 6, 6)
    with pytest.raises(ValidationError, match="invalid polygon"):
        services.geometry_parse("MULTIPOLYGON (((0 0, 2 0, 2 2, 0 0)), ((1 0, 3 0, 3 2, 1 0)))")


def test_a_zones_own_run_length_is_kept_and_checked(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    zone = services.zone_create(actor=officer, participant=person, data=data(consecutive_fixes=1))
    assert services.zone_spec(zone).consecutive == 1
    with pytest.raises(ValidationError, match="in a row"):
        services.zone_update(actor=officer, zone=zone, data=data(consecutive_fixes=0))


def test_schedules_are_checked_and_normalised(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    zone = services.zone_create(
        actor=officer,
        participant=make_participant(),
        data=data(schedule=[{"days": [4, 0, 1], "start": "20:00", "end": "06:00"}]),
    )
    assert zone.schedule == [{"days": [0, 1, 4], "start": "20:00", "end": "06:00"}]
    with pytest.raises(ValidationError, match="days"):
        services.schedule_validate([{"days": [7], "start": "20:00", "end": "06:00"}])


def test_state_is_kept_in_the_database_and_survives_a_restart(
    make_participant: Callable[..., Participant], officer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    participant = make_participant()
    zone = services.zone_create(actor=officer, participant=participant, data=data())
    assert services.zone_fixes_evaluate([fix_at(participant, 0)]) == []
    state = ZoneState.objects.get(participant=participant, zone=zone)
    assert state.side == "inside"
    assert ZoneClock.objects.get(participant=participant).last_fix_at == T0

    monkeypatch.setattr(services, "_cache", engine.GeometryCache())  # a fresh process
    assert services.zone_fixes_evaluate([fix_at(participant, -5, north_m=5_000)]) == [], (
        "a late fix from before the stored last fix does not flip the state"
    )
    assert services.zone_fixes_evaluate([fix_at(participant, 1, north_m=10)]) == [], (
        "no second 'entered': the stored state already says inside"
    )
    state.refresh_from_db()
    assert state.side == "inside"
    assert ZoneClock.objects.get(participant=participant).last_fix_at == T0 + timedelta(minutes=1)


def test_a_fix_that_changes_no_zone_state_writes_only_the_participants_clock(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    for name in ("Home", "Work", "Gym"):
        services.zone_create(actor=officer, participant=participant, data=data(name=name))
    services.zone_fixes_evaluate([fix_at(participant, 0)])
    with CaptureQueriesContext(connection) as queries:
        assert services.zone_fixes_evaluate([fix_at(participant, 1, north_m=10)]) == []
    writes = [q["sql"] for q in queries if "INSERT INTO" in q["sql"] or "UPDATE " in q["sql"]]
    assert len(writes) == 1, writes
    assert "zones_zoneclock" in writes[0]
    assert ZoneClock.objects.get(participant=participant).last_fix_at == T0 + timedelta(minutes=1)


def test_shared_zones_apply_to_attached_participants_only(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], office: Office
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    court = services.zone_create(actor=supervisor, office=office, data=data(name="Court"))
    attached, other = make_participant(), make_participant()
    services.zone_attach(actor=supervisor, zone=court, participant=attached)
    services.zone_fixes_evaluate([fix_at(attached, 0), fix_at(other, 0)])
    assert list(ZoneState.objects.values_list("participant_id", "side")) == [
        (attached.pk, "inside")
    ]


def test_fixes_of_unassigned_devices_and_participants_without_zones_are_ignored(
    make_participant: Callable[..., Participant],
) -> None:
    lat, lon = offset(0, 0)
    assert services.zone_fixes_evaluate([Fix(None, T0, lat, lon)]) == []
    assert services.zone_fixes_evaluate([fix_at(make_participant(), 0)]) == []
    assert not ZoneState.objects.exists()


def test_an_edited_zone_is_used_from_the_next_batch_on(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    off_hours = [{"days": [0], "start": "01:00", "end": "02:00"}]  # never at T0 (a Sunday)
    zone = services.zone_create(
        actor=officer, participant=participant, data=data(schedule=off_hours)
    )
    services.zone_fixes_evaluate([fix_at(participant, 0)])
    moved = square(100, offset(5_000, 0))
    services.zone_update(actor=officer, zone=zone, data=data(geometry=moved, schedule=off_hours))
    transitions = services.zone_fixes_evaluate([fix_at(participant, 1)])
    assert [(t.zone_id, t.kind) for t in transitions] == [(zone.pk, "left")]


def test_leaving_and_coming_back_in_one_batch_is_stored_with_the_time_of_return(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    zone = services.zone_create(actor=officer, participant=participant, data=data())
    services.zone_fixes_evaluate([fix_at(participant, 0)])
    transitions = services.zone_fixes_evaluate(
        [fix_at(participant, 1, north_m=5_000), fix_at(participant, 2)]
    )
    assert [t.kind for t in transitions] == ["left", "violation", "entered", "cleared"]
    state = ZoneState.objects.get(participant=participant, zone=zone)
    assert (state.side, state.violating) == ("inside", False)
    assert state.since == T0 + timedelta(minutes=2), "since is the return, not the first entry"
    assert ZoneClock.objects.get(participant=participant).last_fix_at == T0 + timedelta(minutes=2)


def test_a_zone_attached_after_the_first_batch_applies_from_the_next(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], office: Office
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    court = services.zone_create(actor=supervisor, office=office, data=data(name="Court"))
    participant = make_participant()
    services.zone_fixes_evaluate([fix_at(participant, 0)])
    assert not ZoneState.objects.exists(), "no zone yet"
    services.zone_attach(actor=supervisor, zone=court, participant=participant)
    services.zone_fixes_evaluate([fix_at(participant, 1)])
    assert ZoneState.objects.get(participant=participant, zone=court).side == "inside"


def test_a_curfew_breach_stays_open_when_the_curfew_ends_and_clears_on_coming_home(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()  # New York; 20:00-06:00 is 01:00-11:00 UTC in March
    services.zone_create(
        actor=officer,
        participant=person,
        data=data(schedule=[{"days": list(range(7)), "start": "20:00", "end": "06:00"}]),
    )
    night = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 EST
    services.zone_fixes_evaluate([Fix(person.pk, night, *offset(2_000, 0))])
    alerts_promote_due(now=datetime.now(UTC) + timedelta(hours=1))  # grace long over
    morning = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # 07:00 EST, curfew over, still out
    services.zone_fixes_evaluate([Fix(person.pk, morning, *offset(2_000, 0))])
    alert = Alert.objects.get(kind="inclusion_zone_exit")
    assert alert.status == AlertStatus.OPEN, "the curfew ending does not resolve the breach"
    home = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    services.zone_fixes_evaluate([Fix(person.pk, home, *offset(0, 0))])
    alert.refresh_from_db()
    assert (alert.status, alert.closed_at) == (AlertStatus.AUTO_RESOLVED, home)


def test_the_engine_keeps_a_zones_corners_as_arrays_not_as_parsed_json(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    """Each gateway process keeps the spec of every zone it has met; a 200-corner polygon
    held as parsed JSON lists cost ~25 KB (a list and two float objects per corner), which
    for a national program's zones is gigabytes. As float arrays it is 16 bytes a corner."""
    import gc
    import tracemalloc

    from ontrack.zones.models import Zone
    from ontrack.zones.services import zone_spec

    participant = make_participant()
    corners = [offset(300 * math.sin(a / 100 * math.pi), 300 * math.cos(a / 100 * math.pi))
               for a in range(200)]  # fmt: skip
    ring = [[lon, lat] for lat, lon in corners]
    zone = services.zone_create(
        actor=officer,
        participant=participant,
        data=services.ZoneData(
            name="Park",
            kind="exclusion",
            geometry={"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        ),
    )
    zone_spec(Zone.objects.get(pk=zone.pk))  # warms the ORM's own caches first
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        spec = zone_spec(Zone.objects.get(pk=zone.pk))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert spec.geometry["type"] == "Polygon"
    assert held < 8_000, f"a 200-corner zone's spec holds {held} bytes"
