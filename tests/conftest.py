"""Fixtures shared by the whole suite, and the PostgreSQL second pass.

Helpers are plain ``make_*`` functions exposed as fixtures so that each test shows what it
builds. Nothing here mocks ontrack's own components.
"""

from __future__ import annotations

import compileall
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone, translation

import ontrack
from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.services import office_create, program_get_or_create, user_create
from ontrack.messaging.models import Message
from ontrack.messaging.sealing import unseal
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData, participant_enrol
from ontrack.portal.services import pin_is_set, pin_set
from ontrack.tracking.services import device_assign, device_register
from tests.database_templates import (
    SHARED_FOLDER_VARIABLE,
    copy_migrated_sqlite,
    create_migrated_postgres,
    drop_postgres,
    drop_postgres_template,
    migrated_postgres,
    migrated_sqlite,
)
from tests.staff_sign_in import authenticator_code, authenticator_for, verify_session
from tests.support import cli_environment, csp_violations_watched, migrated

PASSWORD = "correct horse battery staple"
PORTAL_PIN = "4812"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_report_header(config: pytest.Config) -> str:
    backend = "PostgreSQL" if os.environ.get("ONTRACK_TEST_PASS") == "postgres" else "SQLite"
    return f"ontrack test database: {backend}"


_owned_shared_folder: str | None = None
_templates_made: threading.Thread | None = None


def pytest_configure(config: pytest.Config) -> None:
    """The controller of a run names the folder its processes share (the migrated database
    templates of ``database_templates``); workers and the PostgreSQL pass inherit it."""
    global _owned_shared_folder, _templates_made
    if hasattr(config, "workerinput") or os.environ.get(SHARED_FOLDER_VARIABLE):
        return
    _compile_bytecode()
    _owned_shared_folder = tempfile.mkdtemp(prefix="ontrack-test-shared-")
    os.environ[SHARED_FOLDER_VARIABLE] = _owned_shared_folder
    if getattr(config.option, "numprocesses", None) and not config.option.collectonly:
        _templates_made = threading.Thread(target=_templates_make, daemon=True)
        _templates_made.start()


def _templates_make() -> None:
    """Migrate the run's database templates while the test processes collect the suite (a
    run on several processes is a run of much of the suite, whose first tests need them).
    Made on first use otherwise, each held every test that needed one for as long as a
    migration from scratch takes under the suite's load: a minute or more at the start."""
    migrated_sqlite()
    if server := os.environ.get("ONTRACK_TEST_POSTGRES"):
        migrated_postgres(server)


