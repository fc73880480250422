"""The data inventory: what ontrack stores about a participant, why, for how long, and who
can see it, generated from the models and the settings rather than written by hand.

Every model of ours that reaches ``participants.Participant`` through foreign keys is part
of a participant's record. Its purpose is its docstring, its contents its fields' names and
help texts, its retention the kind registered for it in ``ontrack.audit.retention`` (or
"kept with the case"), and who reads it the role scopes that ``participants_visible_to``
enforces. A model added tomorrow appears here without anyone remembering to document it.
"""

from __future__ import annotations

import inspect
from collections import deque
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from ontrack.accounts.models import Role
from ontrack.audit.retention import retention_days, retention_kind_for_model
from ontrack.participants.models import Participant
from ontrack.participants.queries import ROLE_SCOPE, Scope

MAX_HOPS = 3


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


def _participant_path(model: type[models.Model]) -> list[str] | None:
    """Field names leading from ``model`` to Participant by foreign keys (shortest first),
    or None when the model is not about a participant."""
    if model is Participant:
        return []
    seen: set[type[models.Model]] = {model}
    queue: deque[tuple[type[models.Model], list[str]]] = deque([(model, [])])
    while queue:
        current, path = queue.popleft()
        if len(path) >= MAX_HOPS:
            continue
        for field in current._meta.get_fields():
            if not (field.many_to_one or field.one_to_one) or not field.concrete:
                continue
            target = field.related_model
            if not isinstance(target, type) or target in seen:
                continue
            if target is Participant:
                return [*path, field.name]
            if target._meta.app_label in {"accounts", "audit"}:
                continue
            seen.add(target)
            queue.append((target, [*path, field.name]))
    return None


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


def data_inventory() -> list[InventoryEntry]:
    """Every model holding data about a participant, in app then model order."""
    entries = []
    for model in apps.get_models():
        if not model.__module__.startswith("ontrack."):
            continue
        path = _participant_path(model)
        if path is None:
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
                link=" → ".join(path) if path else "the participant",
                fields=_fields(model),
                retention=(
                    f"{kind.label}: {days} days, then purged nightly"
                    if kind and days
                    else "Kept with the case (see the closed-cases policy)"
                ),
                retention_days=days,
            )
        )
    return sorted(entries, key=lambda e: (e.app, e.name))


@dataclass(frozen=True)
class RoleAccess:
    role: str
    scope: str
    reads_records: bool


def role_access() -> list[RoleAccess]:
    """Who reads participant records, straight from the scopes the queries enforce."""
    return [
        RoleAccess(
            role=str(label),
            scope=str(ROLE_SCOPE.get(value, Scope.NONE).label),
            reads_records=ROLE_SCOPE.get(value, Scope.NONE) != Scope.NONE,
        )
        for value, label in Role.choices
    ]
