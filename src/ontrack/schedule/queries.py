"""Reads of schedules, windows, slots and check-ins shared by the console, the API, the
portal and the services.

``obligations_upcoming`` and ``checkin_window_current`` are the portal's contract; the slot
reads turn an office's opening hours (wall-clock, in the office's zone) into bookable
instants.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from ontrack.accounts.models import Office, User
from ontrack.participants.caseload_signals import (
    COMPLIANCE_DAYS,
    CaseloadSignals,
    Dated,
)
from ontrack.participants.models import (
    Hearing,
    HearingOutcome,
    Participant,
    Status,
    SupervisionPlan,
)
from ontrack.participants.queries import home_address, participants_visible_to
from ontrack.schedule.models import (
    COMPLIANCE_JUDGED,
    COMPLIANCE_MET,
    WINDOW_LONGEST,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Cadence,
    Checkin,
    CheckinSchedule,
    CheckinWindow,
    OfficeCalendar,
    OfficeClosure,
    OfficeSlot,
    Outcome,
    RequestStatus,
    RescheduleRequest,
    Review,
    Task,
    TaskStatus,
)
from ontrack.schedule.recurrence import local_instant

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Repeat:
    """A line that stands for the rest of a weekly schedule's windows in the list: every
    ``interval`` weeks on ``weekdays`` (0 = Monday; all seven and ``interval`` 1 is "every
    day"), at the same local times, until ``until`` (the schedule's last day) or with no end
    (``None``). The portal puts it in words; ``count`` is how many windows it stands for."""

    weekdays: tuple[int, ...]
    interval: int
    until: dt.date | None
    count: int

    @property
    def every_day(self) -> bool:
        return self.interval == 1 and set(self.weekdays) == set(range(7))


@dataclass(frozen=True)
class Obligation:
    kind: str  # "checkin" | "appointment" | "hearing"
    ref_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    title: str  # translatable, already in the active language
    purpose: str  # stated purpose, shown to the participant as it is
    place: str
    address: str
    map_url: str
    # The code behind ``purpose`` (a hearing's kind, an appointment's type), for a page
    # that shows it in the participant's language.
    purpose_code: str = ""
    # Set on a line standing for several windows of one schedule (its first is this one).
    repeat: Repeat | None = None


def map_url(address: str) -> str:
    """A link that opens the address in the phone's map app (no key, no tracking)."""
    if not address.strip():
        return ""
    return "https://www.openstreetmap.org/search?query=" + urllib.parse.quote(address.strip())


def current_plan(participant: Participant) -> SupervisionPlan | None:
    return participant.plans.filter(effective_to__isnull=True).first()


ACTIVE_STATUSES = (Status.ENROLLED, Status.ACTIVE)


# A window the participant has nothing more to do for: checked in (on time or late) or
# excused. A technical failure is not settled for them: they may still try again.
SETTLED_OUTCOMES = (Outcome.ON_TIME, Outcome.LATE, Outcome.EXCUSED)


def checkins_required_q(participant_field: str = "participant") -> Q:
    """Whose check-ins count: a case that is enrolled or active and whose current plan asks
    for app or phone check-ins. A suspended or closed case, or a plan with check-ins off,
    gets no windows and no missed-check-in alert. ``participant_field`` is the path from
    the queried model to the participant (``"participant"`` for windows and schedules,
    ``""`` for participants themselves)."""
    prefix = f"{participant_field}__" if participant_field else ""
    ref = f"{participant_field}_id" if participant_field else "pk"
    plan_asks = SupervisionPlan.objects.filter(
        participant_id=OuterRef(ref), effective_to__isnull=True
    ).filter(Q(app_checkins=True) | Q(phone_checkins=True))
    return Q(**{f"{prefix}status__in": ACTIVE_STATUSES}) & Q(Exists(plan_asks))


def checkins_required(participant: Participant) -> bool:
    return Participant.objects.filter(checkins_required_q(""), pk=participant.pk).exists()


def checkin_window_current(participant: Participant, at: dt.datetime) -> CheckinWindow | None:
    """The window open at ``at`` (opened, not yet closed) for which no completed check-in
    was received; None when nothing is open or the person has already checked in."""
    return (
        CheckinWindow.objects.filter(participant=participant, opens_at__lte=at, closes_at__gt=at)
        .exclude(outcome__in=SETTLED_OUTCOMES)
        .order_by("closes_at")
        .first()
    )


def _window_obligation(window: CheckinWindow) -> Obligation:
    return Obligation(
        kind="checkin",
        ref_id=window.pk,
        starts_at=window.opens_at,
        ends_at=window.closes_at,
        title=_("Check-in from your phone"),
        purpose="",
        place="",
        address="",
        map_url="",
    )


def _checkin_obligations(windows: list[CheckinWindow], zone: ZoneInfo) -> list[Obligation]:
    """Each window as an obligation, except that a weekly schedule's windows after the next
    one fold into one line (``Repeat``): a person checking in every day would otherwise
    read thirty identical rows and miss the appointment below them. Windows fold only with
    others of the same schedule at the same local times; ad-hoc windows, monthly and
    custom dates (a few in a month, each worth reading) stay one line each."""
    items: list[Obligation] = []
    series: dict[tuple[int, dt.time, dt.time], tuple[CheckinSchedule, list[CheckinWindow]]] = {}
    for window in windows:
        schedule = window.schedule
        if schedule is None or schedule.cadence != Cadence.WEEKLY:
            items.append(_window_obligation(window))
            continue
        key = (
            schedule.pk,
            window.opens_at.astimezone(zone).time(),
            window.closes_at.astimezone(zone).time(),
        )
        series.setdefault(key, (schedule, []))[1].append(window)
    for schedule, (first, *rest) in series.values():
        items.append(_window_obligation(first))
        if not rest:
            continue
        repeat = Repeat(
            weekdays=tuple(sorted(schedule.weekdays)),
            interval=schedule.interval,
            until=schedule.ends_on,
            count=len(rest),
        )
        items.append(dataclasses.replace(_window_obligation(rest[0]), repeat=repeat))
    return items


def obligations_upcoming(
    participant: Participant, *, now: dt.datetime, days: int = 30
) -> list[Obligation]:
    """Check-in windows, appointments and hearings from now (including what is open now)
    for ``days`` days, in time order, with the words in the active language. A window is
    listed until it is settled (``SETTLED_OUTCOMES``), the same rule that takes away the
    "check in now" button."""
    until = now + dt.timedelta(days=days)
    windows = (
        CheckinWindow.objects.filter(participant=participant, closes_at__gt=now, opens_at__lt=until)
        .exclude(outcome__in=SETTLED_OUTCOMES)
        .select_related("schedule")
        .order_by("opens_at", "pk")
    )
    items = _checkin_obligations(list(windows), ZoneInfo(participant.time_zone))
    appointments = Appointment.objects.select_related("office").filter(
        participant=participant,
        status=AppointmentStatus.BOOKED,
        ends_at__gt=now,
        starts_at__lt=until,
    )
    for appointment in appointments:
        home = appointment.kind == AppointmentKind.HOME_VISIT
        address = home_address(participant) if home else appointment.office.address
        items.append(
            Obligation(
                kind="appointment",
                ref_id=appointment.pk,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                title=str(AppointmentKind(appointment.kind).label),
                purpose=str(appointment.get_type_display()),
                place=_("At your home") if home else appointment.office.name,
                address=address,
                map_url="" if home else map_url(address),
                purpose_code=appointment.type,
            )
        )
    hearings = Hearing.objects.filter(
        participant=participant,
        outcome=HearingOutcome.SCHEDULED,
        scheduled_at__gte=now - dt.timedelta(hours=2),
        scheduled_at__lt=until,
    )
    for hearing in hearings:
        items.append(
            Obligation(
                kind="hearing",
                ref_id=hearing.pk,
                starts_at=hearing.scheduled_at,
                ends_at=None,
                title=_("Court hearing"),
                purpose=str(hearing.get_kind_display()),
                place=hearing.court,
                address=hearing.court_address,
                map_url=map_url(hearing.court_address),
                purpose_code=hearing.kind,
            )
        )
    return sorted(items, key=lambda o: (o.starts_at, o.kind, o.ref_id))


# --- offices' calendars ------------------------------------------------------------------


def calendar_for(office: Office) -> OfficeCalendar:
    calendar, _created = OfficeCalendar.objects.get_or_create(
        office=office,
        defaults={
            "slot_minutes": settings.ONTRACK_SCHEDULE_SLOT_MINUTES,
            "slot_capacity": settings.ONTRACK_SCHEDULE_SLOT_CAPACITY,
        },
    )
    return calendar


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


def _opening_intervals(office: Office, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    hours = office.opening_hours or {}
    intervals = hours.get(WEEKDAY_KEYS[day.weekday()], [])
    return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in intervals]


def office_slot_times(
    office: Office, day: dt.date, calendar: OfficeCalendar
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The slots an office offers on a local date (none on a closure), as UTC instants:
    each opening interval cut into ``slot_minutes`` pieces, the last one whole."""
    zone = ZoneInfo(office.time_zone)
    step = dt.timedelta(minutes=calendar.slot_minutes)
    result: list[tuple[dt.datetime, dt.datetime]] = []
    for opens, closes in _opening_intervals(office, day):
        start = dt.datetime.combine(day, opens)
        end = dt.datetime.combine(day, closes)
        while start + step <= end:
            result.append(
                (
                    local_instant(day, start.time(), zone),
                    local_instant(day, (start + step).time(), zone),
                )
            )
            start += step
    return result


def office_closed_on(office: Office, day: dt.date) -> bool:
    return OfficeClosure.objects.filter(office=office, date=day).exists()


def office_slots(office: Office, day: dt.date) -> list[Slot]:
    """Bookable slots of a local date with what is already booked in each."""
    if office_closed_on(office, day):
        return []
    calendar = calendar_for(office)
    times = office_slot_times(office, day, calendar)
    if not times:
        return []
    taken = {
        s.starts_at: s
        for s in OfficeSlot.objects.filter(
            office=office, starts_at__gte=times[0][0], starts_at__lte=times[-1][0]
        )
    }
    slots = []
    for start, end in times:
        row = taken.get(start)
        slots.append(
            Slot(
                starts_at=start,
                ends_at=end,
                capacity=row.capacity if row else calendar.slot_capacity,
                booked=row.booked if row else 0,
            )
        )
    return slots


def slot_bounds(office: Office, starts_at: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) of the office slot beginning exactly at ``starts_at``, or None when the
    office offers no slot then (outside hours, closed, or not on a slot boundary)."""
    day = starts_at.astimezone(ZoneInfo(office.time_zone)).date()
    if office_closed_on(office, day):
        return None
    for start, end in office_slot_times(office, day, calendar_for(office)):
        if start == starts_at:
            return start, end
    return None


def slot_is_free(office: Office, starts_at: dt.datetime) -> bool:
    """Whether the office offers a slot beginning exactly at ``starts_at`` with a place
    left (the booking itself still checks capacity atomically)."""
    bounds = slot_bounds(office, starts_at)
    if bounds is None:
        return False
    day = starts_at.astimezone(ZoneInfo(office.time_zone)).date()
    return any(s.starts_at == starts_at and s.free > 0 for s in office_slots(office, day))


def free_slots_ahead(
    office: Office,
    *,
    not_before: dt.datetime,
    days: int = 14,
    limit: int = 120,
    skip: dt.datetime | None = None,
) -> list[Slot]:
    """The office's slots with a place left from ``not_before`` over the next ``days``
    local days, in time order, at most ``limit``; ``skip`` leaves out one start (the
    appointment's own time). What a participant asking for another time chooses from."""
    first = not_before.astimezone(ZoneInfo(office.time_zone)).date()
    found: list[Slot] = []
    for offset in range(days + 1):
        for slot in office_slots(office, first + dt.timedelta(days=offset)):
            if slot.free > 0 and slot.starts_at >= not_before and slot.starts_at != skip:
                found.append(slot)
                if len(found) >= limit:
                    return found
    return found


def nearest_free_slot(
    office: Office,
    target: dt.datetime,
    *,
    not_before: dt.datetime,
    avoid_day: dt.date | None = None,
    avoid_start: dt.datetime | None = None,
    search_days: int = 30,
) -> Slot | None:
    """The free slot whose start is nearest to ``target`` (earlier or later), starting no
    sooner than ``not_before`` and not at ``avoid_start`` (the time being moved away
    from); ties go to the later one. Days are searched outward from
    the target's local date, so the search stops as soon as nothing nearer can exist."""
    zone = ZoneInfo(office.time_zone)
    centre = target.astimezone(zone).date()
    best: Slot | None = None
    for offset in range(search_days + 1):
        if best is not None and abs(best.starts_at - target) < dt.timedelta(days=offset - 1):
            break
        for day in {centre + dt.timedelta(days=offset), centre - dt.timedelta(days=offset)}:
            if day == avoid_day:
                continue
            for slot in office_slots(office, day):
                if slot.free <= 0 or slot.starts_at < not_before or slot.starts_at == avoid_start:
                    continue
                distance = abs(slot.starts_at - target)
                if (
                    best is None
                    or distance < abs(best.starts_at - target)
                    or (
                        distance == abs(best.starts_at - target) and slot.starts_at > best.starts_at
                    )
                ):
                    best = slot
    return best


# --- console reads -----------------------------------------------------------------------


def windows_of(
    participant: Participant, *, since: dt.datetime, until: dt.datetime
) -> QuerySet[CheckinWindow]:
    return CheckinWindow.objects.filter(
        participant=participant, opens_at__gte=since, opens_at__lt=until
    ).order_by("opens_at")


@dataclass(frozen=True)
class Compliance:
    days: int
    due: int
    on_time: int
    late: int
    missed: int
    excused: int
    technical_failure: int
    appointments_attended: int
    appointments_missed: int

    @property
    def on_time_rate(self) -> float | None:
        """On-time check-ins over windows that counted (excused and technical failures are
        not held against the person, so they are left out of the denominator)."""
        counted = self.on_time + self.late + self.missed
        return self.on_time / counted if counted else None


def compliance(participant: Participant, *, now: dt.datetime, days: int) -> Compliance:
    """The compliance record over the last ``days`` days (windows already closed)."""
    since = now - dt.timedelta(days=days)
    counts = dict(
        CheckinWindow.objects.filter(
            participant=participant, closes_at__gt=since, closes_at__lte=now
        )
        .values_list("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    appointments = dict(
        Appointment.objects.filter(participant=participant, starts_at__gt=since, starts_at__lte=now)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return Compliance(
        days=days,
        due=counts.get(Outcome.DUE, 0),
        on_time=counts.get(Outcome.ON_TIME, 0),
        late=counts.get(Outcome.LATE, 0),
        missed=counts.get(Outcome.MISSED, 0),
        excused=counts.get(Outcome.EXCUSED, 0),
        technical_failure=counts.get(Outcome.TECHNICAL_FAILURE, 0),
        appointments_attended=appointments.get(AppointmentStatus.ATTENDED, 0),
        appointments_missed=appointments.get(AppointmentStatus.MISSED, 0),
    )


def _scoped(user: User, participant_ids: Iterable[int] | None = None) -> QuerySet[Participant]:
    visible = participants_visible_to(user)
    return visible.filter(pk__in=participant_ids) if participant_ids is not None else visible


def _caseload(
    user: User, *, office_id: int | None, officer_id: int | None
) -> QuerySet[Participant]:
    """The participants this user may see, narrowed to one office and/or one officer."""
    visible = _scoped(user)
    if office_id:
        visible = visible.filter(office_id=office_id)
    if officer_id:
        visible = visible.filter(officer_id=officer_id)
    return visible


def windows_between_for(
    user: User,
    since: dt.datetime,
    until: dt.datetime,
    *,
    office_id: int | None = None,
    officer_id: int | None = None,
) -> QuerySet[CheckinWindow]:
    """Check-in windows open at some time in [since, until) of participants this user may
    see, by opening time and name.

    Found from the (participant, opens_at, closes_at) index alone, then read and sorted:
    those opening before ``since`` are looked for no further back than a window can stay
    open (``WINDOW_LONGEST``), and only the windows found are joined to their person for the
    name. Each person's earlier windows read back to their first, and every person's row of
    the scope read for a name, cost 600 ms for an office's day at 100,000 participants."""
    visible = _caseload(user, office_id=office_id, officer_id=officer_id)
    found = CheckinWindow.objects.filter(
        participant__in=visible,
        opens_at__gte=since - WINDOW_LONGEST,
        opens_at__lt=until,
        closes_at__gt=since,
    )
    return (
        CheckinWindow.objects.filter(pk__in=found.values("pk"))
        .select_related("participant")
        .order_by("opens_at", "participant__family_name")
    )


def appointments_between_for(
    user: User,
    since: dt.datetime,
    until: dt.datetime,
    *,
    office_id: int | None = None,
    officer_id: int | None = None,
) -> QuerySet[Appointment]:
    visible = _caseload(user, office_id=office_id, officer_id=officer_id)
    return (
        Appointment.objects.filter(
            participant__in=visible, starts_at__gte=since, starts_at__lt=until
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("participant", "office")
        .order_by("starts_at", "participant__family_name")
    )


def review_queue_for(user: User) -> QuerySet[Checkin]:
    """Check-in photos waiting for an officer, oldest first."""
    return (
        Checkin.objects.filter(participant__in=_scoped(user), review=Review.PENDING)
        .select_related("participant", "window")
        .order_by("received_at", "pk")
    )


def tasks_open_for(user: User) -> QuerySet[Task]:
    return (
        Task.objects.filter(participant__in=_scoped(user), status=TaskStatus.OPEN)
        .select_related("participant")
        .order_by("created_at", "pk")
    )


def reschedule_requests_pending_for(user: User) -> QuerySet[RescheduleRequest]:
    return (
        RescheduleRequest.objects.filter(
            participant__in=_scoped(user), status=RequestStatus.PENDING
        )
        .select_related("participant", "appointment", "appointment__office")
        .order_by("created_at", "pk")
    )


def reschedule_requests_recent(
    participant: Participant, *, now: dt.datetime, days: int = 60
) -> QuerySet[RescheduleRequest]:
    """The participant's own requests for another time, newest first: pending ones however
    old, decided ones for ``days`` after the decision (so a refusal is seen)."""
    return (
        RescheduleRequest.objects.select_related("appointment")
        .filter(participant=participant)
        .filter(Q(status=RequestStatus.PENDING) | Q(decided_at__gte=now - dt.timedelta(days=days)))
        .order_by("-created_at", "-pk")[:20]
    )


def upcoming_appointments(participant: Participant, *, now: dt.datetime) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        participant=participant, status=AppointmentStatus.BOOKED, ends_at__gt=now
    ).select_related("office")


def closures_ahead(office: Office, *, today: dt.date) -> QuerySet[OfficeClosure]:
    return OfficeClosure.objects.filter(office=office, date__gte=today)


def open_requests_count(participant: Participant) -> int:
    return RescheduleRequest.objects.filter(
        Q(participant=participant) & Q(status=RequestStatus.PENDING)
    ).count()


def caseload_schedule_signals(
    participant_ids: Sequence[int], now: dt.datetime
) -> dict[int, CaseloadSignals]:
    """The caseload list's schedule part (``participants.caseload_signals``), five grouped
    queries for the whole page: the last check-in attempt and the last appointment
    attended (contacts), the next check-in window not settled and the next booked
    appointment (obligations; a window open now counts from its opening), and the
    check-in windows opened in the last ``COMPLIANCE_DAYS`` days, met and judged as the
    dashboard counts them."""
    ids = list(participant_ids)
    parts: list[tuple[int, CaseloadSignals]] = []

    def latest(rows: QuerySet[Any], field: str) -> Iterable[tuple[int, dt.datetime]]:
        grouped = rows.filter(participant_id__in=ids).order_by().values("participant_id")
        return grouped.annotate(at=Max(field)).values_list("participant_id", "at")

    def soonest(rows: QuerySet[Any], field: str) -> Iterable[tuple[int, dt.datetime]]:
        grouped = rows.filter(participant_id__in=ids).order_by().values("participant_id")
        return grouped.annotate(at=Min(field)).values_list("participant_id", "at")

    for pk, at in latest(Checkin.objects.all(), "attempted_at"):
        parts.append((pk, CaseloadSignals(last_contact=Dated(at, "check-in"))))
    attended = Appointment.objects.filter(status=AppointmentStatus.ATTENDED, starts_at__lte=now)
    for pk, at in latest(attended, "starts_at"):
        parts.append((pk, CaseloadSignals(last_contact=Dated(at, "appointment"))))
    unsettled = CheckinWindow.objects.filter(closes_at__gt=now).exclude(
        outcome__in=SETTLED_OUTCOMES
    )
    for pk, at in soonest(unsettled, "opens_at"):
        what = "check-in, open now" if at <= now else "check-in"
        parts.append((pk, CaseloadSignals(next_obligation=Dated(at, what))))
    booked = Appointment.objects.filter(status=AppointmentStatus.BOOKED, starts_at__gte=now)
    for pk, at in soonest(booked, "starts_at"):
        parts.append((pk, CaseloadSignals(next_obligation=Dated(at, "appointment"))))
    # Every outcome is counted and the judged ones kept here: with ``outcome IN (...)`` in the
    # query, SQLite (which has no statistics to go by) read the windows through the outcome
    # index, every window ever judged, instead of these people's own: 4 s a page at 100,000
    # participants (bench/pages.py).
    opened = (
        CheckinWindow.objects.filter(
            participant_id__in=ids,
            opens_at__gte=now - dt.timedelta(days=COMPLIANCE_DAYS),
            opens_at__lt=now,
        )
        .order_by()
        .values("participant_id", "outcome")
        .annotate(n=Count("id"))
        .values_list("participant_id", "outcome", "n")
    )
    for pk, outcome, n in opened:
        if outcome not in COMPLIANCE_JUDGED:
            continue
        met = n if outcome in COMPLIANCE_MET else 0
        parts.append((pk, CaseloadSignals(windows_met=met, windows_judged=n)))

    signals: dict[int, CaseloadSignals] = {}
    for pk, part in parts:
        signals[pk] = signals[pk].merged(part) if pk in signals else part
    return signals
