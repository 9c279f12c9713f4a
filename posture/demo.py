"""The whole job on embedded defaults: `posture demo`, a runner's day from pairing to the report, locally.

Nothing to configure: a simulated sensor on a virtual Bluetooth link (scan, pair with LE Secure Connections,
stream), a run with a planted fault through the live processing (events with their cues as they happen), the
messages over a real Mosquitto into a real InfluxDB through the ingest, and the post-run report. The servers
are started in a temporary folder when Debian's `mosquitto` and `influxdb` are installed (`scripts/setup.sh`
installs them); without them the demo says what it skipped and why, and does the rest.

Debian's InfluxDB is 1.6.7, which has no `/api/v2/write`: the demo's ingest writes through the small
translation in `posture.localstack.v2_write_shim`, as the tests do (a real deployment talks to InfluxDB 2.x,
3.x, Cloud or 1.8+ directly: docs/ingest.md).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from posture.settings import Settings

# The live chain is imported where it runs: `posture --help` imports this module for the demo's defaults.
if TYPE_CHECKING:
    from posture.live.mqtt_sink import MqttRunSink
    from posture.live.outputs import RunFolder
    from posture.live.session import LiveSessionResult
    from sensorlink.scan import BleBackend, FoundSensor

__all__ = [
    "DEMO_RUN_S",
    "DEMO_SCENARIO",
    "DEMO_TIME_SCALE",
    "DemoServers",
    "LocalServers",
    "finish_demo_run",
    "quiet_loggers",
    "scan_and_pair",
]

logger = logging.getLogger(__name__)

#: The demo's run: a right hip that drops more and more during left stance (the guide's "hips level").
DEMO_SCENARIO = "progressive_right_hip_drop"
DEMO_RUN_S = 60.0
DEMO_TIME_SCALE = 20.0
DEMO_ATHLETE = "demo"
#: The demo's InfluxDB database (the v2 API's bucket through the shim) and organisation.
DEMO_BUCKET = "posture"
DEMO_ORG = "posture"
#: How long the end of the demo waits for the ingest to have written every step, s.
INGEST_WAIT_S = 20.0


@dataclass(frozen=True, slots=True)
class DemoServers:
    """The broker and the database the demo runs against; None where one could not be started (`skipped`)."""

    mqtt_url: str | None
    influx_url: str | None
    skipped: tuple[str, ...] = ()
    count_steps: Callable[[str, str], int] | None = field(default=None, repr=False)


class LocalServers:
    """Mosquitto, InfluxDB 1.x with the v2-write translation, and the ingest, in a temporary folder.

    A context manager: `servers` says what runs; on exit the ingest flushes and everything stops.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = contextlib.ExitStack()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.servers = DemoServers(None, None)

    def __enter__(self) -> LocalServers:
        skipped: list[str] = []
        mqtt_url = influx_url = None
        count: Callable[[str, str], int] | None = None
        try:
            from posture.localstack.mosquitto import Mosquitto

            broker = self._stack.enter_context(Mosquitto(self.folder / "mosquitto"))
            mqtt_url = broker.url
        except Exception as exc:  # a missing or failing broker never stops the demo
            skipped.append(f"MQTT: {exc}")
        try:
            from posture.localstack.influxdb import InfluxDB
            from posture.localstack.v2_write_shim import V2WriteShim

            (self.folder / "influxdb").mkdir(parents=True, exist_ok=True)
            influx = self._stack.enter_context(InfluxDB(database=DEMO_BUCKET, root=self.folder / "influxdb"))
            shim = self._stack.enter_context(V2WriteShim(influx.url))
            influx_url = shim.url

            def count(athlete: str, session: str) -> int:
                from dashboards.schema import STEP, Tag

                series = influx.query(
                    f'SELECT count("{STEP.field("step_time_s")}") FROM "{STEP.name}" '
                    f"WHERE \"{Tag.ATHLETE}\" = '{athlete}' AND \"{Tag.SESSION}\" = '{session}'"
                )
                counted = series[0].values[0][1] if series and series[0].values else 0
                return counted if isinstance(counted, int) else 0

        except Exception as exc:
            skipped.append(f"InfluxDB: {exc}")
        if mqtt_url is not None and influx_url is not None:
            self._start_ingest(mqtt_url, influx_url)
        elif mqtt_url is not None:
            skipped.append("the ingest: it needs both MQTT and InfluxDB")
        self.servers = DemoServers(mqtt_url, influx_url, tuple(skipped), count)
        return self

    def _start_ingest(self, mqtt_url: str, influx_url: str) -> None:
        from dashboards.influx_writer import InfluxWriter
        from dashboards.ingest import BrokerAddress, Ingest, IngestOptions

        writer = self._stack.enter_context(
            InfluxWriter(influx_url, org=DEMO_ORG, bucket=DEMO_BUCKET, token="demo")
        )
        ingest = Ingest(
            BrokerAddress.from_url(mqtt_url),
            writer,
            IngestOptions(client_id="posture-demo-ingest", status_interval_s=2.0),
        )
        self._thread = threading.Thread(
            target=ingest.run, args=(self._stop,), name="demo-ingest", daemon=True
        )
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15.0)
        self._stack.close()

    def wait_for_steps(
        self, athlete: str, session: str, expected: int, timeout_s: float = INGEST_WAIT_S
    ) -> int:
        """Steps of the session in InfluxDB, once all `expected` are there or `timeout_s` has passed."""
        count = self.servers.count_steps
        if count is None:
            return 0
        deadline = time.monotonic() + timeout_s
        written = 0
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                written = count(athlete, session)
            if written >= expected:
                break
            time.sleep(0.2)
        return written


def finish_demo_run(
    settings: Settings, result: LiveSessionResult, session: str, mqtt: MqttRunSink | None
) -> RunFolder:
    """The run folder, the history's row and the summary message of the demo's run."""
    from posture.history import RunHistory
    from posture.live.outputs import finish_run
    from posture.live.replay import session_facts
    from posture.session import read_session

    return finish_run(
        result.session_path.parent,
        result.outputs,
        athlete=DEMO_ATHLETE,
        session=session,
        session_file=result.session_path,
        ended_by=result.ended_by,
        history=RunHistory(settings.history_file),
        mqtt=mqtt,
        facts=session_facts(read_session(result.session_path)),
    )


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence chatty library loggers for the demo's output (warnings of our own still show)."""
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


async def scan_and_pair(backend: BleBackend, settings: Settings) -> tuple[list[FoundSensor], FoundSensor]:
    """Scan for the simulated sensor and pair with it (bonded, remembered in the settings' folder)."""
    from posture.sensors import pair_with
    from sensorlink.bonds import BondStore
    from sensorlink.errors import SensorNotFound
    from sensorlink.scan import scan_for_sensors

    sensors = await scan_for_sensors(backend, timeout_s=2.0)
    if not sensors:
        raise SensorNotFound(2.0)
    await pair_with(backend, sensors[0], BondStore(settings.bonds_file))
    return sensors, sensors[0]
