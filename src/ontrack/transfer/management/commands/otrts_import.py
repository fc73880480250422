"""``ontrack manage otrts_import --user NAME --office ID [--officer NAME] FILE.xml``: enrol
the person of one OTRTS tracking record with their history (all or nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ontrack.accounts.models import Office, User
from ontrack.transfer.otrts.importing import otrts_import_detailed


class Command(BaseCommand):
    help = "Import one OTRTS tracking record as a new participant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Supervisor or administrator importing.")
        parser.add_argument("--office", type=int, required=True, help="Office id to enrol at.")
        parser.add_argument("--officer", default="", help="Username of the case officer.")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        office = Office.objects.select_related("program").filter(pk=options["office"]).first()
        if user is None or office is None:
            raise CommandError("Unknown --user or --office.")
        officer = None
        if options["officer"]:
            officer = User.objects.filter(username=options["officer"]).first()
            if officer is None:
                raise CommandError(f"No staff member {options['officer']!r}.")
        try:
            result = otrts_import_detailed(
                options["file"].read_bytes(),
                user=user,
                program=office.program,
                office=office,
                officer=officer,
            )
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from None
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        self.stdout.write(
            f"Enrolled {result.participant} (id {result.participant.pk}): "
            f"{result.positions} positions, {result.device_events} device events, "
            f"{result.alerts} alerts."
        )
