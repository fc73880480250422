"""Helpers for the gateway tests: a real gateway on ephemeral ports, real sockets.

The gateway runs in a background thread of the test process (its own event loop, its own
database thread), so the tests use the pytest-django database on SQLite and PostgreSQL
alike; they need ``django_db(transaction=True)`` because the gateway writes from its thread.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ontrack.tracking.gateway.core import GatewayConfig
from ontrack.tracking.gateway.process import GatewayThread


def gateway_config(tmp_path: Path, **overrides: Any) -> GatewayConfig:
    """Every server on an ephemeral port of 127.0.0.1, MQTT off unless asked for."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "gt06_port": 0,
        "teltonika_port": 0,
        "osmand_port": 0,
        "h02_port": 0,
        "watch_port": 0,
        "tk103_port": 0,
        "queclink_port": 0,
        "meitrack_port": 0,
        "suntech_port": 0,
        "mqtt_host": None,
        "spool_dir": tmp_path / "spool",
        "stats_interval": 3600.0,
        "batch_delay": 0.02,
        "retry_interval": 0.2,
        "directory_refresh": 3600.0,
    }
    values.update(overrides)
    return GatewayConfig(**values)


def running_gateway(tmp_path: Path, **overrides: Any) -> GatewayThread:
    return GatewayThread(gateway_config(tmp_path, **overrides))


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def exchange(sock: socket.socket, method: str, target: str, body: bytes = b"",
             content_type: str = "") -> tuple[int, bytes]:  # fmt: skip
    """Send one request on ``sock`` and read the whole answer: (status, body)."""
    head = f"{method} {target} HTTP/1.1\r\nHost: gateway\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    sock.sendall(head.encode() + b"\r\n" + body)
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            break
        response += chunk
    header, _, answer = response.partition(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(answer) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return int(header.split(b" ", 2)[1]), answer


def receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the gateway has closed the connection (reads return nothing)."""
    try:
        while True:
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def eventually(check: Callable[[], Any], *, timeout: float = 15.0) -> Any:
    """Poll until ``check()`` is truthy; the failure names what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
