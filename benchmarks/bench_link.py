"""End-to-end link throughput: samples per second from the simulated sensor to `Link.blocks()`.

Runs the real path (simulated sensor -> Bumble virtual link -> bleak with the Bumble backend -> Link: decode,
sequence tracking, clock mapping) in one process, at increasing time scales, and reports for each: samples
delivered per wall-clock second, and whether the sensor kept its pace (achieved / requested time scale). The
highest scale that keeps pace is the end-to-end limit on this machine. A second measurement times the link's
own per-packet work (decode + tracking + clock) without the BLE stack.

    python benchmarks/bench_link.py [--rate 416] [--seconds 60] [--scales 10,20,50,100,150]

Above what the simulated sensor can keep up with it falls behind its pacing and slows down (it yields to the
event loop after every packet), so the achieved scale drops below the requested one. The simulated radio
delivers notifications at connection events (15 ms by default), which sets arrival timing, not throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from bleak import BleakClient
from bleak.backends.device import BLEDevice

from sensorlink.bumble_backend import BumbleClient, open_adapter
from sensorlink.link import STREAMING_CONFIG, Link, LinkOptions
from sensorlink.protocol import ImuPacket, encode_samples
from sensorlink.simsensor import SimulatedSensorOptions, start_simulated_sensor


async def end_to_end(time_scale: float, rate_hz: int, sensor_seconds: float) -> tuple[int, float, int]:
    """(samples delivered, wall seconds, samples lost) for `sensor_seconds` of sensor time."""
    options = SimulatedSensorOptions(time_scale=time_scale)

    async def start(link: object) -> object:
        return await start_simulated_sensor(link, options)  # type: ignore[arg-type]

    async with open_adapter("sim", simulated_peripherals=[start]) as adapter:

        def factory(device: BLEDevice | str, on_disconnect: Callable[[BleakClient], None]) -> BleakClient:
            return BleakClient(device, on_disconnect, backend=BumbleClient, bumble_adapter=adapter)

        link_options = LinkOptions(config=replace(STREAMING_CONFIG, sample_rate_hz=rate_hz))
        scale = time_scale
        link = Link(
            options.address,
            client_factory=factory,
            options=link_options,
            host_clock_ns=lambda: int(time.monotonic_ns() * scale),
        )
        async with link:
            wanted = int(sensor_seconds * rate_hz)
            delivered = lost = 0
            start_s = time.perf_counter()
            async for block in link.blocks():
                delivered += len(block)
                lost += block.lost_samples_before
                if delivered + lost >= wanted:
                    break
            wall_s = time.perf_counter() - start_s
    return delivered, wall_s, lost


def link_only(rate_hz: int, packets: int = 20000) -> float:
    """Samples per second through Link._process alone (decode, tracking, clock mapping, block)."""
    config = replace(STREAMING_CONFIG, sample_rate_hz=rate_hz)
    spp = config.samples_per_packet
    rng = np.random.default_rng(0)
    raw, _ = encode_samples(rng.normal(0, 10, (spp, 3)), rng.normal(0, 100, (spp, 3)), config)
    period_us = spp * 1e6 / rate_hz
    payloads = [bytes(ImuPacket(i % 65536, int(i * period_us) % (1 << 32), 0, raw)) for i in range(packets)]
    link = Link("00:00:00:00:00:00", client_factory=lambda _d, _c: None)  # type: ignore[arg-type,return-value]
    from sensorlink.link import _Session
    from sensorlink.protocol import StartInfo

    link._session = _Session(config, "1.0.0", StartInfo(0, 0, False, spp))
    link._new_tracking(spp, rate_hz)
    start_s = time.perf_counter()
    for i, payload in enumerate(payloads):
        link._process(int(i * period_us * 1e3) + 5_000_000, payload)
    return packets * spp / (time.perf_counter() - start_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=416, help="sensor sample rate, Hz")
    parser.add_argument("--seconds", type=float, default=60.0, help="sensor seconds per measurement")
    parser.add_argument("--scales", default="10,20,50,100,150", help="time scales to try")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"end to end, {args.rate} Hz, {STREAMING_CONFIG.samples_per_packet} samples per packet, MTU 247")
    print(f"{'time scale':>10} {'samples/s':>12} {'kept pace':>10} {'lost':>6}")
    for scale in (float(s) for s in args.scales.split(",")):
        delivered, wall_s, lost = asyncio.run(end_to_end(scale, args.rate, args.seconds))
        achieved = (delivered + lost) / args.rate / wall_s
        print(f"{scale:>10g} {delivered / wall_s:>12.0f} {min(1.0, achieved / scale):>9.0%} {lost:>6d}")
    print(f"link alone (decode + sequence + clock + block): {link_only(args.rate):.0f} samples/s")


if __name__ == "__main__":
    main()
