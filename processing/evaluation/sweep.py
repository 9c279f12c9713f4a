"""Robustness sweep: the pipeline over random scenarios across the issue's ranges, beyond the named suite.

The named suite (`processing.simulation.SCENARIO_SUITE`) runs each scenario with one seed, so a result that
holds only for that seed, or only where the suite happens to sample a parameter, goes unnoticed. The sweep
draws every parameter at once from the ranges issue 3 names (speed 2.5 to 6 m/s, cadence 150 to 200 steps/min,
output rate 50 to 500 Hz including odd rates, any mounting rotation, IMUs good to poor, asymmetry of either
side, walking warm-up and cool-down, pauses, turns, no standing start, accelerometer-only loggers, 1 to 20
min of running) and reports per-metric distributions against the issue's targets, plus every exception: a
crash on valid input is a defect.

Draws whose parameters the simulator rejects as unphysical (e.g. a slow jog at 200 steps/min, whose contact
would leave no flight phase) are drawn again; the redraw uses the same generator, so a sweep is reproducible
from its seed. Pure (numpy/scipy): `posture evaluate --sweep N --seed S` prints it.

Reading it: without a standing period (a quarter of the draws, and standings under 2 s, the
`processing.alignment.STANDING_START_NEEDED_S` that the calibration needs) the angles are relative to the mean
running posture, while the truth is relative to standing: the tilt then misses by the runner's mean running
tilt and an uneven drop leaves part of its left/right difference in the "neutral" obliquity. That is a limit
of the definition, not a defect; judge the angle targets on the draws with a standing start.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.transform import Rotation

from processing.evaluation.suite import EvaluationRow, evaluate_scenario
from processing.samples import MAX_SAMPLING_RATE_HZ, MIN_SAMPLING_RATE_HZ, ImuSamples
from processing.steps import StepMetrics

if TYPE_CHECKING:  # imported at run time inside the functions, as `suite` does
    from processing.simulation import Scenario

__all__ = [
    "SWEEP_METRICS",
    "MetricDistribution",
    "SweepDraw",
    "SweepResult",
    "random_scenario",
    "run_sweep",
    "summarize_sweep",
    "sweep_draw",
]

#: Output rates the sweep draws from half of the time (sensor profiles and common logger rates); the other
#: half is any rate in [50, 500] Hz, log-uniform.
_COMMON_RATES_HZ = (50.0, 52.0, 60.0, 100.0, 104.0, 120.0, 200.0, 208.0, 400.0, 416.0, 500.0)
#: Share of draws fed to the pipeline without their gyroscope columns (accelerometer-only loggers).
_ACC_ONLY_SHARE = 0.15
#: Running time of a draw, log-uniform, s (the issue's 1 to 20 min).
_RUN_S = (60.0, 1200.0)
#: Redraws allowed before giving up on a seed (the validator rejects about one draw in five).
_MAX_REDRAWS = 50


@dataclass(frozen=True, slots=True)
class SweepDraw:
    """One random draw: the scenario and whether it is fed to the pipeline without a gyroscope.

    Attributes
    ----------
    scenario : processing.simulation.Scenario
    accelerometer_only : bool
    """

    scenario: Scenario
    accelerometer_only: bool


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A draw and what came of it: its evaluation row, or the exception the pipeline raised.

    Attributes
    ----------
    draw : SweepDraw
    row : EvaluationRow or None
        None when the run raised.
    error : str
        Empty, or the exception's type and message followed by its traceback.
    """

    draw: SweepDraw
    row: EvaluationRow | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class MetricDistribution:
    """How one metric is distributed over the draws it applies to.

    Attributes
    ----------
    key, name : str
        Column key (as `posture evaluate`) and a readable name.
    target : float
    lower_is_better : bool
    n : int
        Draws where the metric is defined (finite).
    median, p90, worst : float
        p90 is the 90th percentile on the bad side (the 10th for F1 and side accuracy).
    n_missed : int
        Draws that miss the target.
    missed : tuple of int
        Their indices in the sweep.
    """

    key: str
    name: str
    target: float
    lower_is_better: bool
    n: int
    median: float
    p90: float
    worst: float
    n_missed: int
    missed: tuple[int, ...]


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _vec(rng: np.random.Generator, scale: float) -> tuple[float, float, float]:
    x = rng.uniform(-scale, scale, 3)
    return (float(x[0]), float(x[1]), float(x[2]))


