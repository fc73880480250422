from collections.abc import Callable

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import ApiToken, Office, Role, User
from ontrack.accounts.services import api_token_authenticate, api_token_create, user_create
from tests.staff_sign_in import authenticator_code, authenticator_for, verify_session

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(
    production_hashers: None, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.OFFICER)
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password("correct horse battery staple")


def test_staff_signs_in_through_the_form(officer: User) -> None:
    device = authenticator_for(officer)
    client = Client()
    response = client.post(
        "/login/", {"username": officer.username, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302, "sign-in with the right password failed"
    verified = client.post("/account/second-factor/", {"code": authenticator_code(device)})
    assert verified.status_code == 302, "the authenticator's code was refused"
    caseload = client.get("/", follow=True)
    assert caseload.redirect_chain[-1][0] == "/participants/", caseload.redirect_chain
    assert caseload.status_code == 200, "the signed-in session does not open the officer's caseload"
    assert caseload.wsgi_request.user == officer, (
        "the signed-in session does not open the officer's caseload"
    )


def test_weak_password_is_refused(office: Office) -> None:
    with pytest.raises(ValidationError):
        user_create(username="weak", password="password", role=Role.OFFICER, office=office)


def test_officer_must_belong_to_an_office() -> None:
    with pytest.raises(ValueError, match="belong to an office"):
        user_create(username="x", password="a long enough passphrase", role=Role.OFFICER)


def test_login_is_throttled_after_repeated_failures(officer: User, settings: Settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": officer.username, "password": "wrong"})
        assert response.status_code == 200
    last = client.post("/login/", {"username": officer.username, "password": "wrong"})
    assert last.status_code == 429
    locked = client.post(
        "/login/", {"username": officer.username, "password": "correct horse battery staple"}
    )
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()


def test_login_form_needs_a_csrf_token(officer: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/login/", {"username": officer.username, "password": "correct horse battery staple"}
    )
    assert response.status_code == 403


def test_api_token_is_stored_only_as_a_digest(officer: User) -> None:
    token, secret = api_token_create(user=officer, name="crm")
    assert secret not in token.digest
    assert not ApiToken.objects.filter(digest=secret).exists()
    assert api_token_authenticate(secret) == officer
    assert api_token_authenticate(secret + "x") is None


def test_session_cookie_is_secure_and_http_only_outside_debug() -> None:
    from ontrack import settings as production

    assert production.SESSION_COOKIE_HTTPONLY
    assert production.SESSION_COOKIE_SECURE == production.SECURE_COOKIES
    assert production.CSRF_COOKIE_SECURE == production.SECURE_COOKIES


def test_an_administrator_may_use_the_admin_pages_by_role_alone(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    administrator = make_user(Role.ADMINISTRATOR, office=None)
    assert not administrator.is_superuser
    assert not administrator.user_permissions.exists()
    page = client_for(administrator).get("/admin/audit/retentionpolicy/add/")
    assert page.status_code == 200, "an administrator shortens retention periods here"
    saved = client_for(administrator).post(
        "/admin/audit/retentionpolicy/add/", {"kind": "positions", "days": "30"}
    )
    assert saved.status_code == 302


def test_other_roles_get_no_admin_permission_from_their_role(
    make_user: Callable[..., User],
) -> None:
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.OPERATOR, Role.AUDITOR):
        user = make_user(role)
        assert not user.has_perm("audit.add_retentionpolicy"), role


def test_an_api_tokens_user_cannot_be_changed_in_the_admin(make_user: Callable[..., User]) -> None:
    from django.test import Client

    from ontrack.accounts.services import api_token_create

    admin_user = make_user(Role.ADMINISTRATOR, office=None)
    token, _ = api_token_create(user=make_user(Role.OFFICER), name="crm")
    client = Client()
    client.force_login(admin_user)
    verify_session(client, admin_user)
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert page.status_code == 200
    assert 'name="user"' not in page.content.decode()
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_the_offices_api_says_where_each_office_stands(
    office: Office, officer: User, client_for: Callable[[User], Client]
) -> None:
    Office.objects.filter(pk=office.pk).update(latitude=40.7357, longitude=-74.1724)
    listed = {o["id"]: o for o in client_for(officer).get("/api/offices").json()}
    assert (listed[office.pk]["latitude"], listed[office.pk]["longitude"]) == (40.7357, -74.1724)
