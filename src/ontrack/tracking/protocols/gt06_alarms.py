"""GT06 alarm vocabularies, mapped to ontrack's event kinds.

A GT06 unit states an alarm in up to three places, each with its own table:

- the *alarm byte* of the GPS + LBS + status frames (0x16, 0x26, 0x27, 0x19, 0xA4...);
- bits 3-5 of the *terminal information* byte, a coarse summary older firmware sets;
- the *event byte* of the 0x95 alarm frame (JC100 / JC400 cameras) and of the 0x2B module
  of 0x70 frames.

Sources, in order of authority: the Concox JM-VL03 protocol manual v1.1.2 (alarm table of
the 0x26 packet, the same table the GT06N, JM-VL01 and AT4 manuals print for the codes they
share), then Traccar's ``Gt06ProtocolDecoder`` for codes later firmware added. Where the two
disagree the manual wins, and the disagreement is noted:

- 0x09 is "tow / theft" (moved while armed) in the manual; Traccar reads vibration except
  for its VL models. Here: ``MOVEMENT``.
- 0x0C is "powered on" in the manual; Traccar reads tampering. Here: ``POWER_ON`` (a false
  tamper alert sends an officer out; a power-on notice does not).
- 0x0E / 0x0F are low *external* power (the vehicle battery or supply), not the unit's own
  battery, which is 0x19. Here: ``EXTERNAL_POWER_LOW`` and ``LOW_BATTERY``.
- 0x30 is harsh braking in the manual (and in Traccar for VL103 / LL303 / VL512 / G18);
  Traccar reads jamming for other models. Here: ``HARSH_BRAKING``.
- LW-series vehicle units reuse 0x18 / 0x19 for collision / harsh acceleration; the decoder
  does not know the model, so they keep the wearable meaning (removed / low battery).

Codes with no normalised kind (door, SIM changed, sound alarm, deep sleep...) become
``UNKNOWN_ALARM`` with the vendor code in ``raw_code``; 0xFE / 0xFF (ACC on / off) and 0x00
are no alarm at all.
"""

from __future__ import annotations

from .records import EventKind

# Alarm byte of the GPS + LBS + status frames.
ALARM_CODES: dict[int, EventKind] = {
    0x01: EventKind.SOS,
    0x02: EventKind.EXTERNAL_POWER_CUT,
    0x03: EventKind.VIBRATION,
    0x04: EventKind.GEOFENCE_ENTER,
    0x05: EventKind.GEOFENCE_EXIT,
    0x06: EventKind.OVERSPEED,
    0x09: EventKind.MOVEMENT,
    0x0A: EventKind.GPS_LOST,  # entered a GPS blind spot
    0x0B: EventKind.GPS_REGAINED,  # left the blind spot
    0x0C: EventKind.POWER_ON,
    0x0D: EventKind.GPS_REGAINED,  # first fix after start
    0x0E: EventKind.EXTERNAL_POWER_LOW,
    0x0F: EventKind.EXTERNAL_POWER_LOW,  # low-voltage protection engaged
    0x11: EventKind.POWER_OFF,
    0x13: EventKind.TAMPER,
    0x15: EventKind.CRITICAL_BATTERY,  # powered off because the battery ran out
    0x18: EventKind.DEVICE_REMOVED,
    0x19: EventKind.LOW_BATTERY,  # the unit's own (internal) battery
    0x1A: EventKind.HARSH_BRAKING,
    0x1B: EventKind.HARSH_CORNERING,
    0x23: EventKind.FALL,
    0x25: EventKind.TAMPER,
    0x26: EventKind.HARSH_ACCELERATION,
    0x27: EventKind.HARSH_BRAKING,
    0x28: EventKind.HARSH_BRAKING,
    0x29: EventKind.HARSH_ACCELERATION,
    0x2A: EventKind.HARSH_CORNERING,  # sharp left
    0x2B: EventKind.HARSH_CORNERING,  # sharp right
    0x2C: EventKind.COLLISION,
    0x2E: EventKind.HARSH_CORNERING,
    0x30: EventKind.HARSH_BRAKING,
    0x32: EventKind.DEVICE_REMOVED,  # unplugged from its socket
}
NO_ALARM = frozenset({0x00, 0xFE, 0xFF})  # normal, ACC on, ACC off

# Terminal information bits 3-5.
TERMINAL_ALARMS: dict[int, EventKind] = {
    1: EventKind.VIBRATION,
    2: EventKind.EXTERNAL_POWER_CUT,
    3: EventKind.LOW_BATTERY,
    4: EventKind.SOS,
    7: EventKind.DEVICE_REMOVED,
}

# Event byte of the 0x95 frame (JC100 / JC400). 0x01 is SOS only in the long form, which
# carries a position; the short form uses it for "general alarm".
CAMERA_EVENTS: dict[int, EventKind] = {
    0x0E: EventKind.EXTERNAL_POWER_LOW,
    0x80: EventKind.VIBRATION,
    0x87: EventKind.OVERSPEED,
    0x88: EventKind.EXTERNAL_POWER_CUT,
    0x90: EventKind.HARSH_ACCELERATION,
    0x91: EventKind.HARSH_BRAKING,
    0x92: EventKind.HARSH_CORNERING,
    0x93: EventKind.COLLISION,
}

# Event byte of module 0x2B in 0x70 frames.
MODULE_EVENTS: dict[int, EventKind] = {
    0x11: EventKind.LOW_BATTERY,
    0x12: EventKind.EXTERNAL_POWER_LOW,
    0x13: EventKind.EXTERNAL_POWER_CUT,
    0x14: EventKind.DEVICE_REMOVED,
}


def alarm_kind(code: int) -> EventKind | None:
    """The kind of an alarm byte, ``None`` when the byte reports no alarm."""
    if code in NO_ALARM:
        return None
    return ALARM_CODES.get(code, EventKind.UNKNOWN_ALARM)
