"""Demo reviews: some plans reach their review date today, so the queue has reviews with
and without a step-down proposed (from the demo's past check-ins), and a few participants
have asked for a review from the portal.

Behind the queue, the decisions of the last three months: every plan the seeder stepped
down on review (``ontrack.seed.STEP_DOWN_PREFIX``) has the review that decided it, and some
reviews kept the plan as it was, each decided by the office's supervisor with a reason.
Those are bulk-inserted (this app's own rows, dated in the past, with the record and the
proposal as they stood then); today's reviews and requests go through the services.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from django.conf import settings
from django.utils import timezone

from ontrack.accounts.models import Program, Role, User
from ontrack.participants.models import Level, Participant, Status, SupervisionPlan
from ontrack.reviews.models import ReviewOrigin, ReviewOutcome, SupervisionReview
from ontrack.reviews.services import review_request_submit, reviews_open_due
from ontrack.reviews.stepdown import LEVEL_BELOW, Proposal, Record, step_down_propose

STEP_DOWN_PREFIX = "Step-down on review: "  # as ``ontrack.seed`` writes the plan's reason
KEPT_SHARE = 0.05
KEPT_REASONS = [
    "Missed check-ins this period; keep the plan and look again at the next review.",
    "Hearing next month; keep the plan as it is until then.",
    "Recent address change not yet verified; keep for now.",
]
REQUESTS = [
    "I have checked in on time every week and started a new job; the GPS device makes work "
    "difficult.",
    "Tengo un trabajo nuevo con horario fijo y nunca he faltado; pido que revisen mi nivel.",
    "Mwen toujou vini a lè; mwen ta renmen yo revize nivo sipèvizyon mwen.",
]


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    rng = random.Random(seed_value + 7)
    open_cases = list(
        Participant.objects.filter(program=program)
        .exclude(status=Status.CLOSED)
        .order_by("case_number")
        .values_list("pk", flat=True)
    )
    if not open_cases:
        return
    _decided(rng, program, now)
    due = rng.sample(open_cases[5:], min(24, max(len(open_cases) - 5, 0)))
    SupervisionPlan.objects.filter(participant_id__in=due, effective_to__isnull=True).update(
        review_date=timezone.localdate(now)
    )
    reviews_open_due(now=now)
    for pk, reason in zip(open_cases[:1] + open_cases[-2:], REQUESTS, strict=False):
        review_request_submit(participant=Participant.objects.get(pk=pk), reason=reason)


def _good_record(rng: random.Random, level: str) -> Record:
    counted = rng.randint(10, 14)
    return Record(
        level=level,
        gps_device=level == Level.INTENSIVE,
        interval_weeks=1,
        counted=counted,
        on_time_rate=rng.choice([1.0, 1.0, (counted - 1) / counted]),
        missed_checkins=0,
        missed_appointments=0,
        confirmed_violations=0,
    )


def _decided(rng: random.Random, program: Program, now: dt.datetime) -> None:
    """Reviews decided in the last three months (module docstring)."""
    if SupervisionReview.objects.filter(participant__program=program).exists():
        return
    supervisors = {
        u.office_id: u for u in User.objects.filter(role=Role.SUPERVISOR, is_active=True)
    }
    rows: list[SupervisionReview] = []
    period = settings.ONTRACK_REVIEW_PERIOD_DAYS

    def propose(record: Record) -> Proposal:
        return step_down_propose(
            record,
            min_on_time=settings.ONTRACK_STEP_DOWN_MIN_ON_TIME,
            min_counted=settings.ONTRACK_STEP_DOWN_MIN_CHECKINS,
        )

    stepped = SupervisionPlan.objects.filter(
        participant__program=program,
        effective_to__isnull=True,
        reason__startswith=STEP_DOWN_PREFIX,
    ).select_related("participant")
    for plan in stepped:
        before = {lower: higher for higher, lower in LEVEL_BELOW.items()}.get(plan.level)
        if before is None or plan.changed_by_id is None:
            continue
        record = _good_record(rng, before)
        proposal = propose(record)
        rows.append(
            SupervisionReview(
                participant_id=plan.participant_id,
                origin=ReviewOrigin.REVIEW_DATE,
                opened_at=plan.effective_from - dt.timedelta(days=rng.randint(1, 6)),
                period_days=period,
                compliance=dataclasses.asdict(record),
                proposed_level=proposal.level,
                proposal=proposal.summary[:300],
                outcome=ReviewOutcome.STEPPED_DOWN,
                decided_by_id=plan.changed_by_id,
                decision_reason=plan.reason.removeprefix(STEP_DOWN_PREFIX),
                decided_at=plan.effective_from,
            )
        )
    kept = (
        Participant.objects.filter(program=program, status=Status.ACTIVE)
        .exclude(plans__reason__startswith=STEP_DOWN_PREFIX)
        .exclude(enrolled_at__gt=now - dt.timedelta(days=100))
        .order_by("pk")
    )
    for participant in kept:
        if rng.random() >= KEPT_SHARE or participant.office_id not in supervisors:
            continue
        decided_at = now - dt.timedelta(days=rng.randint(10, 85), hours=rng.randint(0, 6))
        missed = rng.choice([0, 1, 2, 3])
        counted = rng.randint(6, 13)
        record = Record(
            level=participant.level,
            gps_device=participant.level == Level.INTENSIVE,
            interval_weeks=1,
            counted=counted,
            on_time_rate=(counted - missed - rng.randint(0, 1)) / counted,
            missed_checkins=missed,
            missed_appointments=0,
            confirmed_violations=0,
        )
        proposal = propose(record)
        rows.append(
            SupervisionReview(
                participant_id=participant.pk,
                origin=ReviewOrigin.REVIEW_DATE,
                opened_at=decided_at - dt.timedelta(days=rng.randint(1, 8)),
                period_days=period,
                compliance=dataclasses.asdict(record),
                proposed_level=proposal.level,
                proposed_interval_weeks=proposal.interval_weeks,
                proposal=proposal.summary[:300],
                outcome=ReviewOutcome.KEPT,
                decided_by=supervisors[participant.office_id],
                decision_reason=rng.choice(KEPT_REASONS),
                decided_at=decided_at,
            )
        )
    SupervisionReview.objects.bulk_create(rows, batch_size=500)
