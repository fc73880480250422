"""The gateway's MQTT subscriber: devices publish to a broker, the gateway subscribes.

paho-mqtt runs its network loop in its own thread and hands each message to the event loop.
The subscription is QoS 1 with manual acknowledgement: the PUBACK for a message goes to the
broker only after its records are durable, so a gateway killed mid-batch gets the message
again from the broker (it is still in flight for our session). The session is persistent
(``clean_session=False`` under a fixed client id), so the broker queues messages while the
gateway is down, within the broker's own limits (Mosquitto: ``max_queued_messages``).
Messages from unknown devices, with a topic outside the schema, or that do not decode are
logged, counted and acknowledged: sending them again would not make them valid.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ontrack.tracking.gateway.core import Hub
from ontrack.tracking.protocols import mqtt_json
from ontrack.tracking.protocols.records import DecodeError

logger = logging.getLogger("ontrack.gateway")


class MqttSubscriber:
    """Subscribes to ``mqtt_json.TOPIC_FILTER`` and feeds the writer."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = hub
        self.loop = loop
        config = hub.config
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.mqtt_client_id,
            clean_session=False,
            manual_ack=True,
        )
        if config.mqtt_username:
            self.client.username_pw_set(config.mqtt_username, config.mqtt_password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = asyncio.Event()

    def start(self) -> None:
        config = self.hub.config
        assert config.mqtt_host is not None
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.connect_async(config.mqtt_host, config.mqtt_port, keepalive=60)
        self.client.loop_start()

    def send_command(self, identifier: str, command_id: int, text: str) -> None:
        """Publish an on-demand command on the device's command topic (QoS 1); the device
        answers by publishing telemetry, whose first fix answers the command."""
        self.client.publish(
            mqtt_json.command_topic_for(identifier),
            mqtt_json.encode_command(command_id, text),
            qos=1,
        )

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # --- paho's thread ------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:  # fmt: skip
        if reason.is_failure:
            logger.warning("mqtt connection refused", extra={"reason": str(reason)})
            return
        client.subscribe(mqtt_json.TOPIC_FILTER, qos=1)
        logger.info(
            "mqtt subscribed",
            extra={"broker": f"{self.hub.config.mqtt_host}:{self.hub.config.mqtt_port}",
                   "topic": mqtt_json.TOPIC_FILTER},
        )  # fmt: skip
        self.loop.call_soon_threadsafe(self.connected.set)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:  # fmt: skip
        logger.warning("mqtt disconnected", extra={"reason": str(reason)})
        self.loop.call_soon_threadsafe(self.connected.clear)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.loop.call_soon_threadsafe(
            self._handle, message.topic, bytes(message.payload), message.mid, message.qos
        )

    # --- event loop -----------------------------------------------------------------------

    def _handle(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        counters = self.hub.counters
        try:
            identifier = mqtt_json.device_id_from_topic(topic)
            device = self.hub.lookup(identifier, "mqtt", topic)
            if device is None:
                self._ack(mid, qos)
                return
            records = mqtt_json.decode(topic, payload)
        except DecodeError as error:
            counters.add("bad_frames")
            logger.info(
                "bad message", extra={"protocol": "mqtt_json", "reason": error.reason,
                                      "topic": topic[:120]}
            )  # fmt: skip
            self._ack(mid, qos)
            return
        counters.add("frames")
        self.hub.writer.submit_acked(
            [(device, record) for record in records], self._acked_when_durable, (mid, qos)
        )

    def _acked_when_durable(self, message: tuple[int, int], error: BaseException | None) -> None:
        if error is not None:
            return  # no PUBACK: the broker delivers it again after a reconnect
        self._ack(*message)

    def _ack(self, mid: int, qos: int) -> None:
        if qos > 0:
            self.client.ack(mid, qos)
