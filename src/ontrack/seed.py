"""Realistic synthetic demo data: offices, staff and participants.

Participants carry the names and languages of the people ATD and pretrial programs serve
(Spanish, K'iche' and Mam speakers from Central America, Portuguese, Haitian Creole, French,
English and others). Every phone number is in the 555-01XX range reserved for fiction, so
no demo message can ever reach a real person.

This is the one place that writes participants without ``participants.services``: seeding a
100,000-person benchmark caseload one service call at a time would take many minutes, so it
bulk-inserts the same rows the services would write (participant, phone, address, plan and
enrolment event) in batches.

The demo also looks back: each person has an enrolment photo (an illustrated portrait from
``demo_avatars``, never a real face), past court hearings carry their recorded outcome, and
a few plans were stepped down on review weeks ago (the reviews demo writes those decisions).

Demo data is marked as such: it all belongs to the program ``DEMO_PROGRAM``, and demo staff
work in its offices. ``seed`` refuses a database holding participants or staff outside it
(``SeedRefused``) unless told ``into_existing``, because it creates an administrator and
staff whose password is printed on the console. That password is random per install
(``demo_password``), never one published with the code.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from faker import Faker

from ontrack.accounts.models import Office, Program, Role, User
from ontrack.accounts.services import office_create, program_get_or_create, user_create
from ontrack.audit.demo_data import Read, history
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.demo_avatars import enrolment_photo, portrait_key
from ontrack.participants.models import (
    Address,
    ClosureReason,
    ConditionFlag,
    Counsel,
    EventKind,
    Hearing,
    HearingKind,
    HearingOutcome,
    Language,
    Level,
    Participant,
    ParticipantEvent,
    Phone,
    ReleaseConditions,
    Status,
    SupervisionPlan,
)
from ontrack.participants.search import search_fold
from ontrack.tracking.models import Device, DeviceAssignment, DeviceStatus
from ontrack.tracking.services.directory import directory_changed

# Every demo participant, office and staff member belongs to this program: what marks them
# as demo data (``database_foreign_data``).
DEMO_PROGRAM = "ATD (demo)"
DEMO_PASSWORD_FILE = "demo-password"  # noqa: S105 - a file name
# No 0/o, 1/l/i: the password is read off a console and typed.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - the letters it draws


class SeedRefused(Exception):
    """The database holds data that is not demo data, and the caller did not ask to seed
    beside it."""


def demo_password() -> str:
    """The demo staff's password on this install (``$ONTRACK_HOME/demo-password``, owner
    only): random, made the first time it is asked for, then the same, so that a restarted
    demo prints the password its accounts have. About 80 bits: four groups of four."""
    path = Path(settings.ONTRACK_HOME) / DEMO_PASSWORD_FILE
    if path.exists():
        kept = path.read_text().strip()
        if kept:
            return kept
        path.unlink()
    password = "-".join(
        "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4)
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it a moment ago
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(password + "\n")
    return password


def database_foreign_data() -> str:
    """What this database holds that is not demo data, in words ("3 participants and 1
    staff account"), or "" when nothing: participants of another program, staff outside the
    demo program's offices (an administrator made with ``createuser`` has no office)."""
    participants = Participant.objects.exclude(program__name=DEMO_PROGRAM).count()
    staff = User.objects.exclude(office__program__name=DEMO_PROGRAM).count()
    found = []
    if participants:
        found.append(f"{participants} participant{'s' if participants != 1 else ''}")
    if staff:
        found.append(f"{staff} staff account{'s' if staff != 1 else ''}")
    return " and ".join(found)


OFFICES = [
    ("Newark Field Office", "970 Broad St, Newark, NJ 07102", "America/New_York", "973"),
    ("Miami Field Office", "865 SW 78th Ave, Plantation, FL 33324", "America/New_York", "305"),
    ("Houston Field Office", "126 Northpoint Dr, Houston, TX 77060", "America/Chicago", "713"),
    (
        "Los Angeles Field Office",
        "300 N Los Angeles St, Los Angeles, CA 90012",
        "America/Los_Angeles",
        "213",
    ),
    ("Denver Field Office", "12445 E Caley Ave, Centennial, CO 80111", "America/Denver", "303"),
    ("Boston Field Office", "1000 District Ave, Burlington, MA 01803", "America/New_York", "617"),
]
# Where each office stands (lat, lon, near enough for a map): the zone editor opens there
# for someone it knows nothing nearer about.
OFFICE_PLACES = {
    "Newark Field Office": (40.7357, -74.1720),
    "Miami Field Office": (26.1155, -80.3209),
    "Houston Field Office": (29.9422, -95.4168),
    "Los Angeles Field Office": (34.0537, -118.2397),
    "Denver Field Office": (39.5905, -104.8473),
    "Boston Field Office": (42.4950, -71.1950),
}
WEEKDAY_HOURS = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

# (language, share of participants, Faker locale or None for the hand lists below)
LANGUAGE_MIX = [
    (Language.SPANISH, 48, "es_MX"),
    (Language.KICHE, 4, "es_MX"),
    (Language.MAM, 3, "es_MX"),
    (Language.PORTUGUESE, 9, "pt_BR"),
    (Language.HAITIAN_CREOLE, 9, None),
    (Language.FRENCH, 5, "fr_FR"),
    (Language.ENGLISH, 12, "en_US"),
    (Language.RUSSIAN, 3, None),
    (Language.ARABIC, 2, None),
    (Language.CHINESE, 2, None),
    (Language.PUNJABI, 2, None),
    (Language.TIGRINYA, 1, None),
]
HAND_NAMES: dict[str, tuple[list[str], list[str]]] = {
    Language.HAITIAN_CREOLE: (
        [
            "Jean",
            "Marie",
            "Wideline",
            "Jameson",
            "Dieuseul",
            "Fritznel",
            "Mackenson",
            "Nadège",
            "Roseline",
            "Wilner",
            "Guerline",
            "Islande",
            "Jude",
            "Lovely",
            "Stanley",
        ],
        [
            "Joseph",
            "Pierre",
            "Jean-Baptiste",
            "Louis",
            "Charles",
            "Désir",
            "Exantus",
            "Fils-Aimé",
            "Toussaint",
            "Saint-Fleur",
            "Dorvil",
            "Michel",
            "Augustin",
            "Noël",
        ],
    ),
    Language.RUSSIAN: (
        ["Aleksandr", "Dmitri", "Irina", "Olga", "Sergei", "Natalia", "Mikhail", "Yulia"],
        ["Ivanov", "Petrova", "Smirnov", "Kuznetsova", "Popov", "Sokolova", "Volkov"],
    ),
    Language.ARABIC: (
        ["Ahmad", "Fatima", "Omar", "Layla", "Yusuf", "Mariam", "Khaled", "Amina"],
        ["Haddad", "Al-Sayed", "Nasser", "Khalil", "Mansour", "Saleh", "Hamdan"],
    ),
    Language.CHINESE: (
        ["Wei", "Fang", "Jun", "Li", "Min", "Xiu Ying", "Hao", "Jing"],
        ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao"],
    ),
    Language.PUNJABI: (
        ["Gurpreet", "Harjit", "Manpreet", "Jaspreet", "Simran", "Amandeep", "Baljit"],
        ["Singh", "Kaur", "Sandhu", "Gill", "Dhillon", "Brar", "Sidhu"],
    ),
    Language.TIGRINYA: (
        ["Yonas", "Selam", "Tesfay", "Helen", "Dawit", "Senait", "Berhane", "Mehret"],
        ["Tesfamariam", "Gebremedhin", "Haile", "Kidane", "Abraha", "Berhe", "Woldu"],
    ),
}
LEVEL_MIX: list[tuple[str, int]] = [
    (Level.INTENSIVE, 8),
    (Level.HIGH, 17),
    (Level.STANDARD, 45),
    (Level.LOW, 22),
    (Level.MINIMAL, 8),
]
STATUS_MIX: list[tuple[str, int]] = [
    (Status.ACTIVE, 82),
    (Status.ENROLLED, 6),
    (Status.SUSPENDED, 4),
    (Status.CLOSED, 8),
]
COURTS = [
    ("Newark Immigration Court", "970 Broad St, Newark, NJ"),
    ("Miami Krome Immigration Court", "18201 SW 12th St, Miami, FL"),
    ("Houston Immigration Court", "1919 Smith St, Houston, TX"),
    ("Los Angeles Immigration Court", "606 S Olive St, Los Angeles, CA"),
    ("Denver Immigration Court", "1961 Stout St, Denver, CO"),
    ("Boston Immigration Court", "15 New Sudbury St, Boston, MA"),
]


CLOSURE_MIX: list[tuple[str, int]] = [
    (ClosureReason.CASE_CONCLUDED, 40),
    (ClosureReason.TRANSFERRED, 20),
    (ClosureReason.DEPARTED, 20),
    (ClosureReason.OTHER, 20),
    (ClosureReason.ABSCONDED, 5),
    (ClosureReason.DETAINED, 5),
]
ADVERSE_NOTES: dict[str, str] = {
    ClosureReason.ABSCONDED: "No contact for six weeks despite calls, letters and a home "
    "visit; device returned by mail. Reported to the court.",
    ClosureReason.DETAINED: "Taken into custody on a warrant from another jurisdiction; "
    "confirmed with the facility.",
    ClosureReason.DEPARTED: "Removed to the country of origin; removal confirmed with the "
    "enforcement office.",
}
# Portraits are drawn for participants up to this number: all of a demo's, the first few
# thousand of a benchmark caseload (drawing 100,000 would take minutes and fill the disk).
PORTRAITS_UP_TO = 5000
# Past hearings (within the last 90 days) and the outcome recorded for each.
PAST_HEARING_SHARE = 0.3
PAST_HEARING_OUTCOMES: list[tuple[str, int]] = [
    (HearingOutcome.ATTENDED, 82),
    (HearingOutcome.RESCHEDULED, 10),
    (HearingOutcome.FAILED_TO_APPEAR, 3),
    (HearingOutcome.CANCELLED, 5),
]
# Open cases whose plan was stepped down on review some weeks ago.
STEPPED_DOWN_SHARE = 0.05
STEP_DOWN_FROM = {
    Level.HIGH: Level.INTENSIVE,
    Level.STANDARD: Level.HIGH,
    Level.LOW: Level.STANDARD,
}
STEP_DOWN_REASONS = [
    "Reported on time for the whole period and started a steady job; one step down.",
    "Full compliance for three months; counsel asked for a lighter plan.",
    "No missed check-ins or appointments since enrolment; stepping down as proposed.",
]
STEP_DOWN_PREFIX = "Step-down on review: "

# Apps above participants add their demo data here: each entry names a function called as
# ``f(program=..., seed_value=..., now=...)`` once the participants exist, in this order.
APP_SEEDERS: tuple[str, ...] = (
    "ontrack.messaging.demo_data.seed",
    "ontrack.alerts.demo_data.seed",
    "ontrack.tracking.demo_data.zones_seed",
    "ontrack.tracking.demo_data.seed",
    "ontrack.schedule.demo_data.seed",
    "ontrack.portal.demo_data.seed",
    "ontrack.reviews.demo_data.seed",
    "ontrack.reports.demo_data.seed",
)


@dataclass
class SeedResult:
    offices: int
    staff: int
    participants: int


def _pick(rng: random.Random, mix: Sequence[tuple[str, int]]) -> str:
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights=weights)[0]


