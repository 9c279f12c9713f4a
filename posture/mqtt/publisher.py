"""The publisher of a live run: messages to the broker, in the background, with nothing lost.

Shape
-----
`publish()` is called from the run loop (an asyncio loop, a replay, a test) and never waits for the broker:
a QoS 1 message (`step`, `event`, `status`, `summary`) is written to the durable outbox (a few tens of
microseconds, no network) and the background thread is woken; a live QoS 0 message is handed over in memory,
or skipped while offline. The background thread owns the paho client and is the only one to call it (so no
paho lock is shared with the caller); it runs paho's external-loop API (`loop_read`, `loop_write`,
`loop_misc`) in its own `select`, which also watches a wake-up socket, so a new message goes out at once.

Delivery
--------
Each connection is a fresh paho client (clean start): on (re)connecting, the thread sends every message of
the outbox in order (first those a previous run left behind), keeping at most `max_in_flight` unacknowledged
(lowered to the broker's Receive Maximum), and deletes each one when its PUBACK arrives. A message whose
PUBACK carries a failure code (MQTT v5; 135 is an ACL denial) is counted as denied, logged once per topic,
kept in `last_error` and removed (resending it would be refused again). A resend after a lost connection may
deliver a message twice: consumers deduplicate by `message_id` (docs/messages.md). The retained `status` has a
last will (`state: offline`), and the latest status is published again after each reconnection.

Errors are never raised from the background: unreachable broker, failed TLS verification, refused credentials
and denials become one log line each (per outage, or per topic) and `last_error`; the run goes on recording
and the outbox keeps what the broker has not acknowledged.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import select
import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from posture.messages import (
    DELIVERY,
    InvalidMessage,
    Kind,
    Message,
    decode,
    encode,
    status_message,
    topic_for,
)
from posture.mqtt.backoff import backoff_s
from posture.mqtt.errors import (
    AuthenticationFailed,
    BrokerUnreachable,
    ConnectionRefused,
    MqttError,
    PublishDenied,
    TlsVerificationFailed,
)
from posture.mqtt.outbox import DEFAULT_MAX_MESSAGES, Outbox
from posture.mqtt.settings import MqttSettings

__all__ = ["ClientFactory", "Publisher", "PublisherCounters", "paho_client"]

log = logging.getLogger(__name__)

#: Live messages waiting for the thread, at most; a backlog of old angles is worth nothing, so the oldest go.
LIVE_QUEUE: Final = 64
#: The longest the thread sleeps in `select` with nothing to do (keepalive pings need `loop_misc`).
IDLE_TICK_S: Final = 1.0
# CONNACK reason codes that mean "these credentials (or this client) are not welcome".
_AUTH_CODES: Final = frozenset({134, 135})

ClientFactory = Callable[[MqttSettings, str], paho.Client]


class _PahoClient(paho.Client):
    """paho's client, except that a failed TLS handshake closes its socket.

    paho 2.2 leaves the socket of a failed handshake (e.g. a certificate that does not verify) open until
    the garbage collector finds it; a publisher retrying for hours would pile them up. Same steps as paho's
    `_ssl_wrap_socket` otherwise (the context checks the host name: `tls_set` with CERT_REQUIRED).
    """

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        if self._ssl_context is None:
            raise ValueError("TLS is on but paho has no SSL context")
        ssl_sock = self._ssl_context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        try:
            ssl_sock.settimeout(self._connect_timeout)
            ssl_sock.do_handshake()
        except BaseException:
            ssl_sock.close()
            raise
        return ssl_sock


def paho_client(settings: MqttSettings, client_id: str) -> paho.Client:
    """A paho client set up from the settings (protocol, credentials, TLS); not connected yet."""
    v5 = settings.protocol == "5"
    client = _PahoClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else True,
    )
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set(
            ca_certs=None if settings.ca_file is None else str(settings.ca_file),
            certfile=None if settings.cert_file is None else str(settings.cert_file),
            keyfile=None if settings.key_file is None else str(settings.key_file),
            cert_reqs=ssl.CERT_REQUIRED,
        )
    client.connect_timeout = settings.connect_timeout_s
    return client


@dataclass(frozen=True, slots=True)
class PublisherCounters:
    """What the publisher has done so far (a snapshot).

    Attributes
    ----------
    published : int
        QoS 1 messages accepted by `publish` (stored in the outbox).
    sent : int
        QoS 1 transmissions, resends after a reconnection included.
    acknowledged : int
        PUBACKs with a success code.
    pending : int
        Messages in the outbox not yet acknowledged (a previous run's included).
    denied : int
        PUBACKs with a failure code (e.g. 135, an ACL denial); those messages are given up.
    dropped : int
        Messages dropped because the outbox was full.
    reconnects : int
        Connections made after the first one.
    live_sent, live_skipped : int
        Live (QoS 0) messages sent, and skipped while offline or behind.
    connected : bool
        Connected to the broker right now.
    """

    published: int = 0
    sent: int = 0
    acknowledged: int = 0
    pending: int = 0
    denied: int = 0
    dropped: int = 0
    reconnects: int = 0
    live_sent: int = 0
    live_skipped: int = 0
    connected: bool = False


class Publisher:
    """Publishes the messages of one session to an MQTT broker, in the background, through a durable outbox.

    Parameters
    ----------
    settings : MqttSettings
    athlete, session : str
        The session whose messages this publisher sends (its status topic carries the last will).
    outbox_path : Path
        The SQLite outbox; messages a previous run left there are delivered first.
    max_outbox_messages : int
        Bound of the outbox; beyond it the oldest messages are dropped, counted and logged.
    clock_ns : callable
        Epoch ns now, for the last will's `t_ns`.
    client_factory : callable
        Makes an unconnected paho client from the settings and a client id (tests may wrap it).

    Examples
    --------
    >>> publisher = Publisher(MqttSettings.from_url("mqtt://localhost:1883"), "ann", "s1", path)
    >>> publisher.start()
    >>> publisher.publish("step", step_message("ann", "s1", step, t0_ns))
    >>> publisher.close(timeout_s=5)
    """

    def __init__(
        self,
        settings: MqttSettings,
        athlete: str,
        session: str,
        outbox_path: Path,
        *,
        max_outbox_messages: int = DEFAULT_MAX_MESSAGES,
        clock_ns: Callable[[], int] = time.time_ns,
        client_factory: ClientFactory = paho_client,
    ) -> None:
        self.settings = settings
        self.athlete = athlete
        self.session = session
        self.status_topic = topic_for(athlete, session, "status")
        self.client_id = settings.client_id or f"posture-pub-{athlete}-{session}"
        self._clock_ns = clock_ns
        self._client_factory = client_factory
        self._lock = threading.Lock()
        try:
            self._outbox = Outbox(outbox_path, max_messages=max_outbox_messages)
        except (sqlite3.Error, OSError) as exc:
            raise MqttError(
                f"cannot open the MQTT outbox {outbox_path} ({exc}); check that its folder is writable"
            ) from exc
        self._live: collections.deque[Message] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # set by close(): stop reconnecting, drain if connected
        self._deadline = 0.0  # monotonic time by which close() wants the thread gone
        self._closed = False
        self._pending_at_close = 0
        self._counts: dict[str, int] = dict.fromkeys(
            ("published", "sent", "acknowledged", "denied", "reconnects", "live_sent", "live_skipped"), 0
        )
        self._connected = False
        self._ever_connected = False
        self._last_status: Message | None = None
        self._denied_topics: set[str] = set()
        self._reported: MqttError | None = None  # the error last logged, to log each outage once
        self.last_error: MqttError | None = None
        # Per connection (thread only):
        self._inflight: dict[int, tuple[int | None, str]] = {}
        self._connack: ReasonCode | None = None
        self._receive_maximum: int | None = None

    # ----------------------------------------------------------------------------------------- caller side

    def start(self) -> None:
        """Start connecting in the background; return at once (a broker problem is reported, never raised)."""
        if self._thread is not None:
            return
        if self._outbox.pending:
            log.info(
                "MQTT outbox %s holds %d messages from before; sending them first",
                self._outbox.path,
                self._outbox.pending,
            )
        self._thread = threading.Thread(target=self._run, name=f"mqtt-publisher-{self.session}", daemon=True)
        self._thread.start()

    def publish(self, kind: Kind, payload: Message | Mapping[str, Any]) -> None:
        """Queue one message of this session for the broker; never blocks on the network.

        Parameters
        ----------
        kind : Kind
        payload : Message or mapping
            A `Message` from a builder of `posture.messages`, or a payload mapping (validated here).

        Raises
        ------
        InvalidMessage
            The payload breaks the contract, or belongs to another kind or session (a bug in the caller).
        """
        message = (
            payload
            if isinstance(payload, Message)
            else decode(topic_for(self.athlete, self.session, kind), encode(kind, payload))
        )
        if (message.kind, message.athlete, message.session) != (kind, self.athlete, self.session):
            raise InvalidMessage(
                "mismatch",
                f"a {message.kind} message of {message.athlete}/{message.session} given as {kind} "
                f"to the publisher of {self.athlete}/{self.session}",
            )
        if DELIVERY[kind].qos == 0:
            with self._lock:
                if not self._connected:
                    self._counts["live_skipped"] += 1
                    return
                if len(self._live) >= LIVE_QUEUE:
                    self._live.popleft()
                    self._counts["live_skipped"] += 1
                self._live.append(message)
        else:
            with self._lock:
                if self._closed:
                    raise MqttError("the MQTT publisher is closed; publish before close()")
                try:
                    self._outbox.add(message.topic, message.raw, retain=message.retain)
                except sqlite3.Error as exc:  # e.g. disk full: the message is lost, the run goes on
                    self._outbox.dropped += 1
                    log.error(
                        "MQTT outbox %s: cannot store a %s message (%s); dropped",
                        self._outbox.path,
                        kind,
                        exc,
                    )
                    return
                self._counts["published"] += 1
                if kind == "status":
                    self._last_status = message
        self._wake()

    @property
    def counters(self) -> PublisherCounters:
        with self._lock:
            return PublisherCounters(
                **self._counts,
                pending=self._outbox.pending if not self._closed else self._pending_at_close,
                dropped=self._outbox.dropped,
                connected=self._connected,
            )

    @property
    def connected(self) -> bool:
        return self._connected

    def status_line(self) -> str:
        """One line for the run's terminal view: connection, counts, and the last error if any."""
        c = self.counters
        state = "connected" if c.connected else "offline"
        line = (
            f"MQTT {state} {self.settings.url}: {c.acknowledged} acknowledged, {c.pending} pending"
            f"{f', {c.denied} denied' if c.denied else ''}{f', {c.dropped} dropped' if c.dropped else ''}"
            f"{f', {c.reconnects} reconnects' if c.reconnects else ''}"
        )
        error = self.last_error
        return (
            line
            if error is None or (c.connected and not isinstance(error, PublishDenied))
            else f"{line}; {error}"
        )

    def wait_until_delivered(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty (every QoS 1 message acknowledged); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self._closed or self._outbox.pending == 0:
                    return not self._closed or self._pending_at_close == 0
            time.sleep(0.01)
        return False

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what can be delivered within `timeout_s` when connected, disconnect cleanly, stop.

        What the broker has not acknowledged stays in the outbox for the next start. A clean disconnect does
        not fire the last will: publish a final status (`finished`) before closing.
        """
        self._deadline = time.monotonic() + timeout_s
        self._stop.set()
        self._wake()
        if self._thread is not None:
            # A connection attempt in progress may outlast the timeout: the thread is then left to end by
            # itself (it is a daemon and touches nothing closed below once it sees `_closed`).
            self._thread.join(timeout_s + 0.5)
            if self._thread.is_alive():
                log.warning("the MQTT publisher thread did not stop within %.1f s; leaving it", timeout_s)
        with self._lock:
            if not self._closed:
                self._pending_at_close = self._outbox.pending
                self._closed = True
                self._outbox.close()
        if self._pending_at_close:
            log.info("MQTT: %d messages stay in the outbox for the next run", self._pending_at_close)
        self._wake_w.close()
        self._wake_r.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _wake(self) -> None:
        # BlockingIOError: already woken (the buffer is full of wake-ups); OSError: closed.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # ----------------------------------------------------------------------------------------- thread side

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                client = self._connect()
            except Exception:  # a bug must not end the run's recording: log it and try again later
                log.exception("MQTT publisher: unexpected error while connecting")
                client = None
            if client is None:
                wait_s = backoff_s(
                    attempt, initial_s=self.settings.reconnect_min_s, max_s=self.settings.reconnect_max_s
                )
                attempt += 1
                log.debug("MQTT: next connection attempt in %.2f s", wait_s)
                self._stop.wait(wait_s)
                continue
            attempt = 0
            try:
                self._serve(client)
            except Exception:  # a bug must not end the run's recording: log it and reconnect
                log.exception("MQTT publisher: unexpected error; reconnecting")
            finally:
                with self._lock:
                    self._connected = False
                    self._counts["live_skipped"] += len(self._live)
                    self._live.clear()
                sock = client.socket()
                if sock is not None:
                    sock.close()

    def _report(self, error: MqttError) -> None:
        """Log an error once per outage (or once per topic for denials) and keep it in `last_error`."""
        self.last_error = error
        if self._reported is None or type(self._reported) is not type(error):
            log.error("%s", error)
        else:
            log.debug("%s", error)
        self._reported = error

    def _will(self) -> Message:
        return status_message(
            self.athlete,
            self.session,
            t_ns=self._clock_ns(),
            state="offline",
            connected=False,
            reconnects=self._counts["reconnects"],
            outbox_pending=self._outbox.pending,
        )

    def _connect(self) -> paho.Client | None:
        """One connection attempt: a connected client, or None with the error reported."""
        settings = self.settings
        client = self._client_factory(settings, self.client_id)
        with self._lock:
            will = self._will()
        client.will_set(will.topic, will.raw, qos=will.qos, retain=will.retain)
        client.max_inflight_messages_set(settings.max_in_flight)
        client.max_queued_messages_set(0)  # the outbox bounds what waits; paho's queue stays small
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        self._connack = None
        self._receive_maximum = None
        self._inflight = {}
        where = settings.url
        try:
            if settings.protocol == "5":
                client.connect(settings.host, settings.port, settings.keepalive_s, clean_start=True)
            else:
                client.connect(settings.host, settings.port, settings.keepalive_s)
        except ssl.SSLCertVerificationError as exc:
            self._report(
                TlsVerificationFailed(
                    f"the TLS certificate of the MQTT broker {where} does not verify "
                    f"({exc.verify_message}); set the MQTT CA file to the CA that signed it "
                    f"(now {settings.ca_file or 'the system CAs'}); the run goes on recording locally"
                )
            )
            return None
        except (OSError, ValueError) as exc:  # refused, timeout, DNS, TLS handshake (ssl.SSLError is OSError)
            detail = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
            )
            self._report(
                BrokerUnreachable(
                    f"cannot reach the MQTT broker {where} ({detail}); the run goes on recording and keeps "
                    "steps and events in the outbox until the broker is back; check the broker and the URL"
                )
            )
            return None
        deadline = time.monotonic() + settings.connect_timeout_s
        while self._connack is None and time.monotonic() < deadline and not self._stop.is_set():
            if self._pump(client, 0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        connack = self._connack
        if connack is None or connack.is_failure:
            self._refused(connack)
            sock = client.socket()
            if sock is not None:
                sock.close()
            return None
        with self._lock:
            self._connected = True
            if self._ever_connected:
                self._counts["reconnects"] += 1
            self._ever_connected = True
            pending = self._outbox.pending
        self._reported = None
        log.info("MQTT connected to %s as %s (%d messages to deliver)", where, self.client_id, pending)
        return client

    def _refused(self, connack: ReasonCode | None) -> None:
        where = self.settings.url
        if connack is None:
            self._report(
                BrokerUnreachable(
                    f"the MQTT broker {where} gave no CONNACK within {self.settings.connect_timeout_s} s; "
                    "the run goes on recording locally; check that the URL points at an MQTT broker"
                )
            )
        elif connack.value in _AUTH_CODES:
            user = self.settings.username
            self._report(
                AuthenticationFailed(
                    f"the MQTT broker {where} refused user {user!r}: {connack.getName()} (CONNACK "
                    f"{connack.value}); check POSTURE_MQTT_USERNAME and POSTURE_MQTT_PASSWORD; "
                    "the run goes on recording locally",
                    connack.value,
                )
            )
        else:
            self._report(
                ConnectionRefused(
                    f"the MQTT broker {where} refused the connection: {connack.getName()} (CONNACK "
                    f"{connack.value}); the run goes on recording locally",
                    connack.value,
                )
            )

    def _serve(self, client: paho.Client) -> None:
        """Send the outbox and live messages until the connection is lost or close() has drained it."""
        limit = min(self.settings.max_in_flight, self._receive_maximum or self.settings.max_in_flight)
        cursor = 0  # the highest outbox seq sent on this connection
        with self._lock:
            status = self._last_status
        if status is not None and self._counts["reconnects"]:
            # The broker may hold the will's "offline" now; say again where the run stands.
            info = client.publish(status.topic, status.raw, qos=1, retain=True)
            self._inflight[info.mid] = (None, status.topic)
        while True:
            room = limit - len(self._inflight)
            if room > 0:
                with self._lock:
                    rows = [] if self._closed else self._outbox.after(cursor, room)
                for row in rows:
                    info = client.publish(row.topic, row.payload, qos=1, retain=row.retain)
                    if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
                        return
                    self._inflight[info.mid] = (row.seq, row.topic)
                    cursor = row.seq
                    with self._lock:
                        self._counts["sent"] += 1
            while True:
                with self._lock:
                    if not self._live:
                        break
                    message = self._live.popleft()
                    self._counts["live_sent"] += 1
                client.publish(message.topic, message.raw, qos=0, retain=False)
            if self._stop.is_set():
                with self._lock:
                    drained = self._closed or self._outbox.pending == 0
                if drained or time.monotonic() >= self._deadline:
                    client.disconnect()
                    self._pump(client, 0.0)
                    return
            if self._pump(client, IDLE_TICK_S) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return

    def _pump(self, client: paho.Client, timeout_s: float) -> MQTTErrorCode:
        """One turn of paho's external loop, woken early by the broker or by `publish`."""
        sock = client.socket()
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        pending_tls = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
        writers = [sock] if client.want_write() else []
        try:
            readable, writable, _ = select.select(
                [sock, self._wake_r], writers, [], 0.0 if pending_tls else timeout_s
            )
        except (OSError, ValueError):
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if self._wake_r in readable:
            try:
                while self._wake_r.recv(4096):
                    pass
            except (BlockingIOError, OSError):
                pass
        if sock in readable or pending_tls:
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if sock in writable or client.want_write():
            rc = client.loop_write()
            if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_AGAIN):
                return rc
        return client.loop_misc()

    # paho callbacks: called by loop_read/loop_write in this thread.

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connack = reason_code
        receive_maximum = getattr(properties, "ReceiveMaximum", None)
        self._receive_maximum = int(receive_maximum) if receive_maximum else None

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        entry = self._inflight.pop(mid, None)
        if entry is None:
            return  # a live (QoS 0) message was written
        seq, topic = entry
        with self._lock:
            if reason_code.is_failure:
                self._counts["denied"] += 1
            else:
                self._counts["acknowledged"] += 1
            if seq is not None and not self._closed:
                self._outbox.remove(seq)
        if reason_code.is_failure:
            error = PublishDenied(
                f"the MQTT broker {self.settings.url} refused a message on {topic}: {reason_code.getName()} "
                f"(PUBACK {reason_code.value}); let user {self.settings.username!r} write posture/v1/"
                f"{self.athlete}/# in the broker's ACL (the message is given up, the run goes on)",
                topic,
                reason_code.value,
            )
            self.last_error = error
            if topic not in self._denied_topics:
                self._denied_topics.add(topic)
                log.error("%s", error)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._stop.is_set() or self._connack is None or self._connack.is_failure:
            return
        log.warning(
            "MQTT connection to %s lost (%s); reconnecting, the outbox keeps steps and events meanwhile",
            self.settings.url,
            reason_code.getName(),
        )
