"""Real servers for the ingest tests (never mocked, never skipped) and a simulated session to publish.

- `influxdb`: Debian's influxd 1.6.7 with the database ``posture``; `influx_v2`: the v2 write shim before it.
- `mosquitto`: Debian's Mosquitto 2.0.11 with persistence, on a free loopback port.
- `simulated_session`: a short simulated run through the real processing, as the messages a run publishes.
- `ingest_thread`: start `Ingest`s in threads of the test process (the subprocess tests start
  `python -m posture.commands.ingest` instead). Helpers (the publisher, waiting) are in `live.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from dashboards.influx_writer import InfluxWriter, PointWriter
from dashboards.ingest import BrokerAddress, Ingest, IngestOptions
from posture.localstack.influxdb import InfluxDB
from posture.localstack.mosquitto import Mosquitto
from posture.localstack.v2_write_shim import V2WriteShim
from tests.dashboards.live import (
    _SESSION_CACHE,
    ATHLETE,
    BUCKET,
    SESSION,
    RunningIngest,
    SimulatedSession,
    build_session,
)


@pytest.fixture
def influxdb() -> Iterator[InfluxDB]:
    """A fresh `influxd` with the database ``posture`` (starts in well under a second)."""
    with InfluxDB(database=BUCKET) as server:
        yield server


@pytest.fixture
def influx_v2(influxdb: InfluxDB) -> Iterator[V2WriteShim]:
    """The v2 write API in front of `influxdb` (what influxdb-client and the ingest talk to)."""
    with V2WriteShim(influxdb.url) as shim:
        yield shim


@pytest.fixture
def mosquitto() -> Iterator[Mosquitto]:
    with Mosquitto() as broker:
        yield broker


@pytest.fixture
def simulated_session() -> SimulatedSession:
    """A 40 s simulated run (about 110 steps), simulated and analysed once per test run."""
    key = (ATHLETE, SESSION)
    if key not in _SESSION_CACHE:
        _SESSION_CACHE[key] = build_session()
    return _SESSION_CACHE[key]


@pytest.fixture
def ingest_thread() -> Iterator[Callable[..., RunningIngest]]:
    """Start ingests in threads (`start(broker_url, influx_url, **options)`); all are stopped at teardown."""
    running: list[RunningIngest] = []
    writers: list[InfluxWriter] = []

    def start(
        broker_url: str, influx_url: str = "", *, writer: PointWriter | None = None, **options: object
    ) -> RunningIngest:
        if writer is None:
            own = InfluxWriter(influx_url, org="club", bucket=BUCKET, token="t")
            writers.append(own)
            writer = own
        opts = IngestOptions(**{"status_interval_s": 1.0, **options})  # type: ignore[arg-type]
        ingest = Ingest(BrokerAddress.from_url(broker_url), writer, opts)
        stop = threading.Event()
        handle = RunningIngest(ingest, stop, threading.Thread(target=lambda: None))
        handle.thread = threading.Thread(
            target=lambda: handle.result.append(ingest.run(stop)), name="test-ingest", daemon=True
        )
        handle.thread.start()
        running.append(handle)
        if not ingest.connected.wait(10):
            raise AssertionError("the ingest did not connect and subscribe within 10 s")
        return handle

    yield start
    for handle in running:
        if handle.thread.is_alive():
            handle.stop()
    for w in writers:
        w.close()
