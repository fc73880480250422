"""The lists' ``choice_label`` filter shows what ``get_FOO_display`` shows, translated when
rendered in the reader's language, however many times the field's labels were read before."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation

from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Priority
from ontrack.schedule.models import CheckinWindow

ROW = Template("{% load choice_label %}{{ a|choice_label:'kind' }}|{{ a|choice_label:'status' }}")


def test_every_choice_is_labelled_as_get_display_labels_it() -> None:
    for kind in AlertKind.values:
        alert = Alert(kind=kind, priority=Priority.HIGH, status=AlertStatus.OPEN)
        assert ROW.render(Context({"a": alert})) == (
            f"{alert.get_kind_display()}|{alert.get_status_display()}"
        )
    for outcome, label in CheckinWindow._meta.get_field("outcome").flatchoices:
        window = CheckinWindow(outcome=outcome)
        rendered = Template("{% load choice_label %}{{ w|choice_label:'outcome' }}").render(
            Context({"w": window})
        )
        assert rendered == str(label) == window.get_outcome_display()


def test_labels_are_translated_when_rendered_not_when_first_read() -> None:
    alert = Alert(kind=AlertKind.STRAP_TAMPER, status=AlertStatus.OPEN)
    english = ROW.render(Context({"a": alert}))
    with translation.override("es"):
        spanish = ROW.render(Context({"a": alert}))
        assert spanish == f"{alert.get_kind_display()}|{alert.get_status_display()}"
    assert ROW.render(Context({"a": alert})) == english


def test_a_value_outside_the_choices_is_shown_as_it_is() -> None:
    alert = Alert(kind="retired_kind", status=AlertStatus.OPEN)
    assert ROW.render(Context({"a": alert})).startswith("retired_kind|")
