"""The OsmAnd / Traccar Client HTTP server: query and JSON forms, the apps' status codes."""

import json
import re
import socket
from pathlib import Path

import pytest

from ontrack.tracking.models import DeviceEventRecord, Position
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import closed_by_peer, connect, exchange, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)


def _request(sock: socket.socket, method: str, target: str, body: bytes = b"",
             content_type: str = "") -> int:  # fmt: skip
    return exchange(sock, method, target, body, content_type)[0]


def test_query_form_is_stored_with_speed_converted_from_knots(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        status = _request(sock, "GET", "/?id=app-48241179&lat=34.0522&lon=-118.2437"
                          "&timestamp=1772364600&speed=10&batt=55")  # fmt: skip
        assert status == 200
        assert Position.objects.count() == 1, "stored before the 200"
        # keep-alive: a second request on the same connection, as a form POST
        body = b"id=app-48241179&lat=34.06&lon=-118.25&timestamp=1772364660&alarm=sos"
        assert _request(sock, "POST", "/", body, "application/x-www-form-urlencoded") == 200
        sock.close()
    first = Position.objects.order_by("time").first()
    assert first is not None
    assert first.speed_kmh == pytest.approx(18.52)
    assert DeviceEventRecord.objects.filter(kind="sos").count() == 1


def test_json_form_of_traccar_client_is_stored(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    body = json.dumps({"device_id": "app-48241179", "location": {
        "timestamp": "2026-03-01T13:45:12.862Z",
        "coords": {"latitude": 37.42, "longitude": -122.08, "accuracy": 5, "speed": 1,
                   "heading": -1, "altitude": 5},
        "battery": {"level": 0.79, "is_charging": False}}}).encode()  # fmt: skip
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        assert _request(sock, "POST", "/", body, "application/json") == 200
        sock.close()
    position = Position.objects.get()
    assert (position.lat, position.lon, position.accuracy_m) == (37.42, -122.08, 5)


def test_unknown_devices_get_400_in_query_form_and_404_in_json(tmp_path: Path) -> None:
    body = json.dumps(
        {
            "device_id": "nobody",
            "location": {
                "timestamp": "2026-03-01T13:45:12Z",
                "coords": {"latitude": 1.0, "longitude": 2.0},
            },
        }
    )
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        assert _request(sock, "GET", "/?id=nobody&lat=1&lon=2") == 400
        assert _request(sock, "POST", "/", body.encode(), "application/json") == 404
        assert gateway.counters["unknown_devices"] == 2
        sock.close()
    assert Position.objects.count() == 0


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    with running_gateway(tmp_path) as gateway:
        port = gateway.ports["osmand"]
        sock = connect(port)
        assert _request(sock, "GET", "/?id=app-48241179&lat=abc&lon=2") == 400
        sock.close()
        sock = connect(port)
        assert _request(sock, "GET", "/?" + "x" * 20_000) == 431
        sock.close()
        sock = connect(port)
        sock.sendall(b"POST / HTTP/1.1\r\nHost: gateway\r\nContent-Length: 10000000\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
        assert closed_by_peer(sock)
        sock.close()


def test_a_client_that_never_finishes_its_headers_is_closed(tmp_path: Path) -> None:
    with running_gateway(tmp_path, handshake_timeout=0.5) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(b"GET /?id=1 HTTP/1.1\r\nHost: x\r\n")
        assert closed_by_peer(sock)


def test_an_ankle_monitors_imei_sent_over_osmand_is_refused_not_stored(tmp_path: Path) -> None:
    """Knowing a GT06 unit's IMEI must not let anyone post positions for its wearer over
    unauthenticated HTTP: a device answers only on the protocol it was registered with."""
    register_device("359710049095095", "gt06")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        status = _request(sock, "GET", "/?id=359710049095095&lat=40.7&lon=-74.0"
                          "&timestamp=1772364600")  # fmt: skip
        sock.close()
        assert gateway.counters["protocol_mismatches"] == 1
    assert status == 400
    assert Position.objects.count() == 0


QUERY = "/?id=app-48241179&lat=34.0522&lon=-118.2437&timestamp=1772364600"
BODY = b"id=app-48241179&lat=34.06&lon=-118.25&timestamp=1772364660"


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the gateway answers up to closing the connection."""
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    return answer


def _statuses(answer: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.M)]


@pytest.mark.parametrize(
    "lengths",
    [(b"5", str(len(BODY)).encode()), (str(len(BODY)).encode() + b", 5",)],
    ids=["two headers", "one list"],
)
def test_conflicting_content_lengths_are_refused_and_nothing_is_stored(
    tmp_path: Path, lengths: tuple[bytes, ...]
) -> None:
    """Two lengths for one body is how requests are smuggled past a proxy: neither is
    trusted, whichever comes last."""
    register_device("app-48241179", "osmand")
    head = b"".join(b"Content-Length: " + length + b"\r\n" for length in lengths)
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(b"POST / HTTP/1.1\r\nHost: gateway\r\n" + head + b"\r\n" + BODY)
        answer = _until_closed(sock)
        sock.close()
    assert _statuses(answer) == [400], answer
    assert Position.objects.count() == 0


def test_a_space_before_a_header_colon_is_refused(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(f"GET {QUERY} HTTP/1.1\r\nHost : gateway\r\n\r\n".encode())
        answer = _until_closed(sock)
        sock.close()
    assert _statuses(answer) == [400], answer
    assert Position.objects.count() == 0


def test_expect_100_continue_is_invited_then_answered(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: gateway\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        )
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        sock.sendall(BODY)
        answer = sock.recv(4096)
        sock.close()
    assert _statuses(answer) == [200], answer
    assert Position.objects.count() == 1


def test_an_oversized_body_is_refused_before_it_is_invited(tmp_path: Path) -> None:
    """A client that waits for ``100 Continue`` before a body above the limit gets the 413
    at once instead, and never sends the body."""
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: gateway\r\nExpect: 100-continue\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        answer = _until_closed(sock)
        sock.close()
    assert _statuses(answer) == [413], answer
    assert b"body_too_large" in answer


def test_pipelined_requests_are_answered_in_order(tmp_path: Path) -> None:
    register_device("app-48241179", "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        sock.sendall(
            f"GET {QUERY} HTTP/1.1\r\nHost: gateway\r\n\r\n".encode()
            + b"GET /?id=app-48241179&lat=abc&lon=2 HTTP/1.1\r\nHost: gateway\r\n\r\n"
            + b"POST / HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
            + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
            + BODY
        )
        answer = _until_closed(sock)
        sock.close()
    assert _statuses(answer) == [200, 400, 200], answer
    assert Position.objects.count() == 2
