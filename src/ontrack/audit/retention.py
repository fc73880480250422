"""Retention: how long each kind of data is kept, and the nightly purge of what is older.

Every app that stores personal data registers its kinds here from ``AppConfig.ready()``
(audit sits at the bottom of the import stack, so it cannot import them). A kind names the
models it covers, which is what the data inventory page reads, and a ``purge`` function that
removes rows older than a cut-off and returns how many went. The purge run is recorded by
count only: the record of a deletion must not keep what was deleted.

The period in force is the deployment's setting (``ONTRACK_RETENTION_DAYS``), or the
kind's default, shortened by an administrator's :class:`~ontrack.audit.models.RetentionPolicy`
if one is set. An administrator can shorten a period, never lengthen it past the setting.
A kind registered with ``console_may_shorten=False`` (the access log: the record of who read
what must not be erasable by those it records) can only be shortened by the deployment's
setting.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionKind:
    key: str
    label: str
    default_days: int
    purge: Callable[[dt.datetime], int]
    models: tuple[str, ...]
    description: str = ""
    console_may_shorten: bool = True


_kinds: dict[str, RetentionKind] = {}


def retention_kind_register(kind: RetentionKind) -> None:
    """Make ``kind`` part of the nightly purge and the data inventory. Registering the same
    key again replaces it (an app's ``ready()`` may run twice in tests)."""
    _kinds[kind.key] = kind


def retention_kinds() -> list[RetentionKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.label)


def retention_kind_for_model(label: str) -> RetentionKind | None:
    """The kind covering the model ``app_label.ModelName``, if any."""
    for kind in _kinds.values():
        if label in kind.models:
            return kind
    return None


def retention_ceiling_days(key: str) -> int:
    """The longest period allowed for ``key``: the deployment's setting or the default."""
    configured = settings.ONTRACK_RETENTION_DAYS.get(key)
    return int(configured) if configured else _kinds[key].default_days


def retention_days_validate(key: str, days: int) -> None:
    """Refuse an unknown kind, or a period outside 1 .. the kind's ceiling."""
    if key not in _kinds:
        raise ValidationError({"kind": f"Unknown kind of data: {key}."})
    ceiling = retention_ceiling_days(key)
    if not _kinds[key].console_may_shorten and days != ceiling:
        raise ValidationError(
            {
                "days": f"How long {_kinds[key].label.lower()} is kept is a deployment setting "
                f"(ONTRACK_RETENTION_DAYS); it stays {ceiling} days here."
            }
        )
    if days < 1 or days > ceiling:
        raise ValidationError({"days": f"Choose between 1 and {ceiling} days for {key}."})


def retention_days(key: str) -> int:
    """Days ``key`` is kept now: the ceiling, or an administrator's shorter policy."""
    from ontrack.audit.models import RetentionPolicy

    ceiling = retention_ceiling_days(key)
    if not _kinds[key].console_may_shorten:
        return ceiling
    policy = RetentionPolicy.objects.filter(kind=key).values_list("days", flat=True).first()
    return min(ceiling, policy) if policy else ceiling


def retention_purge_all(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every registered purge with its cut-off, record each run, and return the counts.

    One kind failing (say, a locked table) is logged and recorded, and the others still run:
    a purge that stops at the first error would keep everything after it forever.
    """
    from ontrack.audit.models import RetentionRun

    now = now or timezone.now()
    removed: dict[str, int] = {}
    for kind in retention_kinds():
        days = retention_days(kind.key)
        cutoff = now - dt.timedelta(days=days)
        try:
            count = kind.purge(cutoff)
        except Exception as exc:
            logger.exception("retention purge of %s failed", kind.key)
            RetentionRun.objects.create(
                kind=kind.key, ran_at=now, cutoff=cutoff, days=days, removed=0, error=str(exc)
            )
            continue
        RetentionRun.objects.create(
            kind=kind.key, ran_at=now, cutoff=cutoff, days=days, removed=count
        )
        removed[kind.key] = count
        logger.info("retention purge kind=%s days=%d removed=%d", kind.key, days, count)
    return removed
