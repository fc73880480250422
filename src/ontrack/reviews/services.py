"""Opening and deciding supervision reviews.

A review opens when a plan's review date arrives (the daily job) or when the participant
asks for one from the portal; either way it lands in the same queue with a proposal worked
out from the compliance record (``stepdown``). Only a supervisor or administrator decides,
always with a written reason; the decision is applied to the plan and the check-in schedule
at once, and the participant is told in their own language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert, Disposition
from ontrack.batches import in_batches
from ontrack.messaging.services import message_queue
from ontrack.participants.models import (
    EventKind,
    Participant,
    ReviewRequest,
    ReviewStatus,
    Status,
    SupervisionPlan,
)
from ontrack.participants.queries import participants_visible_to
from ontrack.participants.services import (
    PlanData,
    participant_event_record,
    plan_change,
    review_request_create,
)
from ontrack.reviews.models import ReviewOrigin, ReviewOutcome, SupervisionReview
from ontrack.reviews.stepdown import Proposal, Record, step_down_propose
from ontrack.schedule import queries as schedule_queries
from ontrack.schedule.models import Cadence, CheckinSchedule
from ontrack.schedule.services import ScheduleData, schedule_set

logger = logging.getLogger(__name__)

DECIDERS = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def may_decide(user: User) -> bool:
    return user.is_active and user.role in DECIDERS


def _record(participant: Participant, plan: SupervisionPlan, *, now: dt.datetime) -> Record:
    days = settings.ONTRACK_REVIEW_PERIOD_DAYS
    compliance = schedule_queries.compliance(participant, now=now, days=days)
    schedule = CheckinSchedule.objects.filter(participant=participant, active=True).first()
    weekly = schedule is not None and schedule.cadence == Cadence.WEEKLY
    violations = Alert.objects.filter(
        participant=participant,
        disposition=Disposition.CONFIRMED_VIOLATION,
        closed_at__gt=now - dt.timedelta(days=days),
    ).count()
    return Record(
        level=plan.level,
        gps_device=plan.gps_device,
        interval_weeks=schedule.interval if weekly and schedule is not None else None,
        counted=compliance.on_time + compliance.late + compliance.missed,
        on_time_rate=compliance.on_time_rate,
        missed_checkins=compliance.missed,
        missed_appointments=compliance.appointments_missed,
        confirmed_violations=violations,
    )


def review_open(
    participant: Participant,
    *,
    origin: str,
    request: ReviewRequest | None = None,
    now: dt.datetime | None = None,
) -> SupervisionReview | None:
    """Open a review with its proposal, or return the one already pending (a participant's
    request joins it). None for a case with no current plan (closed)."""
    now = now or timezone.now()
    pending = SupervisionReview.objects.filter(
        participant=participant, outcome=ReviewOutcome.PENDING
    ).first()
    if pending is not None:
        if request is not None and pending.request_id is None:
            pending.request = request
            pending.save(update_fields=["request"])
        return pending
    plan = schedule_queries.current_plan(participant)
    if plan is None or participant.status == Status.CLOSED:
        return None
    record = _record(participant, plan, now=now)
    proposal = step_down_propose(
        record,
        min_on_time=settings.ONTRACK_STEP_DOWN_MIN_ON_TIME,
        min_counted=settings.ONTRACK_STEP_DOWN_MIN_CHECKINS,
    )
    try:
        with transaction.atomic():
            review = SupervisionReview.objects.create(
                participant=participant,
                origin=origin,
                request=request,
                opened_at=now,
                period_days=settings.ONTRACK_REVIEW_PERIOD_DAYS,
                compliance=dataclasses.asdict(record),
                proposed_level=proposal.level,
                proposed_without_device=proposal.without_device,
                proposed_interval_weeks=proposal.interval_weeks,
                proposal=proposal.summary[:300],
            )
    except IntegrityError:  # opened at the same moment by the daily job or another request
        return review_open(participant, origin=origin, request=request, now=now)
    logger.info(
        "supervision review opened id=%s participant=%s origin=%s step_down=%s",
        review.pk,
        participant.pk,
        origin,
        proposal.steps_down,
    )
    return review


@transaction.atomic
def review_request_submit(*, participant: Participant, reason: str) -> ReviewRequest:
    """The participant asks for a review from the portal: the request is recorded and
    enters the review queue."""
    request = review_request_create(participant=participant, reason=reason)
    review_open(participant, origin=ReviewOrigin.PARTICIPANT_REQUEST, request=request)
    return request


def reviews_open_due(*, now: dt.datetime | None = None) -> int:
    """Daily: a review for every open case whose plan's review date has come."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = (
        Participant.objects.exclude(status=Status.CLOSED)
        .filter(plans__effective_to__isnull=True, plans__review_date__lte=today)
        .exclude(supervision_reviews__outcome=ReviewOutcome.PENDING)
        .distinct()
    )
    opened = 0
    for participant in in_batches(due):
        opened += review_open(participant, origin=ReviewOrigin.REVIEW_DATE, now=now) is not None
    return opened


