"""Staff phone numbers: a staff member sets their own on "My account", an administrator sets
anyone's in the admin; both are checked and stored in E.164 (as participants' phones are),
so that notifications by text have a number to go to."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import user_contact_set

pytestmark = pytest.mark.django_db


def test_a_staff_member_sets_their_own_phone_in_e164(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    page = client.get("/account/")
    assert page.status_code == 200
    assert b'name="phone"' in page.content
    response = client.post("/account/", {"phone": "(973) 555-0188", "email": "o@example.org"})
    assert response.status_code == 302
    officer.refresh_from_db()
    assert (officer.phone, officer.email) == ("+19735550188", "o@example.org")


def test_a_number_that_is_not_one_is_refused_and_nothing_changes(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    User.objects.filter(pk=officer.pk).update(phone="+19735550101")
    response = client_for(officer).post("/account/", {"phone": "555-12", "email": ""})
    assert response.status_code == 400
    assert b"not a valid phone number" in response.content or b"not a phone number" in (
        response.content
    )
    officer.refresh_from_db()
    assert officer.phone == "+19735550101"


def test_an_administrator_sets_a_colleagues_phone_in_the_django_admin(
    officer: User, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin = make_user(Role.ADMINISTRATOR, office=None)
    User.objects.filter(pk=admin.pk).update(is_superuser=True)  # as the demo's "admin" is
    client = client_for(admin)
    url = f"/admin/accounts/user/{officer.pk}/change/"
    assert client.get(url).status_code == 200
    form = {
        "username": officer.username,
        "first_name": officer.first_name,
        "last_name": officer.last_name,
        "email": "",
        "is_active": "on",
        "role": officer.role,
        "office": str(officer.office_id),
        "phone": "973.555.0177",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "09:00:00",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    officer.refresh_from_db()
    assert officer.phone == "+19735550177"
    refused = client.post(url, {**form, "phone": "call me"})
    assert refused.status_code == 200
    assert b"phone number" in refused.content
    officer.refresh_from_db()
    assert officer.phone == "+19735550177"


def test_an_administrator_sets_a_colleagues_phone_from_the_console(
    officer: User, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """An administrator made with ``ontrack createuser`` is not a Django superuser: the
    console's own page lets them give a colleague a number."""
    admin = make_user(Role.ADMINISTRATOR, office=None)
    client = client_for(admin)
    response = client.post(f"/account/staff/{officer.pk}/", {"phone": "973 555 0166"})
    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.phone == "+19735550166"
    colleague = make_user(Role.SUPERVISOR)
    assert client_for(colleague).get(f"/account/staff/{officer.pk}/").status_code == 403


def test_only_the_person_or_an_administrator_changes_a_staff_phone(
    officer: User, make_user: Callable[..., User]
) -> None:
    from django.core.exceptions import PermissionDenied

    colleague = make_user(Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        user_contact_set(actor=colleague, user=officer, phone="973-555-0100")
    user_contact_set(actor=officer, user=officer, phone="")
    officer.refresh_from_db()
    assert officer.phone == ""


def test_the_account_page_needs_a_signed_in_staff_member() -> None:
    assert Client().get("/account/").status_code == 302
