"""Recordings as people have them, at the posture layer: a biaxial logger's sides cannot be told (summary.json
says so, events name no side), and the live simulated sensor ignores the file-only scenario options."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from posture.analysis import unsided_rules, write_results
from posture.sensors import motion_for_scenario
from processing.events import detect_events
from processing.pipeline import AnalysisResult, analyze
from processing.simulation import scenario_by_name, simulate


@pytest.fixture(scope="module")
def uneven_biaxial() -> AnalysisResult:
    """A biaxial logger on a runner whose right steps last 10 % longer: an asymmetry with no foot to name."""
    scenario = replace(
        scenario_by_name("biaxial_logger_100hz"), duration_s=90.0, step_time_asymmetry_pct=10.0
    )
    run = simulate(scenario)
    return analyze(run.samples, sampling_rate_hz=run.sampling_rate_hz)


def test_side_based_rules_are_left_out_where_they_would_name_a_foot_at_random(
    uneven_biaxial: AnalysisResult,
) -> None:
    every_rule = detect_events(uneven_biaxial.steps)
    assert any(e.side is not None for e in every_rule), "the planted asymmetry must raise a sided event"
    unsided = detect_events(uneven_biaxial.steps, unsided_rules())
    assert all(e.side is None and e.type != "asymmetry" for e in unsided)
    assert any(e.type == "summary" for e in unsided)


def test_summary_json_says_the_sides_are_unobservable(uneven_biaxial: AnalysisResult, tmp_path: Path) -> None:
    events = detect_events(uneven_biaxial.steps, unsided_rules())
    write_results(tmp_path, uneven_biaxial, events, input_name="biaxial.csv", duration_s=95.0)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["sides"]["observable"] is False
    assert "cannot be told" in summary["sides"]["note"]
    assert summary["steps"]["total"] > 200
    assert 160.0 <= summary["cadence_spm"] <= 180.0
    assert all("left_mean" not in line for line in summary["metrics"].values())
    written = json.loads((tmp_path / "events.json").read_text(encoding="utf-8"))
    assert all(e["side"] is None for e in written)


@pytest.mark.parametrize("name", ["biaxial_logger_100hz", "phone_stamped_jitter_8ms_lossy"])
def test_the_live_simulated_sensor_streams_a_file_scenario_as_a_full_imu(name: str) -> None:
    """Our sensor has three axes, a gyroscope and its own clock: biaxial and host-stamped describe files."""
    motion = motion_for_scenario(name, duration_s=5.0)
    motion.start(416.0)
    acc, gyr = motion.read(416)
    assert np.isfinite(acc).all()
    assert np.isfinite(gyr).all()
    assert np.abs(gyr).max() > 0.0
