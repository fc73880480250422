"""The live map of a caseload: every wearer the user may see, at their last position, with
their open alerts and how long ago their device last had a fix.

Two queries read the whole map, however many wearers: the open device assignments of the
participants in the user's scope (``participants.queries.participant_visible_q``, narrowed
by the same office / officer / level filters as the caseload list, so a value outside the
user's scope simply finds nobody), joined to the device's denormalised last fix; and the
queue's alerts of the same people, counted by person
(``alerts.queries.queued_alerts_by_participant``). Callers log the read through the gate
(``participants.gate.participants_listed``) naming everyone returned.

A device's last fix belongs to its wearer only if it was taken after the device was fitted
on them: a unit handed on from someone else keeps the previous wearer's last position until
it reports again, and that place is not where the new wearer is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from ontrack.accounts.models import User
from ontrack.alerts.models import Priority
from ontrack.alerts.queries import queued_alerts_by_participant
from ontrack.participants.models import Level
from ontrack.participants.queries import participant_visible_q
from ontrack.tracking.models import DeviceAssignment

# How a marker is drawn, worst first: the highest priority of the wearer's open alerts,
# else whether the device has gone without a fix for longer than the stale threshold.
STATE_URGENT = "urgent"  # an open alert of high or critical priority
STATE_ALERT = "alert"  # open alerts, low or medium priority
STATE_STALE = "stale"  # no alert, but no fix for the stale threshold (or none yet)
STATE_CURRENT = "current"  # a recent fix and nothing open
STATES = (STATE_URGENT, STATE_ALERT, STATE_STALE, STATE_CURRENT)


@dataclass(frozen=True, slots=True)
class LiveMapFilter:
    """The filters of the live map, as the caseload list has them."""

    office: int | None = None
    officer: int | None = None
    level: str = ""


def _id_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationError(f"{name} must be a numeric id.")
    return int(raw)


def live_map_filter_parse(params: Mapping[str, str]) -> LiveMapFilter:
    """The filters from a query string; empty values mean "any". A malformed value raises
    ValidationError (the caller answers 400), an id outside the user's scope does not: it
    finds nobody, as on the caseload list."""
    level = params.get("level", "").strip()
    if level and level not in Level.values:
        raise ValidationError(f"level must be one of {', '.join(Level.values)}.")
    return LiveMapFilter(
        office=_id_param(params, "office"), officer=_id_param(params, "officer"), level=level
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


def live_map_wearers(
    user: User, f: LiveMapFilter, *, now: dt.datetime, stale_after: dt.timedelta
) -> list[WearerOnMap]:
    """Every wearer in ``user``'s scope matching ``f``, worst state first then by name; in
    two queries. Wearers whose device has no fix since it was fitted are included without a
    position (the page counts them)."""
    narrowed = {
        "participant__office_id": f.office,
        "participant__officer_id": f.officer,
        "participant__level": f.level,
    }
    scope = participant_visible_q(user, "participant") & Q(
        **{field: value for field, value in narrowed.items() if value}
    )
    queued = queued_alerts_by_participant(scope)
    rows = DeviceAssignment.objects.filter(scope, ended_at__isnull=True).values(
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
    wearers = [
        _wearer(row, queued.get(row["participant_id"], (0, None)), now=now, stale_after=stale_after)
        for row in rows
    ]
    wearers.sort(key=lambda w: (STATES.index(w.state), w.name.casefold(), w.participant_id))
    return wearers


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
