"""Participants, plans and hearings over JSON, with the console's permission rules.

Each handler starts from ``participants_visible_to`` or the gate (``participants.gate``, which
logs every read) and writes through ``participants.services``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from ontrack.accounts.models import Office, User
from ontrack.accounts.web import staff_user
from ontrack.apitypes import AwareDateTime, BodySchema
from ontrack.audit.models import AccessAction
from ontrack.participants import services
from ontrack.participants.caseload_pages import COUNT_CAP, BadCursor, caseload_page
from ontrack.participants.gate import participant_for_change, participant_read, participants_listed
from ontrack.participants.models import Hearing, Participant, SupervisionPlan
from ontrack.participants.queries import (
    SORTS,
    CaseloadFilter,
    caseload_filter,
    participants_visible_to,
)

router = Router(tags=["participants"])


class PlanOut(Schema):
    id: int
    level: str
    modalities: list[str]
    review_date: dt.date
    effective_from: dt.datetime
    effective_to: dt.datetime | None
    reason: str


class PlanIn(BodySchema):
    level: str
    review_date: dt.date
    app_checkins: bool = True
    phone_checkins: bool = False
    office_visits: bool = True
    gps_device: bool = False


class PlanChangeIn(PlanIn):
    reason: str


class HearingOut(Schema):
    id: int
    scheduled_at: dt.datetime
    time_zone: str
    court: str
    court_address: str
    kind: str
    outcome: str
    notes: str


class HearingIn(BodySchema):
    scheduled_at: AwareDateTime = Field(description="ISO-8601 with an offset")
    court: str
    kind: str
    court_address: str = ""
    time_zone: str | None = None
    notes: str = ""


class HearingPatch(BodySchema):
    outcome: str | None = None
    scheduled_at: AwareDateTime | None = None
    notes: str | None = None


class ParticipantSummary(Schema):
    id: int
    case_number: str
    given_name: str
    family_name: str
    status: str
    level: str
    preferred_language: str
    office_id: int
    officer_id: int | None


class ParticipantOut(ParticipantSummary):
    date_of_birth: dt.date
    email: str
    time_zone: str
    enrolled_at: dt.datetime
    closure_reason: str
    phones: list[str]
    plan: PlanOut | None

    @staticmethod
    def resolve_phones(participant: Participant) -> list[str]:
        return [phone.number for phone in participant.phones.all()]

    @staticmethod
    def resolve_plan(participant: Participant) -> SupervisionPlan | None:
        return participant.plans.filter(effective_to__isnull=True).first()


class CaseloadQuery(Schema):
    q: str = ""
    office: int | None = None
    officer: int | None = None
    status: str = ""
    level: str = ""
    language: str = ""
    sort: str = Field("name", description="One of: " + ", ".join(SORTS))


class CaseloadPageQuery(CaseloadQuery):
    cursor: str | None = Field(None, description="The next page: the ``next`` of a page.")
    before: str | None = Field(
        None, description="The previous page: the ``previous`` of a page (instead of cursor)."
    )
    page_size: int = Field(50, ge=1, le=200)


class ParticipantPage(Schema):
    next: str | None = Field(description="Cursor of the next page; null on the last page.")
    previous: str | None = Field(
        description="Cursor of the previous page (pass as ``before``); null on the first."
    )
    count: int = Field(description=f"How many match, counted up to {COUNT_CAP:,}.")
    count_capped: bool = Field(description=f"True when more than {COUNT_CAP:,} match.")
    results: list[ParticipantSummary]


class EnrolIn(BodySchema):
    case_number: str
    given_name: str
    family_name: str
    date_of_birth: dt.date
    office_id: int
    officer_id: int | None = None
    preferred_language: str = "en"
    email: str = ""
    phones: list[str] = []
    plan: PlanIn


class ParticipantPatch(BodySchema):
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    preferred_language: str | None = None
    email: str | None = None
    time_zone: str | None = None
    case_number: str | None = None


class CloseIn(BodySchema):
    reason: str
    note: str = ""


class TransferIn(BodySchema):
    officer_id: int


@router.get("/participants", response=ParticipantPage)
def participant_list(request: HttpRequest, query: Query[CaseloadPageQuery]) -> dict[str, Any]:
    """The caseload a page at a time by keyset (``participants.caseload_pages``); a cursor
    this list did not give answers 422."""
    fields = query.dict(exclude={"cursor", "before", "page_size"})
    fields["sort"] = fields["sort"] if fields["sort"] in SORTS else "name"
    f = CaseloadFilter(**fields)
    visible = participants_visible_to(staff_user(request))
    try:
        page = caseload_page(
            caseload_filter(visible, f),
            f.sort,
            after=query.cursor,
            before=query.before,
            size=query.page_size,
        )
    except BadCursor as refused:
        raise ValidationError({"cursor": str(refused)}) from None
    participants_listed(request, [p.pk for p in page.rows], what="API participant list")
    return {
        "next": page.next_cursor,
        "previous": page.previous_cursor,
        "count": page.count,
        "count_capped": page.count_capped,
        "results": page.rows,
    }


@router.get("/participants/{participant_id}", response=ParticipantOut)
def participant_detail(request: HttpRequest, participant_id: int) -> Participant:
    participant = participant_read(
        request, participant_id, what="API participant record", action=AccessAction.API_READ
    )
    return participant


@router.post("/participants", response={201: ParticipantOut})
def participant_enrol(request: HttpRequest, payload: EnrolIn) -> tuple[int, Participant]:
    office = get_object_or_404(Office, pk=payload.office_id)
    officer = get_object_or_404(User, pk=payload.officer_id) if payload.officer_id else None
    participant = services.participant_enrol(
        actor=staff_user(request),
        program=office.program,
        office=office,
        officer=officer,
        case_number=payload.case_number,
        given_name=payload.given_name,
        family_name=payload.family_name,
        date_of_birth=payload.date_of_birth,
        preferred_language=payload.preferred_language,
        email=payload.email,
        phones=payload.phones,
        plan=services.PlanData(**payload.plan.dict()),
    )
    return 201, participant


@router.patch("/participants/{participant_id}", response=ParticipantOut)
def participant_update(
    request: HttpRequest, participant_id: int, payload: ParticipantPatch
) -> Participant:
    participant = participant_for_change(request, participant_id)
    services.participant_update(
        participant, actor=staff_user(request), **payload.dict(exclude_none=True)
    )
    return participant


@router.post("/participants/{participant_id}/close", response=ParticipantOut)
def participant_close(request: HttpRequest, participant_id: int, payload: CloseIn) -> Participant:
    participant = participant_for_change(request, participant_id)
    services.participant_close(
        participant, actor=staff_user(request), reason=payload.reason, note=payload.note
    )
    return participant


@router.post("/participants/{participant_id}/transfer", response=ParticipantOut)
def participant_transfer(
    request: HttpRequest, participant_id: int, payload: TransferIn
) -> Participant:
    participant = participant_for_change(request, participant_id)
    officer = get_object_or_404(User, pk=payload.officer_id)
    services.participant_transfer(participant, actor=staff_user(request), officer=officer)
    return participant


@router.get("/participants/{participant_id}/plans", response=list[PlanOut])
def plan_history(request: HttpRequest, participant_id: int) -> list[SupervisionPlan]:
    participant = participant_read(
        request, participant_id, what="API plan history", action=AccessAction.API_READ
    )
    return list(participant.plans.all())


@router.post("/participants/{participant_id}/plans", response={201: PlanOut})
def plan_change(
    request: HttpRequest, participant_id: int, payload: PlanChangeIn
) -> tuple[int, SupervisionPlan]:
    participant = participant_for_change(request, participant_id)
    fields = payload.dict()
    reason = fields.pop("reason")
    plan = services.plan_change(
        participant, actor=staff_user(request), plan=services.PlanData(**fields), reason=reason
    )
    return 201, plan


@router.get("/participants/{participant_id}/hearings", response=list[HearingOut])
def hearing_list(request: HttpRequest, participant_id: int) -> list[Hearing]:
    participant = participant_read(
        request, participant_id, what="API hearings", action=AccessAction.API_READ
    )
    return list(participant.hearings.all())


@router.post("/participants/{participant_id}/hearings", response={201: HearingOut})
def hearing_add(
    request: HttpRequest, participant_id: int, payload: HearingIn
) -> tuple[int, Hearing]:
    participant = participant_for_change(request, participant_id)
    hearing = services.hearing_add(participant, actor=staff_user(request), **payload.dict())
    return 201, hearing


@router.patch("/hearings/{hearing_id}", response=HearingOut)
def hearing_update(request: HttpRequest, hearing_id: int, payload: HearingPatch) -> Hearing:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    participant_for_change(request, hearing.participant_id)
    return services.hearing_update(hearing, actor=staff_user(request), **payload.dict())
