"""Simulated runs published as `posture run` publishes them: every message with the instant it goes out.

A run is a named scenario of `processing.simulation` (shortened), fed block by block through `LiveRun` (the
processing of a live run) into `MqttRunSink` (the messages of a live run), with a status message every
`STATUS_EVERY_S` and the summary at the end, built from the run's `summary.json` document as `posture run`
builds it. Each message is kept with the sample time at which the run handed it over, so a test can write
to InfluxDB exactly what had been published by any instant (`lines_until`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from dashboards.schema import lines_for
from posture.live.mqtt_sink import MqttRunSink
from posture.live.run import LiveRun
from posture.live.summary_words import metric_summaries
from posture.messages import Kind, Message, status_message, summary_message
from posture.summary import RunSummary, summarize_run
from processing.events import EventEngine, FormEvent, LoadContext, RunLoad, estimate_distance_m
from processing.pipeline import analyze
from processing.samples import ImuSamples
from processing.simulation import scenario_by_name, simulate
from processing.steps import StepMetrics
from sensorlink.blocks import LinkCounters, SampleBlock

#: The running part of every simulated run, s (the scenarios' own are 60 to 120 s).
RUN_S = 90.0
#: Samples per block handed to the run: one packet of the link (77 ms at 104 Hz), so live angles go out at
#: about 10 Hz as in a real run.
BLOCK_SAMPLES = 8
STATUS_EVERY_S = 10.0
#: Epoch ns of the first run's first sample; later runs start `RUN_SPACING_NS` apart so that no alert
#: window of one run reaches into another.
T0_NS = 1_796_000_000_000_000_000
RUN_SPACING_NS = 3600 * 10**9


@dataclass(frozen=True, slots=True)
class Timed:
    """A message and the epoch ns at which the run published it."""

    published_ns: int
    message: Message


@dataclass(frozen=True, slots=True, eq=False)
class PublishedRun:
    """One run: what processing produced and what was published, in publication order."""

    scenario: str
    athlete: str
    session: str
    t0_ns: int
    steps: tuple[StepMetrics, ...]
    events: tuple[FormEvent, ...]
    summary: dict[str, Any]
    published: tuple[Timed, ...]
    typed_summary: RunSummary

    @property
    def end_ns(self) -> int:
        """When the last message (the summary) went out."""
        return self.published[-1].published_ns

    def messages(self, kind: Kind) -> list[Message]:
        return [t.message for t in self.published if t.message.kind == kind]

    def lines_until(self, t_ns: int) -> list[str]:
        """The line protocol of every message published up to `t_ns` (what the ingest has written)."""
        return [
            line
            for t in self.published
            if t.published_ns <= t_ns
            for line in lines_for(t.message.kind, t.message.payload)
        ]

    def lines(self) -> list[str]:
        return self.lines_until(self.end_ns)

    def ns(self, t_s: float) -> int:
        """Epoch ns of a time on the run's axis."""
        return self.t0_ns + round(t_s * 1e9)


