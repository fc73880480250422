"""The live map of a caseload: every wearer the user may see, at their last position, with
their open alerts and how long ago their device last had a fix.

The answer is bounded as the map is: by the filters' scope, and by the part of the map in
view. An operator's map over every office opens on one office (their own, else the first
by name; "all" is a choice of the filter), so it opens on some thousand wearers, not the
program's 7,500 (350 ms an answer at 100,000 participants). The map opens without a
viewport: the whole scope, in two queries however many wearers (the open device
assignments of the participants in the user's scope, ``participants.queries.
participant_visible_q`` narrowed by the same office / officer / level filters as the
caseload list, so a value outside the user's scope simply finds nobody, joined to the
device's denormalised last fix; and the queue's alerts of the same people, counted by person,
``alerts.queries.queued_alerts_by_participant``), with the scope's bounds that the map fits.
Once fitted, the map asks for its viewport: the wearers placed inside it (their devices'
last fix filtered by the box; not indexed, since the gateway moves it on every batch and an
index on it would make those updates rewrite every index of the table), those without a
position (listed under the map), and the scope's counts and bounds in one aggregate, so a
map zoomed on a city reads and names that city's wearers. Callers log the read through the
gate (``participants.gate.participants_listed``) naming everyone returned.

A device's last fix belongs to its wearer only if it was taken after the device was fitted
on them: a unit handed on from someone else keeps the previous wearer's last position until
it reports again, and that place is not where the new wearer is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Min, Q, QuerySet

from ontrack.accounts.models import Office, User
from ontrack.alerts.models import Priority
from ontrack.alerts.queries import queued_alerts_by_participant
from ontrack.participants.models import Level
from ontrack.participants.queries import ROLE_SCOPE, Scope, participant_visible_q
from ontrack.tracking.models import DeviceAssignment

# How a marker is drawn, worst first: the highest priority of the wearer's open alerts,
# else whether the device has gone without a fix for longer than the stale threshold.
STATE_URGENT = "urgent"  # an open alert of high or critical priority
STATE_ALERT = "alert"  # open alerts, low or medium priority
STATE_STALE = "stale"  # no alert, but no fix for the stale threshold (or none yet)
STATE_CURRENT = "current"  # a recent fix and nothing open
STATES = (STATE_URGENT, STATE_ALERT, STATE_STALE, STATE_CURRENT)


ALL_OFFICES = "all"  # the office filter's value for every office of the user's scope


@dataclass(frozen=True, slots=True)
class Viewport:
    """The part of the map in view, in degrees (no wrap over the antimeridian: the client
    clamps its view to one world)."""

    south: float
    west: float
    north: float
    east: float


@dataclass(frozen=True, slots=True)
class LiveMapFilter:
    """The filters of the live map, as the caseload list has them (``office`` None: every
    office of the user's scope), and the viewport (None: the whole scope)."""

    office: int | None = None
    officer: int | None = None
    level: str = ""
    viewport: Viewport | None = None


def _id_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationError(f"{name} must be a numeric id.")
    return int(raw)


def _viewport_param(params: Mapping[str, str]) -> Viewport | None:
    raw = params.get("bbox", "").strip()
    if not raw:
        return None
    parts = raw.split(",")
    message = "bbox must be south,west,north,east in degrees, south below north, west of east."
    if len(raw) > 100 or len(parts) != 4:
        raise ValidationError(message)
    try:
        south, west, north, east = (float(p) for p in parts)
    except ValueError:
        raise ValidationError(message) from None
    if not (
        all(math.isfinite(v) for v in (south, west, north, east))
        and -90 <= south <= north <= 90
        and -180 <= west <= east <= 180
    ):
        raise ValidationError(message)
    return Viewport(south=south, west=west, north=north, east=east)


def live_map_default_office(user: User) -> int | None:
    """The office a map over every office opens on: the user's own, else the first by name.
    None for a scope of one office or one caseload, which is already the map's bound."""
    if ROLE_SCOPE.get(user.role) != Scope.ALL:
        return None
    if user.office_id is not None:
        return user.office_id
    return Office.objects.order_by("name", "pk").values_list("pk", flat=True).first()


def live_map_filter_parse(params: Mapping[str, str], user: User) -> LiveMapFilter:
    """The filters from a query string; empty values mean "any", but for the office, where
    they mean ``user``'s default office (``live_map_default_office``) and ``ALL_OFFICES``
    means any. A malformed value raises ValidationError (the caller answers 400), an id
    outside the user's scope does not: it finds nobody, as on the caseload list."""
    level = params.get("level", "").strip()
    if level and level not in Level.values:
        raise ValidationError(f"level must be one of {', '.join(Level.values)}.")
    office = (
        None
        if params.get("office", "").strip() == ALL_OFFICES
        else _id_param(params, "office") or live_map_default_office(user)
    )
    return LiveMapFilter(
        office=office,
        officer=_id_param(params, "officer"),
        level=level,
        viewport=_viewport_param(params),
    )


@dataclass(frozen=True, slots=True)
class WearerOnMap:
    participant_id: int
    name: str
    case_number: str
    level: str
    office: str
    office_time_zone: str
    officer: str
    device: str
    lat: float | None
    lon: float | None
    fix_time: dt.datetime | None
    minutes_since_fix: int | None
    stale: bool
    open_alerts: int
    top_priority: int | None

    @property
    def state(self) -> str:
        if self.open_alerts and (self.top_priority or 0) >= Priority.HIGH:
            return STATE_URGENT
        if self.open_alerts:
            return STATE_ALERT
        return STATE_STALE if self.stale else STATE_CURRENT

    @property
    def placed(self) -> bool:
        """Whether the wearer has a position to draw."""
        return self.lat is not None and self.lon is not None


def live_map_has_wearers(user: User) -> bool:
    """Whether anyone in ``user``'s scope wears a device (the page's empty state). A count,
    not a read of anyone's data: nothing to log."""
    return (
        DeviceAssignment.objects.filter(ended_at__isnull=True)
        .filter(participant_visible_q(user, "participant"))
        .exists()
    )


@dataclass(frozen=True, slots=True)
class LiveMapScope:
    """How many wearers the filters find (``placed``: with a position to draw) and the
    bounds of the placed ones (south, west, north, east; None: nobody placed), whatever the
    viewport: the map fits them when it opens, its summary says how many are out of view."""

    wearers: int
    placed: int
    bounds: tuple[float, float, float, float] | None


@dataclass(frozen=True, slots=True)
class LiveMap:
    wearers: list[WearerOnMap]
    scope: LiveMapScope


_FIELDS = (
    "participant_id",
    "started_at",
    "participant__given_name",
    "participant__family_name",
    "participant__case_number",
    "participant__level",
    "participant__office__name",
    "participant__office__time_zone",
    "participant__officer__first_name",
    "participant__officer__last_name",
    "participant__officer__username",
    "device__identifier",
    "device__last_fix_time",
    "device__last_lat",
    "device__last_lon",
)
# A device's last fix places its wearer only if taken since the fitting (see the module).
_PLACED = Q(
    device__last_fix_time__gte=F("started_at"),
    device__last_lat__isnull=False,
    device__last_lon__isnull=False,
)
_UNPLACED = (
    Q(device__last_fix_time__isnull=True)
    | Q(device__last_fix_time__lt=F("started_at"))
    | Q(device__last_lat__isnull=True)
    | Q(device__last_lon__isnull=True)
)


def live_map_wearers(
    user: User, f: LiveMapFilter, *, now: dt.datetime, stale_after: dt.timedelta
) -> LiveMap:
    """The wearers in ``user``'s scope matching ``f``, worst state first then by name: all
    of them, or with a viewport those placed inside it and those without a position (the
    page lists them under the map). Two queries for the whole scope, four for a viewport
    (the placed inside, the unplaced, the scope's counts and bounds, the queue)."""
    narrowed = {
        "participant__office_id": f.office,
        "participant__officer_id": f.officer,
        "participant__level": f.level,
    }
    scope = participant_visible_q(user, "participant") & Q(
        **{field: value for field, value in narrowed.items() if value}
    )
    queued = queued_alerts_by_participant(scope)
    fitted = DeviceAssignment.objects.filter(scope, ended_at__isnull=True)
    if f.viewport is None:
        rows = list(fitted.values(*_FIELDS))
    else:
        v = f.viewport
        inside = fitted.filter(
            _PLACED,
            device__last_lat__range=(v.south, v.north),
            device__last_lon__range=(v.west, v.east),
        )
        rows = [*inside.values(*_FIELDS), *fitted.filter(_UNPLACED).values(*_FIELDS)]
    wearers = [
        _wearer(row, queued.get(row["participant_id"], (0, None)), now=now, stale_after=stale_after)
        for row in rows
    ]
    wearers.sort(key=lambda w: (STATES.index(w.state), w.name.casefold(), w.participant_id))
    return LiveMap(
        wearers=wearers,
        scope=_scope_of(wearers) if f.viewport is None else _scope_counted(fitted),
    )


def _scope_of(wearers: list[WearerOnMap]) -> LiveMapScope:
    """The scope's counts and bounds from all its wearers, read already."""
    lats = [w.lat for w in wearers if w.lat is not None and w.lon is not None]
    lons = [w.lon for w in wearers if w.lat is not None and w.lon is not None]
    return LiveMapScope(
        wearers=len(wearers),
        placed=len(lats),
        bounds=(min(lats), min(lons), max(lats), max(lons)) if lats else None,
    )


def _scope_counted(fitted: QuerySet[DeviceAssignment]) -> LiveMapScope:
    """The scope's counts and bounds in one aggregate over its open fittings."""
    row = fitted.aggregate(
        wearers=Count("pk"),
        placed=Count("pk", filter=_PLACED),
        south=Min("device__last_lat", filter=_PLACED),
        west=Min("device__last_lon", filter=_PLACED),
        north=Max("device__last_lat", filter=_PLACED),
        east=Max("device__last_lon", filter=_PLACED),
    )
    corners = (row["south"], row["west"], row["north"], row["east"])
    return LiveMapScope(
        wearers=row["wearers"],
        placed=row["placed"],
        bounds=None if row["placed"] == 0 else corners,
    )


def _wearer(
    row: Mapping[str, Any],
    queued: tuple[int, int | None],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
) -> WearerOnMap:
    fix_time: dt.datetime | None = row["device__last_fix_time"]
    lat: float | None = row["device__last_lat"]
    lon: float | None = row["device__last_lon"]
    if fix_time is None or fix_time < row["started_at"]:
        fix_time, lat, lon = None, None, None  # nothing reported since the fitting
    first, last = row["participant__officer__first_name"], row["participant__officer__last_name"]
    officer_name = " ".join(p for p in (first, last) if p) or (
        row["participant__officer__username"] or ""
    )
    return WearerOnMap(
        participant_id=row["participant_id"],
        name=f"{row['participant__given_name']} {row['participant__family_name']}",
        case_number=row["participant__case_number"],
        level=row["participant__level"],
        office=row["participant__office__name"] or "",
        office_time_zone=row["participant__office__time_zone"] or "UTC",
        officer=officer_name,
        device=row["device__identifier"],
        lat=lat,
        lon=lon,
        fix_time=fix_time,
        minutes_since_fix=int((now - fix_time).total_seconds() // 60) if fix_time else None,
        stale=fix_time is None or now - fix_time > stale_after,
        open_alerts=queued[0],
        top_priority=queued[1],
    )
