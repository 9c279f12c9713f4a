"""The ingest container's healthcheck (compose.yaml mounts this file and runs it with the image's Python).

Healthy when the ingest's retained status on ``posture/v1/_ingest/{client_id}/status`` (`status_topic`) says
``running`` and is fresh: a connected ingest republishes it every `IngestOptions.status_interval_s` (10 s),
and the broker replaces it by the ingest's last will (``offline``) when the connection dies. So an ingest
that lost the broker, or that is stuck, turns unhealthy within a minute.

It logs in with the ingest's own credentials (``POSTURE_MQTT_USERNAME`` / ``POSTURE_MQTT_PASSWORD``, which
the ACL lets read ``posture/v1/#``) under a random client id and a clean session, so it never touches the
ingest's persistent session. Exit status 0: healthy; 1: not, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import time
import uuid
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from dashboards.ingest import BrokerAddress, status_topic


def read_status(broker: BrokerAddress, client_id: str, timeout_s: float) -> dict[str, object] | None:
    """The ingest's retained status, or None when the broker holds none (or does not answer in time)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"posture-healthcheck-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=broker.ca_file)
    received: queue.Queue[bytes] = queue.Queue()
    refused: list[str] = []
    topic = status_topic(client_id)

    def on_connect(
        c: mqtt.Client, userdata: object, flags: object, reason: ReasonCode, properties: object
    ) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        else:
            c.subscribe(topic, qos=0)

    client.on_connect = on_connect
    client.on_message = lambda c, userdata, message: received.put(bytes(message.payload))
    client.connect(broker.host, broker.port, keepalive=max(5, int(timeout_s) * 2))
    client.loop_start()
    try:
        payload = received.get(timeout=timeout_s)
    except queue.Empty:
        if refused:
            raise ConnectionRefusedError(f"the broker refused the login: {refused[0]}") from None
        return None
    finally:
        client.disconnect()
        client.loop_stop()
    status = json.loads(payload)
    return status if isinstance(status, dict) else None


def problem(status: dict[str, object] | None, *, now_ns: int, max_age_s: float) -> str | None:
    """Why `status` is not a healthy ingest's, or None when it is."""
    if status is None:
        return "no status from the ingest (not started, or not connected to the broker)"
    if status.get("state") != "running":
        return f"the ingest's state is {status.get('state')!r}"
    t_ns = status.get("t_ns")
    if not isinstance(t_ns, int):
        return "the ingest's status has no time"
    age_s = (now_ns - t_ns) / 1e9
    if age_s > max_age_s:
        return f"the ingest's last status is {age_s:.0f} s old"
    return None


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Is the ingest running and connected? (exit status 0/1)")
    parser.add_argument("--mqtt", default="mqtt://mosquitto:1883", help="The broker the ingest uses.")
    parser.add_argument("--client-id", required=True, help="The ingest's --client-id.")
    parser.add_argument("--max-age", type=float, default=60.0, help="Oldest acceptable status, s.")
    parser.add_argument("--timeout", type=float, default=5.0, help="How long to wait for the status, s.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    broker = BrokerAddress.from_url(
        args.mqtt,
        username=os.environ.get("POSTURE_MQTT_USERNAME") or None,
        password=os.environ.get("POSTURE_MQTT_PASSWORD") or None,
        ca_file=os.environ.get("POSTURE_MQTT_CA_FILE") or None,
    )
    try:
        status = read_status(broker, args.client_id, args.timeout)
    except (OSError, ValueError) as exc:
        print(f"unhealthy: cannot read the ingest's status from {args.mqtt}: {exc}", file=sys.stderr)
        return 1
    reason = problem(status, now_ns=time.time_ns(), max_age_s=args.max_age)
    if reason is not None:
        print(f"unhealthy: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
