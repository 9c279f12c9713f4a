"""One live run: sample blocks in; steps, form events, live angles and status out to the sinks, as they come.

`LiveRun` is the whole of a run's processing, the same for `posture run` (blocks from the link), `posture
replay` (blocks from a session file) and the tests (blocks from the simulator): the same blocks give the same
steps and events, hence the same messages and message ids.

- Time axis: seconds from the run's first sample (`t0_ns`, the host's epoch time of that sample). Processing
  and the run folder (steps.csv, events.json, summary.json) use it; messages carry epoch nanoseconds
  (`t0_ns` + the time), as docs/messages.md says.
- Live angles go out at most every `live_interval_s` of sample time (about 10 Hz), straight from the
  processor's head-of-stream orientation, so they do not wait for a step to commit.
- A sink never stops the run: an exception from a sink is logged and counted, and the run goes on (the
  session file already holds the raw packets, so nothing is lost for `posture replay`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from processing.alignment import Mounting
from processing.events import EventEngine, EventUpdate, FormEvent
from processing.pipeline import GapCounts, LiveAngles, StreamingProcessor, default_event_detector
from processing.samples import ImuSamples
from processing.steps import StepMetrics
from sensorlink.blocks import SampleBlock

__all__ = ["LiveRun", "RunOutputs", "RunSink"]

logger = logging.getLogger(__name__)

#: Live angles at about 10 Hz (docs/design.md, "MQTT": `live` about 10 Hz).
LIVE_INTERVAL_S = 0.1
#: A failing sink is logged at its 1st and 10th failure, then every this many (each one is counted).
SINK_ERROR_LOG_EVERY = 1000
#: The live view's cadence, drop per side and contact balance are over this many latest steps.
RECENT_STEPS = 20


class RunSink(Protocol):
    """Where a run's results go as they happen (MQTT, the live view, a test's list)."""

    def on_step(self, step: StepMetrics, t0_ns: int) -> None: ...

    def on_event(self, update: EventUpdate, t0_ns: int) -> None: ...

    def on_live(self, angles: LiveAngles, cadence_spm: float, t0_ns: int) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class RunOutputs:
    """Everything a finished run produced, on the run's time axis.

    Attributes
    ----------
    steps : tuple of StepMetrics
    events : tuple of FormEvent
        Every form event and the summary event, in the order they opened.
    mounting : Mounting or None
    sampling_rate_hz : float
    has_gyroscope : bool
    t0_ns : int, ns since the Unix epoch
        The host time of the first sample (t = 0 s); 0 when no sample arrived.
    duration_s : float, s
        First to last sample.
    samples, samples_lost : int
    sink_errors : int
        Results a sink failed to take (logged; the run went on).
    gaps : GapCounts
        Link drops in the samples: bridged, or split into segments analysed apart.
    """

    steps: tuple[StepMetrics, ...]
    events: tuple[FormEvent, ...]
    mounting: Mounting | None
    sampling_rate_hz: float
    has_gyroscope: bool
    t0_ns: int
    duration_s: float
    samples: int
    samples_lost: int
    sink_errors: int
    gaps: GapCounts


@dataclass(slots=True)
class _Recent:
    steps: deque[StepMetrics] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    latest_cue: str | None = None


class LiveRun:
    """The processing of one run, block by block (see the module docstring).

    Parameters
    ----------
    sampling_rate_hz : float
        The sensor's nominal rate.
    has_gyroscope : bool
    engine : EventEngine
        The form-event rules (with the runner's thresholds).
    sinks : sequence of RunSink
    t0_ns : int or None, ns since the Unix epoch
        The host time of t = 0 s on the run's axis: the session's start (`SessionHeader.start_host_ns`), so
        a replay of the session file gives the same times. None: the first sample's time.
    live_interval_s : float, s
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        *,
        has_gyroscope: bool,
        engine: EventEngine,
        sinks: Sequence[RunSink] = (),
        t0_ns: int | None = None,
        live_interval_s: float = LIVE_INTERVAL_S,
    ) -> None:
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.has_gyroscope = has_gyroscope
        self._processor = StreamingProcessor(
            self.sampling_rate_hz, has_gyroscope=has_gyroscope, event_detector=default_event_detector()
        )
        self._engine = engine
        self._sinks = list(sinks)
        self._live_interval_s = live_interval_s
        self._t0_ns = 0 if t0_ns is None else int(t0_ns)
        self._t0_s: float | None = None if t0_ns is None else self._t0_ns * 1e-9
        self._last_t_s = math.nan
        self._next_live_s = 0.0
        self._steps: list[StepMetrics] = []
        self._events: list[FormEvent] = []
        self._recent = _Recent()
        self._samples = 0
        self._samples_lost = 0
        self._sink_errors = 0
        self._finished = False

    # --- feeding ------------------------------------------------------------------------------------------

    @property
    def t0_ns(self) -> int:
        """Epoch ns of t = 0 s on the run's axis (0 before the first sample)."""
        return self._t0_ns

    @property
    def calibrated(self) -> bool:
        return self._processor.mounting_ is not None

    @property
    def steps(self) -> Sequence[StepMetrics]:
        return self._steps

    @property
    def samples(self) -> int:
        """Samples fed so far."""
        return self._samples

    @property
    def samples_lost(self) -> int:
        """Samples the sensor took that never arrived (link drops), so far."""
        return self._samples_lost

    def feed(self, block: SampleBlock) -> list[StepMetrics]:
        """Process one block from the link (or a replay); returns the steps it committed."""
        if len(block) == 0:
            return []
        host_t = block.samples.t_s
        if self._t0_s is None:
            self._t0_s = float(host_t[0])
            self._t0_ns = round(self._t0_s * 1e9)
        self._samples += len(block)
        self._samples_lost += block.lost_samples_before
        samples = ImuSamples(host_t - self._t0_s, block.samples.acc_mps2, block.samples.gyr_dps)
        self._last_t_s = float(samples.t_s[-1])
        steps = self._processor.update(samples)
        self._take(steps)
        self._live()
        return steps

    def finish(self) -> RunOutputs:
        """End the run: flush the processor and the event engine; returns everything the run produced."""
        if not self._finished:
            self._finished = True
            self._take(self._processor.finish())
            finished = self._engine.finish()
            for event in finished:
                if event not in self._events:  # closed at the end of the run, or the summary
                    self._each_sink("on_event", EventUpdate("closed", event), self._t0_ns)
            self._events = list(finished)  # the engine's order, as a batch analysis gives it
        duration = 0.0 if math.isnan(self._last_t_s) else self._last_t_s
        return RunOutputs(
            steps=tuple(self._steps),
            events=tuple(self._events),
            mounting=self._processor.mounting_,
            sampling_rate_hz=self.sampling_rate_hz,
            has_gyroscope=self.has_gyroscope,
            t0_ns=self._t0_ns,
            duration_s=duration,
            samples=self._samples,
            samples_lost=self._samples_lost,
            sink_errors=self._sink_errors,
            gaps=self._processor.gaps_,
        )

    # --- the live view's numbers --------------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        return 0.0 if math.isnan(self._last_t_s) else self._last_t_s

    @property
    def latest_cue(self) -> str | None:
        return self._recent.latest_cue

    def recent_cadence_spm(self) -> float:
        times = [s.step_time_s for s in self._recent.steps]
        return 60.0 / float(np.mean(times)) if times else math.nan

    def recent_drop_deg(self, side: str) -> float:
        values = [s.pelvic_drop_deg for s in self._recent.steps if s.side == side]
        finite = [v for v in values if math.isfinite(v)]
        return float(np.mean(finite)) if finite else math.nan

    def recent_contact_si_pct(self) -> float:
        from processing.asymmetry import symmetry_index_pct

        left = [
            s.contact_time_s for s in self._recent.steps if s.side == "L" and math.isfinite(s.contact_time_s)
        ]
        right = [
            s.contact_time_s for s in self._recent.steps if s.side == "R" and math.isfinite(s.contact_time_s)
        ]
        if not left or not right:
            return math.nan
        return symmetry_index_pct(float(np.mean(right)), float(np.mean(left)))

    def live_angles(self) -> LiveAngles | None:
        return self._processor.live_angles()

    # --- internals ----------------------------------------------------------------------------------------

    def _take(self, steps: Sequence[StepMetrics]) -> None:
        if not steps:
            return
        self._steps.extend(steps)
        self._recent.steps.extend(steps)
        for step in steps:
            self._each_sink("on_step", step, self._t0_ns)
        for update in self._engine.update(steps):
            self._record(update)

    def _record(self, update: EventUpdate) -> None:
        """Keep the newest version of each event (by rule, side and start) and tell the sinks."""
        event = update.event
        key = (event.rule, event.side, event.t_start_s)
        for i, known in enumerate(self._events):
            if (known.rule, known.side, known.t_start_s) == key:
                self._events[i] = event
                break
        else:
            self._events.append(event)
        if update.kind == "opened" and event.type != "summary":
            self._recent.latest_cue = event.message
        self._each_sink("on_event", update, self._t0_ns)

    def _live(self) -> None:
        angles = self._processor.live_angles()
        if angles is None or angles.t_s < self._next_live_s:
            return
        # on a fixed grid of sample time: 10 Hz on average whatever the block length
        steps_ahead = math.floor((angles.t_s - self._next_live_s) / self._live_interval_s) + 1
        self._next_live_s += steps_ahead * self._live_interval_s
        self._each_sink("on_live", angles, self.recent_cadence_spm(), self._t0_ns)

    def _each_sink(self, method: str, *args: object) -> None:
        for sink in self._sinks:
            try:
                getattr(sink, method)(*args)
            except Exception:
                self._sink_errors += 1
                if self._sink_errors in (1, 10) or self._sink_errors % SINK_ERROR_LOG_EVERY == 0:
                    logger.exception(
                        "a run sink (%s) failed on %s (%d failures so far); the run goes on",
                        type(sink).__name__,
                        method,
                        self._sink_errors,
                    )
