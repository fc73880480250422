"""Retention of schedule data: check-in photos are purged after their retention period
(registered with ``audit.retention`` in ``schedule/apps.py``); the check-in itself stays
as the compliance record.
"""

from __future__ import annotations

import datetime as dt

from ontrack.schedule.models import Checkin


def checkin_photos_purge_before(cutoff: dt.datetime) -> int:
    """Delete the photo files of check-ins received before ``cutoff`` (the retention
    period of check-in photos); the check-in itself, its outcome and review stay as the
    compliance record. Returns how many photos went."""
    removed = 0
    old = Checkin.objects.filter(received_at__lt=cutoff).exclude(photo="")
    while True:
        batch = list(old.only("pk", "photo")[:500])
        if not batch:
            return removed
        for checkin in batch:
            checkin.photo.delete(save=False)
        Checkin.objects.filter(pk__in=[c.pk for c in batch]).update(photo="")
        removed += len(batch)
