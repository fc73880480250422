"""The importer's one promise to a caller with a bad file: a ValidationError, never a crash
(and never a half-written record)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.transfer.otrts.importing import otrts_import

from .conftest import export_xml

pytestmark = pytest.mark.django_db

NAMES = [
    "ot:OffenderTrackingRecord",
    "nc:Person",
    "nc:PersonName",
    "nc:PersonGivenName",
    "nc:PersonSurName",
    "ot:Supervision",
    "ot:LocationPoint",
    "nc:DateTime",
    "ot:Alert",
    "ot:TrackingDevice",
    "x:Other",
]
URIS = {
    "nc": "http://release.niem.gov/niem/niem-core/3.0/",
    "ot": "urn:ontrack:otrts-record:1.0",
    "x": "urn:x",
}


def _tag(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{URIS[prefix]}}}{local}"


def _tree(depth: int = 3) -> st.SearchStrategy[ET.Element]:
    leaf = st.builds(
        lambda name, text: _element(name, text, []),
        st.sampled_from(NAMES),
        st.text(max_size=30).filter(lambda t: all(c.isprintable() for c in t)),
    )
    if depth == 0:
        return leaf
    return st.one_of(
        leaf,
        st.builds(
            lambda name, kids: _element(name, None, kids),
            st.sampled_from(NAMES),
            st.lists(_tree(depth - 1), max_size=4),
        ),
    )


def _element(name: str, text: str | None, kids: list[ET.Element]) -> ET.Element:
    element = ET.Element(_tag(name))
    element.text = text
    element.extend(kids)
    return element


def _import_or_refuse(data: bytes, target: dict[str, Any]) -> None:
    with contextlib.suppress(ValidationError):
        otrts_import(
            data,
            user=target["admin"],
            program=target["program"],
            office=target["office"],
            officer=None,
        )


def test_arbitrary_bytes_are_refused_with_validation_error_only(target: dict[str, Any]) -> None:
    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300))
    def check(data: bytes) -> None:
        _import_or_refuse(data, target)

    check()
    assert not Participant.objects.filter(program=target["program"]).exists()


def test_arbitrary_xml_trees_are_refused_with_validation_error_only(target: dict[str, Any]) -> None:
    @settings(max_examples=150, deadline=None)
    @given(_tree())
    def check(root: ET.Element) -> None:
        _import_or_refuse(ET.tostring(root), target)

    check()


def test_mutated_real_records_import_or_are_refused_never_crash(
    tracked: dict[str, Any], supervisor: User, target: dict[str, Any]
) -> None:
    """Every element of a real export, one at a time, removed or given other text."""
    xml = export_xml(tracked["participant"], supervisor)
    count = sum(1 for _ in ET.fromstring(xml).iter())  # noqa: S314 (our own export)

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.integers(min_value=1, max_value=count - 1),
        st.one_of(st.none(), st.text(max_size=40)),
    )
    def check(index: int, text: str | None) -> None:
        root = ET.fromstring(xml)  # noqa: S314 (our own export)
        parents = {child: parent for parent in root.iter() for child in parent}
        victim = list(root.iter())[index]
        if text is None:
            parents[victim].remove(victim)
        else:
            victim.text = "".join(c for c in text if c.isprintable())
        _import_or_refuse(ET.tostring(root), target)

    check()