class _Recorder:
    """The publisher of `MqttRunSink`: keeps each message with the current publication instant."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.published: list[Timed] = []

    def publish(self, kind: Kind, payload: Message) -> None:
        assert payload.kind == kind
        self.published.append(Timed(self.now_ns, payload))


def _blocks(samples: ImuSamples, t0_ns: int, rate_hz: float) -> Iterator[SampleBlock]:
    host = samples.t_s + t0_ns * 1e-9
    for first in range(0, len(samples), BLOCK_SAMPLES):
        last = min(first + BLOCK_SAMPLES, len(samples))
        part = samples.slice(first, last)
        stamped = ImuSamples(host[first:last], part.acc_mps2, part.gyr_dps)
        yield SampleBlock(stamped, first, 0, round(part.t_s[0] * 1e6), rate_hz, LinkCounters())


def _status(recorder: _Recorder, athlete: str, session: str, t_ns: int, k: int, state: str) -> None:
    recorder.now_ns = t_ns
    recorder.publish(
        "status",
        status_message(
            athlete,
            session,
            t_ns=t_ns,
            state=state,  # type: ignore[arg-type]
            connected=state != "finished",
            battery_pct=95.0 - 0.5 * k,
            rssi_dbm=-60.0 - k,
            packet_loss_rate=0.001 * k,
            samples_lost=0,
        ),
    )


@cache
def published_run(
    scenario: str,
    athlete: str,
    session: str,
    index: int,
    *,
    run_s: float = RUN_S,
    load_jump: bool = False,
) -> PublishedRun:
    """Simulate, process and publish `scenario` as `athlete`'s `session`, the `index`-th run of the tests.

    `run_s` is the running part's length; `load_jump` gives the event engine a run history whose last week
    jumps (`LOAD_JUMP_HISTORY`), as `posture run` gives it the runner's history.
    """
    spec = dataclasses.replace(scenario_by_name(scenario), duration_s=run_s)
    samples = simulate(spec).samples
    rate = spec.sampling_rate_hz
    t0_ns = T0_NS + index * RUN_SPACING_NS
    recorder = _Recorder()
    sink = MqttRunSink(recorder, athlete, session)
    load = LoadContext(load_jump_history(t0_ns), started_ns=t0_ns) if load_jump else None
    engine = EventEngine(load=load)
    run = LiveRun(rate, has_gyroscope=True, engine=engine, sinks=[sink], t0_ns=t0_ns)
    k = 0
    _status(recorder, athlete, session, t0_ns, k, "running")
    for block in _blocks(samples, t0_ns, rate):
        t_ns = round(float(block.samples.t_s[-1]) * 1e9)
        while t_ns >= t0_ns + (k + 1) * round(STATUS_EVERY_S * 1e9):
            k += 1
            _status(recorder, athlete, session, t0_ns + k * round(STATUS_EVERY_S * 1e9), k, "running")
        recorder.now_ns = t_ns
        run.feed(block)
    end_ns = t0_ns + round(float(samples.t_s[-1]) * 1e9)
    recorder.now_ns = end_ns
    outputs = run.finish()
    _status(recorder, athlete, session, end_ns, k + 1, "finished")
    typed = summarize_run(
        analyze(samples, sampling_rate_hz=rate),
        input_name=f"{session}.csv",
        sampling_rate_hz=rate,
        duration_s=float(samples.t_s[-1] - samples.t_s[0]),
    )
    summary = typed.to_json(digits=None)  # the values processing produced, as the message carries them
    events: dict[str, int] = {}
    for event in outputs.events:
        events[event.type] = events.get(event.type, 0) + 1
    recorder.now_ns = end_ns + 10**9
    sink.publish(
        "summary",
        summary_message(
            sink.athlete,
            sink.session,
            t_ns=recorder.now_ns,
            started_ns=t0_ns,
            duration_s=outputs.duration_s,
            steps_total=typed.steps.total,
            steps_left=typed.steps.left,
            steps_right=typed.steps.right,
            steps_running=typed.steps.running,
            cadence_spm=typed.cadence_spm,
            distance_m=estimate_distance_m(outputs.steps),
            events=events,
            metrics=metric_summaries(typed),
        ),
    )
    return PublishedRun(
        scenario=scenario,
        athlete=athlete,
        session=session,
        t0_ns=t0_ns,
        steps=outputs.steps,
        events=outputs.events,
        summary=summary,
        published=tuple(recorder.published),
        typed_summary=typed,
    )


#: The earlier runs of the history: (days before the run, distance km). Two runs in some weeks, a jump late.
HISTORY_RUNS: tuple[tuple[float, float], ...] = (
    (61.5, 5.0),
    (55.25, 6.0),
    (52.0, 4.5),
    (41.75, 6.5),
    (33.5, 7.0),
    (29.0, 3.0),
    (20.25, 7.5),
    (9.5, 12.0),
)
DAY_NS = 86_400 * 10**9
#: A history whose last week jumps: (days before the run, km). Three 2.5 km runs a week in the four weeks
#: before (7.5 km a week), then four 4 km runs in the last seven days: an acute:chronic ratio above 2.
LOAD_JUMP_HISTORY: tuple[tuple[float, float], ...] = (
    *((7.5 + 7 * week + 2 * k, 2.5) for week in range(4) for k in range(3)),
    *((1.0 + 1.5 * k, 4.0) for k in range(4)),
)


def load_jump_history(t0_ns: int) -> tuple[RunLoad, ...]:
    """`LOAD_JUMP_HISTORY` before a run starting at `t0_ns`, as the event engine's run history."""
    return tuple(
        RunLoad(t0_ns - round(days * DAY_NS), km * 330.0, km * 1000.0)
        for days, km in sorted(LOAD_JUMP_HISTORY, reverse=True)
    )


def history_summaries(run: PublishedRun) -> list[Message]:
    """Summary messages of `HISTORY_RUNS` earlier runs of the run's athlete (the run's metrics, other
    distances and times): what the history dashboard reads."""
    published = run.messages("summary")[0].payload
    out = []
    for k, (days_before, km) in enumerate(HISTORY_RUNS):
        started_ns = run.t0_ns - round(days_before * DAY_NS)
        out.append(
            summary_message(
                run.athlete,
                f"history-{k}",
                t_ns=started_ns + 3600 * 10**9,
                started_ns=started_ns,
                duration_s=km * 330.0,
                steps_total=int(km * 850),
                steps_left=int(km * 425),
                steps_right=int(km * 425),
                steps_running=int(km * 840),
                cadence_spm=168.0 + k,
                distance_m=km * 1000.0,
                events={"summary": 1},
                metrics=metric_summaries(run.typed_summary),
            )
        )
        assert out[-1].payload["metrics"] == published["metrics"]
    return out
