"""LiveRun: blocks as the link delivers them give the batch analysis' steps and events, to every sink once."""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np
import pytest

from posture.live.run import LiveRun
from processing.events import EventEngine, EventUpdate, detect_events
from processing.pipeline import LiveAngles, analyze
from processing.samples import ImuSamples
from processing.simulation import SimulatedRun, scenario_by_name, simulate
from processing.steps import StepMetrics
from sensorlink.blocks import LinkCounters, SampleBlock

RATE_HZ = 104.0
PER_PACKET = 8
#: The run's time zero (epoch ns) and where the simulated samples sit on the host clock.
T0_NS = 1_780_000_000_000_000_000


@cache
def planted_fault_run() -> SimulatedRun:
    scenario = scenario_by_name("drop_asymmetry_left_stance")
    return simulate(dataclasses.replace(scenario, sampling_rate_hz=RATE_HZ, duration_s=75.0))


def link_blocks(samples: ImuSamples) -> list[SampleBlock]:
    """One block per packet, on the host's epoch clock (t0 = T0_NS)."""
    host = samples.t_s + T0_NS * 1e-9
    blocks = []
    for first in range(0, len(samples) - PER_PACKET + 1, PER_PACKET):
        part = samples.slice(first, first + PER_PACKET)
        stamped = ImuSamples(host[first : first + PER_PACKET], part.acc_mps2, part.gyr_dps)
        blocks.append(SampleBlock(stamped, first, 0, round(part.t_s[0] * 1e6), RATE_HZ, LinkCounters()))
    return blocks


class Recorder:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.steps: list[StepMetrics] = []
        self.updates: list[EventUpdate] = []
        self.live: list[LiveAngles] = []

    def on_step(self, step: StepMetrics, t0_ns: int) -> None:
        assert t0_ns == T0_NS
        self.steps.append(step)

    def on_event(self, update: EventUpdate, t0_ns: int) -> None:
        self.updates.append(update)

    def on_live(self, angles: LiveAngles, cadence_spm: float, t0_ns: int) -> None:
        self.live.append(angles)


class Broken:
    """A sink that fails on everything (a broker client gone wrong)."""

    def on_step(self, step: StepMetrics, t0_ns: int) -> None:
        raise RuntimeError("sink down")

    def on_event(self, update: EventUpdate, t0_ns: int) -> None:
        raise RuntimeError("sink down")

    def on_live(self, angles: LiveAngles, cadence_spm: float, t0_ns: int) -> None:
        raise RuntimeError("sink down")


def live_run(*sinks: object) -> LiveRun:
    return LiveRun(RATE_HZ, has_gyroscope=True, engine=EventEngine(), sinks=sinks, t0_ns=T0_NS)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_live_run_gives_the_batch_steps_and_events_to_every_sink() -> None:
    samples = planted_fault_run().samples
    recorder = Recorder()
    run = live_run(recorder, Broken())
    for block in link_blocks(samples):
        run.feed(block)
    outputs = run.finish()

    n = len(link_blocks(samples)) * PER_PACKET
    # the run's axis: host epoch seconds minus the run's start, as LiveRun computes it
    on_run_axis = (samples.t_s[:n] + T0_NS * 1e-9) - T0_NS * 1e-9
    whole = samples.slice(0, n)
    batch = analyze(ImuSamples(on_run_axis, whole.acc_mps2, whole.gyr_dps), sampling_rate_hz=RATE_HZ)
    assert outputs.steps == batch.steps
    assert outputs.events == detect_events(batch.steps)
    assert recorder.steps == list(outputs.steps)
    assert outputs.sink_errors > len(outputs.steps)  # the broken sink failed on each, and the run went on

    opened = [u.event for u in recorder.updates if u.kind == "opened"]
    assert any(e.rule.startswith("pelvic_drop") for e in opened), "the planted drop asymmetry raised an event"
    last_of_each = {(u.event.rule, u.event.side, u.event.t_start_s): u.event for u in recorder.updates}
    assert set(last_of_each.values()) == set(outputs.events)
    assert outputs.events[-1].type == "summary"


@pytest.mark.slow
def test_live_angles_come_at_about_ten_hertz_on_the_run_axis() -> None:
    samples = planted_fault_run().samples
    recorder = Recorder()
    run = live_run(recorder)
    for block in link_blocks(samples):
        run.feed(block)
    times = np.array([a.t_s for a in recorder.live])
    assert times[0] < 20.0  # from the calibration on (5 s standing, then 10 s of running)
    assert times.size == pytest.approx(10 * (times[-1] - times[0]), rel=0.02)
    assert np.all(np.diff(times) >= PER_PACKET / RATE_HZ - 1e-6)  # at most one per block
    assert times[-1] <= samples.t_s[-1] + 1e-6
    assert all(math.isfinite(a.pelvic_obliquity_deg) for a in recorder.live)


def test_an_empty_run_finishes_with_nothing() -> None:
    outputs = live_run().finish()
    assert outputs.steps == ()
    assert outputs.samples == 0
