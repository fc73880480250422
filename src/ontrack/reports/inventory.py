"""The data inventory: what ontrack stores about a participant, why, for how long, and who
can see it, generated from the models and the settings rather than written by hand.

Every model of ours that reaches ``participants.Participant`` through foreign keys is part
of a participant's record, and so is a model that names a participant by a plain
``participant_id`` (the access log, which must outlive the record it describes). Its purpose
is its docstring, its contents its fields' names and help texts, its retention the kind
registered for it in ``ontrack.audit.retention`` (or "kept with the case"), and who reads it
the rule the code enforces: the role scopes of ``participants_visible_to`` for the record,
the ``User`` permission named in ``READ_RULES`` for data read under a rule of its own. A
model added tomorrow appears here without anyone remembering to document it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from ontrack.accounts.models import Role, User
from ontrack.audit.retention import retention_days, retention_kind_for_model
from ontrack.participants.queries import ROLE_SCOPE, Scope, participant_path

PLAIN_ID = "participant_id"

# Data read under a rule other than "the participants this role may see": the model, the
# ``User`` property the views check, and what a role that passes reads.
READ_RULES: dict[str, tuple[str, str]] = {
    "audit.AccessLogEntry": ("reads_access_log", "every entry, of every participant"),
}


@dataclass(frozen=True)
class InventoryField:
    name: str
    label: str
    help: str


@dataclass(frozen=True)
class InventoryEntry:
    label: str
    name: str
    app: str
    purpose: str
    link: str
    fields: list[InventoryField]
    retention: str
    retention_days: int | None
    readers: list[str]


def _purpose(model: type[models.Model]) -> str:
    doc = inspect.getdoc(model) or ""
    generated = doc.startswith(f"{model.__name__}(")
    return "" if generated else " ".join(doc.split("\n\n")[0].split())


def _fields(model: type[models.Model]) -> list[InventoryField]:
    rows = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        rows.append(
            InventoryField(
                name=field.name,
                label=str(getattr(field, "verbose_name", field.name)),
                help=str(getattr(field, "help_text", "") or ""),
            )
        )
    return rows


def _plain_id_link(model: type[models.Model]) -> str | None:
    """How a model names a participant by a plain id column rather than a foreign key."""
    for field in model._meta.concrete_fields:
        if field.name == PLAIN_ID and not field.is_relation:
            return f"{PLAIN_ID} (a plain id, no foreign key: it outlives the record)"
    return None


def _roles_passing(check: Callable[[User], bool]) -> list[str]:
    """The roles for which ``check`` holds of an active staff member, asked of the very
    property the views use, so that the page follows the code."""
    return [str(label) for value, label in Role.choices if check(User(role=value, is_active=True))]


def readers_of(label: str) -> list[str]:
    """Who can see the data of model ``label``: each role with what it reads."""
    rule = READ_RULES.get(label)
    if rule is not None:
        permission, reach = rule
        return [
            f"{role}: {reach}"
            for role in _roles_passing(lambda user: bool(getattr(user, permission)))
        ]
    readers = []
    for value, role in Role.choices:
        scope = ROLE_SCOPE.get(value, Scope.NONE)
        if scope != Scope.NONE and User(role=value, is_active=True).reads_participants:
            readers.append(f"{role}: {scope.label}")
    return readers


def data_inventory() -> list[InventoryEntry]:
    """Every model holding data about a participant, in app then model order."""
    entries = []
    for model in apps.get_models():
        if not model.__module__.startswith("ontrack."):
            continue
        path = participant_path(model)
        plain = _plain_id_link(model) if path is None else None
        if path is None and plain is None:
            continue
        label = model._meta.label
        kind = retention_kind_for_model(label)
        days = retention_days(kind.key) if kind else None
        entries.append(
            InventoryEntry(
                label=label,
                name=str(model._meta.verbose_name_plural).capitalize(),
                app=str(apps.get_app_config(model._meta.app_label).verbose_name),
                purpose=_purpose(model),
                link=plain or (" → ".join(path) if path else "the participant"),
                fields=_fields(model),
                retention=(
                    f"{kind.label}: {days} days, then purged nightly"
                    if kind and days
                    else "Kept with the case (see the closed-cases policy)"
                ),
                retention_days=days,
                readers=readers_of(label),
            )
        )
    return sorted(entries, key=lambda e: (e.app, e.name))


@dataclass(frozen=True)
class RoleAccess:
    role: str
    scope: str
    reads_records: bool
    exports_records: bool


def role_access() -> list[RoleAccess]:
    """Who reads participant records, straight from the scopes the queries enforce."""
    return [
        RoleAccess(
            role=str(label),
            scope=str(ROLE_SCOPE.get(value, Scope.NONE).label),
            reads_records=ROLE_SCOPE.get(value, Scope.NONE) != Scope.NONE,
            # The full-record exports (ZIP, location history, OTRTS) and the compliance report
            # take the people who may change the case: ``can_write_participant``, which starts
            # from this property.
            exports_records=User(role=value, is_active=True).writes_participants,
        )
        for value, label in Role.choices
    ]
