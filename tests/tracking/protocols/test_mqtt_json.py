"""ontrack's MQTT JSON schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import mqtt_json
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

TOPIC = "ontrack/devices/dev-17/telemetry"


def payload(value: object) -> bytes:
    return json.dumps(value).encode()


def test_topic_round_trips_the_device_id() -> None:
    assert mqtt_json.device_id_from_topic(mqtt_json.topic_for("dev-17")) == "dev-17"


def test_single_reading_yields_a_fix_and_its_events() -> None:
    fix, event = mqtt_json.decode(
        TOPIC,
        payload(
            {
                "time": "2025-03-01T12:00:00Z",
                "lat": 52.37,
                "lon": 4.89,
                "accuracy": 8.5,
                "speed_kmh": 4.2,
                "course": 270,
                "altitude": 3,
                "battery": 81,
                "charging": False,
                "events": ["tamper"],
            }
        ),
    )

    assert fix == Fix(
        device_id="dev-17",
        time=datetime(2025, 3, 1, 12, tzinfo=UTC),
        lat=52.37,
        lon=4.89,
        speed_kmh=4.2,
        course=270,
        altitude_m=3,
        accuracy_m=8.5,
        battery_pct=81,
        attributes={"charging": False},
    )
    assert event == DeviceEvent(
        "dev-17", datetime(2025, 3, 1, 12, tzinfo=UTC), EventKind.TAMPER, "mqtt:tamper"
    )


def test_batch_with_epoch_seconds_and_milliseconds() -> None:
    records = mqtt_json.decode(
        TOPIC,
        payload(
            [{"time": 1700000000, "lat": 1, "lon": 2}, {"time": 1700000000500, "lat": 1, "lon": 2}]
        ),
    )

    assert [record.time for record in records] == [
        datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC),
    ]


def test_reading_with_only_events_yields_only_events() -> None:
    (event,) = mqtt_json.decode(TOPIC, payload({"time": 1700000000, "events": ["sos"]}))

    assert isinstance(event, DeviceEvent)
    assert event.kind is EventKind.SOS


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        (
            "ontrack/devices/a/b/telemetry",
            {"time": 1700000000, "lat": 1, "lon": 2},
            "bad_device_id",
        ),
        ("other/topic", {"time": 1700000000, "lat": 1, "lon": 2}, "bad_topic"),
        (TOPIC, {"time": "2025-03-01T12:00:00", "lat": 1, "lon": 2}, "naive_time"),
        (TOPIC, {"lat": 1, "lon": 2}, "bad_time"),
        (TOPIC, {"time": 1700000000, "lat": 1, "lng": 2}, "unknown_field"),
        (TOPIC, {"time": 1700000000, "lat": 1}, "missing_coordinates"),
        (TOPIC, {"time": 1700000000, "events": ["abducted_by_aliens"]}, "unknown_event"),
        (TOPIC, {"time": 1700000000, "lat": 1, "lon": 2, "battery": 140}, "bad_battery"),
        (TOPIC, {"time": 1700000000, "lat": 100, "lon": 2}, "lat_out_of_range"),
        (TOPIC, {"time": 1700000000, "lat": True, "lon": 2}, "bad_number"),
        (TOPIC, {"time": 1700000000}, "empty_reading"),
        (TOPIC, [], "empty_batch"),
    ],
)
def test_invalid_messages_are_decode_errors(topic: str, body: object, reason: str) -> None:
    with pytest.raises(DecodeError) as error:
        mqtt_json.decode(topic, payload(body))
    assert error.value.reason == reason


def test_non_utf8_payload_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        mqtt_json.decode(TOPIC, b"\xff\xfe")
    assert error.value.reason == "not_utf8"
