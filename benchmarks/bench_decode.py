"""Decoding throughput of the IMU packet codec, in samples per second.

    python benchmarks/bench_decode.py [--packets N] [--repeats R]

Decodes notifications as the link does, one at a time: `ImuPacket.from_bytes` (header checks, int16 view),
then `decode(config)` (scaling to m/s^2 and deg/s), for packet sizes of 1 (MTU 23), 8 (default) and 19
(MTU 247) samples. Reports the best of R repeats. For scale: a sensor produces at most 416 samples/s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sensorlink.protocol import ImuPacket, SensorConfig


def _packets(n_packets: int, samples_per_packet: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    raw = rng.integers(-32768, 32768, size=(n_packets, samples_per_packet, 6), dtype=np.int16)
    return [bytes(ImuPacket(i % 65536, (i * 38462) % 2**32, 0, raw[i])) for i in range(n_packets)]


def bench(n_packets: int, samples_per_packet: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` throughput: (samples per second for from_bytes + decode, for from_bytes alone)."""
    config = SensorConfig(samples_per_packet=samples_per_packet)
    data = _packets(n_packets, samples_per_packet)
    full = parse = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for item in data:
            ImuPacket.from_bytes(item).decode(config)
        full = min(full, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for item in data:
            ImuPacket.from_bytes(item)
        parse = min(parse, time.perf_counter() - t0)
    samples = n_packets * samples_per_packet
    return samples / full, samples / parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = ("samples/packet", "packets/s", "samples/s (parse+decode)", "samples/s (parse)")
    print(f"{header[0]:>15} {header[1]:>12} {header[2]:>26} {header[3]:>19}")
    for spp in (1, 8, 19):
        full, parse = bench(args.packets, spp, args.repeats)
        print(f"{spp:>15} {full / spp:>12,.0f} {full:>26,.0f} {parse:>19,.0f}")


if __name__ == "__main__":
    main()
