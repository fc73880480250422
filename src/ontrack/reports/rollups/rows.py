"""Writing roll-up rows: plain tuples copied or inserted in batches, several times faster
than ``bulk_create`` of model instances (a whole history at 100,000 participants is
millions of rows, rewritten every night)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any, cast

from django.db import connection
from django.db.models import DateField, Field, Model

BATCH = 5_000


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values of ``fields``, in that order: ids, text, numbers and dates)
    into ``model``'s table: PostgreSQL's COPY, batches of inserts on SQLite."""
    meta = model._meta
    ops = connection.ops
    concrete = [cast(Field[Any, Any], meta.get_field(name)) for name in fields]
    table = ops.quote_name(meta.db_table)
    columns = ", ".join(ops.quote_name(str(f.column)) for f in concrete)
    marks = ", ".join(["%s"] * len(concrete))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
    dates = [i for i, f in enumerate(concrete) if isinstance(f, DateField)]
    written = 0
    iterator = iter(rows)
    # A batch is taken whole before it is written: ``rows`` may be reading the database
    # (a server-side cursor), which the connection cannot do in the middle of a COPY.
    with connection.cursor() as cursor:
        while batch := [list(row) for row in islice(iterator, BATCH)]:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                for row in batch:
                    for i in dates:
                        row[i] = ops.adapt_datefield_value(row[i])
                cursor.executemany(sql, batch)
            written += len(batch)
    return written
