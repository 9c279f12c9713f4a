"""The Polar profiles against the simulated Verity Sense and H10 on a virtual Bumble link.

Every test runs the real path: a scan through the Bumble backend attributes the device to its profile,
`posture.sensors.pair_with` checks it, and `sensorlink.link.Link` streams it with bleak's BleakClient, the
profile's control-point handshake and its decoding (frame timing, the ACC/GYRO merge). The simulated devices
speak PMD as Polar publishes it (`sensorlink.simsensor.sim_polar`). Streams run at true speed on the
virtual event-loop clock (tests/sensorlink/conftest.py): ten minutes at 416 Hz take seconds, the same every
run.

The truth is the simulated device's sent-log: every chunk of samples it took (true time, device time,
measured values) and what became of each notification carrying it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
from bumble.gatt import Service

from posture.sensors import pair_with
from processing.samples import ImuSamples
from sensorlink.blocks import SampleBlock
from sensorlink.bonds import BondStore
from sensorlink.decoder import PacketDecoder, TapRecord, replay
from sensorlink.errors import InvalidConfiguration, UnsupportedFirmware
from sensorlink.link import HostClock, Link, LinkOptions
from sensorlink.profile import StreamSettings
from sensorlink.profiles.polar_pmd import POLAR_H10, POLAR_VERITY_SENSE, gyro_factor_dps_per_count
from sensorlink.profiles.polar_pmd_protocol import (
    ACC_MG_TO_MPS2,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    DataFrame,
    OpCode,
    ResponseStatus,
)
from sensorlink.scan import BleBackend, FoundSensor, open_ble_backend, scan_for_sensors
from sensorlink.simsensor import FaultPlan, LinkDrop
from sensorlink.simsensor.sim_polar import SimulatedPolarH10, SimulatedPolarPeripheral, SimulatedVeritySense
from sensorlink.simsensor.vendor import NotificationFate, SampleChunk, SimulatedDeviceOptions

VIRTUAL_TIME = pytest.mark.asyncio(loop_factories=["virtual_time"])
T0_NS = 760_000_000 * 10**9
WARM_UP_S = 15.0  # the device clock at power-on: early 2024, in ns since 2000-01-01


@asynccontextmanager
async def polar_device(
    tmp_path: Path, device_class: type[SimulatedPolarPeripheral], options: SimulatedDeviceOptions
) -> AsyncIterator[tuple[BleBackend, SimulatedPolarPeripheral]]:
    async def start(link: object) -> SimulatedPolarPeripheral:
        return await device_class.start(link, options)  # type: ignore[arg-type]

    async with open_ble_backend(
        f"sim:{device_class.kind}", key_store_path=tmp_path / "keys.json", simulated_peripherals=[start]
    ) as backend:
        (device,) = backend.simulated
        assert isinstance(device, SimulatedPolarPeripheral)
        yield backend, device


async def scan_and_pair(backend: BleBackend, tmp_path: Path, kind: str) -> FoundSensor:
    """What `posture scan` and `posture pair` do: find the device by its advertisement, check it, bond it."""
    (found,) = await scan_for_sensors(backend, timeout_s=2.0)
    assert found.profile.kind == kind
    bond = await pair_with(backend, found, BondStore(tmp_path / "bonds.json"))
    assert bond.profile == kind
    return found


async def collect(
    link: Link, *, seconds: float, rate_hz: int, garbage_every: int = 0, seed: int = 0
) -> tuple[list[SampleBlock], int]:
    """Blocks until `seconds` of samples arrived; every `garbage_every` blocks, three notifications of random
    bytes (one with a plausible PMD header) are put on the link's real notification path. Returns the
    blocks and how many garbage notifications were injected."""
    rng = np.random.default_rng(seed)
    blocks: list[SampleBlock] = []
    total = injected = 0
    async for block in link.blocks():
        blocks.append(block)
        total += len(block)
        if garbage_every and len(blocks) % garbage_every == 0:
            header = (
                bytes([rng.choice([0x02, 0x05])]) + rng.bytes(8) + bytes([rng.choice([0x01, 0x80, 0x81])])
            )
            for data in (rng.bytes(int(rng.integers(1, 240))), header + rng.bytes(60), header[:5]):
                link._on_imu_data(bytearray(data))
                injected += 1
        if total >= seconds * rate_hz:
            break
    return blocks, injected


def receivable(device: SimulatedPolarPeripheral, parts: int) -> list[SampleChunk]:
    """Chunks the central could decode: `parts` frames (ACC, and GYRO where it runs) all sent intact."""
    fates: dict[tuple[int, int], list[NotificationFate]] = {}
    for record in device.log.notifications:
        fates.setdefault((record.stream_index, record.first_sample), []).append(record.fate)
    return [
        c
        for c in device.log.chunks
        if fates.get((c.stream_index, c.first_sample)) == [NotificationFate.SENT] * parts
    ]


def quantised(chunks: list[SampleChunk], acc_range_g: int, gyr_range_dps: int) -> np.ndarray:
    """What the device put on the air: ACC in whole mG, GYRO in whole counts of its factor."""
    acc = np.concatenate([c.acc_mps2 for c in chunks])
    gyr = np.concatenate([c.gyr_dps for c in chunks])
    mg = np.clip(np.round(acc / ACC_MG_TO_MPS2), -1000 * acc_range_g, 1000 * acc_range_g)
    factor = gyro_factor_dps_per_count(gyr_range_dps)
    return np.hstack([mg * ACC_MG_TO_MPS2, np.clip(np.round(gyr / factor), -32768, 32767) * factor])


def received(blocks: list[SampleBlock]) -> ImuSamples:
    return ImuSamples.concatenate([b.samples for b in blocks])


def lost_where_reported(blocks: list[SampleBlock]) -> dict[int, int]:
    """{index of the first sample received after a gap: samples the link says were lost there}."""
    starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
    return {
        int(k): b.lost_samples_before for k, b in zip(starts, blocks, strict=True) if b.lost_samples_before
    }


def lost_where_sent(gaps_periods: np.ndarray) -> dict[int, int]:
    """The same from the sent-log: device-time gaps between consecutive received samples, in periods."""
    lost = np.round(gaps_periods).astype(int) - 1
    return {int(i) + 1: int(n) for i, n in enumerate(lost) if n}


@VIRTUAL_TIME
async def test_verity_sense_10_minutes_at_416_hz_every_sample_once_in_order_loss_reported_times_true(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    rate_hz, minutes = 416, 10
    faults = FaultPlan(
        drift_ppm=40.0,
        arrival_jitter_s=0.004,
        lost_seqs=frozenset({500, 501, 2001, 9000}),  # notifications: ACC and GYRO frames of a few chunks
        corrupted_seqs=frozenset({3000, 6001}),  # sent with the last byte cut off
        loss_probability=0.002,
        link_drops=(LinkDrop(at_s=240.0, duration_s=3.0),),
        seed=7,
    )
    options = SimulatedDeviceOptions(faults=faults, initial_device_time_ns=T0_NS)
    async with polar_device(tmp_path, SimulatedVeritySense, options) as (backend, device):
        found = await scan_and_pair(backend, tmp_path, "polar-verity-sense")
        assert found.name is not None
        assert found.name.startswith("Polar Sense ")
        link = Link(
            found.device,
            client_factory=backend.client_factory,
            profile=found.profile,
            host_clock_ns=loop_clock,
            options=LinkOptions(config=POLAR_VERITY_SENSE.default_settings),
        )
        async with link:
            blocks, injected = await collect(link, seconds=minutes * 60, rate_hz=rate_hz, garbage_every=500)
            counters = link.counters
            estimate = link.clock.estimate()
        assert device.sdk_mode is False  # the link's stop switched SDK mode off again
        truth = receivable(device, parts=2)
        corrupted = device.log.notification_count(NotificationFate.CORRUPTED)
    samples = received(blocks)
    assert samples.gyr_dps is not None
    # Every sample the device sent intact arrives once, in order, with the values it sent.
    expected = quantised(truth, 8, 2000)[: len(samples)]
    np.testing.assert_allclose(np.hstack([samples.acc_mps2, samples.gyr_dps]), expected, atol=1e-9)
    # Its times: the true instants (on the loop clock) within one sample period, drift and jitter included.
    true_s = np.array([device.loop_time_for(t) for t in np.concatenate([c.true_time_s for c in truth])])
    error_s = samples.t_s - true_s[: len(samples)]
    # The link's clock mapping starts from the first arrivals (a connection interval late) and slews to its
    # fit: within one period after a warm-up of WARM_UP_S, and for the rest of the ten minutes.
    settled = samples.t_s - samples.t_s[0] >= WARM_UP_S
    assert np.abs(error_s[settled]).max() < 1 / rate_hz
    # Loss: what the sent-log says was lost between the first and the last sample received.
    device_ns = np.concatenate([c.device_time_ns for c in truth])[: len(samples)]
    gaps = np.diff(device_ns) / (1e9 / rate_hz)
    expected_lost = int(np.sum(np.round(gaps) - 1))
    assert lost_where_reported(blocks) == lost_where_sent(gaps)
    assert counters.samples_lost == expected_lost
    assert expected_lost > 4 * 30 + 3 * rate_hz  # the planned losses and the 3-s drop at least
    assert counters.reconnects == 1
    # Malformed notifications (cut by the device, random bytes on the path) are counted, never decoded.
    assert corrupted == 2
    assert injected > 30
    assert counters.packets_malformed == corrupted + injected
    assert estimate is not None
    assert estimate.drift_ppm == pytest.approx(40.0, abs=5.0)
    print(
        f"\nVerity Sense 416 Hz, {minutes} min: {len(samples)} samples, {expected_lost} lost, "
        f"{counters.packets_malformed} malformed, time error median "
        f"{np.median(np.abs(error_s)) * 1e3:.3f} ms, max {np.abs(error_s[settled]).max() * 1e3:.3f} ms "
        f"after {WARM_UP_S:g} s ({np.abs(error_s).max() * 1e3:.3f} ms before), "
        f"drift {estimate.drift_ppm:.1f} ppm"
    )


@VIRTUAL_TIME
async def test_h10_2_minutes_at_200_hz_acc_only_once_in_order_loss_reported_times_true(
    tmp_path: Path, loop_clock: HostClock
) -> None:
    rate_hz, minutes = 200, 2
    faults = FaultPlan(
        drift_ppm=-60.0,
        arrival_jitter_s=0.004,
        lost_seqs=frozenset({100, 101, 700}),
        corrupted_seqs=frozenset({300}),
        link_drops=(LinkDrop(at_s=50.0, duration_s=2.0),),
        seed=3,
    )
    options = SimulatedDeviceOptions(faults=faults, initial_device_time_ns=T0_NS)
    async with polar_device(tmp_path, SimulatedPolarH10, options) as (backend, device):
        found = await scan_and_pair(backend, tmp_path, "polar-h10")
        tapped: list[TapRecord] = []
        link = Link(
            found.device,
            client_factory=backend.client_factory,
            profile=found.profile,
            host_clock_ns=loop_clock,
            options=LinkOptions(config=POLAR_H10.default_settings),
            packet_sink=tapped.append,
        )
        async with link:
            blocks, injected = await collect(link, seconds=minutes * 60, rate_hz=rate_hz, garbage_every=200)
            counters = link.counters
            assert link.status.battery_pct == options.battery_pct  # from the Battery Service
        truth = receivable(device, parts=1)
        corrupted = device.log.notification_count(NotificationFate.CORRUPTED)
    samples = received(blocks)
    assert samples.gyr_dps is None  # an accelerometer-only device
    expected = quantised(truth, 8, 2000)[: len(samples), :3]
    np.testing.assert_allclose(samples.acc_mps2, expected, atol=1e-9)
    true_s = np.array([device.loop_time_for(t) for t in np.concatenate([c.true_time_s for c in truth])])
    error_s = samples.t_s - true_s[: len(samples)]
    settled = samples.t_s - samples.t_s[0] >= WARM_UP_S
    assert np.abs(error_s[settled]).max() < 1 / rate_hz
    device_ns = np.concatenate([c.device_time_ns for c in truth])[: len(samples)]
    gaps = np.diff(device_ns) / (1e9 / rate_hz)
    expected_lost = int(np.sum(np.round(gaps) - 1))
    assert lost_where_reported(blocks) == lost_where_sent(gaps)
    assert counters.samples_lost == expected_lost
    assert expected_lost > 3 * 29 + 2 * rate_hz
    assert counters.packets_malformed == corrupted + injected
    assert corrupted == 1
    # A session file's replay rebuilds the decoding and gives the same blocks, bit for bit.
    replayed = list(replay(tapped, PacketDecoder(POLAR_H10)))[: len(blocks)]
    assert len(replayed) == len(blocks)
    for r, b in zip(replayed, blocks, strict=True):
        np.testing.assert_array_equal(r.samples.t_s, b.samples.t_s)
        np.testing.assert_array_equal(r.samples.acc_mps2, b.samples.acc_mps2)
        assert (r.first_sample_index, r.lost_samples_before) == (b.first_sample_index, b.lost_samples_before)
    print(
        f"\nH10 200 Hz, {minutes} min: {len(samples)} samples, {expected_lost} lost, "
        f"{counters.packets_malformed} malformed, time error median "
        f"{np.median(np.abs(error_s)) * 1e3:.3f} ms, "
        f"max {np.abs(error_s[settled]).max() * 1e3:.3f} ms after {WARM_UP_S:g} s"
    )


async def _refusal(
    tmp_path: Path, device_class: type[SimulatedPolarPeripheral], settings: StreamSettings
) -> str:
    """The one line a Link to the device refuses with (the error's message)."""
    options = SimulatedDeviceOptions(time_scale=20.0, initial_device_time_ns=T0_NS)
    async with polar_device(tmp_path, device_class, options) as (backend, device):
        profile = POLAR_VERITY_SENSE if device_class.model is POLAR_VERITY_SENSE.model else POLAR_H10
        link = Link(
            device.address,
            client_factory=backend.client_factory,
            profile=profile,
            options=LinkOptions(config=settings),
        )
        with pytest.raises((InvalidConfiguration, UnsupportedFirmware)) as info:
            async with link:
                pass
    message = str(info.value)
    assert "\n" not in message
    return message


@VIRTUAL_TIME
async def test_a_rate_the_device_does_not_offer_is_refused_in_one_line(tmp_path: Path) -> None:
    settings = StreamSettings(sample_rate_hz=100, acc_range_g=8, gyr_range_dps=2000, samples_per_packet=36)
    message = await _refusal(tmp_path, SimulatedVeritySense, settings)
    assert message == ("Polar Verity Sense does not sample at 100 Hz; it offers 26, 52, 104, 208, 416 Hz")
    h10 = StreamSettings(sample_rate_hz=416, acc_range_g=16, gyr_range_dps=2000, samples_per_packet=36)
    assert "Polar H10 does not sample at 416 Hz; it offers 25, 50, 100, 200 Hz" in await _refusal(
        tmp_path, SimulatedPolarH10, h10
    )


class _VeritySenseWithoutPmd(SimulatedVeritySense):
    """A device named like a Verity Sense whose PMD service is not there (another device, other firmware)."""

    def build_services(self) -> list[Service]:
        (service,) = super().build_services()
        return [Service("0000feee-0000-1000-8000-00805f9b34fb", service.characteristics)]


class _OldVeritySense(SimulatedVeritySense):
    """Firmware before SDK mode (PolarVeritySense.md: SDK mode from 1.1.5)."""

    firmware_revision = "1.1.4"


class _UnreadableFirmware(SimulatedPolarH10):
    firmware_revision = "H10-beta"


class _NoSdkMode(SimulatedVeritySense):
    """A Verity Sense that refuses SDK mode (SdkModeExplained.md: ERROR_NOT_SUPPORTED where it is absent)."""

    def _sdk_mode(self, op: OpCode) -> ResponseStatus:
        return ResponseStatus.ERROR_NOT_SUPPORTED


@VIRTUAL_TIME
async def test_a_device_that_refuses_sdk_mode_is_refused_in_one_line(tmp_path: Path) -> None:
    message = await _refusal(tmp_path, _NoSdkMode, POLAR_VERITY_SENSE.default_settings)
    assert message == (
        "this Polar Verity Sense (firmware 2.1.0) refuses SDK mode (ERROR_NOT_SUPPORTED), without which it "
        "streams at 52 Hz only: update its firmware with the Polar Flow app"
    )


@VIRTUAL_TIME
async def test_a_missing_pmd_service_or_an_unknown_firmware_is_refused_in_one_line(tmp_path: Path) -> None:
    settings = POLAR_VERITY_SENSE.default_settings
    missing = await _refusal(tmp_path, _VeritySenseWithoutPmd, settings)
    assert "does not offer the Polar Verity Sense service(s) fb005c80-02e7-f387-1cad-8acd2d8df0c8" in missing
    old = await _refusal(tmp_path, _OldVeritySense, settings)
    assert old == (
        "this Polar Verity Sense runs firmware 1.1.4; posture needs 1.1.5 or later for SDK mode: update it "
        "with the Polar Flow app"
    )
    unknown = await _refusal(tmp_path, _UnreadableFirmware, POLAR_H10.default_settings)
    assert unknown.startswith("this Polar H10 runs firmware H10-beta; posture needs")


@VIRTUAL_TIME
async def test_the_simulated_verity_sense_answers_a_real_devices_request_with_its_real_response(
    tmp_path: Path,
) -> None:
    """polar-ble-sdk issue 443: a Verity Sense in normal mode answered this ACC start with ``F0 02 02 00 00``
    and streamed delta frames of type 1 (``02 <8-byte stamp> 81 ...``)."""
    options = SimulatedDeviceOptions(initial_device_time_ns=T0_NS)
    async with polar_device(tmp_path, SimulatedVeritySense, options) as (backend, device):
        client = backend.client_factory(device.address, lambda _client: None)
        indications: list[bytes] = []
        frames: list[bytes] = []
        async with client:
            features = bytes(await client.read_gatt_char(PMD_CONTROL_POINT_UUID))
            await client.start_notify(
                PMD_CONTROL_POINT_UUID, lambda _c, data: indications.append(bytes(data))
            )
            await client.start_notify(PMD_DATA_UUID, lambda _c, data: frames.append(bytes(data)))
            request = bytes.fromhex("0202000134000101100002010800040103")
            await client.write_gatt_char(PMD_CONTROL_POINT_UUID, request, response=True)
            await asyncio.sleep(2.0)
            await client.write_gatt_char(PMD_CONTROL_POINT_UUID, bytes.fromhex("0309"), response=True)
            await asyncio.sleep(0.1)
            mtu = client.mtu_size
    assert features == bytes([0x0F, 0x04 | 0x20, 0x02])  # ACC, GYRO; SDK mode
    assert indications[0] == bytes.fromhex("f002020000")
    # SdkModeExplained.md: SDK mode cannot change while a stream runs (ERROR_INVALID_STATE, 12).
    assert indications[1] == bytes.fromhex("f003090c00")
    assert frames
    assert all(f[0] == 0x02 and f[9] == 0x81 for f in frames)
    assert all(len(f) <= mtu - 3 for f in frames)
    samples = np.concatenate([DataFrame.from_bytes(f).samples() for f in frames])
    assert abs(len(samples) - 2.0 * 52) <= 40  # 52 Hz, the normal mode's rate
