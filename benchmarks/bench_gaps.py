"""What a gap costs when bridged and when split: the measurement behind `GapPolicy.max_bridge_s`.

    python benchmarks/bench_gaps.py            # 12 seeds x 9 gap lengths, both decisions (about 20 s of CPU)
    python benchmarks/bench_gaps.py --quick    # 3 seeds
    python benchmarks/bench_gaps.py --rate 100 --seeds 48 --no-drop --gaps 0.05 0.06 0.07 0.08 0.09 0.1

Each simulated run (208 Hz unless `--rate`, standing start, 40 s of running) loses the samples of one gap
somewhere in the middle of its running (a new place per seed and length); the recording then goes through
the pipeline twice, once with every gap bridged and once with every gap split (`GapPolicy.max_bridge_s`
forced), with the project's detector. Against the truth (50 ms matching, as `posture evaluate`), over the
running steps within 3 s of the gap on either side: true contacts missed (outside the gap; a split always
costs the step whose next contact falls into the gap), detections that match no true contact (a bridge may
find the contact that fell into the gap, but at the gap's edge; a split must not give a step that spans the
gap, counted here too), the largest timing error of a matched contact there; the true contacts inside the
gap found within 50 ms and the largest error of those found; and the per-step RMSE of tilt, drop and
rotation, next to the same steps of the recording without a gap.

A second table: after a 3 s drop (split), the orientation resumed from the samples after it
(`OrientationEstimator.resume`, what the pipeline does) against carrying on from the stale orientation before
the gap (the counterfactual: `resume` replaced by a no-op for that row), over the running steps of the 6 s
after the drop.
"""

from __future__ import annotations

import argparse
import dataclasses
from unittest import mock

import numpy as np

from processing.evaluation.matching import match_events
from processing.orientation import OrientationEstimator
from processing.pipeline import GapPolicy, PipelineParams, analyze
from processing.samples import ImuSamples
from processing.simulation import Scenario, SimulatedRun, simulate
from processing.steps import StepMetrics

RATE_HZ = 208.0
GAPS_S = (0.02, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5)
NEAR_S = 3.0
AFTER_S = 6.0
ANGLES = ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg")


def without(samples: ImuSamples, t0: float, t1: float) -> ImuSamples:
    """The samples without those in [t0, t1) (their times kept: a link drop)."""
    assert samples.gyr_dps is not None
    keep = (samples.t_s < t0) | (samples.t_s >= t1)
    return ImuSamples(samples.t_s[keep], samples.acc_mps2[keep], samples.gyr_dps[keep])