def _staff(program: Program, offices: list[Office], officers_per_office: int) -> list[User]:
    """Demo logins: per office ``officer1..N`` and ``supervisor`` (suffixed by office number
    after the first office), plus one operator, administrator and auditor."""
    staff: list[User] = []
    faker = Faker("en_US")
    faker.seed_instance(7)
    password = _SharedPassword(demo_password())
    for index, office in enumerate(offices):
        suffix = "" if index == 0 else str(index + 1)
        for n in range(1, officers_per_office + 1):
            staff.append(
                _ensure_user(
                    f"officer{n}{'-' + suffix if suffix else ''}",
                    Role.OFFICER,
                    office,
                    faker,
                    password,
                )
            )
        staff.append(_ensure_user(f"supervisor{suffix}", Role.SUPERVISOR, office, faker, password))
    for username, role in (
        ("operator", Role.OPERATOR),
        ("admin", Role.ADMINISTRATOR),
        ("auditor", Role.AUDITOR),
    ):
        staff.append(_ensure_user(username, role, offices[0], faker, password))
    return staff


class _SharedPassword:
    """The demo password and its hash, made once: every demo login has the same password,
    and Argon2 is slow on purpose (18 hashes were a third of the demo's seeding time on a
    busy two-core machine). The first account is made by ``user_create``; the others copy
    its hash."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.hash = ""


# Staff sign in with a second factor. So that a person trying the demo needs no set-up, the
# seeded logins (and only they: every other account sets its own app up at its first
# sign-in) share one authenticator key, random per database, that `ontrack demo` prints (one
# entry in an app serves every demo login), and `ontrack totp USERNAME` prints a demo
# login's current code. The device's name marks it as the demo's.
DEMO_AUTHENTICATOR = "Demo authenticator (key printed by ontrack demo)"


def demo_authenticator_key() -> str | None:
    """The seeded logins' shared authenticator key (hex), if this database has them."""
    device = TOTPDevice.objects.filter(name=DEMO_AUTHENTICATOR, confirmed=True).first()
    return device.key if device is not None else None


