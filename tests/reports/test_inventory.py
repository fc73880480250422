from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Role, User
from ontrack.reports.inventory import data_inventory, role_access

pytestmark = pytest.mark.django_db


def test_inventory_lists_every_model_that_reaches_a_participant() -> None:
    labels = {entry.label for entry in data_inventory()}
    assert {"participants.Participant", "participants.Phone", "participants.Hearing"} <= labels
    assert "tracking.DeviceAssignment" in labels
    assert "accounts.Office" not in labels


def test_inventory_takes_retention_from_the_registered_kinds_and_settings(
    settings: Settings,
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 77}
    entry = next(e for e in data_inventory() if e.label == "participants.Phone")
    assert entry.retention_days is None
    assert entry.link == "participant"


def test_who_reads_what_comes_from_the_enforced_scopes() -> None:
    scopes = {row.role: row.scope for row in role_access()}
    assert scopes["Case officer"] == "their own caseload"
    assert scopes["Auditor"] == "no participant"


def test_inventory_page_is_for_administrators_only(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin_page = client_for(make_user(Role.ADMINISTRATOR)).get("/reports/data-inventory/")
    assert admin_page.status_code == 200
    assert b"participants.Phone" in admin_page.content
    assert client_for(make_user(Role.OFFICER)).get("/reports/data-inventory/").status_code == 403


def test_inventory_includes_the_access_log_linked_by_a_plain_participant_id(
    settings: Settings,
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 77}
    entry = next(e for e in data_inventory() if e.label == "audit.AccessLogEntry")
    assert entry.link.startswith("participant_id (a plain id")
    assert entry.retention_days == 77


def test_the_access_log_is_seen_by_auditors_and_administrators_only() -> None:
    entry = next(e for e in data_inventory() if e.label == "audit.AccessLogEntry")
    assert [r.split(":")[0] for r in entry.readers] == ["Administrator", "Auditor"]


def test_each_kind_of_record_data_names_the_roles_that_see_it_and_how_far() -> None:
    entry = next(e for e in data_inventory() if e.label == "tracking.Position")
    assert "Case officer: their own caseload" in entry.readers
    assert "Monitoring operator: every participant" in entry.readers
    assert not any(r.startswith("Auditor") for r in entry.readers)


def test_full_record_exports_are_for_the_roles_that_change_cases() -> None:
    exports = {row.role: row.exports_records for row in role_access()}
    assert exports == {
        "Case officer": True,
        "Supervisor": True,
        "Monitoring operator": False,
        "Administrator": True,
        "Auditor": False,
    }


def test_inventory_page_shows_who_can_see_each_kind(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    page = client_for(make_user(Role.ADMINISTRATOR)).get("/reports/data-inventory/").content
    html = page.decode()
    assert "audit.AccessLogEntry" in html
    assert "Who can see it:</strong> Administrator: every entry, of every participant" in html
