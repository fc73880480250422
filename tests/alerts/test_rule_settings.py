"""Alert rules per program, overridable per participant: resolution, enforcement in
``alert_raise``, and the console pages with their access checks."""

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.services import office_create, program_get_or_create
from ontrack.alerts.models import Alert, AlertKind, AlertRuleSetting, AlertStatus, Priority
from ontrack.alerts.rules import DEFAULT_RULES, rule_for, rule_resolve
from ontrack.alerts.services import RuleValues, alert_raise, alert_rule_setting_save
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 22, 0, tzinfo=dt.UTC)
LOW_BATTERY = AlertKind.LOW_BATTERY


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SUPERVISOR)


def test_participant_override_beats_program_which_beats_default(
    make_participant: Callable[..., Participant], program: Program, supervisor: User, officer: User
) -> None:
    overridden = make_participant()
    plain = make_participant()
    alert_rule_setting_save(
        user=supervisor,
        kind=LOW_BATTERY,
        program=program,
        values=RuleValues(priority=Priority.HIGH, grace_minutes=5),
    )
    alert_rule_setting_save(
        user=officer,
        kind=LOW_BATTERY,
        participant=overridden,
        values=RuleValues(priority=Priority.CRITICAL),
    )

    mine = rule_for(LOW_BATTERY, overridden)
    assert mine.priority == Priority.CRITICAL, "the participant's own priority wins"
    assert mine.grace == dt.timedelta(minutes=5), "an unset field inherits the program's"
    assert mine.escalation_window == DEFAULT_RULES[LOW_BATTERY].escalation_window

    theirs = rule_for(LOW_BATTERY, plain.pk)
    assert (theirs.priority, theirs.grace) == (Priority.HIGH, dt.timedelta(minutes=5))


def test_another_programs_participants_keep_the_defaults(
    make_participant: Callable[..., Participant], program: Program, supervisor: User
) -> None:
    alert_rule_setting_save(
        user=supervisor, kind=LOW_BATTERY, program=program, values=RuleValues(priority=4)
    )
    other_program = program_get_or_create(name="County pretrial")
    other_office = office_create(
        program=other_program, name="Trenton", time_zone="America/New_York"
    )
    elsewhere = make_participant(officer=None, office=other_office, program=other_program)
    assert rule_for(LOW_BATTERY, elsewhere) == DEFAULT_RULES[LOW_BATTERY]