def demo_totp_code(username: str) -> tuple[str, int] | None:
    """A seeded login's current authenticator code and the seconds it stays current, or
    None for any other account (whose key nothing may read out)."""
    device = TOTPDevice.objects.filter(
        user__username=username, name=DEMO_AUTHENTICATOR, confirmed=True
    ).first()
    if device is None:
        return None
    app = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    left = device.step - int(app.time - device.t0) % device.step
    return f"{app.token():0{device.digits}d}", left


def _ensure_demo_authenticator(user: User) -> None:
    if TOTPDevice.objects.filter(user=user).exists():
        return
    key = demo_authenticator_key()
    TOTPDevice.objects.create(
        user=user, name=DEMO_AUTHENTICATOR, confirmed=True, **({"key": key} if key else {})
    )


def _ensure_user(
    username: str, role: Role, office: Office, faker: Faker, password: _SharedPassword
) -> User:
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    names = {
        "first_name": faker.first_name(),
        "last_name": faker.last_name(),
        "email": f"{username}@example.org",
    }
    if not password.hash:
        user = user_create(
            username=username,
            password=password.text,
            role=role,
            office=office,
            validate=False,
            **names,
        )
    else:
        user = User.objects.create(
            username=username,
            role=role,
            office=office,
            is_staff=role == Role.ADMINISTRATOR,
            password=password.hash,
            **names,
        )
    password.hash = user.password
    if role == Role.ADMINISTRATOR:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    _ensure_demo_authenticator(user)
    return user


