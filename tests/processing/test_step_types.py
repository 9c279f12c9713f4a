"""The per-step types: validated, and the steps.csv column order of the analysis contract."""

from __future__ import annotations

import math

import pytest

from processing.steps import STEP_METRIC_COLUMNS, Step


def test_contract_columns_come_first_in_order() -> None:
    contract = ("t_ic_s", "side", "t_to_s", "step_time_s", "contact_time_s", "pelvic_tilt_deg")
    assert STEP_METRIC_COLUMNS[:5] == contract[:5]
    for name in ("pelvic_tilt_deg", "pelvic_drop_deg", "pelvic_rotation_deg", "cadence_spm", "flight_time_s"):
        assert name in STEP_METRIC_COLUMNS


def test_step_validates_side_and_order() -> None:
    Step(1.0, "L", 1.2, 1.35, True)
    Step(1.0, "R", math.nan, 1.35, False)
    with pytest.raises(ValueError, match="side"):
        Step(1.0, "X", 1.2, 1.35, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="end after"):
        Step(1.0, "L", 1.2, 0.9, True)
    with pytest.raises(ValueError, match="precedes"):
        Step(1.0, "L", 0.9, 1.35, True)
