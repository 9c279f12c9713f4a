"""Host-clock timing against the simulator's truth: sample-time error, inferred loss, fitted rate, CPU.

    python benchmarks/bench_host_clock.py [--minutes 10] [--seeds 8] [--jitter-ms 5] [--loss 0.02]

Devices without a sample clock or counter (MetaWear streaming, WitMotion) are timed by
`sensorlink.host_clock.HostSampleClock` from arrival times alone. Arrivals come from
`sensorlink.simsensor.arrivals` (the simulated peripherals' radio model as arrays): a 15 ms connection
interval with 2 % unacknowledged events, uniform arrival jitter, lost notifications, and a device rate off
nominal by +-1 %. For each configuration and seed it reports the median and p99 of the absolute sample-time
error (over the whole run, and after the first 30 s), the constant part of the error (the minimum delay,
which no host clock can see), the inferred against the true loss, the fitted rate error, the clock's own
error estimate, and CPU per simulated minute. The issue's goal: median under 2 ms at 5 ms jitter, 2 % loss.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sensorlink.host_clock import HostSampleClock, PlacedPacket
from sensorlink.simsensor.arrivals import ArrivalModel, simulate_arrivals

CONFIGURATIONS = (
    # (nominal rate Hz, samples per notification, rate error)
    (100.0, 1, 0.01),
    (100.0, 1, -0.01),
    (100.0, 2, 0.01),
    (100.0, 2, -0.01),
    (100.0, 3, 0.01),
    (50.0, 1, 0.01),
    (200.0, 2, 0.01),
    # At the nominal rate (a few ppm off), sample instants keep one phase against the connection events: the
    # minimum delay, the constant no host clock can see, no longer averages out.
    (100.0, 2, 0.0),
    (20.0, 1, 0.0),
)
SETTLE_S = 31.0


def measure(model: ArrivalModel) -> dict[str, float]:
    arrivals = simulate_arrivals(model)
    n = model.samples_per_packet
    clock: HostSampleClock[int] = HostSampleClock(model.nominal_rate_hz)
    placed: list[PlacedPacket[int]] = []
    cpu0 = time.process_time()
    for k in np.flatnonzero(arrivals.received):
        placed += clock.push(round(arrivals.arrival_s[k] * 1e9), n, int(k))
    cpu_s = time.process_time() - cpu0
    truth = np.concatenate([arrivals.sample_true_s[p.payload * n : (p.payload + 1) * n] for p in placed])
    error = np.concatenate([p.t_s for p in placed]) - truth
    settled = np.abs(error[truth > SETTLE_S])
    true_lost = int((~arrivals.received[: placed[-1].payload]).sum()) * n
    quality = clock.quality
    return {
        "median_ms": float(np.median(np.abs(error))) * 1e3,
        "p99_ms": float(np.percentile(np.abs(error), 99)) * 1e3,
        "settled_p99_ms": float(np.percentile(settled, 99)) * 1e3,
        "constant_ms": float(np.median(error)) * 1e3,
        "lost_inferred": quality.samples_lost_inferred,
        "lost_true": true_lost,
        "rate_error_ppm": quality.rate_error_ppm - model.rate_error * 1e6,
        "expected_ms": quality.expected_error_s * 1e3,
        "cpu_ms_per_min": cpu_s * 1e3 / (model.duration_s / 60.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--jitter-ms", type=float, default=5.0)
    parser.add_argument("--loss", type=float, default=0.02)
    args = parser.parse_args()
    print(
        f"{args.minutes:g} min per run, {args.seeds} seeds, jitter {args.jitter_ms:g} ms, "
        f"loss {args.loss:.0%}, 15 ms connection interval with 2 % unacknowledged events"
    )
    header = (
        "rate Hz  n  rate err | median ms (range)    p99 ms   p99 after 30 s | const ms | "
        "lost inferred/true | rate err ppm | estimate ms | CPU ms/min"
    )
    print(header)
    for rate_hz, n, rate_error in CONFIGURATIONS:
        runs = [
            measure(
                ArrivalModel(
                    nominal_rate_hz=rate_hz,
                    rate_error=rate_error,
                    samples_per_packet=n,
                    duration_s=args.minutes * 60.0,
                    jitter_s=args.jitter_ms * 1e-3,
                    loss_probability=args.loss,
                    seed=seed,
                )
            )
            for seed in range(args.seeds)
        ]

        def col(key: str, runs: list[dict[str, float]] = runs) -> np.ndarray:
            return np.array([r[key] for r in runs])

        print(
            f"{rate_hz:7g} {n:2d} {rate_error:+8.0%} | "
            f"{np.median(col('median_ms')):5.2f} ({col('median_ms').min():.2f}-{col('median_ms').max():.2f}) "
            f"{np.median(col('p99_ms')):8.1f} {np.median(col('settled_p99_ms')):9.1f} "
            f"(max {col('settled_p99_ms').max():.1f}) | {np.median(col('constant_ms')):8.2f} | "
            f"{col('lost_inferred').sum():8.0f}/{col('lost_true').sum():.0f} | "
            f"{np.median(np.abs(col('rate_error_ppm'))):12.0f} | {np.median(col('expected_ms')):11.2f} | "
            f"{np.median(col('cpu_ms_per_min')):10.0f}"
        )


if __name__ == "__main__":
    main()
