from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from ontrack.accounts.models import User
from ontrack.participants.models import Participant

from .conftest import FIX_COUNT

pytestmark = pytest.mark.django_db


def test_commands_move_a_record_between_programs(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "record.xml"
    call_command(
        "otrts_export",
        str(tracked["participant"].pk),
        str(out),
        user=supervisor.username,
        purpose="Program moves to the county system",
        stdout=StringIO(),
    )
    said = StringIO()
    call_command(
        "otrts_import",
        str(out),
        user=target["admin"].username,
        office=target["office"].pk,
        officer=target["officer"].username,
        stdout=said,
    )
    assert f"{FIX_COUNT} positions" in said.getvalue()
    copy = Participant.objects.get(program=target["program"])
    assert copy.case_number == tracked["participant"].case_number


def test_import_command_reports_a_bad_file_by_element(
    tracked: dict[str, Any], target: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<nope/>")
    with pytest.raises(CommandError, match="Wrong root element"):
        call_command(
            "otrts_import", str(bad), user=target["admin"].username, office=target["office"].pk
        )
