"""Processing benchmarks: speed (x real time), `posture analyze` end to end, streaming delay, memory.

    python benchmarks/bench_processing.py            # all four, about two minutes on one core
    python benchmarks/bench_processing.py --quick    # shorter recordings (CI smoke run)
    python benchmarks/bench_processing.py --repeat 5 # speed: the best of 5 runs (default 3)

Recordings come from the simulator (`processing.simulation`): a 10-minute run at 208 Hz, repeated end to end
(times continued) to reach one and two hours. Speed is reported as process CPU time (the pipeline is single
threaded), the best of `--repeat` runs: other processes on a shared machine slow a run down (caches, memory
bandwidth), never speed it up. `posture analyze` is timed by the CPU time of its own process, interpreter
start and CSV parsing included.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posture.recording_io import write_recording
from processing.gait_events.events import GaitEvents
from processing.pipeline import StreamingProcessor, analyze, default_event_detector
from processing.samples import ImuSamples
from processing.simulation import SimulatedRun, scenario_by_name, simulate

RATE_HZ = 208.0


def base_run(minutes: float) -> SimulatedRun:
    scenario = dataclasses.replace(
        scenario_by_name("clean_run"), duration_s=minutes * 60.0, sampling_rate_hz=RATE_HZ, name="bench"
    )
    return simulate(scenario)


def tiled(run: SimulatedRun, copies: int) -> ImuSamples:
    """`copies` repetitions of the run, end to end, on one continuous time axis."""
    s = run.samples
    period = float(s.t_s[-1] - s.t_s[0]) + 1.0 / RATE_HZ
    t = np.concatenate([s.t_s + k * period for k in range(copies)])
    gyr = None if s.gyr_dps is None else np.tile(s.gyr_dps, (copies, 1))
    return ImuSamples(t, np.tile(s.acc_mps2, (copies, 1)), gyr)


def blocks(samples: ImuSamples, block_s: float) -> Iterator[ImuSamples]:
    n = max(1, round(block_s * RATE_HZ))
    for a in range(0, len(samples), n):
        yield samples.slice(a, min(a + n, len(samples)))


class NoEvents:
    """An event source that finds nothing: isolates the cost of everything but gait-event detection."""

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        return GaitEvents.empty()


class TruthEvents:
    """The simulator's contacts (for a run tiled end to end): the metric side without detection cost."""

    def __init__(self, run: SimulatedRun, copies: int) -> None:
        s, steps = run.samples, run.truth.steps
        period = float(s.t_s[-1] - s.t_s[0]) + 1.0 / RATE_HZ
        self.ic = np.concatenate([steps.t_ic_s + k * period for k in range(copies)])
        self.to = np.concatenate([steps.t_to_s for _ in range(copies)]) + (
            self.ic - np.tile(steps.t_ic_s, copies)
        )
        self.side = np.tile(steps.side, copies)
        self.running = np.tile(steps.is_running, copies)

    def detect_window(
        self, t_s: np.ndarray, acc_mps2: np.ndarray, gyr_dps: np.ndarray | None, *, sampling_rate_hz: float
    ) -> GaitEvents:
        lo, hi = np.searchsorted(self.ic, [t_s[0], t_s[-1]])
        return GaitEvents(
            ic_s=self.ic[lo:hi],
            to_s=self.to[lo:hi],
            side=self.side[lo:hi],
            side_score=np.where(self.side[lo:hi] == "L", 1.0, -1.0),
            bout_id=np.zeros(hi - lo, dtype=np.int64),
            activity=np.where(self.running[lo:hi], "running", "walking"),
        )


