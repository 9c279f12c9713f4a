"""The Movesense profile against a simulated Movesense running gatt_sensordata_app, on a virtual Bumble link.

Every test runs the real path: a scan through the Bumble backend attributes the device to its profile,
`posture.sensors.pair_with` checks it (GSP service, HELLO), and `sensorlink.link.Link` streams it with bleak's
BleakClient, the profile's GSP session and its decoding (DATA/DATA_PART2, the millisecond clock of the first
sample). The simulated sensor speaks GSP as Movesense's sample firmware does (`sim_movesense`). Streams run on
the virtual event-loop clock (tests/sensorlink/conftest.py).

The truth is the simulated sensor's sent-log: every chunk of samples it took (true time, device time, the
values it measured) and what became of each notification carrying it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import numpy as np
import pytest

from posture.sensors import pair_with
from processing.samples import ImuSamples
from sensorlink.bonds import BondStore
from sensorlink.errors import InvalidConfiguration
from sensorlink.link import HostClock
from sensorlink.profile import StreamSettings
from sensorlink.profiles.movesense import DATA_REFERENCE, MOVESENSE
from sensorlink.profiles.movesense_protocol import DATA_PART_MAX_BYTES, IMU6_SAMPLE_RATES_HZ
from sensorlink.scan import BleBackend, FoundSensor
from sensorlink.simsensor import FaultPlan, LinkDrop
from sensorlink.simsensor.sim_movesense import SimulatedMovesense, SimulatedMovesenseFactoryFirmware
from sensorlink.simsensor.vendor import SampleChunk, SimulatedDeviceOptions
from tests.sensorlink.test_link import collect
from tests.sensorlink.vendor_link import scan_one, simulated_vendor, streaming_link

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])
HIGHEST_RATE_HZ = max(IMU6_SAMPLE_RATES_HZ)
SETTLED_AFTER_S = 30.0


def movesense(
    tmp_path: Path,
    options: SimulatedDeviceOptions,
    device_class: type[SimulatedMovesense] = SimulatedMovesense,
) -> AbstractAsyncContextManager[tuple[BleBackend, SimulatedMovesense]]:
    return simulated_vendor(tmp_path, options, device_class)


async def scan(backend: BleBackend) -> FoundSensor:
    return await scan_one(backend, MOVESENSE)


def float32(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32).astype(np.float64)


class GarbledMovesense(SimulatedMovesense):
    """The simulated sensor with a random notification after every 40th chunk: bytes of no GSP layout
    (an unknown response type, or DATA for our reference with a length no IMU6 body has)."""

    garbage_sent = 0

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        notifications = list(super().encode_chunk(chunk))
        if notifications and chunk.first_sample // chunk.sample_count % 40 == 39:
            rng = np.random.default_rng(chunk.first_sample)
            garbage = rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
            head = bytes([0xFF]) if chunk.first_sample % 2 else bytes([2, DATA_REFERENCE])
            body = head + garbage
            if len(body) - 2 == DATA_PART_MAX_BYTES or (len(body) - 6) % 24 == 0:
                body += b"\x00"
            notifications.append(body)
            self.garbage_sent += 1
        return notifications


@VIRTUAL_TIME
@pytest.mark.parametrize(
    ("rate_hz", "seconds", "drop_at_s"),
    [(208, 600.0, 200.0), (HIGHEST_RATE_HZ, 20.0, 10.0)],
    ids=["208Hz-10min", "1666Hz-20s"],
)
async def test_streamed_every_sample_once_in_order_loss_and_malformed_counted(
    tmp_path: Path, loop_clock: HostClock, rate_hz: int, seconds: float, drop_at_s: float
) -> None:
    faults = FaultPlan(
        drift_ppm=-35.0,
        arrival_jitter_s=0.004,
        # Notifications (DATA and DATA_PART2 alternate from 0): a whole chunk, a DATA_PART2 (its DATA is
        # abandoned), a DATA (its DATA_PART2 is orphaned); a DATA cut short (malformed, orphaning its second).
        lost_seqs=frozenset({1000, 1001, 5_001, 8_000}),
        corrupted_seqs=frozenset({6_000}),
        link_drops=(LinkDrop(at_s=drop_at_s, duration_s=2.0),),
        seed=3,
    )
    options = SimulatedDeviceOptions(faults=faults, initial_device_time_ns=3_600 * 10**9)
    wall_start = time.perf_counter()
    async with movesense(tmp_path, options, GarbledMovesense) as (backend, device):
        found = await scan(backend)
        assert found.name is not None
        assert found.name.startswith("Movesense ")
        bond = await pair_with(backend, found, BondStore(tmp_path / "bonds.json"))
        assert bond.profile == "movesense"
        settings = StreamSettings(rate_hz, 8, 2000, 8)
        async with streaming_link(backend, found, loop_clock, settings) as link:
            blocks = await collect(link, samples=int(seconds * rate_hz))
            counters = link.counters
        truth = device.log.delivered_chunks()
        to_loop = device.loop_time_for
        assert isinstance(device, GarbledMovesense)
        garbage_sent = device.garbage_sent
    wall_s = time.perf_counter() - wall_start
    samples = ImuSamples.concatenate([b.samples for b in blocks])
    assert samples.gyr_dps is not None
    # Every sample the sensor sent intact arrives once, in order, with the float32 values it sent.
    sent_acc = np.concatenate([c.acc_mps2 for c in truth])[: len(samples)]
    sent_gyr = np.concatenate([c.gyr_dps for c in truth])[: len(samples)]
    np.testing.assert_array_equal(samples.acc_mps2, float32(sent_acc))
    np.testing.assert_array_equal(samples.gyr_dps, float32(sent_gyr))
    # Loss: the samples between the first and the last received that the sent-log says never arrived.
    expected_lost = _samples_missing_between(_chunks_covering(truth, len(samples)))
    assert counters.samples_lost == expected_lost
    assert sum(b.lost_samples_before for b in blocks) == expected_lost
    assert expected_lost >= 4 * 8  # four chunks at least: one lost whole, three by a lost or cut part
    assert counters.reconnects == 1
    # Times: the true instants on the loop clock. The link maps the sensor clock from arrivals and slews
    # its first estimate (connection events and jitter make early arrivals late by several ms): within one
    # sample period from 30 s on (the link drop at 200 s included), drift included.
    true_s = np.array([to_loop(t) for t in np.concatenate([c.true_time_s for c in truth])])[: len(samples)]
    error_s = np.abs(samples.t_s - true_s)
    elapsed_s = samples.t_s - samples.t_s[0]
    settled = elapsed_s >= min(SETTLED_AFTER_S, elapsed_s[-1])
    within = elapsed_s[np.flatnonzero(error_s >= 1 / rate_hz)[-1]] if np.any(error_s >= 1 / rate_hz) else 0.0
    if seconds >= 2 * SETTLED_AFTER_S:
        assert error_s[settled].max() < 1 / rate_hz
    # Malformed: the random notifications, the cut DATA and the orphaned DATA_PART2s; none ended the stream.
    assert garbage_sent >= 5
    assert counters.packets_malformed >= garbage_sent + 2
    print(
        f"\nMovesense {rate_hz} Hz, {seconds:g} simulated s in {wall_s:.1f} s wall: {len(samples)} samples, "
        f"{expected_lost} lost (counted {counters.samples_lost}), {counters.packets_malformed} malformed "
        f"({garbage_sent} random), reconnects {counters.reconnects}; time error median "
        f"{np.median(error_s) * 1e3:.3f} ms, max {error_s.max() * 1e3:.2f} ms, within one period from "
        f"{within:.0f} s on"
    )


def _chunks_covering(chunks: list[SampleChunk], n_samples: int) -> list[SampleChunk]:
    out, total = [], 0
    for chunk in chunks:
        if total >= n_samples:
            break
        out.append(chunk)
        total += chunk.sample_count
    return out


def _samples_missing_between(chunks: list[SampleChunk]) -> int:
    """Samples absent between delivered chunks of the same stream (a reconnect starts a new stream, across
    which the link counts no loss)."""
    missing = 0
    for before, after in itertools.pairwise(chunks):
        if after.stream_index == before.stream_index:
            missing += after.first_sample - (before.first_sample + before.sample_count)
    return missing


@VIRTUAL_TIME
async def test_a_rate_movesense_does_not_offer_is_refused_in_one_line(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    async with movesense(tmp_path, SimulatedDeviceOptions()) as (backend, _device):
        found = await scan(backend)
        link = streaming_link(backend, found, loop_clock, StreamSettings(100, 8, 2000, 8))
        with pytest.raises(InvalidConfiguration) as refused:
            async with link:
                pass
    message = str(refused.value)
    assert "100 Hz" in message
    assert "13, 26, 52, 104, 208, 416, 833, 1666" in message
    assert "\n" not in message


@VIRTUAL_TIME
async def test_a_movesense_without_the_sample_firmware_is_refused_naming_it(tmp_path: Path) -> None:
    options = SimulatedDeviceOptions()
    async with movesense(tmp_path, options, SimulatedMovesenseFactoryFirmware) as (backend, _device):
        found = await scan(backend)
        with pytest.raises(InvalidConfiguration) as refused:
            await pair_with(backend, found, BondStore(tmp_path / "bonds.json"))
    message = str(refused.value)
    assert "gatt_sensordata_app" in message
    assert "\n" not in message


class SilentMovesense(SimulatedMovesense):
    """A sensor with the GSP service whose firmware does not answer HELLO (an unknown GSP firmware)."""

    def _write_command(self, connection: object, value: bytes) -> None:
        if value[:1] != bytes([0]):  # everything but HELLO
            super()._write_command(connection, value)  # type: ignore[arg-type]


@VIRTUAL_TIME
async def test_a_gsp_firmware_that_does_not_answer_hello_is_refused_in_one_line(tmp_path: Path) -> None:
    async with movesense(tmp_path, SimulatedDeviceOptions(), SilentMovesense) as (backend, _device):
        found = await scan(backend)
        with pytest.raises(InvalidConfiguration) as refused:
            await pair_with(backend, found, BondStore(tmp_path / "bonds.json"))
    message = str(refused.value)
    assert "does not answer HELLO" in message
    assert "gatt_sensordata_app" in message
    assert "\n" not in message
