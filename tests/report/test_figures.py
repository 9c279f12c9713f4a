"""The report's plots as figures (posture/report/figures.py): time axes, what each plot holds."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from posture.report import load_run, render_report
from posture.report.figures import DRIFT_METRICS, drift_figure, side_figures, time_ticks
from posture.report.run import FormEvent


def event(metric: str | None, t_start_s: float) -> FormEvent:
    return FormEvent("r", "level", metric, "L", t_start_s, math.nan, "warning", (), "m")


@pytest.mark.parametrize(
    ("duration_s", "first_labels", "last_label"),
    [
        (305.0, ["0:00", "1:00"], "5:00"),
        (95.0, ["0:00", "0:10"], "1:30"),
        (3 * 3600.0, ["0:00", "30:00"], "3:00:00"),
    ],
)
def test_time_axes_count_minutes_and_seconds_from_the_start(
    duration_s: float, first_labels: list[str], last_label: str
) -> None:
    values, labels = time_ticks(duration_s)
    assert labels[:2] == first_labels
    assert labels[-1] == last_label
    assert len(values) <= 11
    assert values[0] == 0.0


def test_an_alert_shades_the_plot_of_its_own_metric(fault_run_dir: Path) -> None:
    run = load_run(fault_run_dir)
    fig = drift_figure(run, [event("pelvic_drop_deg", 100.0)])
    assert fig is not None
    assert [s.yref for s in fig.layout.shapes] == ["y domain"]  # the first plot: pelvic drop


def test_an_alert_on_something_not_plotted_shades_every_plot(fault_run_dir: Path) -> None:
    run = load_run(fault_run_dir)
    fig = drift_figure(run, [event("flight_time_s", 100.0), event(None, 200.0)])
    assert fig is not None
    rows = len(DRIFT_METRICS) + 1  # and cadence
    assert len(fig.layout.shapes) == 2 * rows


def test_cadence_is_the_last_plot_over_the_run(fault_run_dir: Path) -> None:
    fig = drift_figure(load_run(fault_run_dir), [event("cadence_spm", 100.0)])
    assert fig is not None
    assert fig.layout.annotations[len(DRIFT_METRICS)].text == "Cadence (steps/min)"
    assert [s.yref for s in fig.layout.shapes] == [f"y{len(DRIFT_METRICS) + 1} domain"]
    cadence = fig.data[-2]  # then its dashed first minutes
    assert 165 < min(cadence.y) <= max(cadence.y) < 175  # the simulated runner's 170 steps/min


def test_without_a_gyroscope_no_plot_is_left_empty(accelerometer_only_run_dir: Path) -> None:
    run = load_run(accelerometer_only_run_dir)
    drift = drift_figure(run)
    sides = side_figures(run.summary)
    assert drift is not None
    titles = [a.text for a in drift.layout.annotations] + [f.layout.title.text for _, f in sides]
    assert not any("Pelvic" in t for t in titles)
    assert any("Ground contact time" in t for t in titles)
    assert "Cadence (steps/min)" in titles
    html = render_report(run, advice={})  # and no warning on the way (pytest turns warnings into errors)
    assert "The recording has no gyroscope: pelvic tilt, drop and rotation could not be measured" in html