def seed(
    *,
    participants: int,
    seed_value: int = 2026,
    offices: int = 3,
    officers_per_office: int = 4,
    into_existing: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 2000,
) -> SeedResult:
    """Create (or reuse) the demo program's offices and staff, then add ``participants``
    new participants. The same ``seed_value`` gives the same people. Raises
    ``SeedRefused`` when the database holds data that is not demo data, unless
    ``into_existing``: the demo's accounts then sit beside it, and nothing of it is
    touched (a staff member whose username a demo account would take keeps their account
    and stays out of the demo)."""
    foreign = database_foreign_data()
    if foreign and not into_existing:
        raise SeedRefused(
            f"This database holds {foreign} that are not demo data. ontrack seed adds demo "
            "staff, an administrator among them, whose password it prints; run it on an "
            "empty database, or pass --into-existing to add the demo beside that data."
        )
    rng = random.Random(seed_value)
    program = program_get_or_create(name=DEMO_PROGRAM, default_language="en")
    office_rows = []
    for name, address, tz, _area in OFFICES[: max(1, min(offices, len(OFFICES)))]:
        office = Office.objects.filter(program=program, name=name).first() or office_create(
            program=program,
            name=name,
            address=address,
            time_zone=tz,
            opening_hours=WEEKDAY_HOURS,
            phone="+1" + _area + "5550100",
            location=OFFICE_PLACES[name],
        )
        office_rows.append(office)
    demo_offices = {office.pk for office in office_rows}
    staff = [
        user
        for user in _staff(program, office_rows, officers_per_office)
        if user.office_id in demo_offices
    ]
    officers_by_office = {
        office.pk: [u for u in staff if u.office_id == office.pk and u.role == Role.OFFICER]
        for office in office_rows
    }
    supervisor_of = {u.office_id: u for u in staff if u.role == Role.SUPERVISOR}
    fakers: dict[str, Faker] = {}
    for _lang, _share, locale in LANGUAGE_MIX:
        if locale and locale not in fakers:
            fakers[locale] = Faker(locale)
            fakers[locale].seed_instance(seed_value)
    address_faker = Faker("en_US")
    address_faker.seed_instance(seed_value)
    language_mix = [(str(lang), share) for lang, share, _ in LANGUAGE_MIX]
    locale_of = {str(lang): locale for lang, _, locale in LANGUAGE_MIX}
    start_number = Participant.objects.filter(program=program).count()
    now = timezone.now()
    created = 0
    while created < participants:
        count = min(batch_size, participants - created)
        _seed_batch(
            rng=rng,
            count=count,
            first_number=start_number + created,
            program=program,
            offices=office_rows,
            officers_by_office=officers_by_office,
            fakers=fakers,
            address_faker=address_faker,
            language_mix=language_mix,
            locale_of=locale_of,
            now=now,
            seed_value=seed_value,
            supervisor_of=supervisor_of,
        )
        created += count
        if progress is not None:
            progress(count)
    for dotted in APP_SEEDERS:
        import_string(dotted)(program=program, seed_value=seed_value, now=now)
    if not AccessLogEntry.objects.exists():
        _access_history(random.Random(f"audit:{seed_value}"), staff, now)
    return SeedResult(offices=len(office_rows), staff=len(staff), participants=created)


