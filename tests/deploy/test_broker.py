"""deploy/mosquitto/ in a real Mosquitto (Debian's 2.0.11; the compose file runs eclipse-mosquitto:2).

The broker runs the deployment's own config files, copied to a temporary folder laid out as compose.yaml
mounts them (every path the config names must lie in a mount or the data volume), with the listeners moved
to free loopback ports. Its ACL file is the deployment's: each runner publishes only under its own athlete id
(MQTT v5 with paho-mqtt 2.x: a denial is reason code 135 in `on_publish`), the ingest reads everything through
a shared subscription and writes only its own topics, a coach only reads. The TLS example is run too; the
real ingest runs as the deployment's `ingest` user, with its healthcheck; and the ingest service's own
command and environment run in a process of their own, writing into a real (1.6.7) InfluxDB.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dashboards.ingest import BrokerAddress, Ingest, IngestOptions, status_topic
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import (
    MOSQUITTO,
    MOSQUITTO_PASSWD,
    accepts_connections,
    free_port,
    make_certificates,
)
from posture.localstack.v2_write_shim import V2WriteShim
from posture.messages import step_message
from processing.steps import StepMetrics
from tests.deploy.deployment import (
    DEPLOY,
    ENV_EXAMPLE,
    bind_mounts,
    environment,
    load_compose,
    load_healthcheck,
    read_env_file,
)

HOST = "127.0.0.1"
#: The ingest's password is the one compose gives it (env.example's), as the guide has the user make it.
PASSWORDS = {
    "alex": "alex-secret",
    "bob": "bob-secret",
    "ingest": read_env_file(ENV_EXAMPLE)["INGEST_MQTT_PASSWORD"],
    "coach": "coach-secret",
}
NOT_AUTHORIZED = 135
T0_NS = 1_796_000_000_000_000_000


@dataclass(frozen=True)
class DeployedBroker:
    port: int
    tls_port: int
    folder: Path
    ca_file: Path | None
    output: Path

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"


def _container_to_local(compose: dict[str, Any], root: Path) -> dict[PurePosixPath, Path]:
    """Each container folder of the broker (bind mounts, named volumes) -> a folder in `root`."""
    service = compose["services"]["mosquitto"]
    folders: dict[PurePosixPath, Path] = {}
    for mount in bind_mounts(service):
        local = root / mount.target.relative_to("/")
        shutil.copytree(mount.source, local)
        folders[mount.target] = local
    for entry in service["volumes"]:
        source, target = entry.split(":")[:2]
        if not source.startswith((".", "/")):  # a named volume: empty at the first start
            local = root / PurePosixPath(target).relative_to("/")
            local.mkdir(parents=True)
            folders[PurePosixPath(target)] = local
    return folders


def _local(folders: dict[PurePosixPath, Path], container_path: str) -> Path:
    path = PurePosixPath(container_path)
    for target, local in folders.items():
        if path == target or target in path.parents:
            return local / path.relative_to(target)
    raise AssertionError(f"the broker's config names {container_path}, which compose.yaml does not mount")


def _rewrite(conf: Path, folders: dict[PurePosixPath, Path], ports: dict[str, int]) -> str:
    """One config file with container paths made local and listeners moved to free loopback ports."""
    lines = []
    for line in conf.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0] == "listener":
            assert len(words) == 2, f"{conf}: {line!r}: the container listens on all its interfaces"
            line = f"listener {ports[words[1]]} {HOST}"
        elif len(words) == 2 and words[1].startswith("/"):
            line = f"{words[0]} {_local(folders, words[1])}{'/' if words[1].endswith('/') else ''}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def start_deployed_broker(root: Path, *, tls: bool) -> tuple[subprocess.Popen[bytes], DeployedBroker]:
    """Start Mosquitto on the deployment's config (with the TLS example enabled when `tls`)."""
    compose = load_compose()
    folders = _container_to_local(compose, root / "container")
    config = _local(folders, "/mosquitto/config")
    if tls:
        shutil.copy(config / "conf.d" / "tls.conf.example", config / "conf.d" / "tls.conf")
    ports = {"1883": free_port(), "8883": free_port()}
    for conf in [config / "mosquitto.conf", *sorted((config / "conf.d").glob("*.conf"))]:
        conf.write_text(_rewrite(conf, folders, ports), encoding="utf-8")
    main = config / "mosquitto.conf"
    text = main.read_text(encoding="utf-8")
    password_file = _local(folders, _directive(DEPLOY / "mosquitto/config/mosquitto.conf", "password_file"))
    password_file.touch(mode=0o600)
    for name, password in PASSWORDS.items():
        subprocess.run([str(MOSQUITTO_PASSWD), "-b", str(password_file), name, password], check=True)
    if os.geteuid() == 0:
        # As root, Mosquitto drops to the `mosquitto` user, which cannot read pytest's private temporary
        # folder (the reason posture.localstack.mosquitto gives); in the container it runs as `mosquitto`.
        main.write_text(text + "user root\n", encoding="utf-8")
    ca_file = make_certificates(_local(folders, "/mosquitto/certs")).ca_file if tls else None
    output = root / "mosquitto.out"
    with output.open("wb") as sink:
        process = subprocess.Popen([str(MOSQUITTO), "-c", str(main)], stdout=sink, stderr=subprocess.STDOUT)
    broker = DeployedBroker(ports["1883"], ports["8883"], root, ca_file, output)
    wanted = [broker.port, broker.tls_port] if tls else [broker.port]
    deadline = time.monotonic() + 10
    while not all(accepts_connections(port) for port in wanted):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError(f"mosquitto did not start: {output.read_text(errors='replace')}")
        time.sleep(0.02)
    return process, broker


