"""The development and demo provider: prints one line per message.

With ``ONTRACK_MESSAGING_CONSOLE_LOG`` set it also appends a JSON line per message and
fsyncs it before answering, like a real provider's durable acceptance; ``lookup`` reads that
file, which is what lets a restarted worker tell a message it already handed over from one
it never did (the kill-mid-bulk test counts these lines).
"""

from __future__ import annotations

import json
import os
import sys
import threading

from django.conf import settings

from ontrack.messaging.providers.base import Lookup, Outgoing


class ConsoleProvider:
    name = "console"

    def __init__(self) -> None:
        self._path = settings.ONTRACK_MESSAGING_CONSOLE_LOG
        self._lock = threading.Lock()
        self.can_lookup = bool(self._path)

    def send(self, message: Outgoing) -> str:
        provider_id = f"console-{message.idempotency_key}"
        one_line = " ".join(message.body.split())
        print(f"[{message.channel} to {message.to}] {one_line}", file=sys.stdout, flush=True)
        if self._path:
            record = {"key": message.idempotency_key, "to": message.to, "id": provider_id}
            with self._lock, open(self._path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
                log.flush()
                os.fsync(log.fileno())
        return provider_id

    def lookup(self, message: Outgoing) -> Lookup:
        if not self._path:
            return Lookup(accepted=None)
        try:
            with open(self._path, encoding="utf-8") as log:
                for line in log:
                    if message.idempotency_key in line:
                        return Lookup(True, json.loads(line)["id"])
        except FileNotFoundError:
            pass
        return Lookup(accepted=False)

    def close(self) -> None:
        return None
