"""Ingest throughput and memory: step messages per second from Mosquitto into InfluxDB, against the ceiling.

Everything real, each in its own process as in production: Mosquitto 2.0.11, influxd 1.6.7 behind the v2
write shim (`posture.localstack`), one publisher (plain paho, QoS 1, as `posture run` publishes), and
`python -m posture.commands.ingest`. Reported, side by side in one run:

1. ceiling: one paho QoS 1 publisher to one paho QoS 1 subscriber through the same broker (no ingest work);
2. one ingest process: publisher start to the last point readable in InfluxDB;
3. two ingest processes on one shared subscription (`--share-group`);
4. backlog drain: the rate at which one ingest empties a queue the broker built while it was away;
5. memory: the ingest's RSS while it holds its bound of unwritten messages with InfluxDB away and 100,000
   messages published (the broker holds the rest), then the drain once InfluxDB is back.

    python benchmarks/bench_ingest.py [--messages 100000] [--backlog 100000] [--repeat 1]

The machine is shared (2 cores); run it when nothing else runs, and read the ratios more than the rates.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

REPO = Path(__file__).resolve().parents[1]
ATHLETE = "bench"
T0_NS = 1_796_000_000_000_000_000
#: Messages the publisher leaves unacknowledged at most (paho's message ids are 16-bit).
PUBLISH_WINDOW = 30_000


def _broker(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("mqtt://").split(":")
    return host, int(port)


def build_payloads(count: int, session: str) -> list[tuple[str, bytes]]:
    """`count` distinct, valid step messages of one session (topic, payload)."""
    from posture.messages import step_message
    from processing.steps import StepMetrics

    out = []
    for i in range(count):
        t = 1.0 + 0.33 * i
        step = StepMetrics(
            t, "L" if i % 2 else "R", t + 0.25, 0.33 + i * 1e-9, 0.25, 0.08, 181.8181818181818,
            12.3 + i * 1e-7, 6.1, 14.2, 0.081, 12.0, 0.4, 2.5, True,
        )  # fmt: skip
        m = step_message(ATHLETE, session, step, T0_NS)
        out.append((m.topic, m.raw))
    return out


def publish(url: str, count: int, session: str) -> None:
    """Child process: publish `count` step messages as fast as QoS 1 allows; print the rate."""
    payloads = build_payloads(count, session)
    host, port = _broker(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    print("ready", flush=True)
    sys.stdin.readline()  # go
    start = time.monotonic()
    infos: list[mqtt.MQTTMessageInfo] = []
    for i, (topic, payload) in enumerate(payloads):
        if i >= PUBLISH_WINDOW:  # paho's 16-bit message ids: keep fewer than 65535 unacknowledged
            infos[i - PUBLISH_WINDOW].wait_for_publish(timeout=600)
        infos.append(client.publish(topic, payload, qos=1))
    for info in infos[-PUBLISH_WINDOW:]:
        info.wait_for_publish(timeout=600)
    elapsed = time.monotonic() - start
    client.disconnect()
    client.loop_stop()
    print(f"published {count} in {elapsed:.2f} s", flush=True)


def subscribe(url: str, count: int) -> None:
    """Child process: a plain paho QoS 1 subscriber; print the time from first to last of `count`."""
    host, port = _broker(url)
    done = threading.Event()
    seen = [0]
    first = [0.0]

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if seen[0] == 0:
            first[0] = time.monotonic()
        seen[0] += 1
        if seen[0] == count:
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="ceiling", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_message = on_message
    client.connect(host, port)
    client.subscribe("posture/v1/+/+/+", qos=1)
    client.loop_start()
    time.sleep(0.5)
    print("ready", flush=True)
    done.wait(600)
    end = time.monotonic()
    print(f"{end:.6f} {first[0]:.6f}", flush=True)
    client.disconnect()
    client.loop_stop()


def serve_shim(influx_url: str) -> None:
    """Child process: the v2 write shim in front of `influx_url`; prints its URL, serves until killed."""
    from posture.localstack.v2_write_shim import V2WriteShim

    shim = V2WriteShim(influx_url)
    shim.start()
    print(shim.url, flush=True)
    signal.sigwait({signal.SIGTERM})
    shim.close()


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _ingest(mqtt_url: str, influx_url: str, client_id: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTURE_INFLUX_TOKEN": "bench"}
    args = [
        sys.executable, "-m", "posture.commands.ingest", "--mqtt", mqtt_url, "--influx-url", influx_url,
        "--org", "club", "--bucket", "posture", "--client-id", client_id, *extra,
    ]  # fmt: skip
    return subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _count(influxdb: object, session: str) -> int:
    series = influxdb.query(  # type: ignore[attr-defined]
        f'SELECT count("step_time_s") FROM "step" WHERE "session" = \'{session}\''
    )
    return int(series[0].values[0][1]) if series else 0


def _wait_count(influxdb: object, session: str, count: int, timeout_s: float = 600.0) -> float:
    deadline = time.monotonic() + timeout_s
    while (n := _count(influxdb, session)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {n} of {count} written after {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic()


def _expect_ready(child: subprocess.Popen[str]) -> None:
    if child.stdout is None or child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"benchmark child {child.args!r} did not start")


def _start_publisher(mqtt_url: str, count: int, session: str) -> subprocess.Popen[str]:
    publisher = _child("publish", mqtt_url, str(count), session)
    _expect_ready(publisher)
    return publisher


def _go(publisher: subprocess.Popen[str]) -> float:
    assert publisher.stdin is not None
    publisher.stdin.write("go\n")
    publisher.stdin.flush()
    return time.monotonic()


def _finish(publisher: subprocess.Popen[str]) -> str:
    out, _ = publisher.communicate(timeout=600)
    return out.strip().splitlines()[-1]


def ceiling(mqtt_url: str, count: int) -> float:
    subscriber = _child("subscribe", mqtt_url, str(count))
    _expect_ready(subscriber)
    publisher = _start_publisher(mqtt_url, count, "ceiling")
    start = _go(publisher)
    end_s, _ = (float(v) for v in subscriber.communicate(timeout=600)[0].split())
    _finish(publisher)
    return count / (end_s - start)


def ingest_rate(
    mqtt_url: str, shim_url: str, influxdb: object, count: int, session: str, processes: int
) -> float:
    # a group of its own per run: Mosquitto goes on assigning messages to the sessions of stopped members
    extra = ("--share-group", f"bench-{session}") if processes > 1 else ()
    ingests = [_ingest(mqtt_url, shim_url, f"bench-{session}-{i}", *extra) for i in range(processes)]
    time.sleep(1.5)  # connected and subscribed
    publisher = _start_publisher(mqtt_url, count, session)
    start = _go(publisher)
    end = _wait_count(influxdb, session, count)
    _finish(publisher)
    for process in ingests:
        _stop(process)
    return count / (end - start)


def drain_rate(mqtt_url: str, shim_url: str, influxdb: object, count: int) -> float:
    # subscribe once (the session keeps the subscription), leave, let the broker queue a backlog
    subscriber = _ingest(mqtt_url, shim_url, "bench-drain")
    time.sleep(1.5)
    _stop(subscriber)
    publisher = _start_publisher(mqtt_url, count, "drain")
    _go(publisher)
    _finish(publisher)
    second = _ingest(mqtt_url, shim_url, "bench-drain")
    # from the first batch in InfluxDB (not the process start: Python's start-up is not the ingest's rate)
    _wait_count(influxdb, "drain", 1)
    start, already = time.monotonic(), _count(influxdb, "drain")
    end = _wait_count(influxdb, "drain", count)
    _stop(second)
    return (count - already) / (end - start)


def backlog_memory(mqtt_url: str, shim_url: str, influxdb: object, count: int, max_unwritten: int) -> str:
    session = f"backlog{max_unwritten}"
    ingest = _ingest(mqtt_url, shim_url, f"bench-{session}", "--max-unwritten", str(max_unwritten))
    time.sleep(1.5)
    idle_mb = _rss_mb(ingest.pid)
    influxdb.stop()  # type: ignore[attr-defined]
    publisher = _start_publisher(mqtt_url, count, session)
    _go(publisher)
    _finish(publisher)
    time.sleep(3.0)  # the ingest fills up to its bound and retries
    held_mb = _rss_mb(ingest.pid)
    influxdb.start()  # type: ignore[attr-defined]
    start = time.monotonic()
    end = _wait_count(influxdb, session, count)
    after_mb = _rss_mb(ingest.pid)
    _stop(ingest)
    return (
        f"max_unwritten {max_unwritten}: RSS {idle_mb:.0f} MB idle, {held_mb:.0f} MB holding its bound of "
        f"{count} published with InfluxDB away, {after_mb:.0f} MB after; all {count} written "
        f"{end - start:.1f} s after InfluxDB returned ({count / (end - start):,.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from posture.localstack.influxdb import InfluxDB
    from posture.localstack.mosquitto import Mosquitto

    with Mosquitto() as broker, InfluxDB(database="posture") as influxdb:
        shim = _child("shim", influxdb.url)
        assert shim.stdout is not None
        shim_url = shim.stdout.readline().strip()
        try:
            for r in range(args.repeat):
                top = ceiling(broker.url, args.messages)
                one = ingest_rate(broker.url, shim_url, influxdb, args.messages, f"one{r}", 1)
                two = ingest_rate(broker.url, shim_url, influxdb, args.messages, f"two{r}", 2)
                print(f"ceiling (paho QoS 1 publisher -> paho subscriber): {top:,.0f} msg/s", flush=True)
                for name, rate in (("one ingest process", one), ("two ingest processes", two)):
                    print(f"{name}: {rate:,.0f} msg/s ({100 * rate / top:.0f} % of the ceiling)", flush=True)
            drain = drain_rate(broker.url, shim_url, influxdb, args.messages)
            print(f"backlog drain, one ingest: {drain:,.0f} msg/s", flush=True)
            for bound in (20_000, 65_535):
                print(backlog_memory(broker.url, shim_url, influxdb, args.backlog, bound), flush=True)
        finally:
            shim.send_signal(signal.SIGTERM)
            shim.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "publish":
        publish(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "subscribe":
        subscribe(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "shim":
        serve_shim(sys.argv[2])
    else:
        main()
