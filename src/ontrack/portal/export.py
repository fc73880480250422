"""What the program holds on a participant, for their "my data" page and download.

Built from the models rather than a hand-written list: every row of every model in the
listed apps that points at the participant, so that a new table cannot be forgotten. Secrets
(hashes of the PIN and sign-in codes) and internal search keys are left out."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from ontrack.participants.models import Participant

EXPORT_APPS = ("participants", "schedule", "messaging", "alerts", "tracking", "portal")
ROW_LIMIT = 10_000
_HIDDEN = {"search_text", "pin_hash", "code_hash", "token_hash"}

PROFILE_FIELDS = (
    "case_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "preferred_language",
    "email",
    "time_zone",
    "status",
    "level",
    "enrolled_at",
)


def _row(obj: models.Model) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in _HIDDEN or field.name.endswith("_hash"):
            continue
        value = getattr(obj, field.attname)
        if isinstance(field, models.FileField):
            value = value.name if value else ""
        row[field.name] = value
    return row


def _participant_fks(model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and f.related_model is Participant
    ]


def participant_data(participant: Participant) -> dict[str, Any]:
    """``{"profile": {...}, "records": {"<app>.<model>": [rows]}}`` for this participant."""
    profile = {name: getattr(participant, name) for name in PROFILE_FIELDS}
    profile["office"] = str(participant.office)
    records: dict[str, list[dict[str, Any]]] = {}
    for label in EXPORT_APPS:
        if not apps.is_installed(f"ontrack.{label}"):
            continue
        for model in apps.get_app_config(label).get_models():
            for fk in _participant_fks(model):
                rows = [
                    _row(obj)
                    for obj in model._default_manager.filter(**{fk: participant}).order_by("pk")[
                        :ROW_LIMIT
                    ]
                ]
                if rows:
                    records[f"{label}.{model._meta.model_name}"] = rows
    return {"profile": profile, "records": records}
