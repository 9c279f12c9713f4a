"""What the simulated sensor sustains on this machine, and how well its clock drift can be recovered.

    python benchmarks/bench_simsensor.py [--drift-minutes 10] [--drift-ppm 50] [--time-scale 20]

1. Notification rate: the sensor streams 208 Hz, 8 samples per packet, to a raw Bumble central on a LocalLink
   at several time scales; reported are packets per wall second and how late packets arrive after their last
   sample was taken (wall milliseconds). Bumble formats every HCI packet for its debug log even when debug
   logging is off, so the virtual link, not the codec, sets the ceiling.
2. Drift: stream `--drift-minutes` of simulated time at `--time-scale` with a `--drift-ppm` oscillator, 19
   samples per packet (MTU 247), and fit the lower envelope of (sensor time, arrival time in simulated host
   time) with the link's own estimator, `sensorlink.clock.ClockMapper` (fed the last sample of each packet,
   as the link does); reports the estimated drift and its error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sensorlink"))

import test_simsensor as harness

from sensorlink.clock import ClockMapper
from sensorlink.protocol import SensorConfig
from sensorlink.simsensor import FaultPlan, PacketFate, SimulatedSensorOptions


async def _rate(time_scale: float, wall_s: float = 2.0) -> None:
    async with harness._setup(SimulatedSensorOptions(time_scale=time_scale)) as (sensor, central):
        link = await harness._connect(central, sensor)
        await link.subscribe()
        await link.start()
        cpu0 = time.process_time()
        await asyncio.sleep(wall_s)
        cpu_pct = 100 * (time.process_time() - cpu0) / wall_s
        await harness._stop_and_settle(link)
        ready = np.array([r.ready_true_s for r in sensor.log.records if r.fate is PacketFate.SENT])
        late_ms = (np.array(link.arrivals_true_s) - ready) / time_scale * 1e3
        p50, p99 = np.percentile(late_ms, [50, 99])
        print(
            f"time scale {time_scale:>4g}: needs {time_scale * 208 / 8:>6.0f} packets/s, delivered "
            f"{len(late_ms) / wall_s:>6.0f}/s, cpu {cpu_pct:>3.0f} %, "
            f"lateness p50 {p50:7.1f} ms, p99 {p99:7.1f} ms"
        )


async def _drift(minutes: float, drift_ppm: float, time_scale: float) -> None:
    options = SimulatedSensorOptions(time_scale=time_scale, faults=FaultPlan(drift_ppm=drift_ppm))
    async with harness._setup(options) as (sensor, central):
        link = await harness._connect(central, sensor)
        await link.configuration.write_value(bytes(SensorConfig(samples_per_packet=19)), with_response=True)
        await link.subscribe()
        await link.start()
        await asyncio.sleep(minutes * 60 / time_scale)
        await harness._stop_and_settle(link)
        packets = link.packets()
        # Host time in simulated nanoseconds: the test central stamps arrivals with the sensor's true time,
        # which is the host's monotonic clock times the time scale.
        mapper = ClockMapper()
        for packet, arrival_s in zip(packets, link.arrivals_true_s, strict=True):
            last_sample_us = mapper.unwrap(packet.sensor_time_us) + (packet.sample_count - 1) * 1e6 / 208
            mapper.observe(round(last_sample_us), round(arrival_s * 1e9))
        estimate = mapper.estimate()
        if estimate is None:
            raise RuntimeError("no clock estimate: stream longer")
        estimate_ppm = estimate.drift_ppm
        print(
            f"drift: {len(packets)} packets over {minutes:g} min at time scale {time_scale:g}: "
            f"estimated {estimate_ppm:+.2f} ppm for a true {drift_ppm:+g} ppm "
            f"(error {estimate_ppm - drift_ppm:+.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drift-minutes", type=float, default=10.0)
    parser.add_argument("--drift-ppm", type=float, default=50.0)
    parser.add_argument("--time-scale", type=float, default=20.0)
    args = parser.parse_args()
    for scale in (20.0, 40.0, 80.0):
        asyncio.run(_rate(scale))
    asyncio.run(_drift(args.drift_minutes, args.drift_ppm, args.time_scale))


if __name__ == "__main__":
    main()
