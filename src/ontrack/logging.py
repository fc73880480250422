"""One line per event, ``key=value`` style, so that logs grep and parse without a library."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

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
