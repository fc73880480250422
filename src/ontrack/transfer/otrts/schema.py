"""The names the export writes and the reader expects, in one place so that the two cannot
drift apart: the namespaces (NIEM Core 3.0, NIEM structures 3.0 and this program's own
``ot:``), the root element and the alert times. Renaming to the official OTRTS schema, once
obtained, starts here."""

from __future__ import annotations

NC_NS = "http://release.niem.gov/niem/niem-core/3.0/"
S_NS = "http://release.niem.gov/niem/structures/3.0/"
OT_NS = "urn:ontrack:otrts-record:1.0"
SPEC_VERSION = "1.0"
NAMESPACES = {"nc": NC_NS, "ot": OT_NS, "s": S_NS}

ROOT_NAME = "ot:OffenderTrackingRecord"

# An alert's times: the model field, and the element that carries it (wrapping nc:DateTime).
ALERT_TIMES = (
    ("occurred_at", "ot:AlertOccurredDate"),
    ("raised_at", "ot:AlertRecordedDate"),
    ("visible_at", "ot:AlertVisibleDate"),
    ("last_occurred_at", "ot:AlertLastOccurredDate"),
    ("acknowledged_at", "ot:AlertAcknowledgedDate"),
    ("closed_at", "ot:AlertClosedDate"),
)


def clark(name: str) -> str:
    """``"nc:PersonName"`` → ``"{uri}PersonName"``, the form ElementTree reads."""
    prefix, local = name.split(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


def prefixed(tag: str) -> str:
    """``"{uri}PersonName"`` → ``"nc:PersonName"`` for messages; a foreign tag as it is."""
    for prefix, uri in NAMESPACES.items():
        if tag.startswith(f"{{{uri}}}"):
            return f"{prefix}:{tag[len(uri) + 2 :]}"
    return tag