def _draw_once(rng: np.random.Generator, index: int, seed: int, max_run_s: float) -> SweepDraw:
    from processing.simulation import Pause, Scenario, Turn, mounting_zyx_deg_from_rotation

    if rng.random() < 0.5:
        fs = float(rng.choice(_COMMON_RATES_HZ))
    else:
        fs = round(_log_uniform(rng, MIN_SAMPLING_RATE_HZ, MAX_SAMPLING_RATE_HZ), 1)
    duration_s = round(_log_uniform(rng, _RUN_S[0], max(_RUN_S[0], min(max_run_s, _RUN_S[1]))), 1)
    standing_s = 0.0 if rng.random() < 0.25 else round(float(rng.uniform(2.0, 10.0)), 1)
    warmup_s = round(float(rng.uniform(5.0, 60.0)), 1) if rng.random() < 0.4 else 0.0
    cooldown_s = round(float(rng.uniform(5.0, 60.0)), 1) if rng.random() < 0.3 else 0.0
    run_start = standing_s + warmup_s
    pauses: list[Pause] = []
    if rng.random() < 0.3 and duration_s >= 60.0:
        for _ in range(int(rng.integers(1, 3))):
            length = round(float(rng.uniform(3.0, min(60.0, duration_s - 20.0))), 1)
            start = round(float(rng.uniform(run_start + 8.0, run_start + duration_s - 8.0 - length)), 1)
            candidate = Pause(start, length)
            if all(
                candidate.t_start_s >= p.t_end_s + 10.0 or p.t_start_s >= candidate.t_end_s + 10.0
                for p in pauses
            ):
                pauses.append(candidate)
    turns: list[Turn] = []
    if rng.random() < 0.4:
        for _ in range(int(rng.integers(1, 6))):
            turn_s = round(float(rng.uniform(1.0, 25.0)), 1)
            start = round(float(rng.uniform(standing_s, standing_s + warmup_s + duration_s)), 1)
            turns.append(Turn(start, round(float(rng.uniform(-180.0, 180.0)), 1), turn_s))
    rotation = Rotation.random(random_state=rng)
    imu_quality = rng.random()  # 0 = a good IMU, 1 = a poor one: noise, bias and drift grow together
    # Per-side amplitudes as a mean and a right-minus-left difference (either side larger): drop 3 to 9 deg
    # +-4, tilt range 4 to 11 deg +-3, rotation range 8 to 22 deg with the larger side up to 1.9 times the
    # smaller (the suite's planted faults differ by 2 to 4 deg).
    drop_mean, drop_diff = float(rng.uniform(3.0, 9.0)), float(rng.uniform(-4.0, 4.0))
    tilt_mean, tilt_diff = float(rng.uniform(4.0, 11.0)), float(rng.uniform(-3.0, 3.0))
    rot_mean, rot_si = float(rng.uniform(8.0, 22.0)), float(rng.uniform(-0.6, 0.6))
    drop_left, drop_right = max(drop_mean - drop_diff / 2, 0.0), max(drop_mean + drop_diff / 2, 0.0)
    tilt_left, tilt_right = max(tilt_mean - tilt_diff / 2, 0.0), max(tilt_mean + tilt_diff / 2, 0.0)
    rot_left, rot_right = rot_mean * (1.0 - rot_si / 2), rot_mean * (1.0 + rot_si / 2)
    scenario = Scenario(
        name=f"sweep{seed}_{index:03d}",
        seed=int(rng.integers(0, 2**31 - 1)),
        sampling_rate_hz=fs,
        duration_s=duration_s,
        standing_s=standing_s,
        warmup_walk_s=warmup_s,
        cooldown_walk_s=cooldown_s,
        speed_mps=round(float(rng.uniform(2.5, 6.0)), 2),
        cadence_spm=round(float(rng.uniform(150.0, 200.0)), 1),
        walk_speed_mps=round(float(rng.uniform(1.0, 1.8)), 2),
        walk_cadence_spm=round(float(rng.uniform(95.0, 125.0)), 1),
        pace_variability_pct=float(rng.uniform(0.0, 4.0)),
        step_time_asymmetry_pct=float(rng.uniform(-8.0, 8.0)),
        contact_time_asymmetry_pct=float(rng.uniform(-10.0, 10.0)),
        stride_variability_pct=float(rng.uniform(0.5, 3.0)),
        tilt_mean_deg=float(rng.uniform(-2.0, 12.0)),
        tilt_mean_asymmetry_deg=float(rng.uniform(-2.5, 2.5)),
        tilt_range_left_deg=tilt_left,
        tilt_range_right_deg=tilt_right,
        drop_left_deg=drop_left,
        drop_right_deg=drop_right,
        rotation_range_left_deg=rot_left,
        rotation_range_right_deg=rot_right,
        angle_variability_pct=float(rng.uniform(3.0, 10.0)),
        fatigue_tilt_mean_deg=float(rng.uniform(-2.0, 4.0)),
        fatigue_drop_left_deg=float(rng.uniform(-1.0, 3.0)),
        fatigue_drop_right_deg=float(rng.uniform(-1.0, 3.0)),
        fatigue_cadence_spm=float(rng.uniform(-6.0, 4.0)),
        braking_peak_bw=float(rng.uniform(0.2, 0.7)),
        impact_peak_bw=float(rng.uniform(0.0, 1.2)),
        lateral_peak_bw=float(rng.uniform(0.04, 0.15)),
        turns=tuple(turns),
        pauses=tuple(pauses),
        mounting_zyx_deg=mounting_zyx_deg_from_rotation(rotation.as_matrix()),
        mount_resonance_hz=float(rng.uniform(14.0, 30.0)),
        mount_damping_ratio=float(rng.uniform(0.15, 0.5)),
        mount_wobble_deg=float(rng.uniform(0.0, 1.5)),
        mount_slip_deg=float(rng.uniform(0.0, 2.0)),
        acc_noise_mps2=0.01 + 0.14 * imu_quality,
        gyr_noise_dps=0.05 + 0.75 * imu_quality,
        acc_bias_mps2=_vec(rng, 0.4 * imu_quality),
        gyr_bias_dps=_vec(rng, 3.0 * imu_quality),
        gyr_bias_walk_dps_per_sqrt_s=0.03 * imu_quality,
        acc_scale_error=_vec(rng, 0.02 * imu_quality),
        acc_range_g=float(rng.choice((8.0, 16.0, 16.0, 32.0))),
        sample_rate_error_ppm=float(rng.uniform(-15000.0, 15000.0)) if rng.random() < 0.3 else 0.0,
        timestamp_jitter_s=float(rng.uniform(0.0, 0.25)) / fs if rng.random() < 0.3 else 0.0,
        heading_wander_deg=float(rng.uniform(0.0, 4.0)),
    )
    return SweepDraw(scenario=scenario, accelerometer_only=bool(rng.random() < _ACC_ONLY_SHARE))


