"""Every provisioned alert rule, evaluated as its file says while a simulated run is ingested, fires on the
run with its planted fault and stays quiet on a clean run.

Each run is replayed in time: before every evaluation the points of every message published so far are
written to a fresh InfluxDB (as the ingest writes them), then each rule due at that instant is evaluated as
its file says (its InfluxQL with ``$timeFilter`` over its relative time range, its reduce, math and threshold
expressions, its group's interval and its ``for``; `dashboards.grafana.emulation` is our reading of
Grafana's semantics). Processing's own events of the run are the reference: the form-event rules must fire
for exactly the (rule, side) of the events processing raised with severity warning or alert, the asymmetry
rules for exactly its asymmetry events, and nothing may fire on a clean run. Every rule fires in one of the
planted-fault cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import pytest

from dashboards.grafana.emulation import AlertTimeline
from dashboards.schema import lines_for
from posture.localstack.influxdb import InfluxDB
from tests.grafana.grafana_files import alert_rules, group_interval_s
from tests.grafana.published_runs import RUN_S, PublishedRun, published_run

#: Evaluations go on this long after the run's summary (the windows still hold the run), s.
AFTER_RUN_S = 60.0
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Case:
    """A simulated run with a planted fault and the alerts it must raise: (kind, processing rule, side)."""

    scenario: str
    planted: frozenset[Key]
    run_s: float = RUN_S
    load_jump: bool = False

    @property
    def id(self) -> str:
        return f"{self.scenario}{'-load-jump' if self.load_jump else ''}"


def _event(rule: str, side: str = "both") -> frozenset[Key]:
    """The form-event alert for processing's event of `rule` (and `side`)."""
    return frozenset({("form_event", rule, side)})


def _both(rule: str, side: str) -> frozenset[Key]:
    """Processing's event and Grafana's own asymmetry rule for it."""
    return frozenset({("asymmetry", rule, side), ("form_event", rule, side)})


CASES: tuple[Case, ...] = (
    Case(
        "drop_asymmetry_left_stance", _both("drop_asymmetry", "L") | {("form_event", "pelvic_drop_high", "L")}
    ),
    Case(
        "drop_asymmetry_right_stance",
        _both("drop_asymmetry", "R") | {("form_event", "pelvic_drop_high", "R")},
    ),
    Case("contact_time_asymmetry_right", _both("contact_time_asymmetry", "R")),
    Case(
        "step_time_asymmetry_left_longer",
        _both("step_time_asymmetry", "L") | _both("contact_time_asymmetry", "L"),
    ),
    Case("step_time_asymmetry_right_longer", _both("step_time_asymmetry", "R")),
    Case("high_anterior_tilt", _event("pelvic_tilt_high")),
    Case("excessive_rotation", _event("rotation_excessive")),
    Case("overstriding_high_braking", _event("overstriding_braking")),
    # the tilt's rise shows only after two minutes against the runner's own first strides, and must stay open
    # past an evaluation of its rule
    Case(
        "fatigue_drift",
        _event("form_fatigue") | _event("pelvic_tilt_rising"),
        run_s=150.0,
    ),
    # the training load: an ordinary run at the end of a week that doubled the weeks before
    Case("clean_run", _event("weekly_load_jump"), load_jump=True),
)
CLEAN = Case("clean_run", frozenset())


def _key(rule: Mapping[str, object]) -> Key:
    labels = rule["labels"]
    assert isinstance(labels, dict)
    return (labels["posture_kind"], labels["posture_rule"], labels["side"])


@cache
def replayed(case: Case) -> tuple[PublishedRun, dict[Key, AlertTimeline]]:
    """The run of `case` and every alert rule's timeline over it (one fresh InfluxDB per run)."""
    run = published_run(
        case.scenario, "runner-1", f"{case.id}-session", 0, run_s=case.run_s, load_jump=case.load_jump
    )
    rules = alert_rules()
    timelines = {_key(r): AlertTimeline(r) for r in rules}
    assert len(timelines) == len(rules), "one rule per (kind, rule, side)"
    due: dict[int, list[Key]] = defaultdict(list)
    for rule in rules:
        step_ns = round(group_interval_s(str(rule["uid"])) * 1e9)
        for t in evaluation_instants(run, step_ns):
            due[t].append(_key(rule))
    published = list(run.published)
    with InfluxDB(database="posture") as db:
        for t in sorted(due):
            new = [p for p in published if p.published_ns <= t]
            published = published[len(new) :]
            lines = [line for p in new for line in lines_for(p.message.kind, p.message.payload)]
            if lines:
                db.write_v1("\n".join(lines) + "\n")
            for key in due[t]:
                timelines[key].evaluate(t, db.query)
    return run, timelines


