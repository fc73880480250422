"""Every change to a participant's case, each in one transaction with its timeline entry.

The functions check that the acting staff member may make the change before they make it
(a ``SystemActor`` is the system itself, e.g. an import run from the command line), write,
and record who did what in ``ParticipantEvent``, so a caller can neither skip the check nor
forget the history.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.actors import Actor, SystemActor, actor_user, permission_require
from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.phones import phone_normalise
from ontrack.participants.hearing_listeners import hearing_change_announce
from ontrack.participants.models import (
    ADVERSE_CLOSURE_REASONS,
    ALLOWED_TRANSITIONS,
    Address,
    BulkAction,
    ClosureReason,
    ConditionFlag,
    Counsel,
    EventKind,
    Hearing,
    HearingKind,
    HearingOutcome,
    Level,
    Participant,
    ParticipantEvent,
    Phone,
    PhoneLabel,
    ReleaseConditions,
    ReviewRequest,
    ReviewStatus,
    Status,
    SupervisionPlan,
    decision_text,
)
from ontrack.participants.queries import can_write_participant
from ontrack.participants.search import search_fold
from ontrack.photos import PhotoRefused, photo_reencode

# Re-exported: reports reads the list from here, messaging and others normalise numbers here.
__all__ = ["ADVERSE_CLOSURE_REASONS", "phone_normalise"]


class CaseChange(enum.StrEnum):
    """What changed in a case that apps above participants may need to follow (e.g.
    schedule stops generating check-in windows for a suspended case)."""

    PLAN_CHANGED = "plan_changed"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    ACTIVATED = "activated"
    CLOSED = "closed"


class CaseChangeListener(Protocol):
    def __call__(self, *, participant_id: int, change: CaseChange) -> None: ...


_case_change_listeners: list[CaseChangeListener] = []


def register_case_change_listener(callback: CaseChangeListener) -> None:
    """Apps above participants register here at start-up (``AppConfig.ready``) to hear of
    plan changes, suspensions, reinstatements and closures: participants cannot import
    them. Registering the same callback twice is a no-op."""
    if callback not in _case_change_listeners:
        _case_change_listeners.append(callback)


def _case_change_announce(participant_id: int, change: CaseChange) -> None:
    """Tell the listeners once the transaction has committed (so they see the change and a
    rolled-back change is never announced). Each runs on its own: one that fails is logged
    and does not stop the others or undo the change."""
    for callback in list(_case_change_listeners):
        transaction.on_commit(
            functools.partial(callback, participant_id=participant_id, change=change),
            robust=True,
        )


@dataclass(frozen=True, slots=True)
class AddressData:
    line1: str
    city: str
    line2: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = "US"


@dataclass(frozen=True, slots=True)
class PlanData:
    level: str
    review_date: dt.date
    app_checkins: bool = True
    phone_checkins: bool = False
    office_visits: bool = True
    gps_device: bool = False


def _search_text(participant: Participant) -> str:
    return search_fold(
        f"{participant.family_name} {participant.given_name} {participant.case_number}"
    )


def _require_write(actor: Actor, participant: Participant) -> None:
    permission_require(
        actor,
        lambda user: can_write_participant(user, participant),
        "You may not change this participant's case.",
    )


def _require_caseload_manager(actor: Actor) -> None:
    permission_require(
        actor,
        lambda user: user.manages_caseloads,
        "Only supervisors and administrators move caseloads.",
    )


def _event(
    participant: Participant,
    *,
    actor: Actor,
    kind: EventKind,
    summary: str,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> ParticipantEvent:
    return ParticipantEvent.objects.create(
        participant=participant,
        actor=actor_user(actor),
        kind=kind,
        summary=summary[:300],
        data=data or {},
        at=at or timezone.now(),
    )


def participant_event_record(
    participant: Participant,
    *,
    actor: Actor,
    kind: EventKind,
    summary: str,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> ParticipantEvent:
    """Add an entry to a participant's timeline on behalf of an app above participants
    (tracking's device assignments...), which may not write ``ParticipantEvent`` itself.
    The caller has checked permission and writes in its own transaction."""
    return _event(participant, actor=actor, kind=kind, summary=summary, data=data, at=at)


def _check_officer(officer: User | None, office: Office) -> None:
    if officer is None:
        return
    if officer.role not in {Role.OFFICER, Role.SUPERVISOR} or not officer.is_active:
        raise ValidationError({"officer": f"{officer} is not an active case officer."})
    if officer.office_id != office.pk:
        raise ValidationError({"officer": f"{officer} works at another office."})


EARLIEST_BIRTH_YEAR = 1900


def _person_check(participant: Participant) -> None:
    """What no form, import or API call may store: a date of birth in the future or before
    1900 (a typing error that would also skew every age-based report), a blank name, or a
    NUL character (which PostgreSQL refuses and no name holds)."""
    errors: dict[str, str] = {}
    born = participant.date_of_birth
    if born > timezone.localdate():
        errors["date_of_birth"] = "A date of birth cannot be in the future."
    elif born.year < EARLIEST_BIRTH_YEAR:
        errors["date_of_birth"] = f"A date of birth must be in {EARLIEST_BIRTH_YEAR} or later."
    for name in ("given_name", "family_name", "case_number", "email"):
        value = getattr(participant, name)
        if "\x00" in value:
            errors[name] = "This holds a NUL character."
        elif name in ("given_name", "family_name") and not value.strip():
            errors[name] = "This cannot be blank."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def participant_enrol(
    *,
    actor: Actor,
    program: Program,
    office: Office,
    case_number: str,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    plan: PlanData,
    officer: User | None = None,
    preferred_language: str = "en",
    time_zone: str | None = None,
    email: str = "",
    phones: Sequence[str] = (),
    address: AddressData | None = None,
    conditions_text: str = "",
    condition_flags: Iterable[str] = (),
    enrolled_at: dt.datetime | None = None,
    event_kind: EventKind = EventKind.ENROLLED,
) -> Participant:
    """Enrol a person: the participant, their phones, address, release conditions and first
    plan. An officer enrols into their own caseload unless they name a colleague."""
    permission_require(
        actor, lambda user: user.writes_participants, "Your role does not enrol participants."
    )
    permission_require(
        actor,
        lambda user: user.role == Role.ADMINISTRATOR or user.office_id == office.pk,
        "You can enrol participants only at your own office.",
    )
    if officer is None and isinstance(actor, User) and actor.role == Role.OFFICER:
        officer = actor
    _check_officer(officer, office)
    case_number = case_number.strip()
    if Participant.objects.filter(program=program, case_number__iexact=case_number).exists():
        raise ValidationError(
            {"case_number": f"Case number {case_number} is already enrolled in {program}."}
        )
    now = enrolled_at or timezone.now()
    participant = Participant(
        program=program,
        office=office,
        officer=officer,
        case_number=case_number,
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        preferred_language=preferred_language,
        time_zone=time_zone or office.time_zone,
        email=email,
        enrolled_at=now,
        level=plan.level,
    )
    participant.search_text = _search_text(participant)
    _person_check(participant)
    participant.full_clean(exclude=["search_text"])
    participant.save()
    numbers = [phone_normalise(raw) for raw in phones if raw.strip()]
    Phone.objects.bulk_create(
        Phone(participant=participant, number=number, is_primary=index == 0)
        for index, number in enumerate(dict.fromkeys(numbers))
    )
    if address is not None:
        Address.objects.create(
            participant=participant, valid_from=now.date(), **_address_fields(address)
        )
    flags = _clean_flags(condition_flags)
    if conditions_text or flags:
        ReleaseConditions.objects.create(participant=participant, text=conditions_text, flags=flags)
    _plan_open(participant, plan=plan, actor=actor, at=now, reason="Initial plan")
    _event(
        participant,
        actor=actor,
        kind=event_kind,
        summary=f"{event_kind.label} at {office} on a {Level(plan.level).label.lower()} plan",
        data={"office": office.pk, "officer": officer.pk if officer else None},
        at=now,
    )
    return participant


def _address_fields(address: AddressData) -> dict[str, str]:
    return {name: getattr(address, name) for name in AddressData.__slots__}


def _clean_flags(flags: Iterable[str]) -> list[str]:
    cleaned = []
    for flag in flags:
        if flag not in ConditionFlag.values:
            raise ValidationError({"condition_flags": f"Unknown condition {flag!r}."})
        cleaned.append(flag)
    return sorted(set(cleaned))


EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "preferred_language",
    "email",
    "time_zone",
    "case_number",
)


@transaction.atomic
def participant_update(participant: Participant, *, actor: Actor, **changes: Any) -> list[str]:
    """Change personal details; returns the names of the fields that actually changed."""
    _require_write(actor, participant)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    before = {name: getattr(participant, name) for name in changes}
    changed = [name for name, value in changes.items() if before[name] != value]
    if not changed:
        return []
    if "case_number" in changed:
        clash = Participant.objects.filter(
            program=participant.program_id, case_number__iexact=changes["case_number"]
        ).exclude(pk=participant.pk)
        if clash.exists():
            raise ValidationError(
                {"case_number": f"Case number {changes['case_number']} is already in use."}
            )
    for name in changed:
        setattr(participant, name, changes[name])
    participant.search_text = _search_text(participant)
    _person_check(participant)
    participant.full_clean(exclude=["search_text"])
    participant.save()
    _event(
        participant,
        actor=actor,
        kind=EventKind.EDITED,
        summary="Changed " + ", ".join(name.replace("_", " ") for name in changed),
        data={name: [str(before[name]), str(changes[name])] for name in changed},
    )
    return changed


MAX_PHOTO_BYTES = 5 * 1024 * 1024


@transaction.atomic
def photo_set(participant: Participant, *, actor: Actor, photo: UploadedFile) -> None:
    """Store the enrolment photo (the reference an officer compares check-in photos with).
    The previous file is deleted: the history records that it changed, not the old face."""
    _require_write(actor, participant)
    if photo.size is not None and photo.size > MAX_PHOTO_BYTES:
        raise ValidationError({"photo": "The photo is larger than 5 MB."})
    try:
        jpeg = photo_reencode(photo.read(MAX_PHOTO_BYTES + 1))
    except PhotoRefused as exc:
        raise ValidationError({"photo": f"Not stored: {exc}."}) from None
    old = participant.photo.name if participant.photo else ""
    participant.photo.save(
        f"{participant.pk}-{uuid.uuid4().hex}.jpg", ContentFile(jpeg), save=False
    )
    participant.save(update_fields=["photo", "updated_at"])
    if old:
        participant.photo.storage.delete(old)
    _event(participant, actor=actor, kind=EventKind.EDITED, summary="Changed the photo")


def phones_set(participant: Participant, *, actor: Actor, numbers: Sequence[str]) -> list[str]:
    """Replace the participant's phone numbers; the first is primary."""
    _require_write(actor, participant)
    normalised = list(dict.fromkeys(phone_normalise(raw) for raw in numbers if raw.strip()))
    with transaction.atomic():
        current = list(participant.phones.values_list("number", flat=True))
        if current == normalised:
            return normalised
        participant.phones.all().delete()
        Phone.objects.bulk_create(
            Phone(participant=participant, number=n, is_primary=i == 0, label=PhoneLabel.MOBILE)
            for i, n in enumerate(normalised)
        )
        _event(
            participant,
            actor=actor,
            kind=EventKind.EDITED,
            summary="Changed phone numbers",
            data={"before": current, "after": normalised},
        )
    return normalised


@transaction.atomic
def address_change(
    participant: Participant,
    *,
    actor: Actor,
    address: AddressData,
    valid_from: dt.date | None = None,
) -> Address:
    """Record a move: the current address ends the day before the new one starts."""
    _require_write(actor, participant)
    start = valid_from or timezone.localdate()
    participant.addresses.filter(valid_to__isnull=True).update(
        valid_to=start - dt.timedelta(days=1)
    )
    new = Address.objects.create(
        participant=participant, valid_from=start, **_address_fields(address)
    )
    _event(participant, actor=actor, kind=EventKind.ADDRESS_CHANGED, summary=f"Moved to {new}")
    return new


def _transition(
    participant: Participant,
    target: Status,
    *,
    actor: Actor,
    kind: EventKind,
    summary: str,
    data: dict[str, Any] | None = None,
    also_save: Sequence[str] = (),
) -> None:
    _require_write(actor, participant)
    if target not in ALLOWED_TRANSITIONS[participant.status]:
        raise ValidationError(
            f"A {participant.get_status_display().lower()} case cannot become "
            f"{Status(target).label.lower()}."
        )
    participant.status = target
    participant.save(update_fields=["status", "updated_at", *also_save])
    _event(participant, actor=actor, kind=kind, summary=summary, data=data)


@transaction.atomic
def participant_activate(participant: Participant, *, actor: Actor) -> None:
    kind = EventKind.REINSTATED if participant.status == Status.SUSPENDED else EventKind.ACTIVATED
    _transition(participant, Status.ACTIVE, actor=actor, kind=kind, summary=kind.label)
    _case_change_announce(
        participant.pk,
        CaseChange.REINSTATED if kind == EventKind.REINSTATED else CaseChange.ACTIVATED,
    )


@transaction.atomic
def participant_suspend(participant: Participant, *, actor: Actor, reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": "Say why supervision is suspended."})
    _transition(
        participant,
        Status.SUSPENDED,
        actor=actor,
        kind=EventKind.SUSPENDED,
        summary=f"Suspended: {reason.strip()}",
    )
    _case_change_announce(participant.pk, CaseChange.SUSPENDED)


@transaction.atomic
def participant_close(
    participant: Participant, *, actor: Actor, reason: str, note: str = ""
) -> None:
    """Close the case. An adverse reason (``ADVERSE_CLOSURE_REASONS``: absconded, departed /
    removed, detained) needs a named person and a written note: it is never recorded by the
    system on its own."""
    if reason not in ClosureReason.values:
        raise ValidationError({"reason": f"Choose a closure reason, not {reason!r}."})
    if reason in ADVERSE_CLOSURE_REASONS:
        if actor_user(actor) is None:
            raise ValidationError({"reason": "An adverse closure needs a named staff member."})
        if not note.strip():
            raise ValidationError({"note": "Explain the decision for this closure reason."})
    participant.closure_reason = reason
    participant.closure_note = note.strip()
    participant.closed_at = timezone.now()
    participant.closed_by = actor_user(actor)
    _transition(
        participant,
        Status.CLOSED,
        actor=actor,
        kind=EventKind.CLOSED,
        summary=f"Closed: {ClosureReason(reason).label}",
        data={"reason": reason, "note": note.strip()},
        also_save=("closure_reason", "closure_note", "closed_at", "closed_by"),
    )
    SupervisionPlan.objects.filter(participant=participant, effective_to__isnull=True).update(
        effective_to=participant.closed_at
    )
    _case_change_announce(participant.pk, CaseChange.CLOSED)


@dataclass(frozen=True, slots=True)
class OutsideDecision:
    """A decision made in another system and brought in with a record: who made it there
    (they have no account here), where they worked, when, and their note."""

    decided_by: str
    office: str
    decided_at: dt.datetime | None
    note: str


@transaction.atomic
def participant_close_imported(
    participant: Participant, *, importer: User, reason: str, decision: OutsideDecision
) -> None:
    """Close a case as the record imported from another system says it was closed. The
    decision stays its original decider's, with its date and note; the importer is recorded
    as having imported it, never as having decided it. An adverse reason still needs a
    named decider and a note (the database refuses it otherwise)."""
    if reason not in ClosureReason.values:
        raise ValidationError({"reason": f"Choose a closure reason, not {reason!r}."})
    name, office, note = (
        decision.decided_by.strip()[:150],
        decision.office.strip()[:150],
        decision.note.strip(),
    )
    if reason in ADVERSE_CLOSURE_REASONS and not (name and note and decision.decided_at):
        raise ValidationError(
            {"reason": "An imported adverse closure needs its decider, its date and its note."}
        )
    now = timezone.now()
    participant.closure_reason = reason
    participant.closure_note = note
    participant.closed_at = decision.decided_at or now
    participant.closed_by = None
    participant.closure_decided_by_name = name
    participant.closure_decided_by_office = office
    participant.closure_imported_at = now
    participant.closure_imported_by = importer
    _transition(
        participant,
        Status.CLOSED,
        actor=importer,
        kind=EventKind.CLOSED,
        summary=f"Closed: {ClosureReason(reason).label}, "
        + decision_text(
            decider=None,
            outside_name=name,
            outside_office=office,
            decided_at=participant.closed_at,
            imported_at=now,
            imported_by=importer,
        ),
        data={"reason": reason, "note": note, "decided_by": name, "office": office},
        also_save=(
            "closure_reason",
            "closure_note",
            "closed_at",
            "closed_by",
            "closure_decided_by_name",
            "closure_decided_by_office",
            "closure_imported_at",
            "closure_imported_by",
        ),
    )
    SupervisionPlan.objects.filter(participant=participant, effective_to__isnull=True).update(
        effective_to=participant.closed_at
    )
    _case_change_announce(participant.pk, CaseChange.CLOSED)


@transaction.atomic
def participant_transfer(
    participant: Participant,
    *,
    actor: Actor,
    officer: User,
    office: Office | None = None,
    bulk_action: BulkAction | None = None,
) -> None:
    """Move one participant to another officer (and office, if the officer works elsewhere).
    A move made as part of ``bulk_action`` names it, with its reason, in the timeline entry."""
    _require_caseload_manager(actor)
    _require_write(actor, participant)
    target_office = office or officer.office
    if target_office is None:
        raise ValidationError({"officer": f"{officer} has no office."})
    _check_officer(officer, target_office)
    permission_require(
        actor,
        lambda user: user.role != Role.SUPERVISOR or target_office == user.office,
        "A supervisor transfers within their own office.",
    )
    before = (participant.office_id, participant.officer_id)
    if before == (target_office.pk, officer.pk):
        return
    participant.office = target_office
    participant.officer = officer
    participant.save(update_fields=["office", "officer", "updated_at"])
    data: dict[str, Any] = {"from": list(before), "to": [target_office.pk, officer.pk]}
    summary = f"Transferred to {officer} at {target_office}"
    if bulk_action is not None:
        data["bulk_action"] = bulk_action.pk
        summary += f" ({bulk_action.get_kind_display().lower()}: {bulk_action.reason})"
    _event(participant, actor=actor, kind=EventKind.TRANSFERRED, summary=summary, data=data)


def _plan_open(
    participant: Participant,
    *,
    plan: PlanData,
    actor: Actor,
    at: dt.datetime,
    reason: str,
) -> SupervisionPlan:
    if plan.level not in Level.values:
        raise ValidationError({"level": f"Unknown level {plan.level!r}."})
    if not (plan.app_checkins or plan.phone_checkins or plan.office_visits or plan.gps_device):
        raise ValidationError("A plan needs at least one way of reporting.")
    return SupervisionPlan.objects.create(
        participant=participant,
        level=plan.level,
        app_checkins=plan.app_checkins,
        phone_checkins=plan.phone_checkins,
        office_visits=plan.office_visits,
        gps_device=plan.gps_device,
        review_date=plan.review_date,
        effective_from=at,
        reason=reason,
        changed_by=actor_user(actor),
    )


@transaction.atomic
def plan_change(
    participant: Participant, *, actor: Actor, plan: PlanData, reason: str
) -> SupervisionPlan:
    """Close the current plan and open a new version; the old one stays as history."""
    _require_write(actor, participant)
    if participant.status == Status.CLOSED:
        raise ValidationError("A closed case has no plan to change.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the plan changes."})
    now = timezone.now()
    current = participant.plans.filter(effective_to__isnull=True).first()
    if current is not None:
        current.effective_to = now
        current.save(update_fields=["effective_to"])
    new = _plan_open(participant, plan=plan, actor=actor, at=now, reason=reason.strip())
    participant.level = plan.level
    participant.save(update_fields=["level", "updated_at"])
    _event(
        participant,
        actor=actor,
        kind=EventKind.PLAN_CHANGED,
        summary=f"Plan: {new.get_level_display()} ({', '.join(new.modalities)}) - {reason}",
        data={"from": current.level if current else None, "to": new.level},
    )
    _case_change_announce(participant.pk, CaseChange.PLAN_CHANGED)
    return new


@transaction.atomic
def hearing_add(
    participant: Participant,
    *,
    actor: Actor,
    scheduled_at: dt.datetime,
    court: str,
    kind: str,
    court_address: str = "",
    time_zone: str | None = None,
    notes: str = "",
) -> Hearing:
    _require_write(actor, participant)
    if timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": "A hearing time needs its time zone."})
    hearing = Hearing(
        participant=participant,
        scheduled_at=scheduled_at,
        time_zone=time_zone or participant.time_zone,
        court=court,
        court_address=court_address,
        kind=kind,
        notes=notes,
    )
    hearing.full_clean()
    hearing.save()
    _event(
        participant,
        actor=actor,
        kind=EventKind.HEARING_ADDED,
        summary=f"{HearingKind(kind).label} hearing at {court} on "
        f"{hearing.local_time:%Y-%m-%d %H:%M}",
        data={"hearing": hearing.pk},
    )
    hearing_change_announce(hearing.pk)
    return hearing


@transaction.atomic
def hearing_update(
    hearing: Hearing,
    *,
    actor: Actor,
    outcome: str | None = None,
    scheduled_at: dt.datetime | None = None,
    notes: str | None = None,
) -> Hearing:
    _require_write(actor, hearing.participant)
    changes = []
    if outcome is not None and outcome != hearing.outcome:
        if outcome not in HearingOutcome.values:
            raise ValidationError({"outcome": f"Unknown outcome {outcome!r}."})
        hearing.outcome = outcome
        hearing.outcome_recorded_at = timezone.now()
        changes.append(f"outcome {HearingOutcome(outcome).label.lower()}")
    if scheduled_at is not None and scheduled_at != hearing.scheduled_at:
        hearing.scheduled_at = scheduled_at
        changes.append(f"moved to {hearing.local_time:%Y-%m-%d %H:%M}")
    if notes is not None and notes != hearing.notes:
        hearing.notes = notes
        changes.append("notes")
    if changes:
        hearing.full_clean()
        hearing.save()
        _event(
            hearing.participant,
            actor=actor,
            kind=EventKind.HEARING_UPDATED,
            summary=f"Hearing at {hearing.court}: " + ", ".join(changes),
            data={"hearing": hearing.pk},
        )
        hearing_change_announce(hearing.pk)
    return hearing


@transaction.atomic
def counsel_set(
    participant: Participant,
    *,
    actor: Actor,
    name: str,
    organisation: str = "",
    email: str = "",
    phone: str = "",
    consent_to_notices: bool = False,
) -> Counsel:
    _require_write(actor, participant)
    counsel = Counsel.objects.filter(participant=participant).first() or Counsel(
        participant=participant
    )
    consent_changed = counsel.consent_to_notices != consent_to_notices
    counsel.name = name
    counsel.organisation = organisation
    counsel.email = email
    counsel.phone = phone_normalise(phone) if phone.strip() else ""
    counsel.consent_to_notices = consent_to_notices
    if consent_changed or counsel.pk is None:
        counsel.consent_recorded_at = timezone.now()
    counsel.full_clean()
    counsel.save()
    consent = "consents" if consent_to_notices else "does not consent"
    _event(
        participant,
        actor=actor,
        kind=EventKind.COUNSEL_CHANGED,
        summary=f"Counsel of record: {name} (participant {consent} to copies of notices)",
    )
    return counsel


@transaction.atomic
def counsel_consent_set_by_participant(participant: Participant, *, consent: bool) -> Counsel:
    """The participant gives or withdraws, from the portal, their consent to copies of their
    notices for their counsel of record. They act for themself (no staff permission
    involved); the change is on their timeline as theirs. ValidationError when no counsel
    is recorded (only staff record counsel, from the court's papers)."""
    counsel = Counsel.objects.select_for_update().filter(participant=participant).first()
    if counsel is None:
        raise ValidationError("No counsel of record.")
    if counsel.consent_to_notices == consent:
        return counsel
    counsel.consent_to_notices = consent
    counsel.consent_recorded_at = timezone.now()
    counsel.save(update_fields=["consent_to_notices", "consent_recorded_at"])
    given = "gave" if consent else "withdrew"
    _event(
        participant,
        actor=SystemActor("participant portal"),
        kind=EventKind.COUNSEL_CHANGED,
        summary=f"The participant {given} consent to copies of notices for {counsel.name} (portal)",
        data={"consent": consent, "by": "participant"},
    )
    return counsel


@transaction.atomic
def conditions_set(
    participant: Participant,
    *,
    actor: Actor,
    text: str,
    flags: Iterable[str],
    ordered_by: str = "",
    ordered_on: dt.date | None = None,
) -> ReleaseConditions:
    _require_write(actor, participant)
    conditions, _ = ReleaseConditions.objects.get_or_create(participant=participant)
    conditions.text = text
    conditions.flags = _clean_flags(flags)
    conditions.ordered_by = ordered_by
    conditions.ordered_on = ordered_on
    conditions.save()
    _event(
        participant,
        actor=actor,
        kind=EventKind.CONDITIONS_CHANGED,
        summary="Release conditions: "
        + (", ".join(ConditionFlag(f).label for f in conditions.flags) or "text only"),
    )
    return conditions


REVIEW_REASON_MAX = 2000


def review_request_create(*, participant: Participant, reason: str) -> ReviewRequest:
    """Record the participant's own request for a review of their supervision level. The
    participant acts for themself (no staff permission involved); the request is listed on
    the participant page and waits for a supervisor's decision."""
    text = reason.strip()
    if not text:
        raise ValidationError("Say briefly why you ask for a review.")
    return ReviewRequest.objects.create(
        participant=participant, reason=text[:REVIEW_REASON_MAX], created_at=timezone.now()
    )


def review_requests_pending(participant: Participant) -> list[ReviewRequest]:
    """The participant's requests still waiting for a decision, oldest first."""
    return list(
        participant.review_requests.filter(status=ReviewStatus.PENDING).order_by("created_at")
    )