@dataclasses.dataclass
class Tally:
    truth: int = 0
    missed: int = 0
    invented: int = 0
    worst_ic_s: float = 0.0
    in_gap: int = 0
    in_gap_found: int = 0
    in_gap_worst_s: float = 0.0
    sq: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {a: [] for a in ANGLES})

    def add(
        self,
        run: SimulatedRun,
        steps: tuple[StepMetrics, ...],
        t0: float,
        t1: float,
        *,
        split: bool,
        before_s: float = NEAR_S,
        after_s: float = NEAR_S,
    ) -> None:
        """The running steps from `before_s` before the gap [t0, t1) to `after_s` after it."""
        truth = run.truth.steps
        near = truth.is_running & (
            ((truth.t_ic_s < t0) & (truth.t_ic_s > t0 - before_s))
            | ((truth.t_ic_s >= t1) & (truth.t_ic_s < t1 + after_s))
        )
        ic = np.array([s.t_ic_s for s in steps])
        end = ic + np.array([s.step_time_s for s in steps])
        m = match_events(ic, truth.t_ic_s, tolerance_s=0.05)
        matched = np.zeros(len(truth), dtype=bool)
        matched[m.reference_idx] = True
        self.truth += int(near.sum())
        self.missed += int((near & ~matched).sum())
        det_near = (ic > t0 - before_s) & (ic < t1 + after_s)
        unmatched = np.ones(ic.shape[0], dtype=bool)
        unmatched[m.detected_idx] = False
        spans = (ic < t0) & (end > t1) & split
        self.invented += int((det_near & (unmatched | spans)).sum())
        inside = (truth.t_ic_s >= t0) & (truth.t_ic_s < t1) & truth.is_running
        self.in_gap += int(inside.sum())
        hit = inside[m.reference_idx]
        if hit.any():
            self.in_gap_found += int(hit.sum())
            dt_gap = (ic[m.detected_idx] - truth.t_ic_s[m.reference_idx])[hit]
            self.in_gap_worst_s = max(self.in_gap_worst_s, float(np.abs(dt_gap).max()))
        near_match = near[m.reference_idx]
        if near_match.any():
            dt = np.abs(ic[m.detected_idx] - truth.t_ic_s[m.reference_idx])[near_match]
            self.worst_ic_s = max(self.worst_ic_s, float(dt.max()))
        for d, r in zip(m.detected_idx.tolist(), m.reference_idx.tolist(), strict=True):
            if not near[r]:
                continue
            for a in ANGLES:
                e = getattr(steps[d], a) - getattr(truth, a)[r]
                if np.isfinite(e):
                    self.sq[a].append(e * e)

    def row(self) -> str:
        rmse = " ".join(f"{np.sqrt(np.mean(self.sq[a])):5.2f}" for a in ANGLES)
        gap = f"{self.in_gap_found:3d}/{self.in_gap:<3d} {1e3 * self.in_gap_worst_s:4.0f}"
        worst = f"{1e3 * self.worst_ic_s:5.0f}"
        return f"{self.missed:4d}/{self.truth:<4d} {self.invented:4d}   {worst}   {gap}   {rmse}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 12")
    parser.add_argument("--rate", type=float, default=RATE_HZ, help=f"sampling rate, Hz ({RATE_HZ:g})")
    parser.add_argument("--gaps", type=float, nargs="+", default=GAPS_S, help="gap lengths, s")
    parser.add_argument("--seeds", type=int, default=12, help="runs per row (12)")
    parser.add_argument("--no-drop", action="store_true", help="skip the 3 s drop table")
    args = parser.parse_args()
    seeds = range(3 if args.quick else args.seeds)
    rate_hz, gaps_s = float(args.rate), tuple(args.gaps)
    bridge = PipelineParams(gaps=GapPolicy(max_bridge_s=10.0))
    split = PipelineParams(gaps=GapPolicy(max_bridge_s=0.0))
    baseline, tallies = Tally(), {(g, how): Tally() for g in gaps_s for how in ("bridge", "split")}
    for seed in seeds:
        run = simulate(Scenario(seed=seed, duration_s=40.0, sampling_rate_hz=rate_hz))
        full = analyze(run.samples, sampling_rate_hz=rate_hz).steps
        rng = np.random.default_rng(seed)
        for gap_s in gaps_s:
            t0 = run.scenario.run_start_s + 15.0 + float(rng.uniform(0.0, 10.0))
            t1 = t0 + gap_s
            baseline.add(run, full, t0, t1, split=False)
            samples = without(run.samples, t0, t1)
            for how, params in (("bridge", bridge), ("split", split)):
                steps = analyze(samples, sampling_rate_hz=rate_hz, params=params).steps
                tallies[(gap_s, how)].add(run, steps, t0, t1, split=how == "split")
    resumed, stale = Tally(), Tally()
    for seed in () if args.no_drop else seeds:
        run = simulate(Scenario(seed=seed, duration_s=40.0, sampling_rate_hz=rate_hz))
        t0 = run.scenario.run_start_s + 15.0 + 0.137 * seed
        t1 = t0 + 3.0
        samples = without(run.samples, t0, t1)
        steps = analyze(samples, sampling_rate_hz=rate_hz).steps
        resumed.add(run, steps, t0, t1, split=True, before_s=0.0, after_s=AFTER_S)
        with mock.patch.object(OrientationEstimator, "resume", return_value=None):
            steps = analyze(samples, sampling_rate_hz=rate_hz).steps
        stale.add(run, steps, t0, t1, split=True, before_s=0.0, after_s=AFTER_S)
    print(f"{len(seeds)} runs per row at {rate_hz:g} Hz; running steps within {NEAR_S:g} s of the gap")
    print(
        "gap s   decision  missed/true invented  worst ms  in gap: found worst ms  RMSE tilt drop  rot (deg)"
    )
    print(f"  -     no gap    {baseline.row()}")
    for gap_s in gaps_s:
        for how in ("bridge", "split"):
            print(f"{gap_s:5.3f}   {how:8s}  {tallies[(gap_s, how)].row()}")
    if args.no_drop:
        return
    print(f"\nafter a 3 s drop (split), the running steps of the {AFTER_S:g} s after it; the orientation")
    print(
        "                  missed/true invented  worst ms  in gap: found worst ms  RMSE tilt drop  rot (deg)"
    )
    print(f"resumed           {resumed.row()}")
    print(f"stale             {stale.row()}")


if __name__ == "__main__":
    main()
