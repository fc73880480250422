"""Reads of devices and positions shared by the console, the API and the exports.

A participant's track is read through their device assignments: for each device they wore,
its positions between the later of (assignment start, ``start``) and the earlier of
(assignment end, ``end``). That uses the positions' one index, ``(device_id, time)``, and it
attributes a late fix (stored after the device was taken back) to the person who wore the
device at the fix time. Callers obtain the participant through the gate
(``participants.gate``) first.

A track holds valid positions only unless a caller asks for the invalid reports too
(``with_invalid``): those are where the device reported without a fix, which the track page,
the API and the exports show as such, and which nothing may take for a place the person was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from ontrack.accounts.models import Role, User
from ontrack.participants.caseload_signals import CaseloadSignals, Dated, DeviceSignal
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device, DeviceAssignment, DeviceEventRecord, Position

DEVICE_SORTS: dict[str, tuple[str, ...]] = {
    "identifier": ("identifier",),
    "-identifier": ("-identifier",),
    "status": ("status", "identifier"),
    "-status": ("-status", "identifier"),
    "kind": ("kind", "identifier"),
    "-kind": ("-kind", "identifier"),
    "seen": ("last_seen_at", "identifier"),
    "-seen": ("-last_seen_at", "identifier"),
    "battery": ("battery_pct", "identifier"),
    "-battery": ("-battery_pct", "identifier"),
}

POSITION_FIELDS = (
    "device_id",
    "time",
    "lat",
    "lon",
    "accuracy_m",
    "speed_kmh",
    "course",
    "altitude_m",
    "satellites",
    "valid",
    "invalid_reason",
)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    q: str = ""
    status: str = ""
    kind: str = ""
    protocol: str = ""
    office: int | None = None
    sort: str = "identifier"


def devices_visible_to(user: User) -> QuerySet[Device]:
    """A worn device is seen exactly as its wearer is: its page and last position are the
    wearer's location. Administrators and operators: every device. Supervisors and officers:
    devices worn by participants they may see, and unworn devices of their office or of no
    office (the stock they fit from). Auditors: none."""
    everyone = Device.objects.all()
    if not user.is_authenticated or not user.reads_participants:
        return everyone.none()
    if user.role in {Role.ADMINISTRATOR, Role.OPERATOR}:
        return everyone
    from ontrack.participants.queries import participants_visible_to

    worn = DeviceAssignment.objects.filter(ended_at__isnull=True)
    worn_by_visible = worn.filter(participant__in=participants_visible_to(user))
    stock = Q(office__isnull=True)
    if user.office_id is not None:
        stock |= Q(office_id=user.office_id)
    unworn_stock = ~Q(pk__in=worn.values("device_id")) & stock
    return everyone.filter(Q(pk__in=worn_by_visible.values("device_id")) | unworn_stock)


def device_wearers(device_ids: list[int]) -> dict[int, int]:
    """Device id -> the participant wearing it now, for the devices worn."""
    return dict(
        DeviceAssignment.objects.filter(
            ended_at__isnull=True, device_id__in=device_ids
        ).values_list("device_id", "participant_id")
    )


def device_filter(queryset: QuerySet[Device], f: DeviceFilter) -> QuerySet[Device]:
    if f.q.strip():
        queryset = queryset.filter(identifier__icontains=f.q.strip())
    if f.status:
        queryset = queryset.filter(status=f.status)
    if f.kind:
        queryset = queryset.filter(kind=f.kind)
    if f.protocol:
        queryset = queryset.filter(protocol=f.protocol)
    if f.office:
        queryset = queryset.filter(office_id=f.office)
    return queryset.order_by(*DEVICE_SORTS.get(f.sort, DEVICE_SORTS["identifier"]))


def device_current_wearer(device: Device) -> Participant | None:
    assignment = (
        DeviceAssignment.objects.filter(device=device, ended_at__isnull=True)
        .select_related("participant")
        .first()
    )
    return assignment.participant if assignment else None


def participant_current_device(participant: Participant) -> Device | None:
    assignment = (
        DeviceAssignment.objects.filter(participant=participant, ended_at__isnull=True)
        .select_related("device")
        .first()
    )
    return assignment.device if assignment else None


def _windows(
    participant: Participant, start: dt.datetime | None, end: dt.datetime | None
) -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """(device, from, until) for every assignment overlapping [start, end)."""
    assignments = DeviceAssignment.objects.filter(participant=participant).order_by("started_at")
    if end is not None:
        assignments = assignments.filter(started_at__lt=end)
    if start is not None:
        assignments = assignments.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    windows: list[tuple[int, dt.datetime | None, dt.datetime | None]] = []
    for a in assignments:
        lower = a.started_at if start is None else max(a.started_at, start)
        upper = a.ended_at if end is None else (end if a.ended_at is None else min(a.ended_at, end))
        windows.append((a.device_id, lower, upper))
    return windows


def _window_q(windows: list[tuple[int, dt.datetime | None, dt.datetime | None]]) -> Q | None:
    condition: Q | None = None
    for device_id, lower, upper in windows:
        part = Q(device_id=device_id)
        if lower is not None:
            part &= Q(time__gte=lower)
        if upper is not None:
            part &= Q(time__lt=upper)
        condition = part if condition is None else condition | part
    return condition


def participant_positions(
    participant: Participant,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    *,
    with_invalid: bool = False,
) -> QuerySet[Position]:
    """The participant's positions in [start, end), in time order (open ends allowed); with
    ``with_invalid``, the reports without a valid fix as well."""
    condition = _window_q(_windows(participant, start, end))
    ordered = Position.objects.order_by("time", "device_id")
    if condition is None:  # no device worn then: still ordered, as the API's pages need
        return ordered.none()
    if not with_invalid:
        condition &= Q(valid=True)
    return ordered.filter(condition)


def participant_device_events(
    participant: Participant, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> QuerySet[DeviceEventRecord]:
    condition = _window_q(_windows(participant, start, end))
    if condition is None:
        return DeviceEventRecord.objects.none()
    return DeviceEventRecord.objects.filter(condition).order_by("time", "id")


def participant_last_position(participant: Participant) -> tuple[float, float, dt.datetime] | None:
    """(lat, lon, time) of the newest valid fix of the participant's track (only fixes
    stored while they wore the device), or None. Registered with zones for where its maps
    open."""
    row = (
        participant_positions(participant)
        .order_by("-time")
        .values_list("lat", "lon", "time")
        .first()
    )
    if row is None or row[0] is None or row[1] is None:  # a valid fix always has both
        return None
    return (row[0], row[1], row[2])


@dataclass(frozen=True, slots=True)
class TrackItem:
    """One entry of a time-ordered track: a position or a device event."""

    time: dt.datetime
    position: dict[str, object] | None = None
    event: DeviceEventRecord | None = None


def participant_track(
    participant: Participant, start: dt.datetime, end: dt.datetime
) -> list[TrackItem]:
    """Positions (reports without a valid fix included) and device events between two
    times, merged in time order."""
    items = [
        TrackItem(time=row["time"], position=row)
        for row in participant_positions(participant, start, end, with_invalid=True).values(
            *POSITION_FIELDS
        )
    ]
    items += [
        TrackItem(time=e.time, event=e) for e in participant_device_events(participant, start, end)
    ]
    items.sort(key=lambda item: (item.time, item.event is not None))
    return items


@dataclass(frozen=True, slots=True)
class NoFixPeriod:
    """Consecutive reports without a valid fix (no valid fix between them): the device
    reported from ``start`` to ``end`` but could not say where it was."""

    start: dt.datetime
    end: dt.datetime
    reports: int
    reasons: tuple[str, ...]  # the invalid reasons seen, in order of first appearance


def no_fix_periods(items: Iterable[TrackItem]) -> list[NoFixPeriod]:
    """The "No GPS fix" periods of a track; device events neither start nor end one."""
    periods: list[NoFixPeriod] = []
    run: list[dict[str, object]] = []

    def close() -> None:
        if run:
            reasons = tuple(dict.fromkeys(str(row["invalid_reason"]) for row in run))
            start, end = run[0]["time"], run[-1]["time"]
            assert isinstance(start, dt.datetime)
            assert isinstance(end, dt.datetime)
            periods.append(NoFixPeriod(start, end, len(run), reasons))
            run.clear()

    for item in items:
        if item.position is None:
            continue
        if item.position["valid"]:
            close()
        else:
            run.append(item.position)
    close()
    return periods


def participant_positions_iter(
    participant: Participant, chunk_size: int = 5_000
) -> Iterator[dict[str, object]]:
    """Every position of the participant (reports without a valid fix included), oldest
    first, streamed from the database in chunks (for exports of a whole year without loading
    it into memory)."""
    yield from (
        participant_positions(participant, with_invalid=True)
        .values(*POSITION_FIELDS)
        .iterator(chunk_size=chunk_size)
    )


def latest_positions(devices: QuerySet[Device]) -> list[dict[str, Any]]:
    """The latest fix of each device, from the columns ``store_batch`` keeps current."""
    rows = devices.filter(last_fix_time__isnull=False).values(
        "id", "identifier", "last_fix_time", "last_lat", "last_lon", "last_accuracy_m"
    )
    return [dict(row) for row in rows]


def caseload_device_signals(
    participant_ids: Sequence[int], now: dt.datetime
) -> dict[int, CaseloadSignals]:
    """The caseload list's device part (``participants.caseload_signals``), one query for
    the page: each wearer's device battery and last fix, stale past the live map's
    threshold (``ONTRACK_LIVE_MAP_STALE_MINUTES``), the last fix also counting as contact."""
    stale_after = dt.timedelta(minutes=settings.ONTRACK_LIVE_MAP_STALE_MINUTES)
    worn = DeviceAssignment.objects.filter(
        participant_id__in=participant_ids, ended_at__isnull=True
    ).values_list("participant_id", "device__last_fix_time", "device__battery_pct")
    signals: dict[int, CaseloadSignals] = {}
    for pk, fix, battery in worn:
        device = DeviceSignal(
            battery_pct=battery, last_fix_at=fix, stale=fix is None or now - fix > stale_after
        )
        contact = Dated(fix, "device fix") if fix is not None else None
        signals[pk] = CaseloadSignals(device=device, last_contact=contact)
    return signals