def random_scenario(
    rng: np.random.Generator, index: int = 0, *, seed: int = 0, max_run_s: float = _RUN_S[1]
) -> SweepDraw:
    """One valid random draw across the issue's ranges (invalid combinations are drawn again).

    `index` and `seed` only name the scenario (`sweep<seed>_<index>`), so a report can point back at it;
    `max_run_s` caps the running time (at least 60 s), e.g. for a quick check in CI.
    """
    from processing.simulation import InvalidScenarioError

    for _ in range(_MAX_REDRAWS):
        try:
            return _draw_once(rng, index, seed, max_run_s)
        except InvalidScenarioError:
            continue
    raise RuntimeError(
        f"no valid scenario in {_MAX_REDRAWS} draws: the sweep's ranges contradict the simulator's validator"
    )


def sweep_draw(seed: int, index: int, *, max_run_s: float = _RUN_S[1]) -> SweepDraw:
    """The draw that `run_sweep(n, seed, max_run_s=...)` evaluates at `index` (for any n > index).

    Rebuilds one reported draw on its own, e.g. `sweep2026_059` is `sweep_draw(2026, 59)`: simulate its
    scenario (`processing.simulation.simulate`) and feed it to the pipeline, without its gyroscope columns
    when `accelerometer_only`, to look into it.
    """
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    return _draws(index + 1, seed, max_run_s)[index]


def _draws(n: int, seed: int, max_run_s: float) -> list[SweepDraw]:
    """The first `n` draws of the sweep with `seed`: all drawn in turn from one generator, so the first k
    draws of a larger sweep are the same scenarios."""
    rng = np.random.default_rng(seed)
    return [random_scenario(rng, i, seed=seed, max_run_s=max_run_s) for i in range(n)]


