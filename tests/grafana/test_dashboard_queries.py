"""Every dashboard query, with Grafana's variables and macros substituted, run against a real InfluxDB filled
with simulated runs as the ingest writes them, returns what processing produced.

The live dashboard is looked at as the fault run ends (its last five minutes); the review over the whole run;
the history over the 90 days before. Expected values come from the run itself: its steps, events and the
summary it published.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import pytest

from dashboards.grafana.emulation import TimeRange
from dashboards.schema import lines_for
from posture.localstack.influxdb import InfluxDB
from processing.steps import METRIC_UNITS
from tests.grafana.grafana_files import DASHBOARD_FILES, influx_targets, panel, panels
from tests.grafana.panel_runner import (
    View,
    final_query,
    interval_ms,
    panel_numbers,
    rows,
    run_panel,
    zone_color,
)
from tests.grafana.published_runs import DAY_NS, HISTORY_RUNS, PublishedRun, history_summaries

MINUTE_NS = 60 * 10**9


def live_view(run: PublishedRun) -> View:
    """The live dashboard as the run ends: its default range, the last five minutes."""
    return View(
        {"athlete": run.athlete, "session": run.session}, TimeRange(run.end_ns - 5 * MINUTE_NS, run.end_ns)
    )


def review_view(run: PublishedRun) -> View:
    return View(
        {"athlete": run.athlete, "session": run.session},
        TimeRange(run.t0_ns - MINUTE_NS, run.end_ns + MINUTE_NS),
    )


def history_view(run: PublishedRun) -> View:
    return View(
        {"athlete": run.athlete, "session": run.session}, TimeRange(run.end_ns - 90 * DAY_NS, run.end_ns)
    )


def bucket_means(points: Iterable[tuple[int, float | None]], width_ms: int) -> dict[int, float]:
    """Means per GROUP BY time bucket: InfluxDB's buckets start at multiples of the width since the epoch."""
    width_ns = width_ms * 1_000_000
    buckets: dict[int, list[float]] = defaultdict(list)
    for t_ns, value in points:
        if value is not None and math.isfinite(value):
            buckets[t_ns // width_ns * width_ns].append(value)
    return {t: math.fsum(v) / len(v) for t, v in buckets.items()}


def assert_close(got: object, expected: float | None, what: str) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert got is None, what
        return
    assert isinstance(got, int | float), what
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), what