def _compile_bytecode() -> None:
    """Compile ontrack's and the tests' modules once for the run (the installed packages are
    compiled by ``uv sync``). Where PYTHONDONTWRITEBYTECODE is set, as on the CI machine, every
    test process and every ``ontrack`` command the tests start would otherwise compile each
    module it imports from source: half of each command's start-up.

    The variable is also dropped for the processes this run starts (the test processes, the
    PostgreSQL pass), so that pytest keeps the test modules it rewrites for its assertion
    messages: with the variable set, every test process parsed and rewrote all of them again,
    about a third of collecting the suite."""
    for folder in (Path(ontrack.__file__).parent, Path(__file__).parent):
        compileall.compile_dir(folder, quiet=1, workers=0)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _owned_shared_folder is None:
        return
    if _templates_made is not None:
        _templates_made.join()
    if server := os.environ.get("ONTRACK_TEST_POSTGRES"):
        drop_postgres_template(server)
    shutil.rmtree(_owned_shared_folder, ignore_errors=True)
    del os.environ[SHARED_FOLDER_VARIABLE]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` starts two test processes per CPU: the longest tests spend their time
    waiting on ``ontrack`` subprocesses, sockets and a browser, not computing, so one process
    per CPU left half the machine idle. Three per CPU was slower again on the 2-CPU CI
    machine (the SQLite pass took 8 minutes instead of 6.6): more processes competing for
    the CPU while they start theirs."""
    return 2 * (os.cpu_count() or 1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With ONTRACK_TEST_POSTGRES set, run the tests that use the database again on
    PostgreSQL; the run fails if either pass fails."""
    url = os.environ.get("ONTRACK_TEST_POSTGRES")
    if not url or os.environ.get("ONTRACK_TEST_PASS") == "postgres":
        return
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller does it
        return
    if session.config.option.collectonly or exitstatus not in (0, 1):
        return
    print("\n\n===== second pass: the tests that use the database, on PostgreSQL =====", flush=True)
    env = {**os.environ, "ONTRACK_TEST_PASS": "postgres"}
    code = subprocess.call(
        [sys.executable, "-m", "pytest", *session.config.invocation_params.args], env=env
    )
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        # The first pass ran tests (a first pass with none ends the run with this code), but
        # none of those selected uses the database: there is nothing to repeat.
        print("no test of this selection uses the database", flush=True)
    elif code != 0:
        session.exitstatus = code if exitstatus == 0 else exitstatus


# Fixtures through which a test reaches the test database; a test that uses none of them (a
# decoder, a property test, a subprocess on its own SQLite file) runs the same on either pass.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


# A test given one of these runs `ontrack` commands in a home of their own, on that home's
# SQLite database whichever pass it is (``support.cli_environment``): its subject never
# touches the pass's database, even in a module marked ``django_db``.
OWN_SQLITE_FIXTURES = {"cli_env", "migrated_cli_env"}


def _runs_on_the_postgres_pass(item: pytest.Item) -> bool:
    """A test that uses the test database, or a system scenario marked ``both_databases``,
    whose processes then run on a PostgreSQL database of their own (``harness``).

    Browser tests stay on the SQLite pass: their subject is what the page's script and
    layout do in Chromium, which no database changes, while the views and queries behind
    those pages run on PostgreSQL in their own tests. They were a third of the PostgreSQL
    pass's time on the 2-CPU CI machine."""
    if item.get_closest_marker("browser") is not None:
        return False
    return item.get_closest_marker("both_databases") is not None or _uses_the_test_database(item)


def _uses_the_test_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    if names & OWN_SQLITE_FIXTURES:
        return False
    return item.get_closest_marker("django_db") is not None or bool(names & DATABASE_FIXTURES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs only the tests that touch the test database, and the system
    scenarios marked ``both_databases`` (first, as the longest); the others already ran on
    the SQLite pass and would only repeat it.

    On the SQLite pass the tests without a database run first (pytest-django, whose hook runs
    before this one, puts them last and keeps its order for the others). They include the
    longest tests, those that start `ontrack` processes: started first, xdist spreads them
    over the workers instead of leaving one worker to finish the last of them alone."""
    if os.environ.get("ONTRACK_TEST_PASS") != "postgres":
        items.sort(key=_uses_the_test_database)
        return
    repeats = [item for item in items if not _runs_on_the_postgres_pass(item)]
    if repeats:
        config.hook.pytest_deselected(items=repeats)
        items[:] = [item for item in items if _runs_on_the_postgres_pass(item)]
    items.sort(key=lambda item: item.get_closest_marker("both_databases") is None)


@pytest.fixture(scope="session")
def django_db_keepdb() -> bool:
    """Each test process opens a copy of the run's migrated database, made ready by
    ``django_db_modify_db_settings``, instead of migrating one of its own; Django's ``migrate``
    then finds nothing left to apply."""
    return True


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES["default"]
    name = str(database["TEST"]["NAME"])
    if os.environ.get("ONTRACK_TEST_PASS") == "postgres":  # as tests/settings.py chooses
        create_migrated_postgres(os.environ["ONTRACK_TEST_POSTGRES"], name)
    else:
        copy_migrated_sqlite(Path(name))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test databases, and at the end, with any connection to them still open
    in another thread or process closed, the PostgreSQL one dropped (``keepdb`` keeps it, and
    PostgreSQL refuses to drop a database that is in use)."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            name = connection.settings_dict["NAME"]
            connection.close()
            drop_postgres(os.environ["ONTRACK_TEST_POSTGRES"], name)


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Each test ends back in the default language: a request through Django's test client
    leaves the language it chose active in the thread (LocaleMiddleware activates it, nothing
    deactivates it), and the next test on that worker would read its labels in, say,
    Haitian Creole."""
    yield
    translation.deactivate()


@pytest.fixture
def cli_env(tmp_path: Any) -> dict[str, str]:
    return cli_environment(tmp_path / "home")


@pytest.fixture
def migrated_cli_env(tmp_path: Any) -> dict[str, str]:
    """``cli_env`` whose home already holds a migrated database (``support.migrated``)."""
    migrated(tmp_path / "home")
    return cli_environment(tmp_path / "home")


@pytest.fixture
def program(db: None) -> Program:
    return program_get_or_create(name="Test ATD", default_language="en")


@pytest.fixture
def make_office(program: Program) -> Callable[..., Office]:
    counter = iter(range(1, 10_000))

    def make(name: str | None = None, time_zone: str = "America/New_York") -> Office:
        return office_create(
            program=program, name=name or f"Office {next(counter)}", time_zone=time_zone
        )

    return make


@pytest.fixture
def office(make_office: Callable[..., Office]) -> Office:
    return make_office("Newark")


@pytest.fixture
def make_user(office: Office) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        role: Role | str = Role.OFFICER,
        *,
        office: Office | None = office,
        username: str | None = None,
    ) -> User:
        return user_create(
            username=username or f"{role}{next(counter)}",
            password=PASSWORD,
            role=role,
            office=office,
            first_name="Test",
            last_name=str(role).title(),
        )

    return make


@pytest.fixture
def officer(make_user: Callable[..., User]) -> User:
    return make_user(Role.OFFICER, username="olivia")


@pytest.fixture
def make_participant(program: Program, office: Office, officer: User) -> Callable[..., Participant]:
    counter = iter(range(1, 100_000))

    def make(
        *, officer: User | None = officer, office: Office | None = None, **overrides: Any
    ) -> Participant:
        n = next(counter)
        target_office = office or (officer.office if officer and officer.office else None)
        fields: dict[str, Any] = {
            "actor": SYSTEM,
            "program": program,
            "office": target_office or Office.objects.get(name="Newark"),
            "officer": officer,
            "case_number": f"C-{n:05d}",
            "given_name": "María",
            "family_name": f"García {n}",
            "date_of_birth": dt.date(1990, 5, 17),
            "preferred_language": "es",
            "phones": ["(973) 555-0142"],
            "plan": PlanData(
                level="standard", review_date=timezone.localdate() + dt.timedelta(days=90)
            ),
        }
        fields.update(overrides)
        return participant_enrol(**fields)

    return make


@pytest.fixture
def client_for(db: None) -> Callable[[User], Client]:
    """A test client signed in as the given staff member, second factor passed. It skips the
    sign-in forms (which tests/accounts/ cover, throttles included) because posting them for
    each of hundreds of tests is slow; the session is the one a real sign-in makes: the
    password's login, then the authenticator app's device recorded as django-otp does."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        verify_session(client, user)
        return client

    return make


@pytest.fixture
def browser_sign_in() -> Callable[[Any, str, User], None]:
    """Sign a staff member in on a browser page through the real forms: the password, then
    the code their authenticator app shows (the app is set up for them first)."""

    def sign_in(page: Any, base_url: str, user: User) -> None:
        device = authenticator_for(user)
        page.goto(base_url + "/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#id_code")
        page.fill("#id_code", authenticator_code(device))
        page.click("main button[type=submit]")  # not the header's "Sign out"
        # A predicate in Python: a string one is evaluated in the page, which its
        # Content-Security-Policy forbids.
        page.wait_for_url(lambda url: "/account/second-factor/" not in url)

    return sign_in


@pytest.fixture
def production_hashers(settings: Any) -> None:
    """Production's password hashers (Argon2 first), for tests of hashing itself; the rest
    of the suite hashes with MD5 for speed (tests/settings.py)."""
    from ontrack import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real headless Chromium (Debian's package), or a skip that says why."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium package is not installed")
    # Playwright's sync API runs an event loop in this thread; the test touches the database
    # only before the browser starts, so Django's async guard can be relaxed here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        # Playwright runs the test in a context of its own, where Django opened connections
        # of its own; close them, or PostgreSQL refuses to drop the test database.
        connections.close_all()
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A phone-sized page in ``chromium``; the test fails if the page breaks its
    Content-Security-Policy."""
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    refused = csp_violations_watched(page)
    yield page
    context.close()
    assert refused == [], "the page broke its Content-Security-Policy"


@pytest.fixture
def worn_gt06(make_participant: Callable[..., Participant]) -> Callable[[str], Participant]:
    """A participant whose plan includes GPS, wearing a registered GT06 device (for tests
    that send real frames through a gateway)."""

    def make(imei: str) -> Participant:
        device = device_register(actor=SYSTEM, identifier=imei, kind="ankle", protocol="gt06")
        review = timezone.localdate() + dt.timedelta(days=90)
        participant = make_participant(
            plan=PlanData(level="intensive", review_date=review, gps_device=True)
        )
        device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
        return participant

    return make


@pytest.fixture
def sent_sign_in() -> Callable[[Participant], tuple[str, str]]:
    """The code and link of the last sign-in text queued for the participant, read from
    messaging's outbox as the worker would send it."""

    def read(participant: Participant) -> tuple[str, str]:
        message = (
            Message.objects.filter(participant=participant, template_key="portal_sign_in")
            .order_by("-pk")
            .first()
        )
        assert message is not None, "no sign-in text was queued"
        text = unseal(message.sealed_body)  # what the provider, and so the phone, gets
        code = re.search(r"\b\d{6}\b", text)
        link = re.search(r"https?://\S+/me/link/\S+/", text)
        assert code, text
        assert link, text
        return code.group(0), link.group(0)

    return read


@pytest.fixture
def portal_client(sent_sign_in: Callable[[Participant], tuple[str, str]]) -> Callable[..., Client]:
    """A participant signed in through the real pages: number, texted code, PIN."""

    def make(participant: Participant) -> Client:
        if not pin_is_set(participant):
            pin_set(participant, PORTAL_PIN)
        number = participant.phones.first()
        assert number is not None
        client = Client()
        client.post("/me/sign-in/", {"phone": number.number})
        code, _ = sent_sign_in(participant)
        assert client.post("/me/code/", {"code": code})["Location"] == "/me/pin/"
        assert client.post("/me/pin/", {"pin": PORTAL_PIN})["Location"] == "/me/"
        return client

    return make
