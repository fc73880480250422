"""One line per event, ``key=value`` style, so that logs grep and parse without a library."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

# "request" is the object Django attaches to request errors: its repr is noise, the path is
# already in the message.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request"}


class OneLineFormatter(logging.Formatter):
    """Format ``logger.info("event", extra={...})`` as ``time level logger event k=v ...``.

    Extra fields are appended sorted by name; values with spaces are quoted; newlines in a
    message are escaped so that one event is always one line.
    """

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [when[:-4] + "Z", record.levelname, record.name, record.getMessage()]
        for key in sorted(set(record.__dict__) - _STANDARD_ATTRS):
            if key.startswith("_"):
                continue
            value = str(record.__dict__[key])
            if not value or any(ch.isspace() for ch in value) or '"' in value:
                value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(f"{key}={value}")
        line = " ".join(parts)
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line.replace("\n", "\\n")


def logging_config(level: str) -> dict[str, Any]:
    """``logging.config.dictConfig``'s settings for every ontrack process: one line per
    event on stderr. Django's ``LOGGING``, and the simulator's own, which runs without
    Django (a device's stand-in needs no database)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "line": {"()": "ontrack.logging.OneLineFormatter"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "line"},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            # A handler of its own stops Huey's consumer from adding a second, differently
            # formatted one (it only configures the "huey" logger when it has none).
            # Each job's outcome is logged by ontrack.jobs and the worker says when it starts
            # and stops; Huey's own per-task and start/stop lines would say it all again.
            "huey": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
        },
    }
