"""Processing on host-clock devices against our own sensor: suite scenarios streamed over the virtual link.

    python benchmarks/bench_vendor_processing.py [--scenarios clean_run,...] [--duration-s 60]
        [--devices posture:208,metamotion:200,witmotion:200,witmotion:100]

Issue 12 asks of a device without a sample clock (MetaWear streaming, WitMotion) that, under 5 ms of arrival
jitter and 2 % lost notifications, the processing results on the suite's scenarios stay within a stated
margin of the same run from our own sensor. For each scenario of `processing.simulation.suite` (shortened
to `--duration-s`, resampled from 416 Hz as `posture.sensors.motion_for_scenario` does) and each device, the
simulated device of that kind (`sensorlink.simsensor.kinds`) is fed the scenario's motion, found by a scan,
paired and streamed through `sensorlink.link.Link` on the virtual Bumble link, on a virtual event-loop clock
(tests/sensorlink/conftest.py: arrival times are exactly what the device's radio model makes them, and a
minute of stream takes seconds). Every device runs the same faults: 15 ms connection events with 2 %
retried, 5 ms uniform arrival jitter, 2 % of notifications lost, a +60 ppm oscillator.

The blocks the link delivers go through `processing.pipeline.analyze` at the nominal rate, on the scenario's
time axis (host time minus the host time of the stream's first true sample instant: a constant, so any bias
of the sample times stays in), and are scored by `processing.evaluation.evaluate_scenario` against the
simulator's truth (IC F1 at 50 ms, side accuracy, contact-time MAE, tilt / drop / rotation RMSE). The
sample-time error is host time minus the true instant of each delivered sample: from the device clock for
our own sensor, and for a vendor device from the device's sent log, matched by value.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from posture.sensors import pair_with
from processing.evaluation import EvaluationRow, evaluate_scenario
from processing.pipeline import analyze
from processing.samples import STANDARD_GRAVITY_MPS2, ImuSamples
from processing.simulation import Scenario, SimulatedRun, scenario_by_name, simulate
from processing.steps import StepMetrics
from sensorlink.blocks import SampleBlock
from sensorlink.bonds import BondStore
from sensorlink.link import Link, LinkOptions
from sensorlink.scan import open_ble_backend, scan_for_sensors
from sensorlink.simsensor import ArrayMotionSource, FaultPlan
from sensorlink.simsensor.kinds import SIM_ADAPTER_PREFIX, simulated_kind
from sensorlink.simsensor.peripheral import SimulatedSensor
from sensorlink.simsensor.vendor import SimulatedDeviceOptions, VendorPeripheral

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.sensorlink.conftest import VirtualTimeEventLoop, loop_clock_ns

__all__ = [
    "BENCH_FAULTS",
    "DeviceRun",
    "DeviceScores",
    "StreamedRun",
    "bench_scenario",
    "run_on_virtual_time",
    "score_device",
    "stream_scenario",
]

FloatArray = npt.NDArray[np.float64]

#: The issue's conditions for every device alike: 5 ms of uniform arrival jitter on top of the radio model's
#: 15 ms connection events (2 % retried), 2 % of the notifications lost, an oscillator 60 ppm fast.
BENCH_FAULTS = FaultPlan(drift_ppm=60.0, arrival_jitter_s=0.005, loss_probability=0.02, seed=11)
#: The scenario is simulated at this rate and resampled to each device's sampling instants (as
#: `posture.sensors.motion_for_scenario` does for `posture --adapter sim:KIND run --scenario`).
SCENARIO_SAMPLING_RATE_HZ = 416.0
#: The link is read this long past the scenario's end, so that the host clock's lookahead has placed it all.
_TAIL_S = 1.0
_SCAN_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DeviceRun:
    """One simulated device kind at one setting.

    Attributes
    ----------
    kind : str
        A kind of `sensorlink.simsensor.kinds` (``posture``, ``metamotion``, ``witmotion``, ...).
    sample_rate_hz : int
        A rate the kind's profile offers.
    samples_per_packet : int or None
        For a device whose packet size is a setting (our own sensor); None keeps the profile's default.
    """

    kind: str
    sample_rate_hz: int
    samples_per_packet: int | None = None

    @property
    def label(self) -> str:
        per_packet = f"/{self.samples_per_packet}" if self.samples_per_packet else ""
        return f"{self.kind} {self.sample_rate_hz} Hz{per_packet}"


@dataclass(frozen=True, slots=True, eq=False)
class StreamedRun:
    """What the link delivered of one scenario, on the scenario's time axis, and its timing against the truth.

    Attributes
    ----------
    device : DeviceRun
    blocks : list of ImuSamples
        The delivered blocks, times in seconds of the scenario (0 = the stream's first true sample instant),
        cut at the scenario's end.
    time_error_s : (m,) array, s
        Host time minus true instant of each delivered sample whose truth was found (all of them, for a
        device with a clock; a vendor device's samples matched by value to its sent log).
    samples_delivered : int
    samples_lost_true : int
        Samples of the stream the device took but the link did not deliver (lost on the air), up to the last
        delivered one.
    samples_lost_reported : int
        The link's report: counted (a device with a counter) plus inferred (a host-clock device).
    wall_s : float
    """

    device: DeviceRun
    blocks: list[ImuSamples] = field(repr=False)
    time_error_s: FloatArray = field(repr=False)
    samples_delivered: int
    samples_lost_true: int
    samples_lost_reported: int
    wall_s: float


@dataclass(frozen=True, slots=True)
class DeviceScores:
    """One device's run of one scenario: sample-time error and the processing scores against the truth.

    Attributes
    ----------
    scenario, device : str
    time_error_median_ms, time_error_p99_ms : float
        Of |host time - true instant| over the delivered samples.
    time_error_bias_ms : float
        The signed median: the constant part (the minimum delay, which no host clock can see).
    samples_lost_true, samples_lost_reported : int
    row : EvaluationRow
        `evaluate_scenario` on the delivered samples.
    wall_s : float
        Wall time of the stream (virtual event-loop clock).
    """

    scenario: str
    device: str
    time_error_median_ms: float
    time_error_p99_ms: float
    time_error_bias_ms: float
    samples_lost_true: int
    samples_lost_reported: int
    row: EvaluationRow
    wall_s: float

    @property
    def ic_f1(self) -> float:
        return self.row.events.ic_f1

    @property
    def side_accuracy(self) -> float:
        return self.row.events.side_accuracy

    @property
    def contact_time_mae_ms(self) -> float:
        return self.row.events.contact_time_mae_s * 1e3


def bench_scenario(name: str, duration_s: float | None = None) -> Scenario:
    """A suite scenario as a simulated device measures it: simulated at 416 Hz, three axes and a gyroscope,
    no host stamps (those describe files), optionally shortened (`duration_s` includes the standing start)."""
    changes: dict[str, object] = {
        "sampling_rate_hz": SCENARIO_SAMPLING_RATE_HZ,
        "absent_acc_axis": None,
        "host_stamps": None,
    }
    if duration_s is not None:
        changes["duration_s"] = duration_s
    return dataclasses.replace(scenario_by_name(name), **changes)  # type: ignore[arg-type]


async def stream_scenario(
    run: SimulatedRun,
    device: DeviceRun,
    work_dir: Path,
    *,
    faults: FaultPlan = BENCH_FAULTS,
    radio_seed: int = 3,
) -> StreamedRun:
    """Stream a simulated run through a simulated device of `device.kind` over the virtual link.

    Scan, pair and `Link` as `posture run` does; the device is fed the run's samples (resampled to its own
    drifting instants) and its stream is read until the scenario's end is past. Needs a virtual-time loop
    and `loop_clock_ns` as the host clock, so that true time and host time share one clock.
    """
    wall_start = time.perf_counter()
    kind = simulated_kind(SIM_ADAPTER_PREFIX + device.kind)
    if kind is None:  # pragma: no cover - every DeviceRun names a kind
        raise ValueError(device.kind)
    start_device = kind.load()
    motion = ArrayMotionSource.from_samples(run.samples, at_end="rest")
    options = SimulatedDeviceOptions(faults=faults, radio_seed=radio_seed)
    end_s = float(run.truth.t_true_s[-1])

    async def start(link: object) -> object:
        return await start_device(link, options, motion)  # type: ignore[arg-type]

    async with open_ble_backend(
        "sim", key_store_path=work_dir / "keys.json", simulated_peripherals=[start]
    ) as backend:
        (simulated,) = backend.simulated
        (found,) = await scan_for_sensors(backend, timeout_s=_SCAN_TIMEOUT_S)
        await pair_with(backend, found, BondStore(work_dir / "bonds.json"))
        settings = dataclasses.replace(found.profile.default_settings, sample_rate_hz=device.sample_rate_hz)
        if device.samples_per_packet is not None:
            settings = dataclasses.replace(settings, samples_per_packet=device.samples_per_packet)
        link = Link(
            found.device,
            client_factory=backend.client_factory,
            profile=found.profile,
            options=LinkOptions(config=settings),
            host_clock_ns=loop_clock_ns,
        )
        blocks: list[SampleBlock] = []
        async with link:
            async for block in link.blocks():
                blocks.append(block)
                if block.samples.t_s[-1] - blocks[0].samples.t_s[0] > end_s + _TAIL_S:
                    break
        counters = link.counters
        if isinstance(simulated, SimulatedSensor):
            start_loop_s, true_loop_s, lost_true = _own_sensor_truth(simulated, blocks)
        elif isinstance(simulated, VendorPeripheral):
            # one count of a full-scale int16 reading: at least the rounding of every vendor's codec
            acc_count_mps2 = settings.acc_range_g * STANDARD_GRAVITY_MPS2 / 32768
            gyr_count_dps = settings.gyr_range_dps / 32768
            start_loop_s, true_loop_s, lost_true = _vendor_truth(
                simulated, blocks, acc_count_mps2, gyr_count_dps
            )
        else:  # pragma: no cover - the kinds registry holds only these
            raise TypeError(type(simulated).__name__)
    t_s = np.concatenate([b.samples.t_s for b in blocks])
    found_truth = np.isfinite(true_loop_s)
    on_scenario_axis = []
    for block in blocks:
        t = block.samples.t_s - start_loop_s
        keep = int(np.searchsorted(t, end_s, side="right"))
        if keep:
            on_scenario_axis.append(ImuSamples(t[:keep], block.samples.acc_mps2[:keep], _gyr(block)[:keep]))
    return StreamedRun(
        device=device,
        blocks=on_scenario_axis,
        time_error_s=t_s[found_truth] - true_loop_s[found_truth],
        samples_delivered=int(t_s.shape[0]),
        samples_lost_true=lost_true,
        samples_lost_reported=counters.samples_lost + counters.samples_lost_inferred,
        wall_s=time.perf_counter() - wall_start,
    )


def _gyr(block: SampleBlock) -> FloatArray:
    gyr = block.samples.gyr_dps
    if gyr is None:  # pragma: no cover - every simulated kind here streams a gyroscope
        raise ValueError("the benchmark needs 6-axis samples")
    return gyr


def _own_sensor_truth(sensor: SimulatedSensor, blocks: list[SampleBlock]) -> tuple[float, FloatArray, int]:
    """Our own sensor: each sample's true instant from its sensor time (the oscillator's count)."""
    core = sensor.core
    to_loop = asyncio.get_running_loop().time() - sensor.true_time_s()  # time scale 1: a constant offset
    period_us = 1e6 / blocks[0].sampling_rate_hz
    true_s = np.concatenate(
        [core.true_s_at(b.sensor_time_us + np.arange(len(b)) * period_us) for b in blocks]  # type: ignore[arg-type]
    )
    first = blocks[0]
    start_true_s = float(core.true_s_at(first.sensor_time_us - first.first_sample_index * period_us))
    return (
        start_true_s + to_loop,
        np.asarray(true_s, dtype=np.float64) + to_loop,
        blocks[-1].counters.samples_lost,
    )


def _vendor_truth(
    device: VendorPeripheral, blocks: list[SampleBlock], acc_count_mps2: float, gyr_count_dps: float
) -> tuple[float, FloatArray, int]:
    """A vendor device: each delivered sample matched in order to the last stream's sent samples by its
    values (within one count of the profile's full-scale int16; the IMU noise makes runs of six values
    unique), so loss and numbering are the sent log's, not the host clock's."""
    stream = max(c.stream_index for c in device.log.chunks)
    chunks = [c for c in device.log.chunks if c.stream_index == stream]
    sent = np.hstack(
        [np.concatenate([c.acc_mps2 for c in chunks]), np.concatenate([c.gyr_dps for c in chunks])]
    )
    sent_true_s = np.concatenate([c.true_time_s for c in chunks])
    start_true_s = float(chunks[0].true_time_s[0]) if chunks[0].first_sample == 0 else float("nan")
    got = np.hstack(
        [np.concatenate([b.samples.acc_mps2 for b in blocks]), np.concatenate([_gyr(b) for b in blocks])]
    )
    tolerance = np.array([acc_count_mps2] * 3 + [gyr_count_dps] * 3)
    true_s = np.full(got.shape[0], np.nan)
    position, matched = 0, []
    for k, row in enumerate(got):
        window = sent[position : position + 64]
        hits = np.flatnonzero(np.all(np.abs(window - row) <= tolerance, axis=1))
        if hits.size:
            index = position + int(hits[0])
            true_s[k] = sent_true_s[index]
            matched.append(index)
            position = index + 1
    lost = matched[-1] - matched[0] + 1 - len(matched) if matched else 0
    return device.loop_time_for(start_true_s), np.array([device.loop_time_for(t) for t in true_s]), lost


def score_device(scenario: Scenario, streamed: StreamedRun) -> DeviceScores:
    """Run the pipeline on what the link delivered and score it against the simulator's truth."""
    # whole, not block by block: the same steps (`analyze`), without the per-block cost of one-sample blocks
    samples = ImuSamples.concatenate(streamed.blocks)
    steps = analyze(samples, sampling_rate_hz=streamed.device.sample_rate_hz).steps

    def delivered_steps(_samples: ImuSamples, _sampling_rate_hz: float) -> tuple[StepMetrics, ...]:
        # `evaluate_scenario` simulates the scenario again (deterministic: the same truth) and hands its
        # samples over; the steps to score are those of the streamed samples.
        return steps

    row = evaluate_scenario(scenario, analyzer=delivered_steps)
    error_ms = np.abs(streamed.time_error_s) * 1e3
    return DeviceScores(
        scenario=scenario.name,
        device=streamed.device.label,
        time_error_median_ms=float(np.median(error_ms)),
        time_error_p99_ms=float(np.percentile(error_ms, 99)),
        time_error_bias_ms=float(np.median(streamed.time_error_s)) * 1e3,
        samples_lost_true=streamed.samples_lost_true,
        samples_lost_reported=streamed.samples_lost_reported,
        row=row,
        wall_s=streamed.wall_s,
    )