def bench_speed(run: SimulatedRun, copies: int, repeat: int) -> None:
    samples = tiled(run, copies)
    duration_s = float(samples.t_s[-1] - samples.t_s[0])
    print(
        f"\n## Speed: {duration_s / 3600:.2f} h at {RATE_HZ:g} Hz ({len(samples):,} samples), in memory, "
        f"best of {repeat}"
    )
    for label, detector in (
        ("whole pipeline (project gait-event detector)", default_event_detector()),
        ("pipeline with the simulator's contacts (no detection cost)", TruthEvents(run, copies)),
        ("orientation + windows only (no events)", NoEvents()),
    ):
        cpus: list[float] = []
        dt = float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = analyze(samples, sampling_rate_hz=RATE_HZ, event_detector=detector)
            dt = min(dt, time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        cpu = min(cpus)
        print(
            f"- {label}: {cpu:.2f} s CPU ({duration_s / cpu:,.0f}x real time; median of the runs "
            f"{float(np.median(cpus)):.2f} s; wall {dt:.2f} s), {len(result.steps):,} steps"
        )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _posture(*args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """`python -m posture ARGS` in a child process: the result, its wall time and its CPU time, s."""
    t0, children0 = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run(
        [sys.executable, "-m", "posture", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    return proc, time.perf_counter() - t0, _children_cpu_s() - children0


def bench_cli(run: SimulatedRun, copies: int, repeat: int) -> None:
    samples = tiled(run, copies)
    duration_s = float(samples.t_s[-1] - samples.t_s[0])
    cpu = dt = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "run.csv"
        write_recording(csv_path, samples)
        size_mb = csv_path.stat().st_size / 1e6
        for _ in range(repeat):
            proc, wall_s, cpu_s = _posture("analyze", str(csv_path), "--out", str(Path(tmp) / "out"))
            dt, cpu = min(dt, wall_s), min(cpu, cpu_s)
            if proc.returncode != 0:
                break
    # start-up alone: the interpreter and what `posture analyze` imports (numpy, scipy.signal, typer, rich)
    startup_s = min(_posture("analyze", "--help")[2] for _ in range(repeat))
    hours = duration_s / 3600
    print(f"\n## `posture analyze` end to end: {hours:.2f} h CSV ({size_mb:.0f} MB), best of {repeat}")
    if proc.returncode != 0:
        print(f"- failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        return
    print(
        f"- {cpu:.2f} s CPU ({duration_s / cpu:,.0f}x real time; wall {dt:.2f} s), interpreter start and CSV "
        f"parsing included; start-up alone (`posture analyze --help`) {startup_s:.2f} s CPU"
    )


def bench_delay(run: SimulatedRun, block_s: float) -> None:
    samples = run.samples
    processor = StreamingProcessor(RATE_HZ, has_gyroscope=True, event_detector=default_event_detector())
    delays: list[float] = []
    calibrated = False
    for block in blocks(samples, block_s):
        steps = processor.update(block)
        if steps and not calibrated:
            calibrated = True  # the calibration backlog comes out at once; not a steady-state delay
            continue
        delays.extend(float(block.t_s[-1]) - (s.t_ic_s + s.step_time_s) for s in steps)
    d = np.array(delays)
    p = processor.params
    bound_s = p.window_hop_s + p.window_margin_s + p.orientation_lookahead_s
    print(
        f"\n## Streaming delay (blocks of {block_s * 1000:.0f} ms), from a step's last sample to its metrics"
    )
    print(
        f"- {d.size} steps: median {np.median(d):.2f} s, 95th percentile {np.percentile(d, 95):.2f} s, "
        f"max {d.max():.2f} s (bound: hop + margin + orientation look-ahead = "
        f"{bound_s:g} s, plus the block that completes the window)"
    )


def bench_memory(run: SimulatedRun, copies: int) -> None:
    samples = tiled(run, copies)
    duration_s = float(samples.t_s[-1] - samples.t_s[0])
    processor = StreamingProcessor(RATE_HZ, has_gyroscope=True, event_detector=default_event_detector())
    input_mb = (
        samples.t_s.nbytes
        + samples.acc_mps2.nbytes
        + (samples.gyr_dps.nbytes if samples.gyr_dps is not None else 0)
    ) / 1e6
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    n_steps, held = 0, 0
    for block in blocks(samples, 1.0):
        n_steps += len(processor.update(block))
        held = max(held, processor.buffered_samples)
    n_steps += len(processor.finish())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\n## Memory: {duration_s / 3600:.2f} h streamed in 1 s blocks ({input_mb:.0f} MB of input held by "
        "the caller)"
    )
    print(
        f"- peak traced allocation of the processor: {(peak - base) / 1e6:.1f} MB; at most {held:,} samples "
        "buffered "
        f"({held / RATE_HZ:.1f} s); {n_steps:,} steps emitted (the caller keeps them, about 150 bytes each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short recordings, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="speed: the best of this many runs")
    args = parser.parse_args()
    minutes = 2.0 if args.quick else 10.0
    t0 = time.perf_counter()
    run = base_run(minutes)
    print(f"# Processing benchmarks (simulated {minutes:g} min base run in {time.perf_counter() - t0:.1f} s)")
    copies_1h = 1 if args.quick else 6
    bench_speed(run, copies_1h, max(1, args.repeat))
    bench_cli(run, copies_1h, max(1, args.repeat))
    bench_delay(run, block_s=0.1)
    bench_memory(run, 2 if args.quick else 12)


if __name__ == "__main__":
    main()
