"""Message templates: the words of each notice in each language, and rendering them for one
participant. The bodies ship in ``default_templates`` and are installed by a data
migration; officers' edits live in the database and are never overwritten."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.apps import apps as django_apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from ontrack.accounts.models import User
from ontrack.messaging.datefmt import LANGUAGES as FORMATTED_LANGUAGES
from ontrack.messaging.default_templates import (
    TEMPLATES,
    reminder_rules_add_missing,
    templates_add_missing,
)
from ontrack.messaging.models import Template, TemplateBody
from ontrack.messaging.rendering import render
from ontrack.participants.models import Participant


@dataclass(frozen=True)
class Rendered:
    language: str
    body: str


def participant_values(participant: Participant) -> dict[str, object]:
    """The variables every body may use without the caller passing them."""
    office = participant.office
    return {
        "name": participant.given_name,
        "office": office.name,
        "office_phone": office.phone,
        "office_address": " ".join(office.address.split()),
    }


def language_for(participant: Participant, available: Iterable[str]) -> str:
    """The participant's language when the template has it, else the program's default,
    else English (every shipped template has English)."""
    languages = set(available)
    for language in (participant.preferred_language, participant.program.default_language):
        if language in languages:
            return language
    return "en" if "en" in languages or not languages else sorted(languages)[0]


def template_get(key: str) -> Template:
    """The template, installing the shipped ones first if this database lacks them (a data
    migration installs them, but a flushed test database or a restored dump may not have
    them, and a notice must not fail for that)."""
    try:
        return Template.objects.prefetch_related("bodies").get(key=key)
    except Template.DoesNotExist:
        if key not in TEMPLATES:
            raise ValueError(f"no message template {key!r}") from None
    templates_install()
    return Template.objects.prefetch_related("bodies").get(key=key)


def template_render(
    template: Template, participant: Participant, context: Mapping[str, object]
) -> Rendered:
    bodies = {b.language: b.body for b in template.bodies.all()}
    language = language_for(participant, bodies)
    values = {**participant_values(participant), **context}
    tz = ZoneInfo(participant.time_zone)
    fmt_language = language if language in FORMATTED_LANGUAGES else "en"
    return Rendered(language, render(bodies.get(language, ""), values, fmt_language, tz))


def template_body_save(*, user: User, template: Template, language: str, body: str) -> TemplateBody:
    """Edit (or add) one language's body. Administrators and supervisors only: these words go
    to every participant of the program."""
    if not template_editable_by(user):
        raise PermissionDenied("Only administrators and supervisors edit message templates.")
    if language not in dict(settings.LANGUAGES) and language not in FORMATTED_LANGUAGES:
        raise ValidationError({"language": f"{language!r} is not a language ontrack speaks."})
    if not body.strip():
        raise ValidationError({"body": "A message cannot be empty."})
    saved, _ = TemplateBody.objects.update_or_create(
        template=template, language=language, defaults={"body": body.strip()}
    )
    template.save(update_fields=["updated_at"])
    return saved


def template_editable_by(user: User) -> bool:
    return user.is_active and user.role in {"administrator", "supervisor"}


def templates_install() -> int:
    """Add any default template, body or reminder rule that is missing (never overwriting
    an edit). Returns how many rows were added."""
    return templates_add_missing(django_apps, TEMPLATES) + reminder_rules_add_missing(django_apps)
