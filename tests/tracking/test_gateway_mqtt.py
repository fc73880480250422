"""The MQTT subscriber against the real Mosquitto broker on 127.0.0.1:1883."""

import json
import socket
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ontrack.tracking.models import DeviceEventRecord, Position
from ontrack.tracking.protocols import mqtt_json
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import eventually, running_gateway

BROKER = ("127.0.0.1", 1883)


def _broker_reachable() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not _broker_reachable(), reason="no MQTT broker at 127.0.0.1:1883"),
]


def test_published_readings_are_stored_and_unknown_devices_counted(tmp_path: Path) -> None:
    device_id = f"phone-{uuid.uuid4().hex[:10]}"
    register_device(device_id, "mqtt")
    client_id = f"ontrack-test-{uuid.uuid4().hex[:8]}"
    gateway_thread = running_gateway(
        tmp_path, mqtt_host=BROKER[0], mqtt_port=BROKER[1], mqtt_client_id=client_id
    )
    with gateway_thread as gateway:
        subscriber = gateway._mqtt
        assert eventually(lambda: subscriber.connected.is_set()), "gateway subscribed"
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
        publisher.connect(*BROKER)
        publisher.loop_start()
        readings = [
            {"time": "2026-03-01T12:00:00Z", "lat": 29.76, "lon": -95.37, "accuracy": 9},
            {"time": "2026-03-01T12:01:00Z", "lat": 29.77, "lon": -95.36,
             "events": ["tamper"]},
        ]  # fmt: skip
        publisher.publish(
            mqtt_json.topic_for(device_id), json.dumps(readings), qos=1
        ).wait_for_publish()
        publisher.publish(mqtt_json.topic_for("not-registered"), b"{}", qos=1).wait_for_publish()
        assert eventually(lambda: Position.objects.count() == 2), "both readings stored"
        assert eventually(lambda: gateway.counters["unknown_devices"] >= 1)
        publisher.loop_stop()
        publisher.disconnect()
    assert DeviceEventRecord.objects.filter(kind="tamper").count() == 1
