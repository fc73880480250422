"""Adverse decisions travel with the record: who decided, when, and the note. On import they
stay the original decider's, shown as imported ("decided by ... on ..., imported ... by
..."), and are never attributed to the supervisor who ran the import."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert
from ontrack.participants.models import Participant
from ontrack.participants.services import participant_close
from ontrack.transfer.otrts.importing import otrts_import
from ontrack.transfer.otrts.schema import OT_NS

from .conftest import export_xml

pytestmark = pytest.mark.django_db

NS = {"nc": "http://release.niem.gov/niem/niem-core/3.0/", "ot": OT_NS}
NOTE = "No contact for 30 days; the sponsor says he left the state."


def _closed_as_absconded(tracked: dict[str, Any], officer: User) -> Participant:
    participant = tracked["participant"]
    participant_close(participant, actor=officer, reason="absconded", note=NOTE)
    participant.refresh_from_db()
    return participant


def _import(xml: bytes, target: dict[str, Any]) -> Participant:
    return otrts_import(
        xml,
        user=target["admin"],
        program=target["program"],
        office=target["office"],
        officer=target["officer"],
    )


def test_the_export_carries_who_closed_the_case_when_and_why(
    tracked: dict[str, Any], officer: User, supervisor: User
) -> None:
    participant = _closed_as_absconded(tracked, officer)
    root = ET.fromstring(export_xml(participant, supervisor))  # noqa: S314
    sup = root.find("ot:Supervision", NS)
    assert sup is not None
    assert sup.findtext("ot:SupervisionClosureDeciderName", namespaces=NS) == str(officer)
    assert sup.findtext("ot:SupervisionClosureDeciderOrganizationName", namespaces=NS) == "Newark"
    assert sup.findtext("ot:SupervisionClosureNoteText", namespaces=NS) == NOTE
    when = sup.findtext("ot:SupervisionClosureDate/nc:DateTime", namespaces=NS)
    assert when is not None
    assert participant.closed_at is not None
    assert dt.datetime.fromisoformat(when) == participant.closed_at


def test_an_imported_closure_stays_the_original_deciders_and_says_it_was_imported(
    tracked: dict[str, Any],
    officer: User,
    supervisor: User,
    target: dict[str, Any],
    client_for: Callable[[User], Any],
) -> None:
    original = _closed_as_absconded(tracked, officer)
    copy = _import(export_xml(original, supervisor), target)
    copy.refresh_from_db()
    admin = target["admin"]
    assert copy.closed_by is None, "the importing administrator did not decide this closure"
    assert (copy.closure_decided_by_name, copy.closure_decided_by_office) == (
        str(officer),
        "Newark",
    )
    assert (copy.closure_reason, copy.closure_note, copy.closed_at) == (
        "absconded",
        NOTE,
        original.closed_at,
    )
    assert copy.closure_imported_by == admin
    assert copy.closure_imported_at is not None
    page = client_for(admin).get(f"/participants/{copy.pk}/").content.decode()
    decided = original.closed_at
    assert decided is not None
    today = timezone.localdate()
    assert (
        f"decided by {officer} at Newark on {decided:%Y-%m-%d}, "
        f"imported {today:%Y-%m-%d} by {admin}"
    ) in page
    assert f"decided by {admin}" not in page


def test_an_imported_confirmed_violation_keeps_its_resolver_note_and_time(
    tracked: dict[str, Any],
    supervisor: User,
    target: dict[str, Any],
    client_for: Callable[[User], Any],
) -> None:
    source = Alert.objects.get(
        participant=tracked["participant"], disposition="confirmed_violation"
    )
    copy = _import(export_xml(tracked["participant"], supervisor), target)
    alert = Alert.objects.get(participant=copy, disposition="confirmed_violation")
    admin = target["admin"]
    assert alert.resolved_by is None, "the importing administrator confirmed no violation"
    assert (alert.resolved_by_name, alert.resolved_by_office) == (str(supervisor), "Newark")
    assert (alert.resolution_note, alert.closed_at) == (source.resolution_note, source.closed_at)
    assert alert.resolution_imported_by == admin
    assert alert.resolution_imported_at is not None
    page = client_for(admin).get(f"/alerts/{alert.pk}/").content.decode()
    assert source.closed_at is not None
    assert (
        f"decided by {supervisor} at Newark on {source.closed_at:%Y-%m-%d}, "
        f"imported {timezone.localdate():%Y-%m-%d} by {admin}"
    ) in page
    assert f"Resolved by {admin}" not in page


def test_a_record_with_an_adverse_closure_nobody_decided_is_refused(
    tracked: dict[str, Any], officer: User, supervisor: User, target: dict[str, Any]
) -> None:
    xml = export_xml(_closed_as_absconded(tracked, officer), supervisor)
    root = ET.fromstring(xml)  # noqa: S314 (our own export)
    sup = root.find("ot:Supervision", NS)
    assert sup is not None
    decider = sup.find("ot:SupervisionClosureDeciderName", NS)
    assert decider is not None
    sup.remove(decider)
    before = Participant.objects.count()
    with pytest.raises(ValidationError, match="ot:SupervisionClosureDeciderName"):
        _import(ET.tostring(root), target)
    assert Participant.objects.count() == before


def test_a_confirmed_violation_nobody_resolved_is_refused(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    xml = export_xml(tracked["participant"], supervisor)
    text = xml.decode()
    resolver = f"<ot:AlertResolvedByText>{supervisor}</ot:AlertResolvedByText>"
    assert resolver in text
    with pytest.raises(ValidationError, match="ot:AlertResolvedByText"):
        _import(text.replace(resolver, "").encode(), target)


def test_the_database_refuses_an_outside_deciders_name_without_import_provenance(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(
            status="closed",
            closure_reason="absconded",
            closure_note=NOTE,
            closure_decided_by_name="J. Smith",
        )
    Participant.objects.filter(pk=person.pk).update(
        status="closed",
        closure_reason="absconded",
        closure_note=NOTE,
        closure_decided_by_name="J. Smith",
        closure_imported_at=timezone.now(),
        closure_imported_by=officer,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(closure_note="")


@pytest.mark.django_db(transaction=True)
def test_records_imported_before_the_upgrade_stop_naming_the_importer_as_decider(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    """Before, the importer was written as the closure's decider (note "imported as
    closed") and as the violation's resolver (the original kept in ``imported_from``)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    copy = _import(export_xml(tracked["participant"], supervisor), target)
    admin = target["admin"]
    latest = list(MigrationExecutor(connection).loader.graph.leaf_nodes())
    before = [
        ("participants", "0008_departed_is_adverse"),
        ("alerts", "0003_rule_battery_level_and_minutes_without_fix"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old.get_model("participants", "Participant").objects.filter(pk=copy.pk).update(
        status="closed", closure_reason="detained", closure_note="imported as closed",
        closed_by_id=admin.pk, closed_at=timezone.now(),
    )  # fmt: skip
    old.get_model("alerts", "Alert").objects.filter(
        participant_id=copy.pk, disposition="confirmed_violation"
    ).update(resolved_by_id=admin.pk)
    MigrationExecutor(connection).migrate(latest)

    copy.refresh_from_db()
    assert (copy.closed_by, copy.closure_imported_by) == (None, admin)
    assert copy.closure_decided_by_name == "(not in the imported record)"
    violation = Alert.objects.get(participant=copy, disposition="confirmed_violation")
    assert (violation.resolved_by, violation.resolution_imported_by) == (None, admin)
    assert violation.resolved_by_name == str(supervisor), "the resolver the record named"
