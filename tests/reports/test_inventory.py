import pytest

from ontrack.accounts.models import Role
from ontrack.reports.inventory import data_inventory, role_access

pytestmark = pytest.mark.django_db


def test_inventory_lists_every_model_that_reaches_a_participant():
    labels = {entry.label for entry in data_inventory()}
    assert {"participants.Participant", "participants.Phone", "participants.Hearing"} <= labels
    assert "tracking.DeviceAssignment" in labels
    assert "accounts.Office" not in labels


def test_inventory_takes_retention_from_the_registered_kinds_and_settings(settings):
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "access_log": 77}
    entry = next(e for e in data_inventory() if e.label == "participants.Phone")
    assert entry.retention_days is None
    assert entry.link == "participant"


def test_who_reads_what_comes_from_the_enforced_scopes():
    scopes = {row.role: row.scope for row in role_access()}
    assert scopes["Case officer"] == "their own caseload"
    assert scopes["Auditor"] == "no participant"


def test_inventory_page_is_for_administrators_only(make_user, client_for):
    admin_page = client_for(make_user(Role.ADMINISTRATOR)).get("/reports/data-inventory/")
    assert admin_page.status_code == 200
    assert b"participants.Phone" in admin_page.content
    assert client_for(make_user(Role.OFFICER)).get("/reports/data-inventory/").status_code == 403
