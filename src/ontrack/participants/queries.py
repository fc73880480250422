"""Reads of participants shared by the console, the API and the exports.

``participants_visible_to`` is the single place where a role becomes a set of participants:
every list, page and API call starts from it (or from ``participant_visible_q``, the same
scope written as a condition on another table's rows), so least-privilege access cannot be
forgotten by one caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.phones import phone_normalise
from ontrack.participants.models import Participant, Phone, Status
from ontrack.participants.search import search_filter, search_fold

# The caseload's sorts, each ending in the id so that the order is total (the keyset pages of
# ``caseload_pages`` need that). A descending sort is the exact reverse of its ascending one,
# so one index (see ``Participant.Meta.indexes``) serves both directions.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("family_name", "given_name", "id"),
    "-name": ("-family_name", "-given_name", "-id"),
    "case": ("case_number", "id"),
    "-case": ("-case_number", "-id"),
    "status": ("status", "family_name", "id"),
    "-status": ("-status", "-family_name", "-id"),
    "level": ("level", "family_name", "id"),
    "-level": ("-level", "-family_name", "-id"),
    "enrolled": ("enrolled_at", "id"),
    "-enrolled": ("-enrolled_at", "-id"),
}


class Scope(models.TextChoices):
    """Which participants a role reads. The data inventory page shows this table, so what
    the page says and what the code enforces cannot drift apart."""

    NONE = "none", "no participant"
    CASELOAD = "caseload", "their own caseload"
    OFFICE = "office", "everyone in their office"
    ALL = "all", "every participant"


ROLE_SCOPE: dict[str, Scope] = {
    Role.OFFICER: Scope.CASELOAD,
    Role.SUPERVISOR: Scope.OFFICE,
    Role.OPERATOR: Scope.ALL,
    Role.ADMINISTRATOR: Scope.ALL,
    Role.AUDITOR: Scope.NONE,
}


def participants_visible_to(user: User) -> QuerySet[Participant]:
    """Officer: own caseload. Supervisor: own office. Operator and administrator: all.
    Auditor (and anyone inactive): none. See ``ROLE_SCOPE``."""
    scope = _scope(user, "")
    return Participant.objects.none() if scope is None else Participant.objects.filter(scope)


def participant_visible_q(user: User, path: str) -> Q:
    """``participants_visible_to(user)`` as a condition on another model, whose foreign key
    ``path`` (e.g. ``"participant"``) names the person: a join on their office or officer
    (none at all for a scope of everyone) instead of ``path IN (SELECT id FROM
    participants ...)``. SQLite runs such an IN by walking the subquery's participants and
    looking each one up in the other table: all 100,000 of them for an operator's live map
    (a second), where that table's own index (the open device assignments, the newest
    messages) was the short way. Same ``ROLE_SCOPE``, same people."""
    scope = _scope(user, f"{path}__")
    return Q(pk__in=[]) if scope is None else scope


def _scope(user: User, prefix: str) -> Q | None:
    """The condition on participants (their fields behind ``prefix``) of the user's scope;
    None when the user sees nobody."""
    if not user.is_authenticated or not user.reads_participants:
        return None
    scope = ROLE_SCOPE.get(user.role, Scope.NONE)
    if scope == Scope.CASELOAD:
        return Q(**{f"{prefix}officer": user})
    if scope == Scope.OFFICE and user.office_id is not None:
        return Q(**{f"{prefix}office_id": user.office_id})
    if scope == Scope.ALL:
        return Q(**{f"{prefix}pk__isnull": False}) if prefix else Q()
    return None


def staff_seeing(participant: Participant) -> QuerySet[User]:
    """The active staff whose ``participants_visible_to`` holds ``participant``: the same
    ``ROLE_SCOPE`` read the other way round (whom an alert about them may be handed to)."""
    by_scope = {
        Scope.CASELOAD: Q(pk=participant.officer_id),
        Scope.OFFICE: Q(office_id=participant.office_id),
        Scope.ALL: Q(),
    }
    seeing = Q(pk__in=[])
    for role, scope in ROLE_SCOPE.items():
        if scope in by_scope:
            seeing |= Q(role=role) & by_scope[scope]
    return User.objects.filter(seeing, is_active=True).order_by("last_name", "first_name", "pk")


def offices_seen_by(user: User) -> QuerySet[Office]:
    """The offices where ``user`` sees someone, by name (a page's office filter): a probe of
    each office through the participants' office index, not the office of everyone in
    scope gathered first (all 100,000 of them for an operator)."""
    people = participants_visible_to(user).filter(office_id=OuterRef("pk"))
    return Office.objects.filter(Exists(people)).order_by("name", "pk")


def officers_seen_by(user: User) -> QuerySet[User]:
    """The staff with a caseload among the people ``user`` sees, by name (a page's officer
    filter): a probe of each staff member through the participants' officer index, not the
    officer of everyone in scope gathered first (an office's 17,000 for a supervisor)."""
    people = participants_visible_to(user).filter(officer_id=OuterRef("pk"))
    return User.objects.filter(Exists(people)).order_by("last_name", "first_name", "pk")


def can_write_participant(user: User, participant: Participant) -> bool:
    if not user.writes_participants:
        return False
    if user.role == Role.OFFICER:
        return participant.officer_id == user.pk
    if user.role == Role.SUPERVISOR:
        return participant.office_id == user.office_id
    return user.role == Role.ADMINISTRATOR


@dataclass(frozen=True, slots=True)
class CaseloadFilter:
    q: str = ""
    office: int | None = None
    officer: int | None = None
    status: str = ""
    level: str = ""
    language: str = ""
    sort: str = "name"


def caseload_filter(queryset: QuerySet[Participant], f: CaseloadFilter) -> QuerySet[Participant]:
    """Apply the caseload list's search, filters and sort order.

    Search (``participants.search``) matches a case number exactly (case-insensitive) or
    substrings of the folded "family given case-number"; every word must match, so "garcia
    maria" finds María García.
    """
    if f.q.strip():
        queryset = search_filter(queryset, f.q)
    if f.office:
        queryset = queryset.filter(office_id=f.office)
    if f.officer:
        queryset = queryset.filter(officer_id=f.officer)
    if f.status:
        queryset = queryset.filter(status=f.status)
    if f.level:
        queryset = queryset.filter(level=f.level)
    if f.language:
        queryset = queryset.filter(preferred_language=f.language)
    return queryset.order_by(*SORTS.get(f.sort, SORTS["name"]))


class AccessLogSubjects:
    """The access log's names for its subjects (registered with ``audit.services`` at
    start-up): "Family, Given (case number)", and the ids a case number or a name typed into
    the log's filter stands for. Only the auditor's and administrator's log page reads it;
    it opens no record to anyone."""

    MAX_FOUND = 50

    def describe(self, ids: Iterable[int]) -> dict[int, str]:
        rows = Participant.objects.filter(pk__in=list(ids)).values_list(
            "pk", "family_name", "given_name", "case_number"
        )
        return {pk: f"{family}, {given} ({case})" for pk, family, given, case in rows}

    def find(self, text: str) -> list[int]:
        text = text.strip()
        if not text:
            return []
        # Through the index ``participant_case_lower``: ``iexact`` read every participant.
        match = Q(case_lower=text.lower())
        if any(ch.isalpha() for ch in text):  # digits alone are an id or a case number
            words = Q()
            for word in search_fold(text).split():
                words &= Q(search_text__contains=word)
            match |= words
        found = (
            Participant.objects.alias(case_lower=Lower("case_number"))
            .filter(match)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return list(found[: self.MAX_FOUND])


# How many foreign keys a model may be from Participant and still count as the person's data.
PARTICIPANT_PATH_MAX_HOPS = 3


def participant_path(model: type[models.Model]) -> list[str] | None:
    """Field names leading from ``model`` to Participant by foreign keys (shortest first;
    ``[]`` for Participant itself), or None when the model is not about a participant.
    Staff accounts and the access log are not followed: a row pointing at a staff member is
    not that member's record. One rule for the data inventory and the participant's own
    download, so the two always list the same kinds."""
    if model is Participant:
        return []
    seen: set[type[models.Model]] = {model}
    queue: deque[tuple[type[models.Model], list[str]]] = deque([(model, [])])
    while queue:
        current, path = queue.popleft()
        if len(path) >= PARTICIPANT_PATH_MAX_HOPS:
            continue
        for field in current._meta.get_fields():
            if not (field.many_to_one or field.one_to_one) or not field.concrete:
                continue
            target = field.related_model
            if not isinstance(target, type) or target in seen:
                continue
            if target is Participant:
                return [*path, field.name]
            if target._meta.app_label in {"accounts", "audit"}:
                continue
            seen.add(target)
            queue.append((target, [*path, field.name]))
    return None


def participant_for_number(raw: str) -> Participant | None:
    """The participant reached at this number, for a text they sent or a portal sign-in: the
    most recently enrolled case not closed (a number passed on after a closed case must not
    reach the old record). None for a number that is not one."""
    try:
        number = phone_normalise(raw)
    except ValidationError:
        return None
    phone = (
        Phone.objects.filter(number=number)
        .exclude(participant__status=Status.CLOSED)
        .select_related("participant__office", "participant__program")
        .order_by("-participant__enrolled_at")
        .first()
    )
    return phone.participant if phone is not None else None


def home_address(participant: Participant) -> str:
    """The participant's current address on one line ("" when none is held): a home visit
    shows it, and the zone editor's address search starts from it."""
    address = participant.addresses.filter(valid_to__isnull=True).first()
    return str(address) if address else ""
