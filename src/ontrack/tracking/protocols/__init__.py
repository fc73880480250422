"""Tracker protocol decoders: bytes in, ``Fix`` and ``DeviceEvent`` records out.

One module per protocol, each pure (no I/O, no Django, nothing of ontrack's outside this
package), fuzzed, and documented with its vendor frame layout. The gateway owns sockets,
device lookup and acknowledgements; it calls these functions and sends the replies they
compute. Shared types live in ``records``.
"""

from . import gt06, h02, meitrack, mqtt_json, osmand, queclink, suntech, teltonika, tk103, watch
from .records import DecodeError, DeviceEvent, EventKind, Fix, Record

# Protocol name (as stored on a device) -> decoder module.
PROTOCOLS = {
    "gt06": gt06,
    "teltonika": teltonika,
    "osmand": osmand,
    "mqtt_json": mqtt_json,
    "h02": h02,
    "watch": watch,
    "tk103": tk103,
    "queclink": queclink,
    "meitrack": meitrack,
    "suntech": suntech,
}

__all__ = [
    "PROTOCOLS",
    "DecodeError",
    "DeviceEvent",
    "EventKind",
    "Fix",
    "Record",
    "gt06",
    "h02",
    "meitrack",
    "mqtt_json",
    "osmand",
    "queclink",
    "suntech",
    "teltonika",
    "tk103",
    "watch",
]
