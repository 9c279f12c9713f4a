"""The recording loop: a link's blocks into sinks (the analysis CSV, the session file) until told to stop.

Shared by `posture record`, `posture demo` and whatever else streams (the live run, tests, benchmarks): the
command line only wires a backend and draws the progress. The session file is the link's packet sink, so it
holds every raw packet as it arrives, also those a crash keeps the CSV from getting.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from posture.csv_contract import RECORDING_COLUMNS
from posture.session.session_file import SessionHeader, SessionWriter
from sensorlink.blocks import LinkStatus, SampleBlock
from sensorlink.link import (
    ClientFactory,
    HostClock,
    Link,
    LinkOptions,
    RssiReader,
    SensorDevice,
    epoch_clock_ns,
)
from sensorlink.profile import SensorProfile
from sensorlink.profiles import POSTURE_V1
from sensorlink.scan import BleBackend, locate_sensor

__all__ = [
    "BlockSink",
    "CsvSink",
    "RecordSummary",
    "RecordingProgress",
    "StreamTotals",
    "record_device",
    "record_to_csv",
    "session_file_for",
    "session_link",
    "stream_to_sinks",
]

logger = logging.getLogger(__name__)

BlockSink = Callable[[SampleBlock], None]
"""Takes every block in order (a CSV writer, a processor, a publisher)."""
#: The session file written next to a recording's CSV: same name, this suffix.
SESSION_SUFFIX = ".posture"


@dataclass(frozen=True, slots=True)
class RecordingProgress:
    """Where a recording stands, after each block.

    Attributes
    ----------
    samples : int
        Samples delivered so far.
    lost_samples : int
        Samples the sensor took that never arrived (link drops).
    sampling_rate_hz : float
    status : LinkStatus
        Battery, RSSI, connection, loss rate, clock drift.
    """

    samples: int
    lost_samples: int
    sampling_rate_hz: float
    status: LinkStatus

    @property
    def sensor_time_s(self) -> float:
        """Sensor time covered, delivered or lost, s."""
        return (self.samples + self.lost_samples) / self.sampling_rate_hz


StopCondition = Callable[[RecordingProgress], bool]
ProgressCallback = Callable[[RecordingProgress], None]


@dataclass(frozen=True, slots=True)
class StreamTotals:
    """What `stream_to_sinks` streamed."""

    samples: int
    lost_samples: int
    sampling_rate_hz: float


async def stream_to_sinks(
    link: Link,
    sinks: Sequence[BlockSink],
    *,
    stop: StopCondition,
    on_progress: ProgressCallback | None = None,
) -> StreamTotals:
    """Hand every block of a connected link to each sink in turn, until `stop` says so.

    Parameters
    ----------
    link : Link
        Connected (inside ``async with link``).
    sinks : sequence of callables
        Called with every block, in order.
    stop : callable
        Asked after every block; True ends the loop.
    on_progress : callable, optional
        Called after every block (before `stop`), e.g. to draw a progress bar.

    Raises
    ------
    LinkLost
        The sensor stayed away longer than the link's reconnect budget; every block before it went to the
        sinks.
    """
    rate_hz = float(link.config.sample_rate_hz)
    samples = lost = 0
    async for block in link.blocks():
        for sink in sinks:
            sink(block)
        samples += len(block)
        lost += block.lost_samples_before
        progress = RecordingProgress(samples, lost, rate_hz, link.status)
        if on_progress is not None:
            on_progress(progress)
        if stop(progress):
            break
    return StreamTotals(samples, lost, rate_hz)


class CsvSink:
    """Writes blocks as rows of the `posture analyze` CSV (header first; NaN gyroscope if there is none).

    Times are seconds after `t0_s` (the session's start on the host clock), the axis of `posture run`'s and
    `posture replay`'s results, so a recording's steps.csv and summary.json count from the start of the run.
    """

    def __init__(self, handle: TextIO, t0_s: float = 0.0) -> None:
        self._handle = handle
        self._t0_s = t0_s
        csv.writer(handle).writerow(RECORDING_COLUMNS)

    def __call__(self, block: SampleBlock) -> None:
        s = block.samples
        gyr = s.gyr_dps if s.gyr_dps is not None else np.full_like(s.acc_mps2, np.nan)
        rows = np.column_stack([s.t_s - self._t0_s, s.acc_mps2, gyr])
        np.savetxt(self._handle, rows, fmt="%.6f", delimiter=",")


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What `record` and `demo` report at the end.

    Attributes
    ----------
    path : Path
        The CSV.
    session_path : Path
        The session file (every raw packet; `posture replay` reads it).
    loss_checkable : bool
        False for a sensor that numbers nothing: `lost_samples` is then inferred from arrival gaps.
    sensor_kind : str
        The sensor's profile kind.
    """

    path: Path
    samples: int
    lost_samples: int
    duration_s: float
    sampling_rate_hz: float
    drift_ppm: float | None
    reconnects: int
    malformed_packets: int
    duplicate_packets: int
    battery_pct: int | None
    firmware_revision: str | None
    session_path: Path | None = None
    loss_checkable: bool = True
    sensor_kind: str = "posture"


def session_link(
    device: SensorDevice,
    session_path: Path,
    header: SessionHeader,
    *,
    client_factory: ClientFactory,
    host_clock_ns: HostClock,
    options: LinkOptions | None = None,
    profile: SensorProfile = POSTURE_V1,
    rssi_reader: RssiReader | None = None,
) -> tuple[SessionWriter, Link]:
    """A new session file and the link that appends every raw packet to it as it arrives (its packet sink).

    The caller closes the writer (`SessionWriter.close`) when the stream ends.
    """
    writer = SessionWriter(session_path, header, host_clock_ns=host_clock_ns)
    link = Link(
        device,
        client_factory=client_factory,
        options=options,
        profile=profile,
        host_clock_ns=host_clock_ns,
        rssi_reader=rssi_reader,
        packet_sink=writer.append,
    )
    return writer, link


def session_file_for(csv_path: Path) -> Path:
    """The session file that goes with a recording's CSV: ``run.csv`` -> ``run.posture``."""
    return csv_path.with_suffix(SESSION_SUFFIX)


def default_session_id(host_ns: int) -> str:
    """A session id from the start time (UTC), e.g. ``20261207-134000``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(host_ns / 1e9))


async def record_device(
    device: SensorDevice,
    out_path: Path,
    *,
    client_factory: ClientFactory,
    duration_s: float,
    host_clock_ns: HostClock,
    time_scale: float = 1.0,
    options: LinkOptions | None = None,
    profile: SensorProfile = POSTURE_V1,
    rssi_reader: RssiReader | None = None,
    session_path: Path | None = None,
    athlete: str = "runner",
    session_id: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> RecordSummary:
    """Stream `duration_s` of sensor time into the CSV at `out_path` and every raw packet into a session file.

    Parameters
    ----------
    device : BLEDevice or str
        The sensor (from a scan) or its address.
    out_path : Path
        The CSV (`posture analyze` format, seconds after the session's start); replaced if it exists.
    client_factory, rssi_reader, options, profile
        As `Link` takes them.
    duration_s : float
        Sensor time to record, delivered or lost, s.
    host_clock_ns : callable
        The link's host clock (also the session file's `start_host_ns` and end time).
    time_scale : float
        Of a simulated sensor (written into the session header).
    session_path : Path, optional
        Default: next to the CSV (`session_file_for`); one left there by an earlier recording of the same
        CSV is replaced, as the CSV is.
    athlete, session_id : str
        For the session header (default id: the start time).

    Raises
    ------
    LinkLost
        As `stream_to_sinks`; the CSV and the session file keep everything that arrived, the session file
        ends with the reason.
    """
    options = options or LinkOptions()
    session_path = session_path or session_file_for(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    start_ns = host_clock_ns()
    address = device if isinstance(device, str) else device.address
    if session_path.exists() and session_path == session_file_for(out_path):
        logger.info("replacing %s (the session file of the CSV being replaced)", session_path)
        session_path.unlink()
    header = SessionHeader(
        athlete=athlete,
        session_id=session_id or default_session_id(start_ns),
        sensor_address=address,
        profile=profile.name,
        start_host_ns=start_ns,
        time_scale=time_scale,
        settings=options.config,
        queue_packets=options.queue_packets,
    )
    writer, link = session_link(
        device,
        session_path,
        header,
        client_factory=client_factory,
        host_clock_ns=host_clock_ns,
        options=options,
        profile=profile,
        rssi_reader=rssi_reader,
    )
    reason = "ended by an error"
    try:
        with out_path.open("w", encoding="utf-8", newline="") as handle:
            sink = CsvSink(handle, start_ns * 1e-9)
            async with link:
                wanted = round(duration_s * link.config.sample_rate_hz)
                totals = await stream_to_sinks(
                    link,
                    [sink],
                    stop=lambda p: p.samples + p.lost_samples >= wanted,
                    on_progress=on_progress,
                )
                status, counters, firmware = link.status, link.counters, link.firmware_revision
        reason = "duration reached"
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise
    finally:
        writer.close(reason)
    return RecordSummary(
        path=out_path,
        samples=totals.samples,
        lost_samples=totals.lost_samples,
        duration_s=(totals.samples + totals.lost_samples) / totals.sampling_rate_hz,
        sampling_rate_hz=totals.sampling_rate_hz,
        drift_ppm=status.drift_ppm,
        reconnects=counters.reconnects,
        malformed_packets=counters.packets_malformed,
        duplicate_packets=counters.packets_duplicate,
        battery_pct=status.battery_pct,
        firmware_revision=firmware,
        session_path=session_path,
        loss_checkable=profile.timing.loss_checkable,
        sensor_kind=profile.kind,
    )


async def record_to_csv(
    backend: BleBackend,
    address: str,
    out_path: Path,
    *,
    duration_s: float,
    time_scale: float = 1.0,
    scan_timeout_s: float = 10.0,
    options: LinkOptions | None = None,
    session_path: Path | None = None,
    athlete: str = "runner",
    session_id: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> RecordSummary:
    """Find the sensor at `address` through `backend` and record it (`record_device`) on the host's clock,
    with the profile the scan recognised it by."""
    found = await locate_sensor(backend, address, timeout_s=scan_timeout_s)
    return await record_device(
        found.device,
        out_path,
        profile=found.profile,
        client_factory=backend.client_factory,
        duration_s=duration_s,
        host_clock_ns=epoch_clock_ns(time_scale),
        time_scale=time_scale,
        options=options,
        rssi_reader=backend.rssi_reader,
        session_path=session_path,
        athlete=athlete,
        session_id=session_id,
        on_progress=on_progress,
    )
