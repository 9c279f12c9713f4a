"""A publisher in a process of its own, for the tests that kill it with SIGKILL (test_publisher_process.py).

Usage: `python publisher_child.py URL OUTBOX COUNT`, credentials in POSTURE_MQTT_USERNAME/PASSWORD.
Publishes a `running` status and COUNT steps of athlete `ann`, session `s1` (the same ids as
conftest.a_step), prints `stored` once publish() has returned for all of them (they are in the outbox),
`acknowledged` once the broker has acknowledged them (if it is up), then waits to be killed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from posture.messages import status_message, step_message
from posture.mqtt import MqttSettings, Publisher
from processing.steps import StepMetrics

T0_NS = 1_780_000_000_000_000_000


def main(url: str, outbox: str, count: int) -> None:
    settings = MqttSettings.from_url(
        url,
        username=os.environ["POSTURE_MQTT_USERNAME"],
        password=os.environ["POSTURE_MQTT_PASSWORD"],
        reconnect_min_s=0.1,
        reconnect_max_s=0.5,
    )
    publisher = Publisher(settings, "ann", "s1", Path(outbox))
    publisher.start()
    publisher.publish("status", status_message("ann", "s1", t_ns=T0_NS, state="running", connected=True))
    for index in range(count):
        t_ic_s = 10.0 + 0.35 * index
        step = StepMetrics(
            t_ic_s, "L" if index % 2 == 0 else "R", t_ic_s + 0.21, 0.35, 0.21, 0.14, 171.4, 8.0, 5.0, 10.0,
            0.08, 12.0, 0.3, 2.5, True,
        )  # fmt: skip
        publisher.publish("step", step_message("ann", "s1", step, T0_NS))
    print("stored", flush=True)
    if publisher.wait_until_delivered(30):
        print("acknowledged", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