ACCESS_DAYS = 90
EXPORT_PURPOSES = [
    "monthly caseload report to the program manager",
    "court status report requested by the judge's clerk",
    "quarterly compliance audit",
]


def _access_history(rng: random.Random, staff: list[User], now: dt.datetime) -> None:
    """90 days of staff reading records (``audit.demo_data``): officers open their own
    caseload's pages on working days, supervisors their office's and now and then export
    the participant list with a stated purpose, the operator the tracks of device wearers."""
    caseloads: dict[int, list[int]] = {}
    offices: dict[int, list[int]] = {}
    for pk, officer_id, office_id in Participant.objects.exclude(status=Status.CLOSED).values_list(
        "pk", "officer_id", "office_id"
    ):
        caseloads.setdefault(officer_id, []).append(pk)
        offices.setdefault(office_id, []).append(pk)
    wearers = list(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "participant_id", flat=True
        )
    )
    reads: list[Read] = []
    for back in range(ACCESS_DAYS, 0, -1):
        day = now - dt.timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for user in staff:
            people = {
                Role.OFFICER: caseloads.get(user.pk, []),
                Role.SUPERVISOR: offices.get(user.office_id or 0, []),
                Role.OPERATOR: wearers,
            }.get(Role(user.role), [])
            if not people:
                continue

            for pk in rng.sample(people, min(len(people), rng.randint(2, 6))):
                if user.role == Role.OPERATOR:
                    what, path = "track of the last 24 hours", f"/tracking/participants/{pk}/track/"
                else:
                    what, path = "participant page", f"/participants/{pk}/"
                when = day.replace(hour=rng.randint(13, 22), minute=rng.randrange(60))
                reads.append(Read(when, user.pk, user.username, pk, AccessAction.VIEW, what, path))
            if user.role == Role.SUPERVISOR and rng.random() < 0.05:
                when = day.replace(hour=rng.randint(13, 22), minute=rng.randrange(60))
                what = f"participant list CSV for: {rng.choice(EXPORT_PURPOSES)}"
                path = "/reports/participants.csv"
                reads.append(
                    Read(when, user.pk, user.username, None, AccessAction.EXPORT, what, path)
                )
    history(sorted(reads, key=lambda r: r.at))


