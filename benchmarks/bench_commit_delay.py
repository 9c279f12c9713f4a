"""The commit delay of a step, what bounds it, what halving it would take; and what the live angles cost.

    python benchmarks/bench_commit_delay.py              # delays and costs (under a minute)
    python benchmarks/bench_commit_delay.py --accuracy   # and the evaluation suite per configuration (+2 min)

A simulated run (`clean_run`, 208 Hz, 10 minutes) is streamed as the link delivers it: one block per packet
of 8 samples (38 ms). A step's commit delay is the time from its last sample (its end: the next contact) to
the moment `update()` returns it: the stream time from the step's end to the last sample of the block that
completes it, plus the wall time of that `update()` call. The steps that the calibration releases at once
(the backlog of the calibration period) are left out.

Bound: a step is committed when its window has all its samples and VQF has reached the window's end. Window k
spans [k H - M, (k + 1) H + M) and owns the steps whose contact lies in its core; the last core step waits for
the next window. A step ending at a uniformly random place of a core therefore waits (core end - step end) +
M + look-ahead: between M + L and H + M + L (hop H, margin M, look-ahead L), median about H / 2 + M + L.

Halving: the margin must hold a step's next contact (>= `max_step_time_s`, 2 s) and the detector's filter
settling; the look-ahead holds the turn detection's centred filter (2 s + 1.5 s moving averages at the
defaults, shortened with it). The candidates below shorten each, and `--accuracy` runs `posture evaluate`'s
suite (simulated scenarios and the real recordings) with each, to see what it costs.

Live angles: `StreamingProcessor.live_angles()` after every block; the figures are their RMSE against the
simulator's truth (every block from 3 s after the start of the running on), its CPU time per call, the
share of one core at the live topic's 10 Hz, and the p99 of (update + live_angles) per block, in CPU time and
in wall time: the processing part of the delay from a sample's arrival to its live message (wall time also
holds whatever else the machine runs: on a shared machine its p99 says more about the neighbours).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from processing.pipeline import (
    LiveAngles,
    PipelineParams,
    StreamingProcessor,
    analyze,
    default_event_detector,
)
from processing.samples import ImuSamples
from processing.simulation import scenario_by_name, simulate

RATE_HZ = 208.0
PACKET = 8
CONFIGS: dict[str, PipelineParams] = {
    "default (H 4, M 3, L 2)": PipelineParams(),
    "H 2, M 3, L 2": PipelineParams(window_hop_s=2.0),
    "H 2, M 2, L 1.5": PipelineParams(window_hop_s=2.0, window_margin_s=2.0, orientation_lookahead_s=1.5),
    "H 1.5, M 2, L 1": PipelineParams(window_hop_s=1.5, window_margin_s=2.0, orientation_lookahead_s=1.0),
}


@dataclasses.dataclass
class Figures:
    delays_s: np.ndarray
    update_s: np.ndarray  # wall time per update()
    live_s: np.ndarray  # wall time per live_angles()
    block_cpu_s: np.ndarray  # CPU time per block: update() + live_angles()
    live_cpu_s: np.ndarray  # CPU time per live_angles()
    live_angles: list[tuple[int, LiveAngles]]  # (index of the block's last sample, its angles)
    cpu_s: float
    duration_s: float


def stream(samples: ImuSamples, params: PipelineParams, *, live: bool) -> Figures:
    processor = StreamingProcessor(
        RATE_HZ, has_gyroscope=True, event_detector=default_event_detector(), params=params
    )
    delays: list[float] = []
    update_s: list[float] = []
    live_s: list[float] = []
    block_cpu_s: list[float] = []
    live_cpu_s: list[float] = []
    angles: list[tuple[int, LiveAngles]] = []
    released = False
    cpu0 = time.process_time()
    for a in range(0, len(samples), PACKET):
        b = min(a + PACKET, len(samples))
        c0, w0 = time.process_time(), time.perf_counter()
        steps = processor.update(samples.slice(a, b))
        c1, w1 = time.process_time(), time.perf_counter()
        if live:
            newest = processor.live_angles()
            live_s.append(time.perf_counter() - w1)
            live_cpu_s.append(time.process_time() - c1)
            if newest is not None:
                angles.append((b - 1, newest))
        block_cpu_s.append(time.process_time() - c0)
        update_s.append(w1 - w0)
        if steps and not released:
            released = True  # the calibration's backlog
            continue
        t_block = float(samples.t_s[b - 1])
        delays.extend(t_block - (s.t_ic_s + s.step_time_s) + (w1 - w0) for s in steps)
    cpu = time.process_time() - cpu0
    return Figures(
        np.array(delays),
        np.array(update_s),
        np.array(live_s),
        np.array(block_cpu_s),
        np.array(live_cpu_s),
        angles,
        cpu,
        float(samples.t_s[-1] - samples.t_s[0]),
    )


def accuracy(params: PipelineParams) -> dict[str, float]:
    """The suite's pooled figures (median over the simulated rows; the real rows' detector figures)."""
    from posture.commands.evaluation import load_reference_recordings
    from processing.evaluation import evaluate_suite
    from processing.simulation.suite import SCENARIO_SUITE

    def analyzer(samples: ImuSamples, fs: float):  # type: ignore[no-untyped-def]
        return analyze(samples, sampling_rate_hz=fs, params=params).steps

    rows = list(evaluate_suite(SCENARIO_SUITE, load_reference_recordings(), analyzer=analyzer))
    sim = [r for r in rows if r.source == "sim"]
    real = [r for r in rows if r.source.startswith("real") and "detector" not in r.source]

    def med(values: list[float]) -> float:
        return float(np.nanmedian(values))

    def worst(values: list[float]) -> float:
        return float(np.nanmax(values))

    return {
        "sim IC F1 (min)": float(np.nanmin([r.events.ic_f1 for r in sim])),
        "sim IC error ms (median)": 1e3 * med([r.events.median_abs_ic_error_s for r in sim]),
        "sim contact MAE ms (median)": 1e3 * med([r.events.contact_time_mae_s for r in sim]),
        "sim tilt RMSE (worst)": worst([r.tilt_rmse_deg for r in sim]),
        "sim drop RMSE (worst)": worst([r.drop_rmse_deg for r in sim]),
        "sim rotation RMSE (worst)": worst([r.rotation_rmse_deg for r in sim]),
        "sim drop R-L error (worst)": worst([r.drop_rl_error_deg for r in sim]),
        "sim side accuracy running (min)": float(np.nanmin([r.events.side_accuracy_running for r in sim])),
        "real IC F1 (median)": med([r.events.ic_f1 for r in real]),
        "real IC F1 (min)": float(np.nanmin([r.events.ic_f1 for r in real])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accuracy", action="store_true", help="also run the evaluation suite per configuration"
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the streamed run")
    args = parser.parse_args()
    scenario = dataclasses.replace(
        scenario_by_name("clean_run"), duration_s=args.minutes * 60.0, sampling_rate_hz=RATE_HZ, name="bench"
    )
    run = simulate(scenario)
    samples = run.samples
    print(f"clean_run, {args.minutes:g} min at {RATE_HZ:g} Hz, blocks of {PACKET} samples (one packet)\n")
    print("commit delay, s (step end -> update() returns it)")
    print(f"{'configuration':26s}  median    p99    max   bound M+L..H+M+L  CPU % of a core")
    results: dict[str, Figures] = {}
    for name, params in CONFIGS.items():
        f = stream(samples, params, live=False)
        results[name] = f
        h, m, la = params.window_hop_s, params.window_margin_s, params.orientation_lookahead_s
        print(
            f"{name:26s} {np.median(f.delays_s):7.2f} {np.percentile(f.delays_s, 99):6.2f} "
            f"{f.delays_s.max():6.2f}  {m + la:7.1f} .. {h + m + la:5.1f}"
            f"  {100 * f.cpu_s / f.duration_s:8.2f}"
        )
    live = stream(samples, PipelineParams(), live=True)
    wall = live.update_s + live.live_s
    print("\nlive angles at the defaults")
    idx = np.array([i for i, _ in live.live_angles])
    late = samples.t_s[idx] >= scenario.run_start_s + 3.0
    for name, attr, truth in (
        ("tilt", "pelvic_tilt_deg", run.truth.tilt_deg),
        ("obliquity", "pelvic_obliquity_deg", run.truth.obliquity_deg),
        ("rotation", "pelvic_rotation_deg", run.truth.rotation_deg),
    ):
        got = np.array([getattr(x, attr) for _, x in live.live_angles])
        rmse = float(np.sqrt(np.mean((got[late] - truth[idx[late]]) ** 2)))
        spread = float(np.std(truth[idx[late]]))
        print(f"  {name:9s} RMSE against the truth {rmse:.2f} deg (the truth's own SD {spread:.2f})")
    print(
        f"  live_angles() per call, CPU: median {1e3 * np.median(live.live_cpu_s):.3f} ms, "
        f"p99 {1e3 * np.percentile(live.live_cpu_s, 99):.3f} ms; at 10 Hz "
        f"{100 * 10 * float(np.mean(live.live_cpu_s)):.2f} % of a core"
    )
    print("  update() + live_angles() per block (the processing part of a sample's way to its live message):")
    for what, x in (("CPU", live.block_cpu_s), ("wall", wall)):
        print(
            f"    {what:4s} median {1e3 * np.median(x):.3f} ms, p99 {1e3 * np.percentile(x, 99):.2f} ms, "
            f"max {1e3 * x.max():.1f} ms"
        )
    if args.accuracy:
        print("\naccuracy (posture evaluate's suite: simulated scenarios and real recordings)")
        table = {name: accuracy(params) for name, params in CONFIGS.items()}
        keys = list(next(iter(table.values())))
        print(f"{'figure':34s}" + "".join(f"{name[:18]:>20s}" for name in table))
        for key in keys:
            print(f"{key:34s}" + "".join(f"{table[name][key]:20.3f}" for name in table))


if __name__ == "__main__":
    main()
