"""``{{ alert|choice_label:"kind" }}``: what ``alert.get_kind_display`` shows, for the lists'
rows. Django's ``get_FOO_display`` rebuilds a dict of the field's choices on every call,
hashing each lazily translated label, which translates it: 0.05–0.2 ms a call, five calls a
row on the alert queue, one on the day's schedule (bench/pages.py). Here each field's dict
is built once; its labels stay lazy, translated when rendered, in the reader's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Field, Model

register = template.Library()

_LABELS: dict[Field[Any, Any], dict[Any, Any]] = {}


@register.filter
def choice_label(obj: Model, name: str) -> Any:
    """The label of ``obj``'s value for the choice field ``name``; the value itself when it
    is not among the choices, as ``get_FOO_display`` does."""
    field = obj._meta.get_field(name)
    assert isinstance(field, Field)
    labels = _LABELS.get(field)
    if labels is None:
        labels = _LABELS.setdefault(field, dict(field.flatchoices))
    value = getattr(obj, field.attname)
    return labels.get(value, value)
