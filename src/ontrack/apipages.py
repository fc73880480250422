"""How the JSON API pages its lists, with django-ninja's pagination (``@paginate``).

- :class:`KeysetPagination` for the lists that grow all day: alerts, devices, positions and
  messages. A page is the rows that come after the last row of the previous page in the
  list's own order (a keyset, or cursor), made total with the primary key, so that a row
  added meanwhile neither repeats nor hides another, the next page costs an index range
  scan however deep one goes, and no page runs a ``COUNT(*)`` over millions of positions.
  The cursor is the last row's key, signed: opaque to the client, who passes back the
  ``next`` of the page it has; a cursor this list did not give answers 422. Nulls sort last
  (on SQLite and PostgreSQL alike), so a nullable sort key (a device's last report) pages
  too.

The caseload (``/api/participants``) pages by keyset as well, through the console's own pager
(``participants.caseload_pages``, with a capped count and a way back).

:class:`KeysetPagination` takes ``shown``, which the rows of the page are handed to once
fetched: the route reads them through the gate (``participants.gate``), so the access log
names exactly the people the page showed, whatever page was asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, get_type_hints

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F, Model, OrderBy, QuerySet
from django.http import HttpRequest
from ninja import Field, Schema, pagination
from ninja.errors import ConfigError
from ninja.pagination import PaginationBase
from pydantic import create_model

from ontrack.keyset import rows_after

PageShown = Callable[[HttpRequest, list[Any]], None]

CURSOR_SALT = "ontrack.apipages.cursor"


def paginate(
    paginator: type[PaginationBase], **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """django-ninja's ``@paginate``, for views in modules with postponed annotations: the
    wrapper it makes lives in ``ninja.pagination``, where ninja would resolve the view's
    annotations (``Query[AlertQuery]``) and fail, so they are resolved here first, in the
    view's own module."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.__annotations__ = get_type_hints(view, include_extras=True)
        wrapped: Callable[..., Any] = pagination.paginate(paginator, **options)(view)
        return wrapped

    return decorate


class _Shown(PaginationBase):
    """A paginator that hands each page's rows to ``shown`` and calls them ``results``."""

    items_attribute = "results"

    def __init__(self, *, shown: PageShown | None = None, **kwargs: Any) -> None:
        self.shown = shown
        super().__init__(**kwargs)

    def _show(self, request: HttpRequest, rows: list[Any]) -> list[Any]:
        if self.shown is not None:
            self.shown(request, rows)
        return rows


class KeysetPagination(_Shown):
    """Pages in the order of the route's queryset, after the row the cursor names."""

    class Output(Schema):
        next: str | None = Field(
            description="The cursor of the next page (pass it as ``cursor``); null on the "
            "last page."
        )
        results: list[Any]

    def __init__(self, *, page_size: int = 50, max_page_size: int = 200, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Per route: positions come in larger pages than alerts. The limit is in the schema.
        self.Input = create_model(
            "KeysetInput",
            __base__=PaginationBase.Input,
            cursor=(
                str | None,
                Field(None, description="Where to go on: the ``next`` of the previous page."),
            ),
            page_size=(int, Field(page_size, ge=1, le=max_page_size)),
        )

    def paginate_queryset(
        self, queryset: QuerySet[Any], pagination: Any, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        ordering = _total_ordering(queryset)
        nullable = {name: _nullable(queryset.model, name) for name in _bare(ordering)}
        rows = queryset.order_by(*(_order_by(name, nullable) for name in ordering))
        if pagination.cursor:
            rows = rows.filter(
                rows_after(ordering, _cursor_key(pagination.cursor, ordering), nullable)
            )
        fetched = list(rows[: pagination.page_size + 1])
        page = fetched[: pagination.page_size]
        more = len(fetched) > len(page)
        return {
            "next": _cursor(page[-1], ordering) if more else None,
            self.items_attribute: self._show(request, page),
        }


def _bare(ordering: Sequence[str]) -> list[str]:
    return [name.removeprefix("-") for name in ordering]


def _total_ordering(queryset: QuerySet[Any]) -> tuple[str, ...]:
    """The queryset's own order, then the primary key's fields it does not name yet."""
    ordering = [name for name in queryset.query.order_by if isinstance(name, str)]
    if not ordering or len(ordering) != len(queryset.query.order_by):
        raise ConfigError("A keyset page needs a queryset ordered by field names.")
    named = set(_bare(ordering))
    pk = queryset.model._meta.pk
    assert pk is not None
    key = [field.attname for field in getattr(pk, "fields", [pk])]
    return (*ordering, *(name for name in key if name not in named))


def _nullable(model: type[Model], name: str) -> bool:
    return name != "pk" and bool(model._meta.get_field(name).null)


def _order_by(name: str, nullable: dict[str, bool]) -> str | OrderBy:
    bare = name.removeprefix("-")
    if not nullable[bare]:
        return name  # plain, so that PostgreSQL walks the index either way
    return F(bare).desc(nulls_last=True) if name.startswith("-") else F(bare).asc(nulls_last=True)


def _value(row: Any, name: str) -> Any:
    value = row[name] if isinstance(row, dict) else getattr(row, name)
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def _cursor(row: Any, ordering: Sequence[str]) -> str:
    key = [_value(row, name) for name in _bare(ordering)]
    return signing.dumps(key, salt=f"{CURSOR_SALT}:{','.join(ordering)}")


def _cursor_key(cursor: str, ordering: Sequence[str]) -> list[Any]:
    """The key a cursor names; signed with the ordering, so a cursor of another list or
    another sort is refused like a forged one."""
    try:
        key: list[Any] = signing.loads(cursor, salt=f"{CURSOR_SALT}:{','.join(ordering)}")
    except signing.BadSignature:
        raise ValidationError({"cursor": "Not a cursor this list gave."}) from None
    return key
