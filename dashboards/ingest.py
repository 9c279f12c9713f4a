"""The ingest: live-run messages from MQTT into InfluxDB, at least once, idempotent, with a dead-letter path.

What it promises, and how (the semantics of Telegraf's mqtt_consumer + influxdb_v2, plus what Telegraf cannot
know: our message schemas, deduplication, dead letters):

- **Nothing is lost.** It subscribes with MQTT v5, QoS 1, a fixed client id and a persistent session
  (``clean_start=False`` and a session expiry), so the broker keeps what arrives while the ingest is away, and
  acknowledges a message (paho's ``manual_ack``) only after its points are written or its dead letter is
  published. A crash (even SIGKILL) leaves the unacknowledged messages in the session; they come back.
- **Nothing is duplicated.** Every point is idempotent (`dashboards.schema`): a redelivered message overwrites
  its own point. A bounded memory of recently written message ids (and their payloads' hashes) also skips
  exact redeliveries without writing, counted as ``duplicates``; the same id with another payload (a session
  reprocessed and republished) is written and overwrites.
- **Bounded memory (backpressure, not loss).** At most `IngestOptions.max_unwritten` messages are held
  unwritten: the CONNECT packet's Receive Maximum tells the broker never to send more unacknowledged QoS 1
  messages than that, and should QoS 0 messages pile up to the bound, the receiving thread waits for the
  writer (the broker then holds the rest).
- **Retries.** While InfluxDB is away or failing (no answer, 5xx, 429, ...) the batch is retried with
  exponential backoff (`backoff_s`), forever: the messages wait unacknowledged. A batch that InfluxDB refuses
  as invalid (400, 422) is split and retried message by message, and only the refused messages go to the
  dead-letter topic (reason ``rejected``).
- **Dead letters.** A payload that `posture.messages.decode` refuses (not JSON, unknown schema, schema
  violation, topic mismatch, too large) or that line protocol cannot carry (reason ``unwritable``) is
  published to ``posture/v1/_deadletter/{reason}`` (`deadletter_payload`) and then acknowledged. The ingest
  never stops for a bad message.
- **Shutdown.** `Ingest.run` returns when its stop event is set (SIGTERM/SIGINT in `posture ingest`): it stops
  taking messages (those arriving now stay unacknowledged in the session), writes and acknowledges what it
  holds (waiting at most `IngestOptions.shutdown_timeout_s` for InfluxDB), publishes its final status and
  disconnects, keeping the session.
- **Counters** (`IngestStats`): logged and published, retained, on ``posture/v1/_ingest/{client_id}/status``
  every `IngestOptions.status_interval_s`; the last will marks the status ``offline``.

Several ingest processes may share the load through a shared subscription (``$share/{group}/...``; each needs
its own client id): the broker gives each message to one of them.

Threads: paho's network thread receives, validates and queues (and publishes dead letters); one writer thread
batches, writes, retries and acknowledges; the caller's thread publishes the status and waits for the stop.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from dashboards.errors import IngestConfigError, InvalidPoint, WriteFailed
from dashboards.influx_writer import PointWriter
from dashboards.schema import lines_for
from posture.messages import SUBSCRIPTION, TOPIC_ROOT, InvalidMessage, deadletter_topic, decode

__all__ = [
    "INGEST_STATUS_PREFIX",
    "BrokerAddress",
    "Ingest",
    "IngestOptions",
    "IngestStats",
    "backoff_s",
    "deadletter_payload",
    "status_topic",
    "subscription_for",
]

logger = logging.getLogger(__name__)

#: Where ingest processes publish their status: `{prefix}/{client_id}/status` (matched by the subscription's
#: `+/+/+`, so the ingest ignores this prefix; athlete ids must not be `_ingest`).
INGEST_STATUS_PREFIX: Final = f"{TOPIC_ROOT}/_ingest"
#: Dead-letter reasons of the ingest itself, besides `posture.messages.REASONS`.
REASON_UNWRITABLE: Final = "unwritable"
REASON_REJECTED: Final = "rejected"
REASON_INGEST_ERROR: Final = "ingest_error"
#: paho's (and MQTT's) packet identifiers are 16-bit: no more unacknowledged QoS 1 messages than this.
MAX_RECEIVE_MAXIMUM: Final = 65535
#: What an ingest publishes to (its ACL must allow it).
_PUBLISHES: Final = f"{TOPIC_ROOT}/_deadletter/# and {INGEST_STATUS_PREFIX}/#"


def status_topic(client_id: str) -> str:
    """The retained status topic of the ingest with this client id."""
    return f"{INGEST_STATUS_PREFIX}/{client_id}/status"


def subscription_for(share_group: str | None) -> str:
    """The topic filter: every message kind of every session, shared by a group when one is given."""
    return f"$share/{share_group}/{SUBSCRIPTION}" if share_group else SUBSCRIPTION


def backoff_s(attempt: int, *, initial_s: float, max_s: float) -> float:
    """The wait before retry number `attempt` (1, 2, ...): doubling from `initial_s`, capped at `max_s`.

    No jitter: the ingest is one writer per process, and a shared InfluxDB sees several ingests retry at
    different moments anyway because their batches fail at different moments.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    return float(min(max_s, initial_s * 2.0 ** min(attempt - 1, 62)))


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is and how to log in.

    Attributes
    ----------
    host : str
    port : int
    tls : bool
        ``mqtts://``: TLS, verified against `ca_file` (or the system's CAs).
    username, password : str or None
        From ``POSTURE_MQTT_USERNAME`` / ``POSTURE_MQTT_PASSWORD``.
    ca_file : str or None
    """

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
    ) -> BrokerAddress:
        """``mqtt://host:port`` (default port 1883) or ``mqtts://host:port`` (8883)."""
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname or parsed.path not in ("", "/"):
            raise IngestConfigError(
                f"--mqtt must look like mqtt://host:1883 or mqtts://host:8883, got {url!r}"
            )
        tls = parsed.scheme == "mqtts"
        try:
            port = parsed.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise IngestConfigError(f"--mqtt has a bad port: {url!r}") from exc
        return cls(parsed.hostname, port, tls, username, password, ca_file)


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How the ingest connects, batches, bounds and retries.

    Attributes
    ----------
    client_id : str
        Fixed: the broker keeps the persistent session under it. Unique per ingest process.
    share_group : str or None
        Subscribe through ``$share/{share_group}/...`` so that several ingests split the messages.
    max_unwritten : int
        Messages held received but not yet written (and so not acknowledged); also the Receive Maximum
        announced to the broker (capped at 65535, MQTT's packet-identifier space).
    batch_size : int
        Most points per write request.
    flush_interval_s : float, s
        A smaller batch is written once its oldest message has waited this long.
    session_expiry_s : int, s
        How long the broker keeps the session (and queues messages) while the ingest is away.
    keepalive_s : int, s
    status_interval_s : float, s
        Period of the status publication and the counters' log line.
    dedup_window : int
        How many recently written message ids are remembered to skip exact redeliveries.
    backoff_initial_s, backoff_max_s : float, s
        Retry waits while InfluxDB fails (see `backoff_s`).
    shutdown_timeout_s : float, s
        At shutdown, how long to keep trying to write what is held; the rest stays unacknowledged in the
        broker's session (nothing lost).
    deadletter_max_bytes : int
        The original payload is cut to this many bytes in a dead letter (its full size is stated).
    retire : bool
        At shutdown, leave the broker for good instead of keeping the session for a restart: unsubscribe,
        take and write what the broker still holds for this session (until nothing came for
        `retire_idle_s`), then end the session. For scaling a shared subscription down: Mosquitto goes on
        assigning a stopped member its share of new messages while its session lives. The session is kept
        (and a warning logged) when something could not be written.
    retire_idle_s : float, s
        With `retire`: how long no message may arrive before the session counts as drained.
    """

    client_id: str = "posture-ingest"
    share_group: str | None = None
    max_unwritten: int = 20_000
    batch_size: int = 5_000
    flush_interval_s: float = 0.1
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30
    status_interval_s: float = 10.0
    dedup_window: int = 100_000
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 5.0
    shutdown_timeout_s: float = 10.0
    deadletter_max_bytes: int = 4096
    retire: bool = False
    retire_idle_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.client_id or len(self.client_id) > 128 or any(c in self.client_id for c in "/+#"):
            raise IngestConfigError("--client-id must be 1 to 128 characters without '/', '+' or '#'")
        if self.share_group is not None and (
            not self.share_group or any(c in self.share_group for c in "/+#")
        ):
            raise IngestConfigError("--share-group must be a non-empty name without '/', '+' or '#'")
        for name in ("max_unwritten", "batch_size", "dedup_window", "deadletter_max_bytes", "keepalive_s"):
            if getattr(self, name) < 1:
                raise IngestConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.batch_size > self.max_unwritten:
            raise IngestConfigError(
                f"--batch-size ({self.batch_size}) cannot exceed --max-unwritten ({self.max_unwritten})"
            )
        for name in ("flush_interval_s", "backoff_initial_s", "backoff_max_s", "status_interval_s"):
            if not getattr(self, name) > 0:
                raise IngestConfigError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class IngestStats:
    """The ingest's counters since it started.

    Attributes
    ----------
    received : int
        Messages delivered by the broker (redeliveries included; the ingest's own status topic excluded).
    written : int
        Messages whose points were written (and which were then acknowledged).
    retried : int
        Write attempts that failed and were retried.
    dead_lettered : int
        Messages sent to the dead-letter topic.
    duplicates : int
        Redeliveries of a message already written, acknowledged without writing again.
    unwritten : int
        Messages held now, received but not yet written.
    """

    received: int = 0
    written: int = 0
    retried: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    unwritten: int = 0


@dataclass(slots=True)
class _Held:
    """A received message waiting for its write: what to ack, what to write, what to dead-letter."""

    mid: int
    qos: int
    generation: int  # the connection it arrived on (see Ingest._ack)
    lines: tuple[str, ...]
    message_id: str
    payload_hash: int
    topic: str
    payload: bytes
    received_at: float


def deadletter_payload(topic: str, payload: bytes, reason: str, detail: str, *, max_bytes: int) -> bytes:
    """The dead letter of a refused message: JSON with the reason, the detail and the original.

    The original payload is given as text when it is UTF-8 (``payload``), else base64 (``payload_base64``),
    cut to `max_bytes` (``truncated`` says so; ``payload_bytes`` is its full size) so that a 10 MB message
    does not become a 10 MB dead letter.
    """
    head = payload[:max_bytes]
    letter: dict[str, Any] = {
        "reason": reason,
        "detail": detail[:1000],
        "topic": topic[:1000],
        "payload_bytes": len(payload),
        "truncated": len(payload) > max_bytes,
    }
    try:
        letter["payload"] = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and len(payload) > max_bytes:
            # the cut split the last UTF-8 sequence of a text: keep the text before it
            letter["payload"] = head[: exc.start].decode("utf-8")
        else:
            letter["payload_base64"] = base64.b64encode(head).decode("ascii")
    return json.dumps(letter, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Dedup:
    """The most recently written message ids with their payload hashes, bounded (the caller locks)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: collections.OrderedDict[str, int] = collections.OrderedDict()

    def written_before(self, message_id: str, payload_hash: int) -> bool:
        return self._seen.get(message_id) == payload_hash

    def remember(self, held: Sequence[_Held]) -> None:
        for h in held:
            self._seen[h.message_id] = h.payload_hash
            self._seen.move_to_end(h.message_id)
        while len(self._seen) > self._size:
            self._seen.popitem(last=False)


ClientFactory = Callable[[str], mqtt.Client]
#: What acknowledges one delivery: (packet id, QoS, connection generation).
_Receipt = tuple[int, int, int]


def _paho_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )


class Ingest:
    """One ingest process's worth of work: subscribe, validate, write, acknowledge.

    Parameters
    ----------
    broker : BrokerAddress
    writer : PointWriter
        Where the points go (`dashboards.influx_writer.InfluxWriter` in production).
    options : IngestOptions
    client_factory : callable, optional
        Makes the paho client from the client id (default: MQTT v5 with manual acknowledgement).
    """

    def __init__(
        self,
        broker: BrokerAddress,
        writer: PointWriter,
        options: IngestOptions | None = None,
        *,
        client_factory: ClientFactory = _paho_client,
    ) -> None:
        self.broker = broker
        self.options = options or IngestOptions()
        self._writer = writer
        self._client = client_factory(self.options.client_id)
        # one lock for the held messages, the counters and the deduplication memory: the receiving thread
        # takes it once per message
        self._cond = threading.Condition(threading.Lock())
        self._held: collections.deque[_Held] = collections.deque()
        self._unwritten = 0  # held + in the batch being written
        self._stopping = threading.Event()  # no more messages taken
        self._abandon = threading.Event()  # shutdown timeout: give up writing
        self._connected = threading.Event()
        self._unsubscribed = threading.Event()
        self._last_received_at = time.monotonic()
        self._generation = 0  # connections lost so far
        self._ack_lock = threading.Lock()
        self._dedup = _Dedup(self.options.dedup_window)
        self._deadletters: dict[int, _Receipt] = {}  # a dead letter's mid -> its original's receipt
        self._deadletters_lock = threading.Lock()
        self._counts = {name: 0 for name in ("received", "written", "retried", "dead_lettered", "duplicates")}
        self._writer_thread: threading.Thread | None = None
        self._configure_client()

    # -- public ---------------------------------------------------------------------------------------------

    def stats(self) -> IngestStats:
        """The counters now."""
        with self._cond:
            counts = dict(self._counts)
            unwritten = self._unwritten
        return IngestStats(**counts, unwritten=unwritten)

    @property
    def connected(self) -> threading.Event:
        """Set while connected and subscribed (tests wait on it)."""
        return self._connected

    def run(self, stop: threading.Event) -> IngestStats:
        """Ingest until `stop` is set; then flush, acknowledge, publish the final status and disconnect.

        Returns the final counters. Messages still unwritten after `IngestOptions.shutdown_timeout_s`
        (InfluxDB away at shutdown) stay unacknowledged in the broker's session and are logged.
        """
        self._writer_thread = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._writer_thread.start()
        self._connect()
        self._client.loop_start()
        try:
            while not stop.wait(self.options.status_interval_s):
                self._report("running")
        finally:
            self._shutdown()
        return self.stats()

    # -- MQTT -----------------------------------------------------------------------------------------------

    def _configure_client(self) -> None:
        client = self._client
        if self.broker.username is not None:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(ca_certs=self.broker.ca_file)
        client.will_set(
            status_topic(self.options.client_id),
            json.dumps({"client_id": self.options.client_id, "state": "offline"}),
            qos=1,
            retain=True,
        )
        client.max_inflight_messages_set(1000)  # our own publications: dead letters and status
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = lambda *args: self._unsubscribed.set()

    def _connect(self) -> None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.options.session_expiry_s
        properties.ReceiveMaximum = min(self.options.max_unwritten, MAX_RECEIVE_MAXIMUM)
        # asynchronous: the network thread connects, and reconnects whenever the broker goes away
        self._client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.options.keepalive_s,
            clean_start=False,
            properties=properties,
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            logger.error(
                "the broker %s:%s refused the connection: %s; check the credentials and the client id",
                self.broker.host,
                self.broker.port,
                reason_code,
            )
            return
        logger.info(
            "connected to %s:%s as %s (session present: %s)",
            self.broker.host,
            self.broker.port,
            self.options.client_id,
            flags.session_present,
        )
        # Subscribing again on a resumed session is harmless; retain handling 1 sends the retained messages
        # (status, summary) only when the subscription is new, not at every reconnect.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        client.subscribe(subscription_for(self.options.share_group), options=options)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            logger.error("the broker refused the subscription: %s; check the ACL of this user", reason_codes)
            return
        self._connected.set()
        self._report("running")

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        with self._ack_lock:
            self._generation += 1
        if not self._stopping.is_set():
            logger.warning("lost the broker (%s); reconnecting, the session keeps the messages", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # not acknowledged: the session gives it again at the next connection
        topic = msg.topic
        mid, qos, generation = msg.mid, msg.qos, self._generation  # on_disconnect runs in this thread too
        if topic.startswith(INGEST_STATUS_PREFIX):
            self._ack(mid, qos, generation)  # an ingest's status (maybe ours): not a live-run message
            return
        payload = bytes(msg.payload)
        self._last_received_at = time.monotonic()
        try:
            message = decode(topic, payload)
            lines = lines_for(message.kind, message.payload)
        except InvalidMessage as exc:
            self._count("received")
            self._deadletter(topic, payload, exc.reason, exc.detail, (mid, qos, generation))
            return
        except InvalidPoint as exc:
            self._count("received")
            self._deadletter(topic, payload, REASON_UNWRITABLE, str(exc), (mid, qos, generation))
            return
        except Exception as exc:  # a bug of ours must not end paho's network thread (and with it the ingest)
            logger.exception("could not handle a message from %s; dead-lettering it", topic[:200])
            self._count("received")
            detail = f"{type(exc).__name__}: {exc}; report this as a bug of the ingest"
            self._deadletter(topic, payload, REASON_INGEST_ERROR, detail, (mid, qos, generation))
            return
        held = _Held(
            mid, qos, generation, lines, message.message_id, hash(payload), topic, payload, time.monotonic()
        )
        with self._cond:
            counts = self._counts
            counts["received"] += 1
            if self._dedup.written_before(held.message_id, held.payload_hash):
                counts["duplicates"] += 1
                done = True
            elif not lines:  # nothing to store (a live sample without any angle)
                counts["written"] += 1
                done = True
            else:
                # Receive Maximum keeps QoS 1 within the bound; QoS 0 floods wait here (the broker holds the
                # rest)
                while self._unwritten >= self.options.max_unwritten and not self._stopping.is_set():
                    self._cond.wait(0.5)
                self._held.append(held)
                self._unwritten += 1
                if len(self._held) >= self.options.batch_size:
                    self._cond.notify_all()
                done = False
        if done:
            self._ack(mid, qos, generation)

    def _deadletter(self, topic: str, payload: bytes, reason: str, detail: str, receipt: _Receipt) -> None:
        letter = deadletter_payload(
            topic, payload, reason, detail, max_bytes=self.options.deadletter_max_bytes
        )
        logger.info("dead letter (%s) from %s: %s", reason, topic[:200], detail[:200])
        self._count("dead_lettered")
        # The original is acknowledged once the broker has its dead letter (on_publish, in the network
        # thread: the lock keeps it from running before the mid is registered). paho resends the dead letter
        # after a reconnect; without the ack, the original comes back anyway.
        with self._deadletters_lock:
            info = self._client.publish(deadletter_topic(reason), letter, qos=1)
            if receipt[1] > 0:
                if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self._deadletters[info.mid] = receipt
                else:
                    logger.error("could not publish a dead letter (%s); acknowledging the original", info.rc)
                    self._ack(*receipt)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._deadletters_lock:
            original = self._deadletters.pop(mid, None)
        if original is None:
            return
        if reason_code.is_failure:
            # e.g. 135 Not authorized: the ACL must let this user write posture/v1/_deadletter/#
            logger.error(
                "the broker refused a dead letter (%s); check the ACL for %s", reason_code, _PUBLISHES
            )
        self._ack(*original)

    def _ack(self, mid: int, qos: int, generation: int) -> None:
        """Acknowledge a QoS 1 message, unless the connection it came on is gone.

        After a reconnect the broker redelivers what was not acknowledged, under the same packet ids; an ack
        for the old delivery could then reach the broker after it has reused that id for another message, and
        acknowledge that one unwritten. So acks of an earlier connection are dropped (the redelivered copy is
        written and acknowledged on its own). The lock orders the check before `on_disconnect`'s increment;
        paho discards anything queued before its reconnect.
        """
        if qos > 0:
            with self._ack_lock:
                if generation == self._generation:
                    self._client.ack(mid, qos)

    def _count(self, name: str, n: int = 1) -> None:
        with self._cond:
            self._counts[name] += n

    # -- writing --------------------------------------------------------------------------------------------

    def _next_batch(self) -> list[_Held] | None:
        """Wait for a full batch, a due flush or the shutdown; None when stopping with nothing held."""
        options = self.options
        with self._cond:
            while True:
                if len(self._held) >= options.batch_size:
                    break
                if self._held:
                    due = self._held[0].received_at + options.flush_interval_s - time.monotonic()
                    if due <= 0 or self._stopping.is_set():
                        break
                    self._cond.wait(due)
                elif self._stopping.is_set():
                    return None
                else:
                    self._cond.wait(options.flush_interval_s)
            count = min(len(self._held), options.batch_size)
            return [self._held.popleft() for _ in range(count)]

    def _write_loop(self) -> None:
        while not self._abandon.is_set():
            batch = self._next_batch()
            if batch is None:
                return
            written = self._write(batch)
            with self._cond:
                self._unwritten -= len(batch)
                self._cond.notify_all()
            if not written:  # abandoned at shutdown: they stay unacknowledged in the session
                with self._cond:
                    left = len(batch) + len(self._held)
                logger.warning("shutting down with %d messages unwritten; the broker keeps them", left)
                return

    def _write(self, batch: list[_Held]) -> bool:
        """Write a batch (retrying while InfluxDB fails), then acknowledge it; False if abandoned."""
        attempt = 0
        while True:
            try:
                self._writer.write([line for held in batch for line in held.lines])
                break
            except WriteFailed as exc:
                if not exc.retryable:
                    if len(batch) > 1:
                        return self._write_one_by_one(batch, exc)
                    return self._reject(batch[0], exc)
                attempt += 1
                self._count("retried")
                delay = backoff_s(
                    attempt, initial_s=self.options.backoff_initial_s, max_s=self.options.backoff_max_s
                )
                level = logging.ERROR if exc.status in (401, 403, 404) else logging.WARNING
                logger.log(
                    level,
                    "write of %d messages failed (%s); retry %d in %.1f s",
                    len(batch),
                    exc,
                    attempt,
                    delay,
                )
                if self._abandon.wait(delay):
                    return False
        with self._ack_lock:
            current = self._generation
            for held in batch:
                if held.qos > 0 and held.generation == current:
                    self._client.ack(held.mid, held.qos)
        with self._cond:
            self._dedup.remember(batch)
            self._counts["written"] += len(batch)
        return True

    def _write_one_by_one(self, batch: list[_Held], first: WriteFailed) -> bool:
        """InfluxDB refused the batch: write each message alone, dead-lettering the ones it refuses."""
        logger.warning("InfluxDB refused a batch of %d (%s); writing them one by one", len(batch), first)
        return all(self._write([held]) for held in batch)

    def _reject(self, held: _Held, exc: WriteFailed) -> bool:
        # one message InfluxDB refuses (e.g. a field type conflict with earlier data): dead letter, not a loop
        receipt = (held.mid, held.qos, held.generation)
        self._deadletter(held.topic, held.payload, REASON_REJECTED, str(exc), receipt)
        return True

    # -- status and shutdown --------------------------------------------------------------------------------

    def _report(self, state: str) -> mqtt.MQTTMessageInfo:
        stats = self.stats()
        logger.info(
            "ingest %s: received %d, written %d, retried %d, dead-lettered %d, duplicates %d, unwritten %d",
            state,
            stats.received,
            stats.written,
            stats.retried,
            stats.dead_lettered,
            stats.duplicates,
            stats.unwritten,
        )
        status = {
            "client_id": self.options.client_id,
            "state": state,
            "t_ns": time.time_ns(),
            **asdict(stats),
        }
        return self._client.publish(
            status_topic(self.options.client_id),
            json.dumps(status, separators=(",", ":")),
            qos=1,
            retain=True,
        )

    def _drained_for_retirement(self) -> bool:
        """Unsubscribe, then take and write what the broker still holds for this session; True when done."""
        options = self.options
        self._client.unsubscribe(subscription_for(options.share_group))
        if not self._unsubscribed.wait(10.0):
            logger.warning("the broker did not confirm the unsubscription; keeping the session")
            return False
        deadline = time.monotonic() + max(options.shutdown_timeout_s, 3 * options.retire_idle_s)
        while time.monotonic() < deadline:
            idle = time.monotonic() - self._last_received_at >= options.retire_idle_s
            if idle and self.stats().unwritten == 0:  # the writer flushes partial batches on its own
                return True
            time.sleep(0.05)
        logger.warning(
            "could not write all before retiring (%d unwritten); the session stays: retire again later",
            self.stats().unwritten,
        )
        return False

    def _shutdown(self) -> None:
        retired = self.options.retire and self._connected.is_set() and self._drained_for_retirement()
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        writer = self._writer_thread
        if writer is not None:
            writer.join(self.options.shutdown_timeout_s)
            if writer.is_alive():
                self._abandon.set()
                writer.join()
        info = self._report("retired" if retired else "stopped")
        with contextlib.suppress(RuntimeError, ValueError):  # not connected: the will tells "offline"
            info.wait_for_publish(timeout=2.0)
        # Let the network thread send the last acknowledgements, then leave. The session stays (its expiry)
        # for a restart, unless retired: then a session expiry of 0 ends it with the connection.
        properties = None
        if retired:
            properties = Properties(PacketTypes.DISCONNECT)
            properties.SessionExpiryInterval = 0
        self._client.disconnect(properties=properties)
        self._client.loop_stop()