def _directive(conf: Path, name: str) -> str:
    values = [line.split()[1] for line in conf.read_text().splitlines() if line.split()[:1] == [name]]
    assert len(values) == 1, f"{conf} sets {name} {len(values)} times"
    return values[0]


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., DeployedBroker]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*, tls: bool = False) -> DeployedBroker:
        process, broker = start_deployed_broker(tmp_path / f"broker{len(processes)}", tls=tls)
        processes.append(process)
        return broker

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def broker(broker_factory: Callable[..., DeployedBroker]) -> DeployedBroker:
    return broker_factory()


class Client:
    """A paho-mqtt 2.x client (MQTT v5 unless told) with blocking connect, publish and subscribe."""

    def __init__(
        self,
        port: int,
        user: str | None,
        *,
        password: str | None = None,
        ca_file: Path | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        client_id: str = "",
        session_expiry_s: int | None = None,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, reconnect_on_failure=False
        )
        if user is not None:
            self.client.username_pw_set(user, PASSWORDS[user] if password is None else password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._acks: dict[int, queue.Queue[Any]] = {}
        self._lock = threading.Lock()
        self.client.on_connect = lambda c, u, f, rc, p: self._connack.put(rc)
        self.client.on_publish = lambda c, u, mid, rc, p: self._ack(mid).put(rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._ack(mid).put(rcs)
        self.client.on_message = lambda c, u, msg: self.messages.put(msg)
        properties = None
        if session_expiry_s is not None:  # a persistent session, as the ingest keeps
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = session_expiry_s
        host = HOST if ca_file is None else "localhost"
        if protocol == MQTTProtocolVersion.MQTTv5:
            self.client.connect(host, port, clean_start=session_expiry_s is None, properties=properties)
        else:
            self.client.connect(host, port)
        self.client.loop_start()
        self.connack = self._connack.get(timeout=5)

    def _ack(self, mid: int) -> queue.Queue[Any]:
        with self._lock:
            return self._acks.setdefault(mid, queue.Queue())

    def publish(self, topic: str, payload: bytes = b"{}", *, retain: bool = False) -> int:
        """Publish at QoS 1; the PUBACK's reason code (>= 128: refused)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        code: ReasonCode = self._ack(info.mid).get(timeout=5)
        return int(code.value)

    def subscribe(self, topic: str) -> int:
        """Subscribe at QoS 1; the SUBACK's reason code (the granted QoS, or >= 128: refused)."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None, result
        codes: Sequence[ReasonCode] = self._ack(mid).get(timeout=5)
        return int(codes[0].value)

    def received(self, wait_s: float = 0.5) -> list[tuple[str, bytes]]:
        """Everything that arrived within `wait_s`."""
        deadline = time.monotonic() + wait_s
        got = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                break
            got.append((msg.topic, bytes(msg.payload)))
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker: DeployedBroker) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(user: str | None, **options: Any) -> Client:
        client = Client(broker.port, user, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


# --- logins ------------------------------------------------------------------------------------------------


def test_the_deployed_config_refuses_anonymous_and_wrong_passwords(connect: Callable[..., Client]) -> None:
    assert connect("alex").connack.value == 0
    assert connect("alex", password="wrong").connack.is_failure
    assert connect(None).connack.value == NOT_AUTHORIZED
    # MQTT 3.1.1, as the compose healthcheck's mosquitto_sub speaks it: CONNACK 5, "not authorised", which
    # is what the healthcheck greps for to tell an answering broker from a dead one.
    old = connect(None, protocol=MQTTProtocolVersion.MQTTv311)
    assert old.connack.is_failure
    assert "authori" in str(old.connack).lower()


# --- the ACL ---------------------------------------------------------------------------------------------


def test_a_runner_publishes_only_under_its_own_athlete_id(connect: Callable[..., Client]) -> None:
    alex = connect("alex")
    assert alex.publish("posture/v1/alex/run-1/step") < 128
    assert alex.publish("posture/v1/alex/run-1/status", retain=True) < 128
    assert alex.publish("posture/v1/bob/run-1/step") == NOT_AUTHORIZED
    assert alex.publish("posture/v1/bob/run-1/status", retain=True) == NOT_AUTHORIZED
    # the ingest's own topics are not a runner's
    assert alex.publish("posture/v1/_deadletter/schema") == NOT_AUTHORIZED
    assert alex.publish("posture/v1/_ingest/posture-ingest-1/status") == NOT_AUTHORIZED
    assert alex.publish("other/topic") == NOT_AUTHORIZED


def test_a_last_will_under_another_athletes_id_is_never_delivered(
    broker: DeployedBroker, connect: Callable[..., Client]
) -> None:
    """The publisher's last will marks its run offline; under another id Mosquitto accepts the CONNECT and
    then drops the will (checked with 2.0.11), as the ACL file says."""
    coach = connect("coach")
    assert coach.subscribe("posture/v1/+/run-9/status") == 1
    for will_topic in ("posture/v1/bob/run-9/status", "posture/v1/alex/run-9/status"):
        runner = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        runner.username_pw_set("alex", PASSWORDS["alex"])
        runner.will_set(will_topic, b"offline", qos=1)
        runner.connect(HOST, broker.port)
        runner.loop(1.0)  # CONNECT and CONNACK
        socket_ = runner.socket()
        assert socket_ is not None
        socket_.close()  # gone without DISCONNECT: the broker publishes the will
    assert [topic for topic, _ in coach.received(wait_s=1.0)] == ["posture/v1/alex/run-9/status"]


def test_a_runner_never_sees_another_runners_messages(connect: Callable[..., Client]) -> None:
    alex, bob = connect("alex"), connect("bob")
    alex.subscribe("posture/v1/#")  # granted or refused: either way nothing of bob's may arrive
    assert alex.subscribe("posture/v1/alex/#") == 1
    assert bob.publish("posture/v1/bob/run-1/step", b"bob") < 128
    assert alex.publish("posture/v1/alex/run-1/step", b"alex") < 128
    topics = {topic for topic, _ in alex.received()}
    assert topics == {"posture/v1/alex/run-1/step"}


def test_the_ingest_reads_every_runner_through_a_shared_subscription(connect: Callable[..., Client]) -> None:
    ingest = connect("ingest")
    # what `posture ingest --share-group ingest` subscribes to (dashboards.ingest.subscription_for)
    assert ingest.subscribe("$share/ingest/posture/v1/+/+/+") == 1
    connect("alex").publish("posture/v1/alex/run-1/step", b"a")
    connect("bob").publish("posture/v1/bob/run-1/step", b"b")
    assert sorted(topic for topic, _ in ingest.received()) == [
        "posture/v1/alex/run-1/step",
        "posture/v1/bob/run-1/step",
    ]
    assert ingest.publish("posture/v1/_deadletter/schema") < 128
    assert ingest.publish(status_topic("posture-ingest-1"), retain=True) < 128
    # it cannot forge a runner's data, nor pose as an athlete called `ingest`
    assert ingest.publish("posture/v1/alex/run-1/step") == NOT_AUTHORIZED
    assert ingest.publish("posture/v1/ingest/run-1/step") == NOT_AUTHORIZED


def test_a_coach_reads_everything_and_publishes_nothing(connect: Callable[..., Client]) -> None:
    coach = connect("coach")
    assert coach.subscribe("posture/v1/#") == 1
    connect("alex").publish("posture/v1/alex/run-1/event", b"e")
    assert [topic for topic, _ in coach.received()] == ["posture/v1/alex/run-1/event"]
    assert coach.publish("posture/v1/alex/run-1/step") == NOT_AUTHORIZED
    assert coach.publish("posture/v1/coach/run-1/step") == NOT_AUTHORIZED
    assert coach.publish("posture/v1/_deadletter/schema") == NOT_AUTHORIZED


def test_a_stopped_ingest_keeps_its_share_of_the_messages_until_it_returns(
    connect: Callable[..., Client],
) -> None:
    """Mosquitto hands a shared subscription's messages to its members in turn, a member that is away with
    its persistent session included: with two ingests, one stopped holds back part of the live data until it
    comes back (nothing is lost). docs/deployment.md says so; checked here with Mosquitto 2.0.11."""
    first = connect("ingest", client_id="posture-ingest-1", session_expiry_s=3600)
    second = connect("ingest", client_id="posture-ingest-2", session_expiry_s=3600)
    for member in (first, second):
        assert member.subscribe("$share/ingest/posture/v1/+/+/+") == 1
    second.close()
    alex = connect("alex")
    for index in range(10):
        assert alex.publish("posture/v1/alex/run-1/step", str(index).encode()) < 128
    while_away = first.received(wait_s=1.0)
    back = connect("ingest", client_id="posture-ingest-2", session_expiry_s=3600)
    on_return = back.received(wait_s=1.0)
    assert sorted(int(payload) for _, payload in while_away + on_return) == list(range(10))
    assert on_return, "the stopped ingest's share went to the running one (Mosquitto changed: fix the docs)"


# --- TLS -------------------------------------------------------------------------------------------------


def test_the_tls_example_listens_with_the_same_logins_and_acl(
    broker_factory: Callable[..., DeployedBroker],
) -> None:
    broker = broker_factory(tls=True)
    alex = Client(broker.tls_port, "alex", ca_file=broker.ca_file)
    try:
        assert alex.connack.value == 0
        assert alex.publish("posture/v1/alex/run-1/step") < 128
        assert alex.publish("posture/v1/bob/run-1/step") == NOT_AUTHORIZED
    finally:
        alex.close()
    anonymous = Client(broker.tls_port, None, ca_file=broker.ca_file)
    try:
        assert anonymous.connack.value == NOT_AUTHORIZED
    finally:
        anonymous.close()


# --- the real ingest, as the deployment runs it ------------------------------------------------------------


class Lines:
    """A `PointWriter` that keeps what it is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.written = threading.Event()

    def write(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)
        self.written.set()


def a_step() -> StepMetrics:
    return StepMetrics(
        t_ic_s=10.0,
        side="L",
        t_to_s=10.21,
        step_time_s=0.35,
        contact_time_s=0.21,
        flight_time_s=0.14,
        cadence_spm=171.4,
        pelvic_tilt_deg=8.0,
        pelvic_drop_deg=5.0,
        pelvic_rotation_deg=10.0,
        vertical_oscillation_m=0.08,
        braking_peak_mps2=12.0,
        braking_dv_mps=0.3,
        impact_peak_g=2.5,
        is_running=True,
    )


def test_the_ingest_runs_as_the_deployments_ingest_user(
    broker: DeployedBroker, connect: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What compose starts: the `ingest` login, a fixed client id, the shared subscription; and its
    healthcheck, which says healthy while it runs and unhealthy before and after."""
    monkeypatch.setenv("POSTURE_MQTT_USERNAME", "ingest")
    monkeypatch.setenv("POSTURE_MQTT_PASSWORD", PASSWORDS["ingest"])
    healthcheck = load_healthcheck()
    check = ["--mqtt", broker.url, "--client-id", "posture-ingest-1", "--timeout", "1"]
    assert healthcheck.main(check) == 1  # not started yet
    coach = connect("coach")
    assert coach.subscribe("posture/v1/_deadletter/#") == 1
    address = BrokerAddress.from_url(broker.url, username="ingest", password=PASSWORDS["ingest"])
    writer = Lines()
    options = IngestOptions(client_id="posture-ingest-1", share_group="ingest", status_interval_s=0.2)
    ingest = Ingest(address, writer, options)
    stop = threading.Event()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(ingest.run(stop)), daemon=True)
    thread.start()
    try:
        assert ingest.connected.wait(10), "the ingest did not connect and subscribe"
        alex = connect("alex")
        message = step_message("alex", "run-1", a_step(), T0_NS)
        assert alex.publish(message.topic, message.raw) < 128
        assert writer.written.wait(10), "the step was not written"
        assert any(line.startswith("step,") for line in writer.lines)
        assert alex.publish("posture/v1/alex/run-1/step", b"not json") < 128
        letters = coach.received(wait_s=3)
        assert [topic for topic, _ in letters] == ["posture/v1/_deadletter/not_json"]
        assert healthcheck.main(check) == 0
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
    stats = result[0]
    assert (stats.written, stats.dead_lettered) == (1, 1)
    # its retained status is readable by a coach (and says it stopped cleanly)
    assert coach.subscribe(status_topic("posture-ingest-1")) == 1
    statuses = [json.loads(payload) for _, payload in coach.received(wait_s=2)]
    assert [(s["client_id"], s["state"]) for s in statuses] == [("posture-ingest-1", "stopped")]
    assert healthcheck.main(check) == 1


def test_the_healthcheck_tells_what_is_wrong(
    broker: DeployedBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    healthcheck = load_healthcheck()
    now_ns = T0_NS
    fresh = {"state": "running", "t_ns": now_ns - 5 * 10**9}
    assert healthcheck.problem(fresh, now_ns=now_ns, max_age_s=60) is None
    assert "old" in healthcheck.problem({**fresh, "t_ns": now_ns - 61 * 10**9}, now_ns=now_ns, max_age_s=60)
    assert "offline" in healthcheck.problem({"state": "offline"}, now_ns=now_ns, max_age_s=60)
    assert "no status" in healthcheck.problem(None, now_ns=now_ns, max_age_s=60)
    monkeypatch.setenv("POSTURE_MQTT_USERNAME", "ingest")
    monkeypatch.setenv("POSTURE_MQTT_PASSWORD", "wrong")
    assert healthcheck.main(["--mqtt", broker.url, "--client-id", "posture-ingest-1", "--timeout", "1"]) == 1
    assert "refused" in capsys.readouterr().err


def test_the_ingest_as_compose_runs_it_writes_into_influxdb(
    broker: DeployedBroker,
    connect: Callable[..., Client],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ingest service's own command and environment (env.example's values), in a process of its own,
    with only the two service addresses replaced by the local broker and InfluxDB (Debian's 1.6.7 behind
    the test-only v2 write shim, which checks the token): it turns healthy, writes a runner's step, and
    exits 0 on SIGTERM, as `docker compose stop` sends it."""
    service = load_compose()["services"]["ingest"]
    env = environment(service)
    for key in ("POSTURE_MQTT_USERNAME", "POSTURE_MQTT_PASSWORD"):  # the healthcheck's, as in the container
        monkeypatch.setenv(key, env[key])
    database = read_env_file(ENV_EXAMPLE)["INFLUXDB_BUCKET"]
    with (
        InfluxDB(database=database) as influx,
        V2WriteShim(influx.url, token=env["POSTURE_INFLUX_TOKEN"]) as shim,
    ):
        addresses = {"mqtt://mosquitto:1883": broker.url, "http://influxdb:8086": shim.url}
        command = [sys.executable, *(addresses.get(word, word) for word in service["command"][1:])]
        assert set(addresses.values()) <= set(command)
        log = tmp_path / "ingest.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(command, env={**os.environ, **env}, stdout=sink, stderr=sink)
        try:
            check = [*service["healthcheck"]["test"][3:], "--mqtt", broker.url, "--timeout", "1"]
            healthcheck = load_healthcheck()
            deadline = time.monotonic() + 30
            while healthcheck.main(check) != 0:
                assert process.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < deadline, "the ingest did not turn healthy in 30 s"
            message = step_message("alex", "run-1", a_step(), T0_NS)
            assert connect("alex").publish(message.topic, message.raw) < 128
            rows: list[dict[str, object]] = []
            while not rows and time.monotonic() < deadline + 10:
                rows = [row for series in influx.query("SELECT * FROM step") for row in series.rows()]
                time.sleep(0.1)
            assert len(rows) == 1, log.read_text(errors="replace")
            written = (rows[0]["athlete"], rows[0]["session"], rows[0]["time"])
            assert written == ("alex", "run-1", message.payload["t_ic_ns"])
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    assert code == 0, log.read_text(errors="replace")
