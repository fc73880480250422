"""How long, as staff say it: "4 min", "1 h 05 min", "2 d 3 h". Response times on the alert
page and the time since raised on the queue; ``static/alerts/queue.js`` keeps the queue's
ticking in the same words."""

from __future__ import annotations

import datetime as dt


def duration_text(delta: dt.timedelta | None) -> str:
    """Whole minutes, never negative; empty for no duration."""
    if delta is None:
        return ""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