def test_sources_name_where_each_value_comes_from(
    program: Program, make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    program_setting = AlertRuleSetting(program=program, kind=LOW_BATTERY, grace_minutes=1)
    participant_setting = AlertRuleSetting(participant=participant, kind=LOW_BATTERY, priority=3)
    resolved = rule_resolve(
        LOW_BATTERY, program_setting=program_setting, participant_setting=participant_setting
    )
    assert resolved.sources["grace"] == "program"
    assert resolved.sources["priority"] == "participant"
    assert resolved.sources["escalation_window"] == "default"


def test_a_disabled_rule_raises_nothing(
    make_participant: Callable[..., Participant], program: Program, supervisor: User, officer: User
) -> None:
    participant = make_participant()
    exempt_elsewhere = make_participant()
    alert_rule_setting_save(
        user=supervisor, kind=LOW_BATTERY, program=program, values=RuleValues(enabled=False)
    )
    alert_rule_setting_save(
        user=officer,
        kind=LOW_BATTERY,
        participant=exempt_elsewhere,
        values=RuleValues(enabled=True),
    )
    result = alert_raise(
        participant_id=participant.pk,
        kind=LOW_BATTERY,
        source="device:1",
        occurred_at=T0,
        now=T0,
    )
    assert result is None
    assert not Alert.objects.filter(participant=participant).exists()
    raised = alert_raise(
        participant_id=exempt_elsewhere.pk,
        kind=LOW_BATTERY,
        source="device:2",
        occurred_at=T0,
        now=T0,
    )
    assert raised is not None, "a participant's override re-enables the kind for them"


def test_alert_raise_uses_the_participants_priority_and_grace(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    alert_rule_setting_save(
        user=officer,
        kind=LOW_BATTERY,
        participant=participant,
        values=RuleValues(priority=Priority.HIGH, grace_minutes=0),
    )
    alert = alert_raise(
        participant_id=participant.pk, kind=LOW_BATTERY, source="device:1", occurred_at=T0, now=T0
    )
    assert alert is not None
    assert (alert.priority, alert.status) == (Priority.HIGH, AlertStatus.OPEN)


def test_clearing_every_value_removes_the_override(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    alert_rule_setting_save(
        user=officer, kind=LOW_BATTERY, participant=participant, values=RuleValues(priority=4)
    )
    result = alert_rule_setting_save(
        user=officer, kind=LOW_BATTERY, participant=participant, values=RuleValues()
    )
    assert result is None
    assert not AlertRuleSetting.objects.exists()


def test_a_setting_belongs_to_exactly_one_program_or_participant(
    program: Program, make_participant: Callable[..., Participant]
) -> None:
    participant = make_participant()
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertRuleSetting.objects.create(
            program=program, participant=participant, kind=LOW_BATTERY, updated_at=now
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertRuleSetting.objects.create(kind=LOW_BATTERY, updated_at=now)


def test_thresholds_are_checked(program: Program, supervisor: User) -> None:
    with pytest.raises(ValidationError) as tiers:
        alert_rule_setting_save(
            user=supervisor,
            kind=AlertKind.MESSAGE_GAP,
            program=program,
            values=RuleValues(gap_tiers_minutes=(120, 30)),
        )
    assert "gap_tiers_minutes" in tiers.value.message_dict
    with pytest.raises(ValidationError) as hours:
        alert_rule_setting_save(
            user=supervisor, kind=LOW_BATTERY, program=program, values=RuleValues(charger_hours=8)
        )
    assert "charger_hours" in hours.value.message_dict


def test_an_officer_cannot_change_program_rules_nor_another_caseloads(
    program: Program,
    officer: User,
    make_user: Callable[..., User],
    make_participant: Callable[..., Participant],
) -> None:
    with pytest.raises(PermissionDenied):
        alert_rule_setting_save(
            user=officer, kind=LOW_BATTERY, program=program, values=RuleValues(priority=4)
        )
    colleague = make_user(Role.OFFICER)
    theirs = make_participant(officer=colleague)
    with pytest.raises(PermissionDenied):
        alert_rule_setting_save(
            user=officer, kind=LOW_BATTERY, participant=theirs, values=RuleValues(priority=4)
        )


# --- pages -------------------------------------------------------------------------------


def test_supervisor_sets_a_program_rule_on_the_page(
    client_for: Callable[[User], Client], supervisor: User, program: Program
) -> None:
    client = client_for(supervisor)
    url = f"/alerts/rules/program/{program.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="rule-message_gap"' in page.content
    response = client.post(
        url, {"kind": "message_gap", "priority": "3", "gap_tiers_minutes": "15, 60"}
    )
    assert response.status_code == 302
    setting = AlertRuleSetting.objects.get(program=program, kind="message_gap")
    assert (setting.priority, setting.gap_tiers_minutes) == (3, [15, 60])
    row = client.get(url).content.decode().split('id="rule-message_gap"')[1].split("</tr>")[0]
    assert "tiers 15, 60 min" in row
    assert '<small class="muted source">program</small>' in row


def test_officers_and_other_programs_supervisors_cannot_open_program_rules(
    client_for: Callable[[User], Client],
    officer: User,
    program: Program,
    make_user: Callable[..., User],
) -> None:
    url = f"/alerts/rules/program/{program.pk}/"
    assert client_for(officer).get(url).status_code == 403
    other_office = office_create(
        program=program_get_or_create(name="Elsewhere"), name="Camden", time_zone="America/New_York"
    )
    outsider = make_user(Role.SUPERVISOR, office=other_office)
    assert client_for(outsider).post(url, {"kind": "sos", "enabled": "off"}).status_code == 403
    assert not AlertRuleSetting.objects.exists()


def test_the_officer_overrides_a_participants_rule_and_sees_where_values_come_from(
    client_for: Callable[[User], Client],
    officer: User,
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant()
    client = client_for(officer)
    url = f"/alerts/rules/participant/{participant.pk}/"
    response = client.post(url, {"kind": "low_battery", "enabled": "off"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    row = page.split('id="rule-low_battery"')[1].split("</tr>")[0]
    assert (
        '<span class="badge closed">no</span> <small class="muted source">participant</small>'
        in row
    )
    assert '<small class="muted source">default</small>' in row, "the priority is the default"
    assert AccessLogEntry.objects.filter(participant_id=participant.pk, what="alert rules").exists()


def test_an_officer_of_another_office_gets_404_on_a_participants_rules(
    client_for: Callable[[User], Client],
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
) -> None:
    participant = make_participant()
    stranger = make_user(Role.OFFICER, office=make_office("Paterson"))
    url = f"/alerts/rules/participant/{participant.pk}/"
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(stranger).post(url, {"kind": "sos", "enabled": "off"}).status_code == 404
    assert not AlertRuleSetting.objects.exists()


def test_an_operator_who_may_read_but_not_write_the_participant_gets_403(
    client_for: Callable[[User], Client],
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
) -> None:
    participant = make_participant()
    operator = make_user(Role.OPERATOR)
    url = f"/alerts/rules/participant/{participant.pk}/"
    assert client_for(operator).get(url).status_code == 403
