"""The ASGI application ``ontrack serve`` runs: Django, plus the web process's heartbeat.

Django's ASGI handler refuses the lifespan protocol, so the server's start and stop go
unseen; :class:`LifespanHeartbeat` answers it instead and beats the process's heartbeat
(``operations.heartbeats``) from startup to shutdown. Importing this module starts nothing:
the thread starts only when a server sends ``lifespan.startup``, so tests and tools that
import ``application`` leave no thread behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ontrack.settings")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("ontrack.web")


class LifespanHeartbeat:
    """Pass HTTP to the wrapped app; on lifespan startup start the web heartbeat, on
    shutdown stop it (marking the row stopped) and log one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0
        self._beat: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            if scope["type"] == "http":
                self.requests += 1
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._start()
                except Exception as error:  # the server then exits and says why
                    await send({"type": "lifespan.startup.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._beat is not None:
                    await asyncio.to_thread(self._beat.stop)
                logger.info("web stopped", extra={"pid": os.getpid(), "requests": self.requests})
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start(self) -> None:
        from ontrack.operations.heartbeats import HeartbeatThread
        from ontrack.operations.jobs import process_name
        from ontrack.operations.models import ProcessKind

        self._beat = HeartbeatThread(
            ProcessKind.WEB, process_name(), details=lambda: {"requests": self.requests}
        )
        self._beat.start()
        logger.info("web started", extra={"pid": os.getpid()})


application = LifespanHeartbeat(get_asgi_application())
