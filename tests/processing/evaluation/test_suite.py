"""The suite runner and `posture evaluate`: the pipeline on a simulated run and on the real recordings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from posture.commands.evaluation import (
    HAND_WRITTEN_MARKER,
    load_reference_recordings,
    register,
    render_markdown,
)
from processing.evaluation import (
    EvaluationRow,
    ReferenceRecording,
    contacts_from_steps,
    evaluate_recording,
    evaluate_recording_detector,
    evaluate_scenario,
)
from processing.pipeline.step_metrics import compute_step_metrics
from processing.simulation import scenario_by_name
from processing.steps import Step, StepMetrics

DATA = Path(__file__).resolve().parents[2] / "data" / "mobgap-HA002"


@pytest.fixture(scope="module")
def recordings() -> dict[str, ReferenceRecording]:
    return {r.name: r for r in load_reference_recordings(DATA) if r.primary}


@pytest.fixture(scope="module")
def second_references() -> dict[str, ReferenceRecording]:
    return {r.name: r for r in load_reference_recordings(DATA) if not r.primary}


def test_a_simulated_run_through_the_whole_pipeline_meets_the_event_targets() -> None:
    row = evaluate_scenario(replace(scenario_by_name("arbitrary_mount_b"), duration_s=30.0))
    assert row.source == "sim"
    e = row.events
    assert e.ic_f1 >= 0.99
    assert e.median_abs_ic_error_s <= 0.010
    assert e.contact_time_mae_s <= 0.015
    assert e.side_accuracy_running >= 0.99
    assert e.cadence_error_spm <= 1.0
    assert np.isfinite([row.tilt_rmse_deg, row.drop_rmse_deg, row.rotation_rmse_deg]).all()
    assert row.vertical_oscillation_rmse_m < 0.01
    assert np.isfinite([row.braking_peak_rmse_mps2, row.braking_dv_rmse_mps, row.impact_peak_rmse_g]).all()


def test_the_real_recordings_load_with_their_reference_and_axes(
    recordings: dict[str, ReferenceRecording],
) -> None:
    # Test5_Trial1 has no reference contacts in either system, so it is not scored
    assert set(recordings) == {"HA_002_TimeMeasure1_Test11_Trial1", "HA_002_TimeMeasure1_Test5_Trial2"}
    rec = recordings["HA_002_TimeMeasure1_Test11_Trial1"]
    assert rec.reference_system == "INDIP"
    assert rec.reference.ic_s.size == 46
    # INDIP lists 8 more contacts inside Test11's bouts without a time (NaN; mobgap drops them), e.g. a left
    # contact between the right ones at 72.28 and 74.76 s: they are kept as gaps, for the diagnostic only
    gaps = rec.reference.untimed_gaps_s
    assert gaps is not None
    assert gaps.shape == (8, 2)
    assert [72.28, 74.76] in np.round(gaps, 2).tolist()
    straight_gaps = recordings["HA_002_TimeMeasure1_Test5_Trial2"].reference.untimed_gaps_s
    assert straight_gaps is not None
    assert straight_gaps.shape == (0, 2)
    # sensor x up, y right, z forward -> body x forward, y left, z up
    np.testing.assert_array_equal(
        rec.sensor_to_body,
        [[0, 0, 1], [0, -1, 0], [1, 0, 0]],
    )


def test_a_second_reference_system_of_the_same_recording_is_its_own_row(
    second_references: dict[str, ReferenceRecording],
) -> None:
    # Test11 has Stereophoto contacts too (2 bouts in the capture volume, 11 timed contacts): an independent
    # reference for the same samples; INDIP stays the primary one
    assert set(second_references) == {"HA_002_TimeMeasure1_Test11_Trial1"}
    stereo = second_references["HA_002_TimeMeasure1_Test11_Trial1"]
    assert stereo.reference_system == "Stereophoto"
    assert stereo.reference.ic_s.size == 11
    assert stereo.reference.bouts_s is not None
    assert stereo.reference.bouts_s.shape == (2, 2)
    row = evaluate_recording(stereo)
    assert row.source == "real:Stereophoto"
    assert row.events.n_reference == 11
    # the level reached today (10 of 11 contacts found, every side right)
    assert row.events.ic_f1 >= 0.76
    assert row.events.side_accuracy == 1.0


def _step(t_ic_s: float, side: str, t_next_ic_s: float) -> StepMetrics:
    st = Step(t_ic_s, "L" if side == "L" else "R", t_ic_s + 0.1, t_next_ic_s, False)
    return compute_step_metrics(
        [st],
        t_s=np.arange(0.0, 10.0, 0.01),
        acc_levelled_mps2=np.tile([0.0, 0.0, 9.81], (1000, 1)),
        tilt_deg=np.zeros(1000),
        obliquity_deg=np.zeros(1000),
        rotation_deg=np.zeros(1000),
        sampling_rate_hz=100.0,
    )[0]


def test_contacts_are_the_step_starts_plus_the_contact_that_ends_each_bout() -> None:
    # two bouts: 1.0 L, 1.5 R, (2.0 L ends the first); 5.0 R, (5.6 L ends the second)
    steps = (_step(1.0, "L", 1.5), _step(1.5, "R", 2.0), _step(5.0, "R", 5.6))
    c = contacts_from_steps(steps)
    np.testing.assert_allclose(c.ic_s, [1.0, 1.5, 2.0, 5.0, 5.6])
    assert c.side.tolist() == ["L", "R", "L", "R", "L"]
    assert np.isnan(c.to_s[[2, 4]]).all()
    assert np.isfinite(c.to_s[[0, 1, 3]]).all()
    assert contacts_from_steps(()).ic_s.size == 0


def test_steps_that_overlap_are_refused() -> None:
    # the pipeline ends every step on the next emitted contact (its commit rule); a step that spans the next
    # step's contact is not a sequence of steps, and scoring it would count one contact twice
    with pytest.raises(ValueError, match=r"the step at 1\.000 s ends at 2\.200 s"):
        contacts_from_steps((_step(1.0, "L", 2.2), _step(1.6, "R", 2.2), _step(4.0, "R", 4.6)))
    with pytest.raises(ValueError, match="time order"):
        contacts_from_steps((_step(1.6, "R", 2.2), _step(1.0, "L", 1.6)))


@pytest.fixture(scope="module")
def pipeline_rows(recordings: dict[str, ReferenceRecording]) -> dict[str, EvaluationRow]:
    """Every real recording through the whole pipeline (the product path), as `posture evaluate` scores it."""
    return {name: evaluate_recording(rec) for name, rec in recordings.items()}


# Issue 3 asks for IC F1 >= 0.90 and side accuracy >= 0.90 on every real walking recording, through the
# pipeline (0.5 s tolerance, inside the reference walking bouts). Sides meet it: walking contacts read the
# medio-lateral push of the inverted pendulum (processing.laterality).
def test_real_walking_sides_meet_the_issue_target_through_the_pipeline(
    pipeline_rows: dict[str, EvaluationRow],
) -> None:
    for name, row in pipeline_rows.items():
        assert row.events.side_accuracy >= 0.90, name


# Contacts do not yet: F1 0.84 through the pipeline (0.86 for the detector alone on the documented axes) on
# the 140 s daily-activity recording (46 reference contacts, many shuffling steps and turns on the spot), 1.00
# on straight walking; mobgap's best published detectors reach 0.84-0.86 on this kind of data. Note on the
# reference: INDIP lists 8 more contacts inside Test11's bouts without a time (NaN in its .mat, e.g. a left
# contact between the right ones at 72.28 and 74.76 s; mobgap's parser drops them, and so do we), and 5 of
# the pipeline's 6 false positives lie in such gaps (`EventScores.n_false_in_untimed_gaps`; the score is not
# changed for it). So even a detector that found all 54 steps exactly would score 2 * 46 / (54 + 46) = 0.92,
# and 0.90 needs at least 43 of the 46 timed contacts with today's false positives. Of the 8 missed (38
# found): 10.16, 21.96, 31.99 and 72.28 s leave no trace at the lower back (vertical, antero-posterior and
# medio-lateral force and yaw rate flat within the noise: steps in place during a turn, before sitting down
# and before a stop); 17.46/17.68 and 26.55/26.75 s are pairs the reference times 0.2 s apart (below the
# 0.25 s shortest step, one loading seen); 32.89 s has a weak rise, but it shares its gap with the
# untraceable 31.99 s, and a gap is filled only when every missed step in it has a rise. The Stereophoto
# row of the same recording agrees: 4 of its 5 false positives lie in its own untimed gaps, the fifth
# (8.87 s, R) is INDIP's contact at 8.62 s R. A strict xfail, so the test turns red the day it is met and the
# threshold can be enforced.
@pytest.mark.xfail(
    strict=True,
    reason="measured IC F1 0.844 through the pipeline on Test11 (INDIP: 38 of 46 contacts, 6 false "
    "positives, 5 of them in the reference's untimed gaps); target 0.90",
)
def test_real_walking_contacts_meet_the_issue_target_through_the_pipeline(
    pipeline_rows: dict[str, EvaluationRow],
) -> None:
    for name, row in pipeline_rows.items():
        assert row.events.ic_f1 >= 0.90, name


def test_real_walking_does_not_regress(
    recordings: dict[str, ReferenceRecording], pipeline_rows: dict[str, EvaluationRow]
) -> None:
    # the levels reached today, so that a change that loses contacts or sides on real data shows up
    daily = evaluate_recording_detector(recordings["HA_002_TimeMeasure1_Test11_Trial1"])
    assert daily.events.ic_f1 >= 0.86
    assert daily.events.side_accuracy >= 0.92
    straight = evaluate_recording_detector(recordings["HA_002_TimeMeasure1_Test5_Trial2"])
    assert straight.events.ic_f1 >= 0.90
    assert straight.events.side_accuracy >= 0.90
    # measured: Test11 F1 0.844, sides 1.0 (38 of 38); Test5 F1 1.0 (6 of 6)
    assert pipeline_rows["HA_002_TimeMeasure1_Test11_Trial1"].events.ic_f1 >= 0.84
    assert pipeline_rows["HA_002_TimeMeasure1_Test11_Trial1"].events.side_accuracy >= 0.99
    assert pipeline_rows["HA_002_TimeMeasure1_Test5_Trial2"].events.ic_f1 >= 0.99


def _evaluate_app() -> typer.Typer:
    """A CLI holding `posture evaluate` (and a second command, which keeps typer from collapsing the app into
    its one command)."""
    app = typer.Typer()
    register(app)

    @app.command("other")
    def _other() -> None:
        pass

    return app


def test_posture_evaluate_prints_and_writes_the_table(tmp_path: Path) -> None:
    app = _evaluate_app()

    out = tmp_path / "evaluation.md"
    result = CliRunner().invoke(app, ["evaluate", "--suite", "real", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "| HA_002_TimeMeasure1_Test11_Trial1 | real:INDIP |" in text
    assert "| HA_002_TimeMeasure1_Test11_Trial1 | real:Stereophoto |" in text
    assert "IC F1" in text


def test_a_regenerated_table_keeps_the_hand_written_part_below_its_marker(tmp_path: Path) -> None:
    out = tmp_path / "evaluation.md"
    tail = f"{HAND_WRITTEN_MARKER}\n\n## A real outdoor run\n\nmeasured elsewhere\n"
    out.write_text("# an old table\n\n| stale | row |\n" + tail, encoding="utf-8")
    result = CliRunner().invoke(_evaluate_app(), ["evaluate", "--suite", "real", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "| stale | row |" not in text
    assert "| HA_002_TimeMeasure1_Test11_Trial1 | real:INDIP |" in text
    assert text.endswith("\n" + tail)


def test_unknown_suite_is_a_usage_error() -> None:
    app = _evaluate_app()

    result = CliRunner().invoke(app, ["evaluate", "--suite", "everything"])
    assert result.exit_code != 0


def test_markdown_marks_missed_targets() -> None:
    row = evaluate_scenario(replace(scenario_by_name("clean_run"), duration_s=20.0))
    text = render_markdown([row], command="posture evaluate --suite sim")
    assert "| clean_run | sim | 104 |" in text
    assert "worst over the suite" in text


def test_an_unknown_scenario_is_a_usage_error() -> None:
    app = _evaluate_app()

    result = CliRunner().invoke(app, ["evaluate", "--suite", "sim", "--scenario", "no_such_run"])
    assert result.exit_code == 2
