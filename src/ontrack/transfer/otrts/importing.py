"""An OTRTS record imported as a new participant, all or nothing.

The document is read and checked whole first (``reading``); then, in one transaction, each
part is handed to the app that owns it, through its services, which validate and log it:
the person and their case to ``participants.services`` (enrolled, then moved to the status
the record gives, a closure keeping its original decider), the devices, wearings, positions
and device events to ``tracking.history_import`` (history devices, never live ones), the
alerts to ``alerts.services.alerts_import_history`` (never notifying anyone), and the
import itself to the access log. The caller gets what the document's device identifiers
became, to show after the import.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction

from ontrack.accounts.models import Office, Program, User
from ontrack.alerts.services import alerts_import_history
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.models import EventKind, Participant, Status
from ontrack.participants.services import (
    PlanData,
    participant_activate,
    participant_close_imported,
    participant_enrol,
    participant_suspend,
)
from ontrack.tracking.history_import import history_days_prepare, history_import
from ontrack.transfer.otrts.reading import Record, record_read

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    """What an import made, for the console page and the command to show."""

    participant: Participant
    devices: dict[str, str]  # original identifier -> history device identifier
    positions: int
    device_events: int
    alerts: int


def _enrol(
    record: Record, *, user: User, program: Program, office: Office, officer: User | None
) -> Participant:
    """The person, enrolled and moved to the status the record gives."""
    participant = participant_enrol(
        actor=user,
        program=program,
        office=office,
        officer=officer,
        case_number=record.case_number,
        given_name=record.given_name,
        family_name=record.family_name,
        date_of_birth=record.date_of_birth,
        preferred_language=record.language,
        time_zone=record.time_zone,
        email=record.email,
        phones=record.phones,
        address=record.address,
        enrolled_at=record.enrolled_at,
        plan=PlanData(level=record.level, review_date=record.review_date, gps_device=record.gps),
        event_kind=EventKind.IMPORTED,
    )
    if record.status == Status.ACTIVE:
        participant_activate(participant, actor=user)
    elif record.status == Status.SUSPENDED:
        participant_suspend(participant, actor=user, reason="imported as suspended")
    elif record.status == Status.CLOSED:
        assert record.closure is not None
        participant_close_imported(
            participant, importer=user, reason=record.closure_reason, decision=record.closure
        )
    return participant


def otrts_import_detailed(
    xml_bytes: bytes, *, user: User, program: Program, office: Office, officer: User | None
) -> ImportResult:
    """Import one tracking record as a new participant; see the module docstring."""
    if not user.manages_caseloads:
        raise PermissionDenied("Only supervisors and administrators import records.")
    record = record_read(xml_bytes)
    history_days_prepare(record.points)
    with transaction.atomic():
        participant = _enrol(record, user=user, program=program, office=office, officer=officer)
        devices = history_import(
            participant,
            importer=user,
            devices=record.devices,
            wearings=record.wearings,
            points=record.points,
            events=record.events,
        )
        alerts_import_history(
            participant,
            [
                dataclasses.replace(alert, device_id=devices[ref].pk if ref else None)
                for alert, ref in record.alerts
            ],
            importer=user,
            source_system=record.source_system,
        )
        access_log_record(
            user=user,
            action=AccessAction.IMPORT,
            what="OTRTS tracking record (XML)",
            participant_ids=[participant.pk],
        )
    logger.info(
        "otrts_import participant=%s user=%s positions=%s alerts=%s",
        participant.pk,
        user.pk,
        len(record.points),
        len(record.alerts),
    )
    return ImportResult(
        participant=participant,
        devices={record.devices[k].identifier: d.identifier for k, d in devices.items()},
        positions=len(record.points),
        device_events=len(record.events),
        alerts=len(record.alerts),
    )


def otrts_import(
    xml_bytes: bytes, *, user: User, program: Program, office: Office, officer: User | None
) -> Participant:
    """Import one OTRTS tracking record as a new participant of ``program`` at ``office``."""
    return otrts_import_detailed(
        xml_bytes, user=user, program=program, office=office, officer=officer
    ).participant
