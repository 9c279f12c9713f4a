"""`posture report` in a real headless browser: the page renders without errors, every plot is drawn and holds
data, nothing is fetched from the network, and the runner finds the headline and every alert with its
advice. Screenshots are kept in pytest's tmp folder (`report.png`), never committed."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from playwright.sync_api import BrowserContext
from typer.testing import CliRunner

from posture.commands.report import register
from posture.labels import format_clock
from posture.report import headline, load_advice, load_run, render_report, write_report
from posture.report.drift import side_drifts
from processing.steps import METRIC_UNITS
from tests.report.browser import PageFacts, open_page
from tests.report.test_history import THIS_START_NS, Row, earlier_runs, replayed

pytestmark = pytest.mark.slow  # a few seconds each: chromium and 4.8 MB of plotly.js


@dataclass(frozen=True, slots=True)
class Advice:
    title: str
    cue: str
    explanation: str
    category: str


#: A catalog for the planted alerts, in the shape of `processing.advice` items.
CATALOG = {
    "hips_level": Advice(
        "Level hips",
        "Keep your hips level",
        "When the swinging side sags, the hip muscles of the standing leg are not holding the pelvis: run "
        "tall, as if carrying a full glass of water on each hip.",
        "form",
    ),
    "glute_strength": Advice(
        "Glute strength",
        "Strengthen your glutes",
        "Side planks, clamshells and single-leg squats twice a week build the muscles that keep the hips "
        "level when you tire.",
        "strength",
    ),
}
#: What the events issue's rules would say about the planted fault, in the events.json contract.
PLANTED_EVENTS: list[dict[str, Any]] = [
    {
        "rule": "pelvic_drop_asymmetry",
        "type": "asymmetry",
        "metric": "pelvic_drop_deg",
        "side": "L",
        "t_start_s": 150.0,
        "t_end_s": None,
        "severity": "warning",
        "advice": ["hips_level", "glute_strength"],
        "message": "Your right hip sags when you land on your left leg.",
        "value": 3.1,
        "threshold": 2.0,
    },
    {
        "rule": "pelvic_drop_drift",
        "type": "drift",
        "metric": "pelvic_drop_deg",
        "side": "L",
        "t_start_s": 210.0,
        "t_end_s": 262.0,
        "severity": "info",
        "advice": ["hips_level"],
        "message": "Your hip drop grew as you tired.",
        "value": 3.8,
        "threshold": 2.0,
    },
    {
        "rule": "run_summary",
        "type": "summary",
        "metric": None,
        "side": None,
        "t_start_s": 0.0,
        "t_end_s": 305.0,
        "severity": "info",
        "advice": [],
        "message": "One form problem: pelvic drop.",
        "value": None,
        "threshold": None,
    },
]


#: One left/right bar chart per metric: every metric with both sides (cadence has none: one value a step).
SIDE_PLOTS = {f"plot-side-{m}" for m in METRIC_UNITS if m != "cadence_spm"}


def report_cli(*args: str) -> tuple[int, str]:
    """`posture report ...` through the command's own `register` (as the CLI's lazy loader adds it)."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # a group, so that the command is invoked by its name as in `posture report`
        pass

    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.output


def assert_renders_offline(facts: PageFacts, *, plots: set[str]) -> None:
    """No console or script errors, no request but the page itself, every plot visible with drawn data."""
    assert facts.console_errors == ()
    assert facts.page_errors == ()
    assert facts.foreign_requests == ()
    assert {p.div_id for p in facts.plots} == plots
    for plot in facts.plots:
        assert plot.width_px > 150, plot
        assert plot.height_px > 100, plot
        assert plot.traces > 0, plot
        assert plot.marks > 0, plot


def assert_reads_like_a_runners_page(facts: PageFacts) -> None:
    """No raw column names and no times on the recording's own axis (epoch seconds) anywhere on the page."""
    for column in METRIC_UNITS:
        assert column not in facts.text
    assert not re.search(r"\b\d{9,}\b", facts.text)


def test_report_of_an_analysed_run_renders_offline_with_its_headline(
    fault_run_dir: Path, browser: BrowserContext, tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    code, output = report_cli(str(fault_run_dir), "--out", str(html))
    assert code == 0, output
    assert f"report written to {html}" in output

    facts = open_page(browser, html, tmp_path / "report.png")

    run = load_run(fault_run_dir)
    plots = {"plot-drift"} | ({"plot-alerts"} if run.alerts else set())
    assert_renders_offline(facts, plots=plots | SIDE_PLOTS)
    assert_reads_like_a_runners_page(facts)
    advice = load_advice()
    expected = headline(run.summary, run.alerts, advice, side_drifts(run))
    for line in (expected.summary, *expected.went_well, *expected.work_on):
        assert line in facts.text
    # the planted fault is the first thing the runner is told to work on, with its side
    assert "pelvic drop" in expected.work_on[0].lower()
    assert "left leg (right hip sags)" in expected.work_on[0]
    for event in run.alerts:  # whatever the events rules found, each is on the page with its advice
        assert event.message in facts.text
        for advice_id in event.advice:
            if advice_id in advice:
                assert advice[advice_id].cue in facts.text
                assert advice[advice_id].explanation in facts.text


def test_every_alert_is_on_the_time_line_with_its_advice(
    fault_run_dir: Path, browser: BrowserContext, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fault_run_dir, run_dir)
    (run_dir / "events.json").write_text(json.dumps(PLANTED_EVENTS), encoding="utf-8")
    html = write_report(run_dir, tmp_path / "report.html", advice=CATALOG)

    facts = open_page(browser, html, tmp_path / "report.png")

    assert_renders_offline(facts, plots={"plot-alerts", "plot-drift"} | SIDE_PLOTS)
    assert_reads_like_a_runners_page(facts)
    alerts = [e for e in PLANTED_EVENTS if e["type"] != "summary"]
    for event in alerts:
        assert str(event["message"]) in facts.text
        for advice_id in event["advice"]:
            assert CATALOG[advice_id].cue in facts.text
            assert CATALOG[advice_id].explanation in facts.text
    assert "2:30 to the end" in facts.text
    assert f"{format_clock(210.0)} to {format_clock(262.0)}" in facts.text
    # both alerts concern the same metric: one line to work on, led by the more pressing alert's cue
    work_on = "Keep your hips level: pelvic drop when standing on your left leg (right hip sags); 2 alerts, "
    assert work_on in facts.text
    assert "No form alerts" not in facts.text


def test_the_page_loads_nothing_from_anywhere(fault_run_dir: Path, tmp_path: Path) -> None:
    html = write_report(fault_run_dir, tmp_path / "report.html", advice={}).read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert not re.search(r"<link\b", html)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html)


def test_the_comparison_with_recent_runs_is_drawn(
    fault_run_dir: Path, browser: BrowserContext, tmp_path: Path
) -> None:
    run_dir = replayed(fault_run_dir, tmp_path)
    html = tmp_path / "report.html"
    history = [*earlier_runs(6), Row("today", THIS_START_NS, distance_m=4321.0)]  # today: this run's session
    html.write_text(render_report(load_run(run_dir), advice={}, history=history, athlete="ana"))

    facts = open_page(browser, html, tmp_path / "report.png")

    alerts = {"plot-alerts"} if load_run(run_dir).alerts else set()
    history_plots = {"plot-history", "plot-weekly-load"}
    assert_renders_offline(facts, plots={"plot-drift"} | history_plots | alerts | SIDE_PLOTS)
    assert_reads_like_a_runners_page(facts)
    assert "Your last 6 runs (average)" in facts.text