def _outcome_words(review: SupervisionReview, applied: Proposal | None) -> str:
    """The outcome in the participant's language (the caller activates it)."""
    if applied is None:
        return gettext("your supervision stays as it is")
    parts = []
    if applied.level:
        parts.append(gettext("a lighter supervision level"))
    if applied.without_device:
        parts.append(gettext("no more GPS device, check-ins on your phone instead"))
    if applied.interval_weeks:
        parts.append(gettext("check-ins every %(weeks)s weeks") % {"weeks": applied.interval_weeks})
    return gettext("your supervision steps down: %(changes)s") % {"changes": ", ".join(parts)}


def _apply(review: SupervisionReview, *, actor: User, reason: str, now: dt.datetime) -> Proposal:
    participant = review.participant
    plan = schedule_queries.current_plan(participant)
    if plan is None:
        raise ValidationError("The case has no current plan to step down.")
    applied = Proposal(
        level=review.proposed_level,
        without_device=review.proposed_without_device,
        interval_weeks=review.proposed_interval_weeks,
    )
    plan_change(
        participant,
        actor=actor,
        plan=PlanData(
            level=applied.level or plan.level,
            review_date=timezone.localdate(now)
            + dt.timedelta(days=settings.ONTRACK_REVIEW_INTERVAL_DAYS),
            app_checkins=plan.app_checkins or applied.without_device,
            phone_checkins=plan.phone_checkins,
            office_visits=plan.office_visits,
            gps_device=plan.gps_device and not applied.without_device,
        ),
        reason=f"Step-down on review: {reason}"[:300],
    )
    schedule = CheckinSchedule.objects.filter(participant=participant, active=True).first()
    if applied.interval_weeks and schedule is not None:
        schedule_set(
            participant,
            actor=actor,
            data=ScheduleData(
                cadence=schedule.cadence,
                opens=schedule.opens,
                closes=schedule.closes,
                starts_on=schedule.starts_on,
                ends_on=schedule.ends_on,
                interval=applied.interval_weeks,
                weekdays=tuple(schedule.weekdays),
            ),
            now=now,
        )
    return applied


def review_decide(
    *,
    user: User,
    review_id: int,
    step_down: bool,
    reason: str,
    now: dt.datetime | None = None,
) -> SupervisionReview:
    """A supervisor's decision, with a reason: apply the proposed step-down, or keep the
    plan as it is (its next review date moves on). The participant's request, if any, is
    answered, and the participant is told the outcome in their language."""
    if not may_decide(user):
        raise PermissionDenied("Only supervisors and administrators decide reviews.")
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the decision."})
    with transaction.atomic():
        review = (
            SupervisionReview.objects.select_for_update(of=("self",))
            .filter(participant__in=participants_visible_to(user))
            .select_related("participant", "request")
            .filter(pk=review_id)
            .first()
        )
        if review is None:
            raise PermissionDenied("No such review among the cases you may see.")
        if review.outcome != ReviewOutcome.PENDING:
            raise ValidationError("This review was already decided.")
        if step_down and not review.proposes_step_down:
            raise ValidationError("Nothing was proposed to step down; keep the plan instead.")
        applied = _apply(review, actor=user, reason=reason, now=now) if step_down else None
        if applied is None:
            SupervisionPlan.objects.filter(
                participant=review.participant, effective_to__isnull=True
            ).update(
                review_date=timezone.localdate(now)
                + dt.timedelta(days=settings.ONTRACK_REVIEW_INTERVAL_DAYS)
            )
        review.outcome = ReviewOutcome.STEPPED_DOWN if applied else ReviewOutcome.KEPT
        review.decided_by = user
        review.decision_reason = reason.strip()
        review.decided_at = now
        review.save(update_fields=["outcome", "decided_by", "decision_reason", "decided_at"])
        if review.request is not None:
            ReviewRequest.objects.filter(pk=review.request.pk).update(
                status=ReviewStatus.DECIDED,
                decided_by=user,
                decision=reason.strip(),
                decided_at=now,
            )
        participant = review.participant
        participant_event_record(
            participant,
            actor=user,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Supervision review: {review.get_outcome_display()} - {reason.strip()}",
            data={"review": review.pk, "outcome": review.outcome},
            at=now,
        )
        with translation.override(participant.preferred_language):
            outcome = _outcome_words(review, applied)
        message_queue(
            participant=participant,
            template_key=(
                "review_outcome" if review.request is not None else "supervision_review_outcome"
            ),
            context={"outcome": outcome},
            purpose="Outcome of a supervision review",
            essential=True,
            cause=f"supervision_review:{review.pk}",
        )
    logger.info(
        "supervision review decided id=%s participant=%s outcome=%s by=%s",
        review.pk,
        participant.pk,
        review.outcome,
        user.pk,
    )
    return review