def _plan(
    level: str, start: dt.datetime, end: dt.datetime | None, reason: str, **fields: Any
) -> SupervisionPlan:
    """One version of a plan; its modalities follow from the level as enrolment sets them."""
    return SupervisionPlan(
        level=level,
        office_visits=level in {Level.INTENSIVE, Level.HIGH, Level.STANDARD},
        gps_device=level == Level.INTENSIVE,
        effective_from=start,
        effective_to=end,
        reason=reason,
        **fields,
    )


def _name(
    rng: random.Random, language: str, fakers: dict[str, Faker], locale: str | None
) -> tuple[str, str]:
    if locale is None:
        given_names, family_names = HAND_NAMES[language]
        return rng.choice(given_names), rng.choice(family_names)
    faker = fakers[locale]
    family = faker.last_name()
    if locale in {"es_MX"} and rng.random() < 0.7:
        family = f"{family} {faker.last_name()}"  # two surnames, as people write them
    return faker.first_name(), family


@transaction.atomic
def _seed_batch(
    *,
    rng: random.Random,
    count: int,
    first_number: int,
    program: Program,
    offices: list[Office],
    officers_by_office: dict[int, list[User]],
    fakers: dict[str, Faker],
    address_faker: Faker,
    language_mix: Sequence[tuple[str, int]],
    locale_of: dict[str, str | None],
    now: dt.datetime,
    seed_value: int,
    supervisor_of: dict[int | None, User],
) -> None:
    rows: list[Participant] = []
    for i in range(count):
        language = _pick(rng, language_mix)
        given, family = _name(rng, language, fakers, locale_of[language])
        office = rng.choice(offices)
        status = _pick(rng, STATUS_MIX)
        enrolled_at = now - dt.timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1439))
        number = first_number + i + 1
        case_number = f"A{number:07d}-{rng.randint(10, 99)}"
        p = Participant(
            program=program,
            case_number=case_number,
            given_name=given,
            family_name=family,
            date_of_birth=dt.date(rng.randint(1960, 2006), rng.randint(1, 12), rng.randint(1, 28)),
            preferred_language=language,
            time_zone=office.time_zone,
            office=office,
            officer=rng.choice(officers_by_office[office.pk]),
            status=status,
            enrolled_at=enrolled_at,
            level=_pick(rng, LEVEL_MIX),
        )
        if status == Status.CLOSED:
            p.closure_reason = _pick(rng, CLOSURE_MIX)
            p.closed_at = enrolled_at + dt.timedelta(days=rng.randint(30, 400))
            p.closed_at = min(p.closed_at, now)
            if p.closure_reason in ADVERSE_NOTES:  # a person decides, with a note
                p.closed_by = supervisor_of.get(office.pk)
                p.closure_note = ADVERSE_NOTES[p.closure_reason]
        p.search_text = search_fold(f"{family} {given} {case_number}")
        if number <= PORTRAITS_UP_TO:
            portrait = enrolment_photo(portrait_key(seed_value, case_number))
            p.photo.save(f"demo-{case_number}.jpg", ContentFile(portrait), save=False)
        rows.append(p)
    Participant.objects.bulk_create(rows, batch_size=500)
    if rows[0].pk is None:  # backends that do not return ids from bulk inserts
        by_case = dict(
            Participant.objects.filter(
                program=program, case_number__in=[p.case_number for p in rows]
            ).values_list("case_number", "pk")
        )
        for p in rows:
            p.pk = by_case[p.case_number]
    phones, addresses, plans, events, hearings, counsel, conditions = [], [], [], [], [], [], []
    area_codes = {o.pk: o.phone[2:5] for o in offices}
    for p in rows:
        phones.append(
            Phone(
                participant_id=p.pk,
                number=f"+1{area_codes[p.office_id]}55501{rng.randint(0, 99):02d}",
                is_primary=True,
            )
        )
        office = next(o for o in offices if o.pk == p.office_id)
        city_state = office.address.rsplit(",", 2)
        addresses.append(
            Address(
                participant_id=p.pk,
                line1=address_faker.street_address(),
                city=city_state[-2].strip() if len(city_state) >= 2 else "",
                region=city_state[-1].strip()[:2],
                postal_code=city_state[-1].strip()[3:],
                valid_from=p.enrolled_at.date(),
            )
        )
        level = p.level
        phone_checkins = rng.random() < 0.2
        review_in = rng.randint(-5, 180)
        stepped_at = None
        if (
            p.status != Status.CLOSED
            and level in STEP_DOWN_FROM
            and p.enrolled_at < now - dt.timedelta(days=120)
            and rng.random() < STEPPED_DOWN_SHARE
        ):
            stepped_at = now - dt.timedelta(days=rng.randint(15, 80), hours=rng.randint(0, 8))
        first_level = STEP_DOWN_FROM[Level(level)] if stepped_at else level

        common = {
            "participant_id": p.pk,
            "app_checkins": True,
            "phone_checkins": phone_checkins,
            "review_date": (now + dt.timedelta(days=review_in)).date(),
        }
        closed = p.closed_at if p.status == Status.CLOSED else None
        plans.append(
            _plan(first_level, p.enrolled_at, stepped_at or closed, "Initial plan", **common)
        )
        events.append(
            ParticipantEvent(
                participant_id=p.pk,
                at=p.enrolled_at,
                kind=EventKind.ENROLLED,
                summary=f"Enrolled at {office.name} on a {Level(first_level).label.lower()} plan",
            )
        )
        if stepped_at is not None:
            reason = STEP_DOWN_PREFIX + rng.choice(STEP_DOWN_REASONS)
            by = supervisor_of.get(p.office_id)
            plans.append(_plan(level, stepped_at, None, reason, changed_by=by, **common))
            events.append(
                ParticipantEvent(
                    participant_id=p.pk,
                    at=stepped_at,
                    kind=EventKind.PLAN_CHANGED,
                    summary=f"Plan: {Level(level).label} - {reason}",
                )
            )
        if p.status != Status.CLOSED and rng.random() < PAST_HEARING_SHARE:
            court, court_address = rng.choice(COURTS)
            held = max(now - dt.timedelta(days=rng.randint(2, 88)), p.enrolled_at)
            local = dt.datetime.combine(
                held.date(), dt.time(rng.choice([8, 9, 10, 13, 14]), rng.choice([0, 30]))
            ).replace(tzinfo=ZoneInfo(p.time_zone))
            if local < now - dt.timedelta(days=1):
                hearings.append(
                    Hearing(
                        participant_id=p.pk,
                        court=court,
                        court_address=court_address,
                        kind=HearingKind.MASTER_CALENDAR,
                        time_zone=p.time_zone,
                        scheduled_at=local,
                        outcome=_pick(rng, PAST_HEARING_OUTCOMES),
                        outcome_recorded_at=local + dt.timedelta(hours=rng.randint(2, 30)),
                    )
                )
        if p.status != Status.CLOSED and rng.random() < 0.45:
            court, court_address = rng.choice(COURTS)
            local = dt.datetime.combine(
                (now + dt.timedelta(days=rng.randint(3, 240))).date(),
                dt.time(rng.choice([8, 9, 10, 13, 14]), rng.choice([0, 30])),
            )
            hearings.append(
                Hearing(
                    participant_id=p.pk,
                    court=court,
                    court_address=court_address,
                    kind=rng.choice(
                        [
                            HearingKind.MASTER_CALENDAR,
                            HearingKind.MASTER_CALENDAR,
                            HearingKind.INDIVIDUAL,
                            HearingKind.BOND,
                        ]
                    ),
                    time_zone=p.time_zone,
                    scheduled_at=local.replace(tzinfo=ZoneInfo(p.time_zone)),
                )
            )
        if rng.random() < 0.3:
            counsel.append(
                Counsel(
                    participant_id=p.pk,
                    name=address_faker.name(),
                    organisation=rng.choice(
                        [
                            "Legal Aid Society",
                            "Immigrant Defense Project",
                            "Public Defender",
                            "Catholic Charities Legal",
                        ]
                    ),
                    email="counsel@example.org",
                    consent_to_notices=rng.random() < 0.6,
                    consent_recorded_at=p.enrolled_at,
                )
            )
        if rng.random() < 0.5:
            flags = rng.sample(ConditionFlag.values, k=rng.randint(1, 3))
            conditions.append(
                ReleaseConditions(
                    participant_id=p.pk,
                    flags=sorted(flags),
                    text="Report as directed; keep the program informed of any change of address.",
                )
            )
    Phone.objects.bulk_create(phones, batch_size=1000)
    Address.objects.bulk_create(addresses, batch_size=1000)
    SupervisionPlan.objects.bulk_create(plans, batch_size=1000)
    ParticipantEvent.objects.bulk_create(events, batch_size=1000)
    Hearing.objects.bulk_create(hearings, batch_size=1000)
    Counsel.objects.bulk_create(counsel, batch_size=1000)
    ReleaseConditions.objects.bulk_create(conditions, batch_size=1000)
    _seed_devices(rng=rng, plans=plans, offices=offices, participants=rows, now=now)


