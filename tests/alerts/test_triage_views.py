"""The triage desk in the console: claim from the queue, the held-by filter, assignment and
notes on the alert page, the bulk acknowledgement's preview and its refusals."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.alerts.triage import alert_claim
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import Participant
from tests.staff_sign_in import verify_session
from tests.support import raised_alert

pytestmark = pytest.mark.django_db


def _open(participant: Participant, kind: str = "strap_tamper") -> Alert:
    return raised_alert(
        participant_id=participant.pk, kind=kind, source="device:1", occurred_at=timezone.now()
    )


def _row(page: str, alert: Alert) -> str:
    start = page.index(f'<tr data-alert="{alert.pk}"')
    return page[start : page.index("</tr>", start)]


def test_claiming_from_the_queue_returns_to_it_and_the_row_shows_who_holds_the_alert(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    client = client_for(officer)
    back = "/alerts/?kind=strap_tamper"
    response = client.post(f"/alerts/{alert.pk}/claim/", {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    row = _row(client.get(back).content.decode(), alert)
    assert f"{officer} (you)" in row
    assert "Claim</button>" not in row


def test_the_claim_never_returns_to_a_page_outside_the_queue(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    response = client_for(officer).post(
        f"/alerts/{alert.pk}/claim/", {"next": "https://evil.example/alerts/"}
    )
    assert response["Location"] == f"/alerts/{alert.pk}/"


def test_the_queue_filters_alerts_held_by_the_user_and_those_nobody_holds(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    mine = _open(make_participant())
    free = _open(make_participant())
    alert_claim(user=officer, alert_id=mine.pk)
    client = client_for(officer)
    held = client.get("/alerts/", {"holder": "mine"}).content.decode()
    unclaimed = client.get("/alerts/", {"holder": "unclaimed"}).content.decode()
    assert f"/alerts/{mine.pk}/" in held
    assert f"/alerts/{free.pk}/" not in held
    assert f"/alerts/{free.pk}/" in unclaimed
    assert f"/alerts/{mine.pk}/" not in unclaimed


def test_claiming_an_alert_someone_else_holds_is_refused_with_400_saying_who(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    operator = make_user(Role.OPERATOR, office=None)
    alert_claim(user=operator, alert_id=alert.pk)
    response = client_for(officer).post(f"/alerts/{alert.pk}/claim/")
    assert response.status_code == 400
    assert f"{operator} already holds this alert" in response.content.decode()


def test_claiming_an_alert_outside_the_caseload_is_404(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    response = client_for(make_user(Role.OFFICER)).post(f"/alerts/{alert.pk}/claim/")
    assert response.status_code == 404


def test_a_claim_without_the_csrf_token_is_refused(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _open(make_participant())
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer, backend="django.contrib.auth.backends.ModelBackend")
    verify_session(client, officer)
    assert client.post(f"/alerts/{alert.pk}/claim/").status_code == 403
    alert.refresh_from_db()
    assert alert.assignee is None


def test_assigning_and_a_note_show_in_the_alert_pages_history(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    operator = make_user(Role.OPERATOR, office=None)
    client = client_for(operator)
    assert client.post(f"/alerts/{alert.pk}/assign/", {"assignee": officer.pk}).status_code == 302
    noted = client.post(f"/alerts/{alert.pk}/note/", {"note": "Unit reported charging."})
    assert noted.status_code == 302
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f"Held by {officer}." in page
    assert f"Assigned by {operator}: to {officer}" in page
    assert f"Note by {operator}: Unit reported charging." in page


@pytest.mark.parametrize("assignee", ["", "x", "987654"])
def test_assigning_to_nobody_or_an_unknown_person_is_400(
    assignee: str,
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    response = client_for(officer).post(f"/alerts/{alert.pk}/assign/", {"assignee": assignee})
    assert response.status_code == 400
    assert "Choose someone who handles this alert." in response.content.decode()


def test_an_empty_note_is_400(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    response = client_for(officer).post(f"/alerts/{alert.pk}/note/", {"note": " "})
    assert response.status_code == 400
    assert "Write the note." in response.content.decode()


def test_the_bulk_preview_says_how_many_of_which_type_for_whom_and_logs_the_read(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant(), make_participant()]
    alerts = [_open(p) for p in people]
    response = client_for(officer).get(
        "/alerts/bulk-acknowledge/", {"alert": [a.pk for a in alerts]}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 open Strap tamper alerts for 2 participants" in page
    for p in people:
        assert p.case_number in page
    logged = AccessLogEntry.objects.filter(
        user=officer, action=AccessAction.LIST, what="bulk acknowledgement preview"
    ).get()
    assert sorted(logged.listed_ids) == sorted(p.pk for p in people)
    assert set(Alert.objects.values_list("status", flat=True)) == {AlertStatus.OPEN}


def test_bulk_acknowledging_from_the_preview_acknowledges_all_and_returns_to_the_queue(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alerts = [_open(make_participant()), _open(make_participant())]
    response = client_for(officer).post(
        "/alerts/bulk-acknowledge/",
        {"alert": [a.pk for a in alerts], "reason": "Firmware fault on this batch"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/alerts/"
    assert set(Alert.objects.values_list("status", flat=True)) == {AlertStatus.ACKNOWLEDGED}


def test_a_bulk_selection_of_mixed_types_is_refused_with_400_saying_so(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    ids = [_open(p).pk, _open(p, kind="sos").pk]
    response = client_for(officer).get("/alerts/bulk-acknowledge/", {"alert": ids})
    assert response.status_code == 400
    assert "Acknowledge alerts of one type at a time" in response.content.decode()


@pytest.mark.parametrize("ids", [[], ["abc"], ["-1"]])
def test_a_bulk_selection_of_nothing_or_garbage_is_400(
    ids: list[str], officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get("/alerts/bulk-acknowledge/", {"alert": ids})
    assert response.status_code == 400


def test_bulk_acknowledging_without_a_reason_shows_the_preview_again_with_400(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open(make_participant())
    response = client_for(officer).post(
        "/alerts/bulk-acknowledge/", {"alert": [alert.pk], "reason": ""}
    )
    assert response.status_code == 400
    assert "Say why these are acknowledged together." in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_a_bulk_selection_naming_an_alert_outside_the_caseload_is_404(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    theirs = _open(make_participant(officer=make_user(Role.OFFICER)))
    response = client_for(officer).get("/alerts/bulk-acknowledge/", {"alert": [theirs.pk]})
    assert response.status_code == 404


def test_the_persons_timeline_shows_the_claim_and_the_note(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    alert = _open(participant)
    client = client_for(officer)
    client.post(f"/alerts/{alert.pk}/claim/")
    client.post(f"/alerts/{alert.pk}/note/", {"note": "Left a voicemail."})
    page = client.get(f"/participants/{participant.pk}/timeline/").content.decode()
    assert "Alert claimed" in page
    assert "Note added to an alert" in page
    assert "Left a voicemail." in page
