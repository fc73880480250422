import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Program, User
from ontrack.participants.importer import caseload_import
from ontrack.participants.models import EventKind, Participant
from ontrack.seed import DEMO_PROGRAM

pytestmark = pytest.mark.django_db

HEADER = "case_number,given_name,family_name,date_of_birth,language,phone,office,officer,level\n"


def _csv(officer_username: str) -> str:
    return (
        HEADER
        + "\n".join(
            [
                f"B-1,Rosa,Quispe,1988-04-12,es,973-555-0101,Newark,{officer_username},standard",
                "B-2,Jean,Pierre,1979-13-01,ht,973-555-0102,Newark,,low",  # bad month
                "B-3,Ana,Costa,02/28/1991,Portuguese,973-555-0103,Atlantis,,low",  # no such office
                "B-4,Yonas,Haile,1990-01-01,ti,12,Newark,,low",  # bad phone
                "B-5,Lucía,Mam,1995-06-30,mam,,Newark,,intensive",
                "B-1,Rosa,Quispe,1988-04-12,es,973-555-0101,Newark,,standard",  # repeated in file
                ",No,Case,1990-01-01,en,,Newark,,low",  # missing case number
                "B-6,Too,Many,1990-01-01,en,,Newark,,low,extra",
            ]
        )
        + "\n"
    )


def test_dry_run_reports_every_bad_row_with_its_line_and_writes_nothing(
    program: Program, office: Office, officer: User
) -> None:
    report = caseload_import(_csv(officer.username), program=program, actor=SYSTEM, dry_run=True)
    assert report.ok
    assert report.rows == 8
    assert report.good == 2
    assert {e.line: e.case_number for e in report.errors} == {
        3: "B-2",
        4: "B-3",
        5: "B-4",
        7: "B-1",
        8: "",
        9: "B-6",
    }
    reasons = {e.line: e.reason for e in report.errors}
    assert "date_of_birth" in reasons[3]
    assert "office 'Atlantis' does not exist" in reasons[4]
    assert "not a valid phone number" in reasons[5]
    assert "repeats line 2" in reasons[7]
    assert "case_number is empty" in reasons[8]
    assert "more fields than the header" in reasons[9]
    assert not Participant.objects.exists()


def test_import_keeps_good_rows_and_a_rerun_creates_no_duplicates(
    program: Program, office: Office, officer: User
) -> None:
    text = _csv(officer.username)
    first = caseload_import(text, program=program, actor=SYSTEM, dry_run=False)
    assert first.created == 2
    rosa = Participant.objects.get(case_number="B-1")
    assert (rosa.officer, rosa.phones.get().number) == (officer, "+19735550101")
    assert rosa.events.get().kind == EventKind.IMPORTED
    second = caseload_import(text, program=program, actor=SYSTEM, dry_run=False)
    assert (second.created, second.already_enrolled) == (0, 2)
    assert Participant.objects.count() == 2


def test_missing_required_column_is_a_file_error(program: Program, office: Office) -> None:
    report = caseload_import(
        "given_name,family_name\nA,B\n", program=program, actor=SYSTEM, dry_run=True
    )
    assert not report.ok
    assert "case_number" in report.file_error
    assert "office" in report.file_error


def test_officer_cannot_import(officer: User, client_for: Callable[[User], Client]) -> None:
    assert client_for(officer).get("/participants/import/").status_code == 403


def test_import_command_prints_each_bad_row_and_exits_1(
    tmp_path: Path, migrated_cli_env: dict[str, str]
) -> None:
    """The real `ontrack import` command, in its own process, against its own database."""
    env = migrated_cli_env
    run = [sys.executable, "-m", "ontrack.cli"]
    subprocess.run(
        [*run, "seed", "--participants", "0", "--offices", "1"],
        env=env,
        check=True,
        capture_output=True,
    )
    csv_file = tmp_path / "caseload.csv"
    csv_file.write_text(_csv("officer1").replace("Newark", "Newark Field Office"))
    result = subprocess.run(
        [*run, "import", "participants", str(csv_file), "--dry-run", "--program", DEMO_PROGRAM],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert f"{csv_file}:3: B-2:" in result.stdout
    assert "8 rows: 2 would be imported, 0 already enrolled, 6 with errors." in result.stdout
    result = subprocess.run(
        [*run, "import", "participants", str(csv_file), "--program", DEMO_PROGRAM],
        env=env,
        capture_output=True,
        text=True,
    )
    again = subprocess.run(
        [*run, "import", "participants", str(csv_file), "--program", DEMO_PROGRAM],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "2 imported" in result.stdout, result.stderr
    assert "2 already enrolled" in again.stdout


def test_names_that_look_like_spreadsheet_formulas_are_flagged(
    program: Program, office: Office
) -> None:
    text = HEADER + 'F-1,"=HYPERLINK(""http://x.example"")",Quispe,1988-04-12,es,,Newark,,low\n'
    report = caseload_import(text, program=program, actor=SYSTEM, dry_run=True)
    [error] = report.errors
    assert error.case_number == "F-1"
    assert "formula" in error.reason


def test_a_huge_field_stops_the_reading_with_a_clear_error_and_keeps_the_rows_before(
    program: Program, office: Office
) -> None:
    text = (
        HEADER
        + "H-1,Rosa,Quispe,1988-04-12,es,,Newark,,low\n"
        + "H-2,"
        + "A" * 20_000_000
        + ",Quispe,1988-04-12,es,,Newark,,low\n"
    )
    report = caseload_import(text, program=program, actor=SYSTEM, dry_run=False)
    assert "line 3" in report.file_error
    assert "field larger than field limit" in report.file_error
    assert list(Participant.objects.values_list("case_number", flat=True)) == ["H-1"]