def firing(timelines: Mapping[Key, AlertTimeline]) -> set[Key]:
    return {key for key, timeline in timelines.items() if timeline.firing}


def evaluation_instants(run: PublishedRun, group_interval_ns: int) -> range:
    """When a rule group is evaluated over the run: from its start, every interval, until after it."""
    return range(run.t0_ns, run.end_ns + round(AFTER_RUN_S * 1e9) + 1, group_interval_ns)


def expected_from_processing(run: PublishedRun) -> set[Key]:
    """The alerts processing's events call for.

    A form-event rule fires for an event of warning or alert severity that an evaluation of its group finds
    in the database as the rule asks: open (from its open message until its close overwrites it), or, for
    the training load raised as the run ends, at all. An event opened and closed between two evaluations (one
    opened as the run ends is closed at once) does not alert; its cue is in the review. Grafana's own
    asymmetry rule fires for every asymmetry event of processing.
    """
    form_rules = [r for r in alert_rules() if _key(r)[0] == "form_event"]
    instants = evaluation_instants(run, round(group_interval_s(str(form_rules[0]["uid"])) * 1e9))
    after_the_run = {_key(r)[1] for r in form_rules if "'open'" not in str(r["data"][0]["model"]["query"])}
    shown: dict[tuple[str, str | None, int], list[int]] = {}
    severity: dict[tuple[str, str | None, int], str] = {}
    for timed in run.published:
        p = timed.message.payload
        if timed.message.kind != "event" or p["state"] == "summary":
            continue
        key = (p["rule"], p["side"], p["t_start_ns"])
        severity.setdefault(key, p["severity"])  # the open's severity is the stored one
        shown.setdefault(key, [timed.published_ns, 2**63])
        if p["state"] == "closed" and p["rule"] not in after_the_run:
            shown[key][1] = timed.published_ns
    out: set[Key] = set()
    for (rule, side, _), (since, until) in shown.items():
        visible = any(since <= t < until for t in instants)
        if severity[(rule, side, _)] in ("warning", "alert") and visible:
            out.add(("form_event", rule, side or "both"))
    out |= {("asymmetry", e.rule, e.side or "both") for e in run.events if e.type == "asymmetry"}
    return out


@pytest.mark.slow
def test_nothing_fires_on_a_clean_run() -> None:
    run, timelines = replayed(CLEAN)
    assert expected_from_processing(run) == set()
    assert firing(timelines) == set()
    assert not any(s.state == "Pending" for t in timelines.values() for s in t.states), "not even pending"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_planted_fault_fires_its_alerts_and_only_those_processing_raised(case: Case) -> None:
    run, timelines = replayed(case)
    assert case.planted <= expected_from_processing(run), "processing sees the planted fault"
    assert firing(timelines) == expected_from_processing(run)
    for key in firing(timelines):
        for state in timelines[key].firing:
            assert dict(state.labels) == {"athlete": run.athlete, "session": run.session}


@pytest.mark.slow
def test_a_form_event_alert_fires_once_its_event_is_published_and_ends_with_the_close() -> None:
    run, timelines = replayed(CASES[0])
    opened = next(
        m for m in run.published if m.message.kind == "event" and m.message.payload["state"] == "open"
    )
    closed = next(
        m for m in run.published if m.message.kind == "event" and m.message.payload["state"] == "closed"
    )
    timeline = timelines[("form_event", opened.message.payload["rule"], opened.message.payload["side"])]
    interval_ns = round(group_interval_s(str(timeline.rule["uid"])) * 1e9)
    first = timeline.firing[0].t_ns
    assert opened.published_ns <= first < opened.published_ns + interval_ns, "at the first evaluation after"
    assert all(s.t_ns < closed.published_ns for s in timeline.firing), "the close overwrote the open point"


@pytest.mark.slow
def test_every_alert_rule_fires_on_a_planted_fault() -> None:
    proven: set[Key] = set()
    for case in CASES:
        proven |= firing(replayed(case)[1])
    assert {_key(r) for r in alert_rules()} - proven == set()
