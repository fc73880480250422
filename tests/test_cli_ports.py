"""The port flags of ``ontrack gateway``, ``simulate`` and ``demo`` for the TK103 and
Queclink servers: parsed like the others, ``off`` turning a server off, and the demo moving a
taken port so that two demos never share 5001/5004."""

from __future__ import annotations

import contextlib
import socket

import pytest

from ontrack.cli import _OFF, _demo_gateway_ports, build_parser


@pytest.mark.parametrize("name", ["tk103", "queclink"])
def test_the_gateway_takes_a_port_or_off(name: str) -> None:
    parser = build_parser()

    assert getattr(parser.parse_args(["gateway", f"--{name}-port", "6001"]), f"{name}_port") == 6001
    assert getattr(parser.parse_args(["gateway", f"--{name}-port", "off"]), f"{name}_port") == _OFF


def test_simulate_offers_both_protocols() -> None:
    parser = build_parser()

    for protocol in ("tk103", "queclink"):
        assert parser.parse_args(["simulate", "--protocol", protocol]).protocol == protocol


@pytest.mark.parametrize(("name", "usual"), [("tk103", 5001), ("queclink", 5004)])
def test_the_demo_moves_a_taken_port(name: str, usual: int) -> None:
    holder = socket.socket()
    # Already taken by something else, the demo must move it all the same.
    with contextlib.suppress(OSError):
        holder.bind(("127.0.0.1", usual))
    with holder:
        ports = _demo_gateway_ports(build_parser().parse_args(["demo"]))

    assert ports[name] != usual
    assert ports[name] > 0


def test_the_demo_keeps_a_port_it_is_given() -> None:
    ports = _demo_gateway_ports(build_parser().parse_args(["demo", "--tk103-port", "6101"]))

    assert ports["tk103"] == 6101
