"""The MQTT publisher through a real local Mosquitto: latency, throughput and CPU, with the outbox on.

    python benchmarks/bench_publisher.py [--latency-steps N] [--throughput-steps N] [--pace-s S]

1. Latency, one step at a time: from the step's commit (building its message, then `Publisher.publish`,
   which writes the outbox) to its PUBACK (the publisher's `acknowledged` counter, polled every 0.2 ms), and
   to its arrival at a subscriber; also the time `publish()` holds the caller (goal for the step message:
   p99 < 50 ms, issue 8).
2. Throughput: N step messages published as fast as the caller can, until the last PUBACK (messages/s).
3. CPU at running pace: 3 steps/s and 10 live messages/s for S seconds; CPU time of the publisher's thread
   and of the calling thread, in % of one core.

Mosquitto comes from `posture.localstack.mosquitto` (Debian's mosquitto 2.0) on loopback, without TLS.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from posture.localstack.mosquitto import Mosquitto
from posture.messages import Message, decode, live_message, step_message
from posture.mqtt import MqttSettings, Publisher
from processing.steps import StepMetrics

T0_NS = 1_780_000_000_000_000_000


def a_step(index: int) -> StepMetrics:
    t_ic_s = 10.0 + 0.35 * index
    return StepMetrics(
        t_ic_s, "L" if index % 2 == 0 else "R", t_ic_s + 0.21, 0.35, 0.21, 0.14, 171.4, 8.0, 5.0, 10.0, 0.08,
        12.0, 0.3, 2.5, True,
    )  # fmt: skip


class Arrivals:
    """A subscriber that notes when each message_id first arrives (perf_counter)."""

    def __init__(self, port: int) -> None:
        self.at: dict[str, float] = {}
        self._ready = threading.Event()
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="bench-sub",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_connect = lambda client, *args: client.subscribe("posture/v1/#", qos=1)
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self._ready.wait(5)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        now = time.perf_counter()
        self.at.setdefault(decode(msg.topic, msg.payload).message_id, now)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def percentiles_ms(values_s: list[float]) -> str:
    ms = np.asarray(values_s) * 1e3
    return (
        f"p50 {np.percentile(ms, 50):6.2f} ms   p99 {np.percentile(ms, 99):6.2f} ms   max {ms.max():6.2f} ms"
    )


def wait_acknowledged(publisher: Publisher, count: int, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while publisher.counters.acknowledged < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {publisher.counters.acknowledged} of {count} acknowledged")
        time.sleep(0.0002)


def bench_latency(broker: Mosquitto, folder: Path, steps: int) -> None:
    arrivals = Arrivals(broker.port)
    publisher = Publisher(MqttSettings.from_url(broker.url), "bench", "latency", folder / "latency.db")
    publisher.start()
    while not publisher.connected:
        time.sleep(0.01)
    to_ack, to_arrival, in_publish = [], [], []
    committed: dict[str, float] = {}
    for index in range(steps):
        t0 = time.perf_counter()
        message = step_message("bench", "latency", a_step(index), T0_NS)
        publisher.publish("step", message)
        in_publish.append(time.perf_counter() - t0)
        committed[message.message_id] = t0
        wait_acknowledged(publisher, index + 1)
        to_ack.append(time.perf_counter() - t0)
        time.sleep(0.005)
    publisher.close()
    time.sleep(0.2)
    arrivals.close()
    to_arrival = [arrivals.at[key] - t0 for key, t0 in committed.items() if key in arrivals.at]
    print(f"latency over {steps} step messages, one at a time:")
    print(f"  commit -> PUBACK        {percentiles_ms(to_ack)}")
    print(f"  commit -> subscriber    {percentiles_ms(to_arrival)}   ({len(to_arrival)} of {steps} arrived)")
    print(f"  publish() holds caller  {percentiles_ms(in_publish)}")


def bench_throughput(broker: Mosquitto, folder: Path, steps: int) -> None:
    messages = [step_message("bench", "throughput", a_step(i), T0_NS) for i in range(steps)]
    publisher = Publisher(MqttSettings.from_url(broker.url), "bench", "throughput", folder / "throughput.db")
    publisher.start()
    while not publisher.connected:
        time.sleep(0.01)
    t0 = time.perf_counter()
    for message in messages:
        publisher.publish("step", message)
    t_published = time.perf_counter() - t0
    wait_acknowledged(publisher, steps, timeout_s=300)
    t_acked = time.perf_counter() - t0
    publisher.close()
    print(f"throughput, {steps} step messages (outbox on, max_in_flight 1000):")
    print(f"  publish() calls         {steps / t_published:10,.0f} messages/s")
    print(f"  until the last PUBACK   {steps / t_acked:10,.0f} messages/s")


def bench_cpu(broker: Mosquitto, folder: Path, pace_s: float) -> None:
    publisher = Publisher(MqttSettings.from_url(broker.url), "bench", "cpu", folder / "cpu.db")
    publisher.start()
    while not publisher.connected:
        time.sleep(0.01)
    thread = publisher._thread  # benchmark only: the CPU clock of the publisher's own thread
    if thread is None or thread.ident is None:
        raise RuntimeError("the publisher thread is not running")
    clock = time.pthread_getcpuclockid(thread.ident)
    cpu0, caller0, wall0 = time.clock_gettime(clock), time.thread_time(), time.perf_counter()
    tick, index = 0, 0
    while time.perf_counter() - wall0 < pace_s:
        tick += 1
        live: Message = live_message(
            "bench", "cpu", t_ns=T0_NS + tick * 100_000_000, pelvic_tilt_deg=8.0, pelvic_obliquity_deg=1.0,
            pelvic_rotation_deg=2.0, cadence_spm=171.4,
        )  # fmt: skip
        publisher.publish("live", live)
        if tick % 3 == 0:  # 3.3 steps/s
            publisher.publish("step", step_message("bench", "cpu", a_step(index), T0_NS))
            index += 1
        time.sleep(max(0.0, wall0 + tick * 0.1 - time.perf_counter()))
    wall = time.perf_counter() - wall0
    cpu, caller = time.clock_gettime(clock) - cpu0, time.thread_time() - caller0
    counters = publisher.counters
    publisher.close()
    print(f"CPU at running pace ({index} steps, {counters.live_sent} live messages in {wall:.1f} s):")
    print(f"  publisher thread        {100 * cpu / wall:6.2f} % of one core")
    print(f"  caller (build+publish)  {100 * caller / wall:6.2f} % of one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-steps", type=int, default=500)
    parser.add_argument("--throughput-steps", type=int, default=20_000)
    parser.add_argument("--pace-s", type=float, default=20.0)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-publisher-") as tmp,
        Mosquitto(Path(tmp) / "broker") as broker,
    ):
        folder = Path(tmp)
        bench_latency(broker, folder, args.latency_steps)
        bench_throughput(broker, folder, args.throughput_steps)
        bench_cpu(broker, folder, args.pace_s)


if __name__ == "__main__":
    main()