def run_on_virtual_time(scenario: Scenario, devices: Sequence[DeviceRun]) -> list[DeviceScores]:
    """Every device's scores on one scenario (a virtual-time event loop per device)."""
    run = simulate(scenario)
    scores = []
    for device in devices:
        with (
            tempfile.TemporaryDirectory() as work_dir,
            asyncio.Runner(loop_factory=VirtualTimeEventLoop) as runner,
        ):
            streamed = runner.run(stream_scenario(run, device, Path(work_dir)))
        scores.append(score_device(scenario, streamed))
    return scores


def _format(score: DeviceScores) -> str:
    r = score.row
    return (
        f"{score.scenario:<28} {score.device:<20} "
        f"{score.time_error_median_ms:6.2f} {score.time_error_p99_ms:7.2f} "
        f"{score.time_error_bias_ms:6.2f} {score.samples_lost_true:5d} {score.samples_lost_reported:5d} "
        f"{score.ic_f1:6.3f} {score.side_accuracy:6.3f} {score.contact_time_mae_ms:6.1f} "
        f"{r.tilt_rmse_deg:5.2f} {r.drop_rmse_deg:5.2f} {r.rotation_rmse_deg:5.2f} {score.wall_s:6.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="clean_run,drop_asymmetry_left_stance,arbitrary_mount_b")
    parser.add_argument(
        "--duration-s", type=float, default=None, help="scenario length (default: the suite's)"
    )
    parser.add_argument(
        "--devices", default="posture:208:8,posture:208,metamotion:200,witmotion:200,witmotion:100"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the link warns at every inferred loss: hundreds per run
    devices = []
    for spec in args.devices.split(","):
        parts = spec.split(":")
        devices.append(DeviceRun(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else None))
    print(
        f"{'scenario':<28} {'device':<20} {'t med':>6} {'t p99':>7} {'t bias':>6} {'lost':>5} {'rep.':>5} "
        f"{'IC F1':>6} {'side':>6} {'CT MAE':>6} {'tilt':>5} {'drop':>5} {'rot':>5} {'wall s':>6}"
    )
    for name in args.scenarios.split(","):
        for score in run_on_virtual_time(bench_scenario(name, args.duration_s), devices):
            print(_format(score), flush=True)


if __name__ == "__main__":
    main()
