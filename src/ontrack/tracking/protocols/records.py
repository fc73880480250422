"""What every protocol decoder returns: fixes, device events, and the one error type.

Decoders turn bytes into ``Fix`` and ``DeviceEvent`` records and nothing else, so the gateway,
the filters and the alert rules never see a vendor's vocabulary. A fix is a position; a device
event is something the device reported about itself (strap cut, SOS, battery low...). They are
kept apart because position filters may drop fixes but must never drop events (an SOS
swallowed by a duplicate-position filter is a known failure of other systems).

Decoders are stateless: an event is emitted only where the protocol itself reports a
transition or an alarm. Levels that are repeated in every message (battery percentage,
charging flag, GSM signal) travel in ``Fix.battery_pct`` / ``Fix.attributes`` instead, and
the caller derives transitions from consecutive records if it needs them.

Every decoder raises ``DecodeError`` and nothing else for bad input; ``reason`` is a short
stable token (``"crc_mismatch"``, ``"truncated"``...) suitable for a metrics label.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Earliest and latest instants a decoder accepts. Anything outside is a corrupt field, not a
# device that really lives in 1970 or 2200; rejecting it here keeps datetime overflow out of
# every decoder.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DecodeError(ValueError):
    """Input that cannot be decoded. ``reason`` is a short machine-readable token."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class EventKind(enum.StrEnum):
    """Device events, normalised across protocols.

    ``raw_code`` on the event keeps the vendor's own code so nothing is lost in the mapping.
    """

    TAMPER = "tamper"  # strap cut, case opened, tamper switch
    DEVICE_REMOVED = "device_removed"  # taken off the body / out of its mount
    EXTERNAL_POWER_CUT = "external_power_cut"  # main power wire cut or unplugged
    LOW_BATTERY = "low_battery"
    CRITICAL_BATTERY = "critical_battery"  # about to shut down
    CHARGER_CONNECTED = "charger_connected"
    CHARGER_DISCONNECTED = "charger_disconnected"
    POWER_ON = "power_on"
    POWER_OFF = "power_off"
    GPS_LOST = "gps_lost"
    GPS_REGAINED = "gps_regained"
    GNSS_JAMMING = "gnss_jamming"
    SOS = "sos"
    FALL = "fall"  # a wearable's fall detector
    VIBRATION = "vibration"
    OVERSPEED = "overspeed"
    EXTERNAL_POWER_LOW = "external_power_low"  # supply voltage low, not the own battery
    MOVEMENT = "movement"  # moved while armed ("displacement", "tow/theft")
    # The device's own geofences (ontrack computes its zones itself; kept as reported).
    GEOFENCE_ENTER = "geofence_enter"
    GEOFENCE_EXIT = "geofence_exit"
    # Driving behaviour reported by vehicle units; kept apart from vibration, which is a
    # device left alone being shaken.
    HARSH_ACCELERATION = "harsh_acceleration"
    HARSH_BRAKING = "harsh_braking"
    HARSH_CORNERING = "harsh_cornering"
    COLLISION = "collision"
    # An alarm the device raised that has no normalised kind yet. Kept, never dropped:
    # ``raw_code`` says what it was, and alert rules decide what to do with it.
    UNKNOWN_ALARM = "unknown_alarm"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report. ``time`` is the fix time in UTC; ``valid`` is the device's own
    verdict. ``lat`` and ``lon`` are ``None`` when the device reported no position at all
    (a report with only cell or WiFi data): such a report is kept as "no GPS fix".

    ``attributes`` holds JSON-serialisable extras (raw IO values, HDOP, charging flag...).
    """

    device_id: str
    time: datetime
    lat: float | None
    lon: float | None
    speed_kmh: float | None = None
    course: float | None = None
    altitude_m: float | None = None
    accuracy_m: float | None = None
    satellites: int | None = None
    valid: bool = True
    battery_pct: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something the device reported about itself, at ``time`` (UTC)."""

    device_id: str
    time: datetime
    kind: EventKind
    raw_code: str
    attributes: dict[str, Any] = field(default_factory=dict)


Record = Fix | DeviceEvent


def checked_coordinates(lat: float, lon: float) -> tuple[float, float]:
    """Return ``(lat, lon)`` or raise: NaN, infinities and out-of-range values are corrupt."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise DecodeError("lat_out_of_range", repr(lat))
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise DecodeError("lon_out_of_range", repr(lon))
    return lat, lon


def checked_time(value: datetime) -> datetime:
    """Return ``value`` in UTC, or raise if it is naive or outside the accepted window."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise DecodeError("naive_time", value.isoformat())
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise DecodeError("time_out_of_range", value.isoformat())
    return value.astimezone(UTC)


def time_from_epoch_ms(milliseconds: int) -> datetime:
    """UTC datetime from Unix milliseconds, range-checked without float rounding."""
    if not 0 <= milliseconds < 10**14:
        raise DecodeError("time_out_of_range", str(milliseconds))
    return checked_time(_EPOCH + timedelta(milliseconds=milliseconds))


def time_from_epoch_seconds(seconds: float) -> datetime:
    """UTC datetime from Unix seconds (fractions allowed), range-checked."""
    if not (math.isfinite(seconds) and 0 <= seconds < 10**11):
        raise DecodeError("time_out_of_range", repr(seconds))
    return checked_time(_EPOCH + timedelta(seconds=seconds))


def finite_or_none(value: float | None) -> float | None:
    """``None`` for NaN/infinity, which some apps send for 'unknown'."""
    if value is None or not math.isfinite(value):
        return None
    return value
