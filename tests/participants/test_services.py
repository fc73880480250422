import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.participants import services
from ontrack.participants.models import EventKind, Participant, Status, SupervisionPlan

pytestmark = pytest.mark.django_db


def test_enrol_stores_phone_in_e164_and_records_who_enrolled(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant(actor=officer, phones=["973 555 0142", "+1 (305) 555-0100"])
    assert list(p.phones.values_list("number", flat=True)) == ["+19735550142", "+13055550100"]
    event = p.events.get()
    assert (event.kind, event.actor) == (EventKind.ENROLLED, officer)
    assert p.plans.get().effective_to is None


def test_enrol_rejects_an_invalid_phone_number_and_writes_nothing(
    make_participant: Callable[..., Participant],
) -> None:
    with pytest.raises(ValidationError, match="not a valid phone number"):
        make_participant(phones=["555-12"])
    assert not Participant.objects.exists()


def test_case_number_is_unique_within_a_program_ignoring_case(
    make_participant: Callable[..., Participant],
) -> None:
    make_participant(case_number="A-100")
    with pytest.raises(ValidationError, match="already enrolled"):
        make_participant(case_number="a-100")


def test_officer_enrols_into_own_caseload_by_default(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant(actor=officer, officer=None, office=officer.office)
    assert p.officer == officer


def test_officer_cannot_enrol_at_another_office(
    make_participant: Callable[..., Participant], officer: User, make_office: Callable[..., Office]
) -> None:
    elsewhere = make_office("Miami")
    with pytest.raises(PermissionDenied):
        make_participant(actor=officer, officer=None, office=elsewhere)


def test_lifecycle_follows_allowed_transitions(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    services.participant_activate(p, actor=officer)
    services.participant_suspend(p, actor=officer, reason="hospitalised")
    assert p.status == Status.SUSPENDED
    services.participant_activate(p, actor=officer)
    services.participant_close(p, actor=officer, reason="case_concluded")
    assert p.status == Status.CLOSED
    with pytest.raises(ValidationError, match="cannot become active"):
        services.participant_activate(p, actor=officer)
    kinds = list(p.events.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["enrolled", "activated", "suspended", "reinstated", "closed"]


def test_closing_closes_the_plan_in_force(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    services.participant_close(p, actor=officer, reason="case_concluded")
    assert not SupervisionPlan.objects.filter(participant=p, effective_to__isnull=True).exists()


@pytest.mark.parametrize("reason", ["absconded", "detained"])
def test_adverse_closure_needs_a_written_reason(
    make_participant: Callable[..., Participant], officer: User, reason: str
) -> None:
    p = make_participant()
    with pytest.raises(ValidationError, match="Explain the decision"):
        services.participant_close(p, actor=officer, reason=reason)
    p.refresh_from_db()
    assert p.status == Status.ENROLLED
    services.participant_close(p, actor=officer, reason=reason, note="Warrant confirmed by ICE")
    assert p.closure_reason == reason


def test_adverse_closure_is_never_made_by_the_system_alone(
    make_participant: Callable[..., Participant],
) -> None:
    p = make_participant()
    with pytest.raises(ValidationError, match="named staff member"):
        services.participant_close(p, actor=SYSTEM, reason="absconded", note="no contact")


def test_plan_change_keeps_history_and_updates_level(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    review = timezone.localdate() + dt.timedelta(days=30)
    services.plan_change(
        p,
        actor=officer,
        plan=services.PlanData(level="low", review_date=review, gps_device=False),
        reason="Full compliance for 90 days",
    )
    p.refresh_from_db()
    assert p.level == "low"
    versions = list(p.plans.order_by("effective_from"))
    assert [v.level for v in versions] == ["standard", "low"]
    assert versions[0].effective_to == versions[1].effective_from
    assert versions[1].changed_by == officer


def test_plan_needs_a_way_of_reporting(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    empty = services.PlanData(
        level="low", review_date=timezone.localdate(), app_checkins=False, office_visits=False
    )
    with pytest.raises(ValidationError, match="at least one way"):
        services.plan_change(p, actor=officer, plan=empty, reason="x")


def test_officer_cannot_change_a_participant_outside_their_caseload(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    p = make_participant()
    other = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        services.participant_update(p, actor=other, given_name="X")


def test_update_records_only_fields_that_changed(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant(given_name="Maria")
    changed = services.participant_update(
        p, actor=officer, given_name="María", family_name=p.family_name
    )
    assert changed == ["given_name"]
    assert p.events.filter(kind=EventKind.EDITED).get().data == {"given_name": ["Maria", "María"]}
    assert "maria" in Participant.objects.get(pk=p.pk).search_text


def test_transfer_is_for_supervisors_and_recorded(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    p = make_participant()
    colleague = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        services.participant_transfer(p, actor=officer, officer=colleague)
    supervisor = make_user(Role.SUPERVISOR)
    services.participant_transfer(p, actor=supervisor, officer=colleague)
    p.refresh_from_db()
    assert p.officer == colleague
    assert p.events.filter(kind=EventKind.TRANSFERRED, actor=supervisor).exists()


def test_supervisor_cannot_transfer_into_another_office(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
) -> None:
    p = make_participant()
    elsewhere = make_office("Boston")
    stranger = make_user(Role.OFFICER, office=elsewhere)
    with pytest.raises(PermissionDenied):
        services.participant_transfer(p, actor=make_user(Role.SUPERVISOR), officer=stranger)


def test_hearing_needs_a_time_zone_aware_time(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    with pytest.raises(ValidationError):
        services.hearing_add(
            p,
            actor=officer,
            # The naive time is what this test feeds in, to see it refused.
            scheduled_at=dt.datetime(2027, 1, 5, 9),  # noqa: DTZ001
            court="Newark",
            kind="master_calendar",
        )


def test_address_change_keeps_the_previous_address_as_history(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant(address=services.AddressData(line1="1 Old Rd", city="Newark"))
    start = timezone.localdate() + dt.timedelta(days=3)
    services.address_change(
        p,
        actor=officer,
        address=services.AddressData(line1="9 New St", city="Elizabeth"),
        valid_from=start,
    )
    old, new = p.addresses.order_by("valid_from")
    assert old.valid_to == start - dt.timedelta(days=1)
    assert new.valid_to is None


def test_counsel_consent_time_is_recorded_when_consent_changes(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    counsel = services.counsel_set(p, actor=officer, name="Ana Ruiz", consent_to_notices=False)
    first = counsel.consent_recorded_at
    assert first is not None
    counsel = services.counsel_set(p, actor=officer, name="Ana Ruiz", consent_to_notices=True)
    assert counsel.consent_to_notices
    assert counsel.consent_recorded_at is not None
    assert counsel.consent_recorded_at >= first
