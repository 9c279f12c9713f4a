"""Issue 11's scenario rows: biaxial loggers and host-stamped time axes meet the event targets.

Targets (issue 11, "Must show"): IC F1 >= 0.99, side accuracy >= 0.99 where sides are observable, cadence
error <= 1 step/min, contact-time MAE <= 15 ms; contacts matched at 50 ms on the true time axis.
"""

from __future__ import annotations

import math

import pytest

from posture.commands.evaluation import render_markdown
from processing.evaluation import EvaluationRow, evaluate_scenario
from processing.simulation import scenario_by_name

BIAXIAL = ("biaxial_logger_100hz", "biaxial_no_standing_200hz")


@pytest.fixture(scope="module")
def biaxial_rows() -> dict[str, EvaluationRow]:
    return {name: evaluate_scenario(scenario_by_name(name)) for name in BIAXIAL}


@pytest.mark.parametrize("name", BIAXIAL)
def test_a_biaxial_logger_meets_the_event_targets(biaxial_rows: dict[str, EvaluationRow], name: str) -> None:
    e = biaxial_rows[name].events
    assert e.n_reference > 150
    assert e.ic_f1 >= 0.99
    assert e.cadence_error_spm <= 1.0
    assert e.contact_time_mae_s <= 0.015


def test_a_biaxial_row_leaves_its_left_right_figures_empty(biaxial_rows: dict[str, EvaluationRow]) -> None:
    row = biaxial_rows["biaxial_logger_100hz"]
    assert math.isnan(row.events.side_accuracy)
    assert math.isnan(row.events.side_accuracy_running)
    assert math.isnan(row.step_time_si_error_pp)
    assert math.isnan(row.contact_time_si_error_pp)
    line = next(
        ln for ln in render_markdown([row], command="test").splitlines() if ln.startswith("| biaxial")
    )
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[6] == "-"  # the side-accuracy column: no value, no missed target
    assert "*" not in line


PHONE_STAMPED = (
    "phone_stamped_jitter_4ms",
    "phone_stamped_jitter_8ms_lossy",
    "phone_stamped_jitter_2ms_per_sample",
)


@pytest.fixture(scope="module")
def phone_rows() -> dict[str, EvaluationRow]:
    return {name: evaluate_scenario(scenario_by_name(name)) for name in PHONE_STAMPED}


@pytest.mark.parametrize("name", PHONE_STAMPED)
def test_phone_stamped_time_axes_meet_the_event_targets(
    phone_rows: dict[str, EvaluationRow], name: str
) -> None:
    # 8 ms lossy: each lost packet (5 samples at 99.5 Hz, 50 ms) is bridged, not split (gap policy)
    e = phone_rows[name].events
    assert e.n_reference > 150
    assert e.ic_f1 >= 0.99
    assert e.side_accuracy_running >= 0.99
    assert e.cadence_error_spm <= 1.0
    assert e.contact_time_mae_s <= 0.015
    # the repaired times sit at the earliest arrivals (one-sided delays), not the mean delay: issue 3's target
    assert e.median_abs_ic_error_s <= 0.010
