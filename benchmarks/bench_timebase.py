"""How close `processing.timebase.regularize` puts host-stamped samples to their true instants.

    python benchmarks/bench_timebase.py            # 8 seeds x every case (about 30 s of CPU)
    python benchmarks/bench_timebase.py --quick    # 2 seeds

Each synthetic recording is 120 s on the sensor's true grid, its rate 0.5 % off the nominal one; the sensor
sends packets of a fixed size (4, 6 or 8 samples, drawn per recording), 1.5 % of them are lost, and the host
stamps each packet on arrival with a jitter, either one stamp for all its samples ("batched") or each sample
at its own time plus the packet's jitter ("per sample"), rounded to 1 ms. One case adds a 3 s silence (a
link drop). The jitter is an exponential arrival delay with the given mean ("exp": one-sided, as a host's
delays are, with no floor), or, to compare, symmetric about the true instant (Gaussian or uniform with the
given standard deviation: a clock that scatters both ways, not an arrival).

Per case, over all seeds: the median and 99th percentile of |estimated - true| sample time after removing
each recording's median offset (how well the samples sit on one grid), the share of samples more than half
a period off (on the wrong grid slot), the median of estimated - true itself (where the grid sits: at the
minimum delay, 0 here, for one-sided delays; about two standard deviations early for symmetric jitter,
whose earliest stamps come before the truth), the rate error, and the CPU time per recording.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from processing.errors import InvalidSamplesError
from processing.timebase import regularize

DURATION_S = 120.0
RATE_ERROR = 0.005
LOST_PACKET_SHARE = 0.015


@dataclass(frozen=True)
class Case:
    rate_hz: float
    jitter_s: float
    dist: str = "gauss"  # "gauss", "uniform" or "exp"
    batched: bool = True
    silence: bool = False

    @property
    def name(self) -> str:
        style = "batched" if self.batched else "per sample"
        gap = ", 3 s drop" if self.silence else ""
        return f"{self.rate_hz:g} Hz, {1e3 * self.jitter_s:g} ms {self.dist}, {style}{gap}"


CASES = (
    Case(52.0, 0.008, "exp"),
    Case(100.0, 0.008, "exp"),
    Case(104.0, 0.004, "exp"),
    Case(104.0, 0.004, "exp", batched=False),
    Case(208.0, 0.002, "exp", batched=False),
    Case(208.0, 0.008, "exp"),
    Case(52.0, 0.008),
    Case(104.0, 0.002),
    Case(104.0, 0.004),
    Case(104.0, 0.008),
    Case(104.0, 0.008, "uniform"),
    Case(104.0, 0.008, "exp"),
    Case(104.0, 0.004, batched=False),
    Case(104.0, 0.004, silence=True),
    Case(208.0, 0.002),
    Case(208.0, 0.004),
    Case(208.0, 0.008),
    Case(208.0, 0.004, "exp"),
    Case(208.0, 0.004, batched=False),
    Case(500.0, 0.004),
)


def host_stamps(case: Case, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(true times, stamps) of the samples that arrived."""
    rng = np.random.default_rng(seed)
    true_rate = case.rate_hz * (1.0 + RATE_ERROR)
    n = int(DURATION_S * true_rate)
    t_true = 3.0 + np.arange(n) / true_rate
    size = int(rng.choice([4, 6, 8]))
    starts = np.arange(0, n, size)
    ends = np.minimum(starts + size, n)
    keep = np.ones(n, dtype=bool)
    stamps = np.empty(n)
    scale = case.jitter_s
    for a, b in zip(starts, ends, strict=True):
        if a > 0 and rng.random() < LOST_PACKET_SHARE:
            keep[a:b] = False
        if case.dist == "gauss":
            jitter = rng.normal(0.0, scale)
        elif case.dist == "uniform":
            jitter = rng.uniform(-np.sqrt(3.0) * scale, np.sqrt(3.0) * scale)
        else:
            jitter = rng.exponential(scale)
        stamps[a:b] = (t_true[b - 1] if case.batched else t_true[a:b]) + jitter
    if case.silence:  # a link drop loses whole packets
        for a, b in zip(starts, ends, strict=True):
            if 40.0 <= t_true[a] < 43.0:
                keep[a:b] = False
    return t_true[keep], np.round(stamps[keep], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds instead of 8")
    args = parser.parse_args()
    seeds = range(2 if args.quick else 8)
    print(
        f"{'case':42s} {'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>7s} {'off slot':>8s} {'offset ms':>9s} "
        f"{'rate err':>9s} "
        f"{'refused':>7s} {'s/run':>6s}"
    )
    for case in CASES:
        errors, offsets, rate_errors, refused, cpu = [], [], [], 0, 0.0
        for seed in seeds:
            t_true, stamps = host_stamps(case, seed)
            start = time.process_time()
            try:
                out = regularize(stamps, np.zeros((stamps.shape[0], 3)), None, nominal_rate_hz=case.rate_hz)
            except InvalidSamplesError:
                refused += 1
                continue
            finally:
                cpu += time.process_time() - start
            e = out.samples.t_s - t_true
            errors.append(np.abs(e - np.median(e)))
            offsets.append(float(np.median(e)))
            rate_errors.append(abs(out.sampling_rate_hz / (case.rate_hz * (1.0 + RATE_ERROR)) - 1.0))
        err = np.concatenate(errors) if errors else np.full(1, np.nan)
        off_slot = float(np.mean(err > 0.5 / case.rate_hz))
        print(
            f"{case.name:42s} {1e3 * np.median(err):7.3f} {1e3 * np.percentile(err, 99):7.3f} "
            f"{1e3 * err.max():7.2f} {100 * off_slot:7.2f}% {1e3 * np.median(offsets or [np.nan]):9.2f} "
            f"{1e6 * max(rate_errors, default=np.nan):7.1f}ppm "
            f"{refused:7d} {cpu / len(seeds):6.2f}"
        )


if __name__ == "__main__":
    main()