def test_every_dashboard_query_runs_with_its_substitutions(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    view = review_view(fault_run).with_variable("metric", "pelvic_drop_deg")
    for board in DASHBOARD_FILES:
        for p in panels(board):
            for target in p["targets"]:
                if "query" in target:
                    after_the_runs.query(final_query(p, target["query"], view))  # InfluxDB refuses nothing
    assert len([q for b in DASHBOARD_FILES for q in influx_targets(b)]) >= 20


# ---- live --------------------------------------------------------------------------------------------------


def test_live_cadence_and_angles_are_the_published_live_samples_per_interval(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    view = live_view(fault_run)
    live = [m.payload for m in fault_run.messages("live")]
    cadence_panel = panel("live", "Cadence")
    width = interval_ms(cadence_panel, view)
    assert width == 1000, "five minutes over ~1000 points, at least the datasource's 1 s"
    ((series,),) = run_panel(after_the_runs, cadence_panel, view).values()
    expected = bucket_means(((p["t_ns"], p["cadence_spm"]) for p in live), width)
    assert {r["time"]: r["cadence"] for r in series.rows()} == pytest.approx(expected, rel=1e-12)
    assert len(series.values) > 60

    ((angles,),) = run_panel(
        after_the_runs, panel("live", "Pelvis: tilt, obliquity, rotation"), view
    ).values()
    for alias, key in (
        ("tilt", "pelvic_tilt_deg"),
        ("obliquity", "pelvic_obliquity_deg"),
        ("rotation", "pelvic_rotation_deg"),
    ):
        expected = bucket_means(((p["t_ns"], p[key]) for p in live), width)
        got = {r["time"]: r[alias] for r in angles.rows() if r[alias] is not None}
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), alias


def test_live_drop_per_side_is_every_steps_drop(after_the_runs: InfluxDB, fault_run: PublishedRun) -> None:
    result = run_panel(
        after_the_runs, panel("live", "Pelvic drop per step, by stance side"), live_view(fault_run)
    )
    by_side = {dict(s.tags)["side"]: s for s in result["A"]}
    assert set(by_side) == {"L", "R"}
    for side, series in by_side.items():
        steps = [s for s in fault_run.steps if s.side == side and math.isfinite(s.pelvic_drop_deg)]
        assert [r["time"] for r in series.rows()] == [fault_run.ns(s.t_ic_s) for s in steps]
        assert [r["pelvic_drop"] for r in series.rows()] == [s.pelvic_drop_deg for s in steps]  # bit for bit


def _side_mean(steps: Sequence[object], metric: str, side: str) -> float:
    values = [getattr(s, metric) for s in steps if s.side == side and s.is_running]  # type: ignore[attr-defined]
    values = [v for v in values if math.isfinite(v)]
    return math.fsum(values) / len(values)


def test_live_asymmetry_gauges_are_the_running_steps_means_in_their_colour_zones(
    after_the_runs: InfluxDB, fault_run: PublishedRun, clean_run: PublishedRun
) -> None:
    drop = panel("live", "Pelvic drop, right minus left")
    balance = panel("live", "Contact time balance (right %)")
    for run in (fault_run, clean_run):
        view = live_view(run)
        ((_, difference),) = panel_numbers(after_the_runs, drop, view).items()
        expected = _side_mean(run.steps, "pelvic_drop_deg", "R") - _side_mean(
            run.steps, "pelvic_drop_deg", "L"
        )
        assert difference == pytest.approx(expected, rel=1e-9)
        assert difference == pytest.approx(
            run.summary["metrics"]["pelvic_drop_deg"]["right_minus_left"], abs=1e-6
        )
        left = _side_mean(run.steps, "contact_time_s", "L")
        right = _side_mean(run.steps, "contact_time_s", "R")
        ((_, share),) = panel_numbers(after_the_runs, balance, view).items()
        assert share == pytest.approx(100 * right / (left + right), rel=1e-9)
        assert zone_color(balance, share) == "green", "neither run has a contact-time fault"
    fault = panel_numbers(after_the_runs, drop, live_view(fault_run))[()]
    clean = panel_numbers(after_the_runs, drop, live_view(clean_run))[()]
    assert fault < -3.5, "the planted fault: left-stance steps drop about 4 deg more"
    assert zone_color(drop, fault) in ("orange", "red")
    assert zone_color(drop, clean) == "green"


def test_live_sensor_panel_is_the_latest_status(after_the_runs: InfluxDB, fault_run: PublishedRun) -> None:
    ((row,),) = (
        s.rows()
        for s in run_panel(after_the_runs, panel("live", "Sensor: battery and link"), live_view(fault_run))[
            "A"
        ]
    )
    last = fault_run.messages("status")[-1].payload
    assert (row["battery"], row["signal"], row["packet loss"], row["state"]) == (
        last["battery_pct"],
        last["rssi_dbm"],
        last["packet_loss_rate"],
        "finished",
    )


def test_live_latest_cues_are_the_runs_form_events_newest_first(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    got = rows(run_panel(after_the_runs, panel("live", "Latest form cues"), live_view(fault_run))["A"])
    events = sorted((e for e in fault_run.events if e.type != "summary"), key=lambda e: (e.t_start_s, e.rule))
    assert events, "the planted fault raises form events"
    assert {(r["rule"], r["side"], r["cue"], r["state"]) for r in got} == {
        (e.rule, e.side, e.message, "closed") for e in events
    }
    times = [int(r["time"]) for r in got]  # type: ignore[call-overload]
    assert times == sorted(times, reverse=True)


# ---- review ------------------------------------------------------------------------------------------------


def test_review_left_right_panel_of_every_metric_is_the_summarys(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    repeated = next(p for p in panels("review") if p.get("repeat") == "metric")
    for metric in METRIC_UNITS:
        view = review_view(fault_run).with_variable("metric", metric)
        assert repeated["title"].replace("$metric", metric) == f"{metric}: left and right"
        expected = fault_run.summary["metrics"][metric]
        found = rows(run_panel(after_the_runs, repeated, view)["A"])
        if not found:  # Grafana shows "No data": the summary has no side statistics of this metric
            assert all(
                expected.get(k) is None for k in ("left_mean", "right_mean", "si_pct", "worse_side")
            ), metric
            continue
        (row,) = found
        assert_close(row["left"], expected.get("left_mean"), metric)
        assert_close(row["right"], expected.get("right_mean"), metric)
        assert_close(row["right minus left"], expected.get("right_minus_left"), metric)
        assert_close(row["SI %"], expected.get("si_pct"), metric)
        assert row["worse side"] == expected.get("worse_side"), metric
    drop = fault_run.summary["metrics"]["pelvic_drop_deg"]
    assert drop["worse_side"] == "L"


def test_review_symmetry_bars_and_totals_are_the_summarys(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    view = review_view(fault_run)
    (bars,) = rows(run_panel(after_the_runs, panel("review", "Symmetry index per metric"), view)["A"])
    for metric in METRIC_UNITS:
        assert_close(bars[metric], fault_run.summary["metrics"][metric].get("si_pct"), metric)
    (totals,) = rows(run_panel(after_the_runs, panel("review", "The run"), view)["A"])
    published = fault_run.messages("summary")[0].payload
    assert (totals["duration"], totals["distance"], totals["cadence"], totals["steps"]) == (
        published["duration_s"],
        published["distance_m"],
        published["cadence_spm"],
        published["steps_total"],
    )


@pytest.mark.parametrize(
    "metric", ["pelvic_drop_deg", "pelvic_tilt_deg", "pelvic_rotation_deg", "contact_time_s", "cadence_spm"]
)
def test_review_metrics_over_the_run_are_the_steps_means_per_interval_and_side(
    after_the_runs: InfluxDB, fault_run: PublishedRun, metric: str
) -> None:
    p = panel("review", f"{metric} over the run, by side")
    view = review_view(fault_run)
    width = interval_ms(p, view)
    assert width == 10_000, "the drift panels' own floor: a few strides per point"
    by_side = {dict(s.tags)["side"]: s for s in run_panel(after_the_runs, p, view)["A"]}
    for side in ("L", "R"):
        steps = [s for s in fault_run.steps if s.side == side and s.is_running]
        expected = bucket_means(((fault_run.ns(s.t_ic_s), getattr(s, metric)) for s in steps), width)
        got = {r["time"]: r[metric] for r in by_side[side].rows()}
        assert got == pytest.approx(expected, rel=1e-12), side
        assert len(got) >= 8


def test_review_lists_every_form_event_with_its_advice_and_annotates_it(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    view = review_view(fault_run)
    events = [e for e in fault_run.events if e.type != "summary"]
    table = rows(run_panel(after_the_runs, panel("review", "Every form cue, with its advice"), view)["A"])
    assert {(r["rule"], r["side"], r["severity"], r["cue"], r["advice"]) for r in table} == {
        (e.rule, e.side, _opened_severity(fault_run, e.rule), e.message, ",".join(e.advice)) for e in events
    }
    annotation = next(a for a in _annotations("review"))
    target = annotation["target"]
    assert isinstance(target, dict)
    result = after_the_runs.query(final_query(panel("review", "The run"), target["query"], view))
    marks = rows(result)
    assert sorted((r["time"], r["rule"]) for r in marks) == sorted(
        (fault_run.ns(e.t_start_s), e.rule) for e in events
    )
    assert all(annotation[c] in marks[0] for c in ("textColumn", "titleColumn"))


def _opened_severity(run: PublishedRun, rule: str) -> str:
    return next(m.payload["severity"] for m in run.messages("event") if m.payload["rule"] == rule)


def _annotations(board: str) -> list[dict[str, object]]:
    from tests.grafana.grafana_files import dashboard

    return list(dashboard(board)["annotations"]["list"])


# ---- history -----------------------------------------------------------------------------------------------


def test_history_lists_every_run_of_the_athlete_newest_first(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    got = rows(run_panel(after_the_runs, panel("history", "Runs"), history_view(fault_run))["A"])
    sessions = [r["session"] for r in got]
    assert sessions == [fault_run.session, *(f"history-{k}" for k in reversed(range(len(HISTORY_RUNS))))]
    newest = got[0]
    published = fault_run.messages("summary")[0].payload
    assert (newest["distance"], newest["steps"]) == (published["distance_m"], published["steps_total"])


def _weekly_km(run: PublishedRun) -> dict[int, float]:
    """Distance per Monday-to-Sunday week (UTC) of the runs in the history view, as InfluxQL buckets them."""
    week_ns = 7 * DAY_NS
    monday = 4 * DAY_NS  # the epoch was a Thursday
    starts = [m.payload for m in history_summaries(run)] + [run.messages("summary")[0].payload]
    view = history_view(run).time_range
    weeks: dict[int, float] = defaultdict(float)
    for s in starts:
        if view.from_ns <= s["started_ns"] <= view.to_ns:
            weeks[(s["started_ns"] - monday) // week_ns * week_ns + monday] += s["distance_m"] / 1000
    first = (view.from_ns - monday) // week_ns * week_ns + monday
    return {t: weeks.get(t, 0.0) for t in range(first, view.to_ns + 1, week_ns)}


def test_history_weekly_load_and_its_change_are_the_runs_distance_per_monday_week(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    view = history_view(fault_run)
    expected = _weekly_km(fault_run)
    (load,) = run_panel(after_the_runs, panel("history", "Weekly distance"), view)["A"]
    assert {r["time"]: r["distance_km"] for r in load.rows()} == pytest.approx(expected, rel=1e-12)
    assert sum(expected.values()) == pytest.approx(
        sum(km for _, km in HISTORY_RUNS) + fault_run.messages("summary")[0].payload["distance_m"] / 1000
    )
    (change,) = run_panel(
        after_the_runs, panel("history", "Weekly distance, change from the week before"), view
    )["A"]
    weeks = sorted(expected)
    assert {r["time"]: r["change_km"] for r in change.rows()} == pytest.approx(
        # the first week has no week before: fill(0) shows 0
        {weeks[0]: 0.0} | {t: expected[t] - expected[p] for p, t in itertools.pairwise(weeks)},
        rel=1e-12,
        abs=1e-12,
    )


def test_history_asymmetry_per_run_is_each_runs_summary(
    after_the_runs: InfluxDB, fault_run: PublishedRun
) -> None:
    (trend,) = run_panel(after_the_runs, panel("history", "Asymmetry per run"), history_view(fault_run))["A"]
    got = trend.rows()
    assert len(got) == len(HISTORY_RUNS) + 1
    drop = fault_run.summary["metrics"]["pelvic_drop_deg"]["right_minus_left"]
    assert {r["pelvic drop R-L (deg)"] for r in got} == {drop}


def test_the_lines_written_are_the_ingests(fault_run: PublishedRun) -> None:
    """The fixtures write `lines_for` of each published message: the ingest's own encoding."""
    step = fault_run.messages("step")[0]
    assert fault_run.lines()[: len(lines_for("status", fault_run.published[0].message.payload))] == list(
        lines_for("status", fault_run.published[0].message.payload)
    )
    assert any(line.startswith("step,") for line in lines_for("step", step.payload))
