"""OsmAnd / Traccar Client decoder, pinned with requests from traccar's
OsmAndProtocolDecoderTest (query and JSON forms)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import osmand
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

RECEIVED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
JSON_BODY = (
    b'{"location":{"event":"motionchange","is_moving":false,'
    b'"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z",'
    b'"odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,'
    b'"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,'
    b'"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},'
    b'"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}'
)
JSON_UNKNOWNS = (
    b'{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,'
    b'"longitude":-122.084,"accuracy":5,"speed":-1,"heading":-1,"altitude":5},"is_moving":false,'
    b'"odometer":0,"event":"motionchange","battery":{"level":-1,"is_charging":false},'
    b'"activity":{"type":"still"},"extras":{}},"device_id":"48241179"}'
)


def query(raw: str) -> list[osmand.Record]:
    return osmand.decode_query(osmand.parse_query(raw), received_at=RECEIVED)


def only_fix(records: list[osmand.Record]) -> Fix:
    (fix,) = records
    assert isinstance(fix, Fix)
    return fix


def test_query_fix_with_unix_seconds_and_speed_in_knots() -> None:
    fix = only_fix(
        query(
            "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
            "&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24"
        )
    )

    assert fix.device_id == "123456789012345"
    assert fix.time == datetime(2017, 9, 7, 5, 56, 50, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (40.7232948571, -74.0061408571)
    assert fix.speed_kmh == pytest.approx(40 * 1.852)
    assert fix.course == pytest.approx(7.19889788244)
    assert fix.attributes == {"ignition": True, "rpm": 933.0, "fuel": 24.0}


def test_query_timestamp_in_milliseconds() -> None:
    fix = only_fix(query("id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0"))

    assert fix.time == datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)
    assert fix.attributes["hdop"] == 6.0


def test_query_timestamp_iso8601() -> None:
    fix = only_fix(query("id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"))

    assert fix.time == datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC)


def test_query_timestamp_date_and_time_with_plus_for_space() -> None:
    fix = only_fix(
        query("lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&id=35")
    )

    assert fix.time == datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC)
    assert fix.altitude_m == 384.7


def test_query_without_timestamp_uses_received_at_and_deviceid() -> None:
    fix = only_fix(query("lat=60.0&lon=30.0&speed=0.0&heading=0.0&altitude=0&deviceid=123456"))

    assert (fix.device_id, fix.time) == ("123456", RECEIVED)


def test_query_location_pair_and_battery() -> None:
    fix = only_fix(query("id=1&timestamp=1377177267&location=60.0,30.0&batt=87&charge=true"))

    assert (fix.lat, fix.lon, fix.battery_pct) == (60.0, 30.0, 87)
    assert fix.attributes["charging"] is True


def test_query_alarm_becomes_a_device_event() -> None:
    fix, event = query("id=7&timestamp=1377177267&lat=1.5&lon=2.5&alarm=sos")

    assert isinstance(fix, Fix)
    assert isinstance(event, DeviceEvent)
    assert (event.kind, event.raw_code, event.time) == (EventKind.SOS, "osmand:sos", fix.time)


def test_query_alarm_without_position_still_yields_the_event() -> None:
    (event,) = query("id=7&alarm=tampering")

    assert isinstance(event, DeviceEvent)
    assert (event.kind, event.time) == (EventKind.TAMPER, RECEIVED)


def test_query_with_only_cell_data_is_a_fix_without_a_position() -> None:
    fix = only_fix(query("id=7&timestamp=1377177267&cell=250,1,4012,88871,-71&batt=40"))

    assert (fix.lat, fix.lon, fix.valid) == (None, None, False)
    assert fix.battery_pct == 40
    assert fix.attributes["cell"] == "250,1,4012,88871,-71"


def test_query_with_only_wifi_data_is_a_fix_without_a_position() -> None:
    fix = only_fix(query("id=7&wifi=3c-a6-2f-11-22-33,-60"))

    assert (fix.lat, fix.lon, fix.valid, fix.time) == (None, None, False, RECEIVED)


def test_query_with_neither_coordinates_network_data_nor_alarm_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        query("id=7&timestamp=1377177267&batt=40")
    assert error.value.reason == "missing_coordinates"


def test_query_without_device_id_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        query("timestamp=1377177267&lat=60.0&lon=30.0")
    assert error.value.reason == "missing_device_id"


def test_query_with_latitude_out_of_range_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        query("id=1&lat=91&lon=0")
    assert error.value.reason == "lat_out_of_range"


def test_query_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        osmand.parse_query(b"id=\xff&lat=1&lon=2")
    assert error.value.reason == "not_utf8"


def test_device_id_is_available_before_decoding() -> None:
    assert osmand.device_id_from_query(osmand.parse_query("?id=42&lat=1")) == "42"


def test_unknown_device_statuses_match_what_the_apps_expect() -> None:
    assert osmand.unknown_device_status("query") == 400
    assert osmand.unknown_device_status("json") == 404
    assert osmand.STATUS_OK == 200


def test_json_fix_converts_speed_from_metres_per_second() -> None:
    fix = only_fix(osmand.decode_json(JSON_BODY))

    assert fix.device_id == "8737767034"
    assert fix.time == datetime(2021, 7, 21, 8, 6, 34, 444000, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (-6.1148096, 106.6837015)
    assert fix.speed_kmh == pytest.approx(18.67 * 3.6)
    assert (fix.course, fix.altitude_m, fix.accuracy_m) == (63, 35.7, 3.8)
    assert fix.battery_pct == 79
    assert fix.attributes["charging"] is False
    assert fix.attributes["event"] == "motionchange"


def test_json_minus_one_means_unknown() -> None:
    fix = only_fix(osmand.decode_json(JSON_UNKNOWNS))

    assert (fix.speed_kmh, fix.course, fix.battery_pct) == (None, None, None)


def test_json_batch_yields_one_fix_per_location() -> None:
    body = (
        b'{"device_id":"9","location":[{"timestamp":"2024-01-01T00:00:00Z",'
        b'"coords":{"latitude":1,"longitude":2}},{"timestamp":"2024-01-01T00:01:00Z",'
        b'"coords":{"latitude":1.1,"longitude":2.1}}]}'
    )

    assert [record.time.minute for record in osmand.decode_json(body)] == [0, 1]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "bad_json"),
        (b"\xff", "not_utf8"),
        (b"[]", "bad_json"),
        (b'{"location":{}}', "missing_device_id"),
        (b'{"device_id":"1","location":{"coords":{"latitude":"1","longitude":2}}}', "bad_number"),
        (b"[" * 100_000, "too_large"),
        (b"[" * 50_000, "bad_json"),
    ],
)
def test_json_errors_are_decode_errors(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as error:
        osmand.decode_json(body, received_at=RECEIVED)
    assert error.value.reason == reason
