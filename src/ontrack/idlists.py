"""A list of ids as one SQL parameter, for the raw reads of the gateway's hot path.

A stored batch names thousands of participants. ``IN (%s, %s, ...)`` would hit SQLite's
999-parameter limit in Django, and on PostgreSQL Django's psycopg cursor binds parameters
client-side, quoting each value in Python; one text value costs neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection


def ids_clause(column: str, ids: Iterable[int]) -> tuple[str, list[Any]]:
    """SQL for ``column`` in ``ids``, and its one parameter."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(string_to_array(%s, ',')::bigint[])", [",".join(map(str, ids))]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]  # noqa: S608
