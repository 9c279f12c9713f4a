"""How short a standing start still gives an accurate "up": the measurement behind `MIN_STANDING_S`.

    python benchmarks/bench_standing_calibration.py      # about a minute on one core

1. Simulated standing starts of 0.8 to 3 s (`processing.simulation`) at 52, 104, 208 and 416 Hz, three
   seeds, four mountings (upright, upside down, two arbitrary), a clean and a poor IMU (noise 0.25 m/s^2,
   bias 0.2 m/s^2): per standing time, the still span the detector finds, the up error of the mean over it
   after the trims, and what `MountingEstimator` decides (standing or running_mean) with its up error.
2. The still periods of the real recordings in tests/data: how far the mean over a short span at either end
   of a still period (after a trim) leans off the period's interior: the settling at the ends that the
   simulator does not model.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from posture.recording_io import read_recording
from processing.alignment import STANDING_TRIM_S, MountingEstimator, find_still_periods
from processing.simulation import Scenario, simulate

STANDING_S = (0.8, 1.0, 1.5, 2.0, 2.5, 3.0)
RATES_HZ = (52.0, 104.0, 208.0, 416.0)
SEEDS = (1, 2, 3)
MOUNTINGS = ((0.0, 0.0, 0.0), (30.0, -80.0, 10.0), (12.0, -95.0, -8.0), (0.0, 0.0, 180.0))
IMUS: dict[str, dict[str, object]] = {
    "clean": {},
    "poor": {"acc_noise_mps2": 0.25, "acc_bias_mps2": (0.2, -0.15, 0.1), "gyr_noise_dps": 0.8},
}
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    c = float(u @ v) / float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def simulated() -> None:
    print("standing_s imu   | still span after trims, s | up error (span mean), deg median/max | estimator")
    for standing_s, imu in itertools.product(STANDING_S, IMUS):
        spans, errors, kinds, est_errors = [], [], [], []
        for rate_hz, seed in itertools.product(RATES_HZ, SEEDS):
            scenario = Scenario(
                seed=seed,
                sampling_rate_hz=rate_hz,
                standing_s=standing_s,
                duration_s=12.0,
                mounting_zyx_deg=MOUNTINGS[seed % len(MOUNTINGS)],
                **IMUS[imu],  # type: ignore[arg-type]
            )
            run = simulate(scenario)
            acc, gyr = run.samples.acc_mps2, run.samples.gyr_dps
            up_true = scenario.mounting_rotation[2]
            stills = find_still_periods(acc, gyr, sampling_rate_hz=rate_hz, min_duration_s=0.0)
            trim = round(STANDING_TRIM_S * rate_hz)
            if stills and stills[0][0] == 0:
                a, b = stills[0][0] + trim, stills[0][1] - trim
                spans.append((b - a) / rate_hz)
                if b - a >= 2:
                    errors.append(angle_deg(acc[a:b].mean(axis=0), up_true))
            m = MountingEstimator().estimate(acc, gyr, sampling_rate_hz=rate_hz).mounting_
            kinds.append(m.calibration)
            if m.calibration == "standing":
                est_errors.append(angle_deg(m.up_sensor, up_true))
        err = f"{np.median(errors):5.2f} / {np.max(errors):5.2f}" if errors else "    -"
        est = f"{kinds.count('standing')}/{len(kinds)} standing"
        if est_errors:
            est += f", up error median {np.median(est_errors):.2f} max {np.max(est_errors):.2f} deg"
        print(f"{standing_s:10.1f} {imu:5} | {min(spans):6.2f} .. {max(spans):5.2f}      | {err:27} | {est}")


def _ends(acc: np.ndarray, a: int, b: int, inner: np.ndarray, fs: float, trim_s: float, span_s: float) -> str:
    """Up error of the span_s mean after trim_s at the end and at the start of the still period [a, b)."""
    t0, t1 = round(trim_s * fs), round((trim_s + span_s) * fs)
    if t1 > b - a:
        return "-"
    end = angle_deg(acc[b - t1 : b - t0].mean(axis=0), inner)
    start = angle_deg(acc[a + t0 : a + t1].mean(axis=0), inner)
    return f"{end:.2f}, {start:.2f}"


def real() -> None:
    print("\nreal still periods: mean over L s at an end (after a trim) vs the period's interior, deg")
    print("recording, period s | trim 0 L 0.25 | trim 0.25 L 0.5 (end, start)")
    for path in sorted(DATA.rglob("*.csv")):
        rec = read_recording(path)
        fs = rec.sampling_rate_hz
        acc = rec.samples.acc_mps2
        for a, b in find_still_periods(acc, rec.samples.gyr_dps, sampling_rate_hz=fs, min_duration_s=1.0):
            inner_trim = round((0.25 if b - a < 3 * fs else 1.0) * fs)
            inner = acc[a + inner_trim : b - inner_trim].mean(axis=0)
            print(
                f"{path.stem[:34]:34} {a / fs:6.1f}-{b / fs:6.1f} | "
                f"{_ends(acc, a, b, inner, fs, 0.0, 0.25):12} | {_ends(acc, a, b, inner, fs, 0.25, 0.5)}"
            )


if __name__ == "__main__":
    simulated()
    real()
