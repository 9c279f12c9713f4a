"""A real Mosquitto with a password file and an ACL, and a deduplicating consumer, for the publisher tests.

Users: `ann` may write `posture/v1/ann/#` only; `reader` may read everything. Nothing is mocked: the broker is
`posture.localstack.mosquitto.Mosquitto` (Debian's mosquitto 2.0), the consumer a paho client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from posture.localstack.mosquitto import Mosquitto
from posture.messages import InvalidMessage, Message, decode
from processing.steps import StepMetrics

PASSWORDS = {"ann": "ann-secret", "reader": "reader-secret"}
ACL = """\
user ann
topic readwrite posture/v1/ann/#

user reader
topic read posture/v1/#
"""
T0_NS = 1_780_000_000_000_000_000


def a_step(index: int) -> StepMetrics:
    """The index-th step of a steady run at 171 steps/min, alternating sides."""
    t_ic_s = 10.0 + 0.35 * index
    return StepMetrics(
        t_ic_s=t_ic_s,
        side="L" if index % 2 == 0 else "R",
        t_to_s=t_ic_s + 0.21,
        step_time_s=0.35,
        contact_time_s=0.21,
        flight_time_s=0.14,
        cadence_spm=171.4,
        pelvic_tilt_deg=8.0 + 0.01 * index,
        pelvic_drop_deg=5.0,
        pelvic_rotation_deg=10.0,
        vertical_oscillation_m=0.08,
        braking_peak_mps2=12.0,
        braking_dv_mps=0.3,
        impact_peak_g=2.5,
        is_running=True,
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """Mosquitto on a free loopback port, with the password file and ACL above."""
    with Mosquitto(tmp_path / "mosquitto", users=PASSWORDS, acl=ACL) as mosquitto:
        yield mosquitto


class Consumer:
    """A paho subscriber like the ingest: QoS 1, persistent session, decodes and deduplicates by message_id.

    Its session survives a broker restart (the broker saves it on SIGTERM), so messages published while it is
    reconnecting are queued for it rather than lost.
    """

    def __init__(
        self, broker: Mosquitto, topic: str = "posture/v1/#", client_id: str = "test-consumer"
    ) -> None:
        self.received: list[Message] = []  # every valid delivery, duplicates included
        self.invalid: list[InvalidMessage] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set("reader", PASSWORDS["reader"])
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.topic = topic
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, keepalive=10, clean_start=False, properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise TimeoutError("the test consumer could not subscribe")

    def _on_connect(
        self, client: paho.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            message = decode(msg.topic, msg.payload)
        except InvalidMessage as exc:
            with self._lock:
                self.invalid.append(exc)
            return
        with self._lock:
            self.received.append(message)

    def unique(self, kind: str | None = None) -> dict[str, Message]:
        """The messages seen, deduplicated by message_id (in order of first arrival)."""
        with self._lock:
            seen: dict[str, Message] = {}
            for message in self.received:
                if kind is None or message.kind == kind:
                    seen.setdefault(message.message_id, message)
            return seen

    def wait_for(self, predicate: Callable[[Consumer], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return predicate(self)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def consumer(broker: Mosquitto) -> Iterator[Consumer]:
    reader = Consumer(broker)
    yield reader
    reader.close()