def _without_gyroscope(samples: ImuSamples, sampling_rate_hz: float) -> tuple[StepMetrics, ...]:
    from processing.pipeline import analyze

    acc_only = ImuSamples(samples.t_s, samples.acc_mps2, None)
    return analyze(acc_only, sampling_rate_hz=sampling_rate_hz).steps


def run_sweep(n: int, seed: int, *, max_run_s: float = _RUN_S[1]) -> Iterator[SweepResult]:
    """Draw `n` scenarios from `numpy.random.default_rng(seed)` and evaluate each; exceptions are recorded,
    not raised, so one crash does not hide the rest. `max_run_s` caps each draw's running time."""
    for draw in _draws(n, seed, max_run_s):  # all draws first: reproducible subsets
        analyzer: Callable[[ImuSamples, float], tuple[StepMetrics, ...]] | None = (
            _without_gyroscope if draw.accelerometer_only else None
        )
        try:
            row = evaluate_scenario(draw.scenario, analyzer=analyzer)
        except Exception as exc:  # the sweep reports every crash instead of stopping at the first
            text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            yield SweepResult(draw=draw, row=None, error=text)
            continue
        yield SweepResult(draw=draw, row=row)


#: The issue-3 targets the sweep reports: key, readable name, target, lower is better.
SWEEP_METRICS: tuple[tuple[str, str, float, bool], ...] = (
    ("ic_f1", "IC F1 (50 ms)", 0.99, False),
    ("median_ic_error_ms", "median IC error, ms", 10.0, True),
    ("contact_mae_ms", "contact time MAE, ms", 15.0, True),
    ("side_accuracy", "running side accuracy", 0.99, False),
    ("cadence_error_spm", "cadence error, spm", 1.0, True),
    ("tilt_rmse_deg", "tilt RMSE, deg", 1.5, True),
    ("drop_rmse_deg", "drop RMSE, deg", 1.5, True),
    ("rotation_rmse_deg", "rotation RMSE, deg", 1.5, True),
    ("step_time_si_error_pp", "step-time SI error, pp", 2.0, True),
    ("contact_time_si_error_pp", "contact-time SI error, pp", 2.0, True),
    ("tilt_rl_error_deg", "tilt R-L error, deg", 0.5, True),
    ("drop_rl_error_deg", "drop R-L error, deg", 0.5, True),
    ("rotation_rl_error_deg", "rotation R-L error, deg", 0.5, True),
)


def metric_value(row: EvaluationRow, key: str) -> float:
    """The value of a `SWEEP_METRICS` key in a row (NaN where it does not apply)."""
    e = row.events
    values = {
        "ic_f1": e.ic_f1,
        "median_ic_error_ms": 1e3 * e.median_abs_ic_error_s,
        "contact_mae_ms": 1e3 * e.contact_time_mae_s,
        "side_accuracy": e.side_accuracy_running,
        "cadence_error_spm": e.cadence_error_spm,
    }
    return float(values[key]) if key in values else float(getattr(row, key))


def summarize_sweep(results: list[SweepResult]) -> tuple[MetricDistribution, ...]:
    """Per-metric distribution over the draws that ran (crashes are reported apart, by the caller)."""
    out = []
    for key, name, target, lower in SWEEP_METRICS:
        idx, vals = [], []
        for i, r in enumerate(results):
            if r.row is not None and math.isfinite(v := metric_value(r.row, key)):
                idx.append(i)
                vals.append(v)
        x = np.array(vals, dtype=np.float64)
        if x.size == 0:
            nan = float("nan")
            out.append(MetricDistribution(key, name, target, lower, 0, nan, nan, nan, 0, ()))
            continue
        missed = tuple(i for i, v in zip(idx, vals, strict=True) if (v > target if lower else v < target))
        out.append(
            MetricDistribution(
                key=key,
                name=name,
                target=target,
                lower_is_better=lower,
                n=int(x.size),
                median=float(np.median(x)),
                p90=float(np.percentile(x, 90.0 if lower else 10.0)),
                worst=float(x.max() if lower else x.min()),
                n_missed=len(missed),
                missed=missed,
            )
        )
    return tuple(out)
