"""Supervision reviews: opened from the review date or the participant's own request, a
proposal from the real compliance record, a supervisor's decision applied to the plan and
the schedule, and the participant told in their language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.models import Message
from ontrack.participants.models import Participant, ReviewRequest, ReviewStatus
from ontrack.participants.services import PlanData
from ontrack.reviews.models import ReviewOrigin, ReviewOutcome, SupervisionReview
from ontrack.reviews.services import review_decide, reviews_open_due
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import CheckinSchedule
from tests.support import opened_review, photo_bytes, sqlite_plans

pytestmark = pytest.mark.django_db
JPEG = photo_bytes()


def _plan(review_date: dt.date | None = None) -> PlanData:
    return PlanData(
        level="standard", review_date=review_date or timezone.localdate(), gps_device=True
    )


def _weekly(participant: Participant, now: dt.datetime) -> CheckinSchedule:
    return schedule_services.schedule_set(
        participant,
        actor=SYSTEM,
        data=schedule_services.ScheduleData(
            cadence="weekly",
            weekdays=(1,),
            opens=dt.time(8),
            closes=dt.time(20),
            starts_on=timezone.localdate(now) + dt.timedelta(days=1),
        ),
        now=now,
    )


def _history(participant: Participant, *, on_time: int, missed: int = 0) -> None:
    """Past windows a week apart: the first ``on_time`` checked into from the phone, the
    rest left to the missed-check-in watchdog."""
    start = timezone.now() - dt.timedelta(weeks=on_time + missed + 1)
    for week in range(on_time + missed):
        opens = start + dt.timedelta(weeks=week)
        schedule_services.window_adhoc(
            participant,
            actor=SYSTEM,
            opens_at=opens,
            closes_at=opens + dt.timedelta(hours=12),
            now=opens - dt.timedelta(minutes=1),
        )
        if week < on_time:
            schedule_services.checkin_submit(
                participant=participant,
                client_ref=f"week-{week}",
                attempted_at=opens + dt.timedelta(hours=1),
                photo=JPEG,
                photo_content_type="image/jpeg",
                lat=40.73,
                lon=-74.17,
                accuracy_m=10,
                now=opens + dt.timedelta(hours=1),
            )
    schedule_services.missed_checkins_mark(now=timezone.now())


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR)


def test_review_date_opens_a_review_proposing_a_step_down_from_a_clean_record(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant(plan=_plan())
    _history(participant, on_time=8)
    _weekly(participant, timezone.now())
    assert reviews_open_due() == 1
    review = SupervisionReview.objects.get(participant=participant)
    assert review.origin == ReviewOrigin.REVIEW_DATE
    assert review.compliance["counted"] == 8
    assert review.compliance["on_time_rate"] == 1.0
    assert (review.proposed_level, review.proposed_without_device) == ("low", True)
    assert review.proposed_interval_weeks == 2
    assert reviews_open_due() == 0  # one pending review per participant


def test_missed_check_ins_open_a_review_that_proposes_nothing(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant(plan=_plan())
    _history(participant, on_time=7, missed=1)
    review = opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    assert not review.proposes_step_down
    assert "1 check-ins and 0 appointments missed" in review.proposal


def test_supervisor_approves_the_step_down_and_plan_schedule_and_notice_follow(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    participant = make_participant(plan=_plan(), preferred_language="es")
    _history(participant, on_time=8)
    _weekly(participant, timezone.now())
    review = opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    review_decide(
        user=supervisor, review_id=review.pk, step_down=True, reason="Eight weeks on time."
    )
    review.refresh_from_db()
    assert review.outcome == ReviewOutcome.STEPPED_DOWN
    assert review.decided_by == supervisor
    plan = participant.plans.get(effective_to__isnull=True)
    assert (plan.level, plan.gps_device, plan.app_checkins) == ("low", False, True)
    assert plan.review_date > timezone.localdate()
    assert CheckinSchedule.objects.get(participant=participant).interval == 2
    notice = Message.objects.get(participant=participant, template_key="supervision_review_outcome")
    assert "se revisó su supervisión" in notice.body
    assert "su supervisión se reduce" in notice.body
    assert "cada 2 semanas" in notice.body


def test_keeping_the_plan_moves_the_review_date_and_changes_nothing_else(
    make_participant: Callable[..., Participant], supervisor: User
) -> None:
    participant = make_participant(plan=_plan(), preferred_language="ht")
    review = opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    review_decide(user=supervisor, review_id=review.pk, step_down=False, reason="Too early.")
    plan = participant.plans.get(effective_to__isnull=True)
    assert (plan.level, plan.gps_device) == ("standard", True)
    assert plan.review_date > timezone.localdate()
    notice = Message.objects.get(participant=participant, template_key="supervision_review_outcome")
    assert "sipèvizyon ou rete menm jan an" in notice.body
    assert reviews_open_due() == 0


def test_only_a_supervisor_of_the_case_decides_and_always_with_a_reason(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
) -> None:
    participant = make_participant(plan=_plan())
    review = opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    with pytest.raises(PermissionDenied):
        review_decide(user=officer, review_id=review.pk, step_down=False, reason="x")
    elsewhere = make_user(Role.SUPERVISOR, office=make_office("Elizabeth"))
    with pytest.raises(PermissionDenied):
        review_decide(user=elsewhere, review_id=review.pk, step_down=False, reason="x")
    with pytest.raises(ValidationError):
        review_decide(
            user=make_user(Role.SUPERVISOR), review_id=review.pk, step_down=False, reason="  "
        )
    assert SupervisionReview.objects.get(pk=review.pk).outcome == ReviewOutcome.PENDING


def test_a_decision_without_a_person_is_refused_by_the_database(
    make_participant: Callable[..., Participant],
) -> None:
    review = opened_review(make_participant(plan=_plan()), origin=ReviewOrigin.REVIEW_DATE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SupervisionReview.objects.filter(pk=review.pk).update(outcome=ReviewOutcome.KEPT)


def test_portal_request_reaches_the_queue_and_its_answer_reaches_the_participant(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    supervisor: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant(
        plan=_plan(review_date=timezone.localdate() + dt.timedelta(days=60)),
        preferred_language="es",
    )
    portal = portal_client(participant)
    portal.post("/me/review/", {"reason": "Cumplo con todo desde hace meses."})
    (request,) = ReviewRequest.objects.filter(participant=participant)

    staff = client_for(supervisor)
    queue = staff.get("/reviews/").content.decode()
    review = SupervisionReview.objects.get(participant=participant)
    assert review.origin == ReviewOrigin.PARTICIPANT_REQUEST
    assert review.request == request
    assert participant.full_name in queue
    page = staff.get(f"/reviews/{review.pk}/").content.decode()
    assert "Cumplo con todo desde hace meses." in page
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what="supervision review"
    ).exists()
    response = staff.post(
        f"/reviews/{review.pk}/decide/", {"decision": "keep", "reason": "Revisión en 60 días."}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ReviewStatus.DECIDED
    assert request.decided_by == supervisor
    notice = Message.objects.get(participant=participant, template_key="review_outcome")
    assert "solicitud de revisión" in notice.body
    assert "sigue igual" in notice.body


def test_officer_sees_the_queue_but_has_no_decision_form(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant(plan=_plan())
    review = opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    client = client_for(officer)
    assert participant.full_name in client.get("/reviews/").content.decode()
    assert "Record the decision" not in client.get(f"/reviews/{review.pk}/").content.decode()
    response = client.post(f"/reviews/{review.pk}/decide/", {"decision": "keep", "reason": "x"})
    assert response.status_code == 403


def test_an_operators_queue_reads_the_pending_reviews_not_every_participant(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    """Narrowed by ``participant IN (every participant)``, SQLite walked the program's
    100,000 people to find their pending reviews (190 ms a page, bench/pages.py)."""
    participant = make_participant(plan=_plan())
    opened_review(participant, origin=ReviewOrigin.REVIEW_DATE)
    client = client_for(make_user(Role.OPERATOR, office=None))

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/reviews/").content.decode()

    assert participant.full_name in page
    if connection.vendor == "sqlite":
        plans = sqlite_plans(queries, 'FROM "reviews_supervisionreview"')
        assert plans
        assert not [plan for plan in plans if "FOR IN-OPERATOR" in plan], plans