# Protocol mix of the seeded fleet; OsmAnd devices are phones running the Traccar Client app.
def _demo_identifier(rng: random.Random, protocol: str, imei: str) -> str:
    """An IMEI for trackers; for a phone app a long random id, as registration generates
    (deterministic from the seed, so re-seeding gives the same devices)."""
    if protocol != "osmand":
        return imei
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "app-" + "".join(rng.choice(alphabet) for _ in range(20))


DEVICE_PROTOCOL_MIX = (("gt06", 50), ("teltonika", 25), ("mqtt", 10), ("osmand", 15))
STOCK_PER_OFFICE = 10


def _seed_devices(
    *,
    rng: random.Random,
    plans: list[SupervisionPlan],
    offices: list[Office],
    participants: list[Participant],
    now: dt.datetime,
) -> None:
    """A device fitted on every open case whose plan includes GPS, and a few in stock per
    office. Identifiers are 15-digit IMEI-like numbers starting "35", derived from the
    participant (or office) id so that re-seeding never collides."""
    office_of = {p.pk: p.office_id for p in participants}
    devices: list[Device] = []
    wearers: list[tuple[int, dt.datetime]] = []
    for plan in plans:
        if not plan.gps_device or plan.effective_to is not None:
            continue
        protocol = _pick(rng, DEVICE_PROTOCOL_MIX)
        kind = "phone" if protocol == "osmand" else ("wrist" if rng.random() < 0.2 else "ankle")
        devices.append(
            Device(
                identifier=_demo_identifier(rng, protocol, f"35{plan.participant_id:013d}"),
                kind=kind,
                protocol=protocol,
                status=DeviceStatus.ASSIGNED,
                office_id=office_of[plan.participant_id],
                firmware=rng.choice(["1.4.2", "1.5.0", "2.0.1"]),
            )
        )
        wearers.append((plan.participant_id, plan.effective_from))
    for office in offices:
        if Device.objects.filter(office=office, status=DeviceStatus.IN_STOCK).exists():
            continue
        for n in range(STOCK_PER_OFFICE):
            protocol = _pick(rng, DEVICE_PROTOCOL_MIX)
            devices.append(
                Device(
                    identifier=_demo_identifier(rng, protocol, f"359{office.pk:04d}{n:08d}"),
                    kind="phone" if protocol == "osmand" else "ankle",
                    protocol=protocol,
                    office=office,
                )
            )
    created = Device.objects.bulk_create(devices, batch_size=1000)
    DeviceAssignment.objects.bulk_create(
        [
            DeviceAssignment(device_id=device.pk, participant_id=participant_id, started_at=at)
            for device, (participant_id, at) in zip(created, wearers, strict=False)
        ],
        batch_size=1000,
    )
    # Bulk inserts send no signals: tell running gateways (``ontrack demo`` starts them
    # before seeding) that these devices exist, or they refuse them until their next full
    # reload.
    directory_changed()
