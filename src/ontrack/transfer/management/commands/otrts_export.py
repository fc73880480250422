"""``ontrack manage otrts_export --user NAME --purpose TEXT PARTICIPANT_ID OUT.xml``: the
OTRTS tracking record of one participant, exported as that staff member for a stated purpose
(checked and access-logged as in the console)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.transfer.otrts.export import otrts_export


class Command(BaseCommand):
    help = "Export one participant's tracking record as OTRTS XML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", required=True, help="Staff username the export is logged under."
        )
        parser.add_argument(
            "--purpose", required=True, help="Why the record is exported (access log)."
        )
        parser.add_argument("participant_id", type=int)
        parser.add_argument("out", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active staff member {options['user']!r}.")
        participant = Participant.objects.filter(pk=options["participant_id"]).first()
        if participant is None:
            raise CommandError("No such participant.")
        try:
            content = otrts_export(participant, user=user, purpose=options["purpose"])
        except (PermissionDenied, Http404) as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with content, options["out"].open("wb") as out:
            shutil.copyfileobj(content, out)
            size = out.tell()
        self.stdout.write(f"Wrote {size} bytes to {options['out']}.")
