"""Input types shared by every app's JSON API, so that each refuses the same bad input the
same way (a 422 that says what is wrong) instead of each handler checking for itself.

- :data:`AwareDateTime`: ISO-8601 with an offset. A time without one is ambiguous (whose
  clock?) and was read as the server's zone; it is refused. Years outside 1900–2200 are
  refused too: they are typing errors, and 9999 overflowed reminder arithmetic.
- :data:`Text` / :data:`Name`: no NUL byte (PostgreSQL cannot store one, and no person's
  name or note holds one); a name is not blank.
- :data:`BirthDate`: a date of birth of a living person: not in the future, not before 1900.
- :class:`BodySchema`: the base of every request body. A field the operation does not take
  is refused (422), not silently dropped: a misspelt ``"familyname"`` in a PATCH used to
  answer 200 and change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, ConfigDict, StringConstraints

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200


def _plausible_moment(value: dt.datetime) -> dt.datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("the text holds a NUL character")
    return value


def _birth_date(value: dt.date) -> dt.date:
    if value > timezone.localdate():
        raise ValueError("a date of birth cannot be in the future")
    if value.year < EARLIEST_YEAR:
        raise ValueError(f"a date of birth must be in {EARLIEST_YEAR} or later")
    return value


AwareDateTime = Annotated[AwareDatetime, AfterValidator(_plausible_moment)]
Text = Annotated[str, AfterValidator(_no_nul)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_no_nul)
]
BirthDate = Annotated[dt.date, AfterValidator(_birth_date)]


class BodySchema(Schema):
    model_config = ConfigDict(extra="forbid")
