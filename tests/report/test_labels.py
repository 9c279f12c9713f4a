"""What a runner reads instead of column names and epoch seconds (posture/labels.py)."""

from __future__ import annotations

import math

import pytest

from posture.labels import METRIC_LABELS, format_clock, label_for, worse_side_text
from processing.steps import METRIC_UNITS


def test_every_metric_of_the_results_files_has_a_readable_name() -> None:
    assert set(METRIC_LABELS) == set(METRIC_UNITS)
    for column, label in METRIC_LABELS.items():
        assert label.column == column
        assert "_" not in label.name
        assert label.meaning


@pytest.mark.parametrize(
    ("column", "name"),
    [
        ("pelvic_drop_deg", "Pelvic drop"),
        ("braking_dv_mps", "Braking (speed lost per step)"),
        ("contact_time_s", "Ground contact time"),
        ("vertical_oscillation_m", "Vertical bounce"),
    ],
)
def test_names_a_runner_knows(column: str, name: str) -> None:
    assert label_for(column).name == name


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("contact_time_s", 0.2394, "239 ms"),
        ("pelvic_drop_deg", 3.04, "3.0°"),
        ("vertical_oscillation_m", 0.0948, "9.5 cm"),
        ("braking_peak_mps2", 3.36, "3.4 m/s²"),
        ("cadence_spm", 170.3, "170 steps/min"),
        ("impact_peak_g", math.nan, "-"),
    ],
)
def test_values_in_display_units(column: str, value: float, shown: str) -> None:
    assert label_for(column).format(value) == shown


def test_signed_values_show_a_plus_but_never_a_minus_zero() -> None:
    drop = label_for("pelvic_drop_deg")
    assert drop.format(1.25, signed=True) == "+1.2°"
    assert drop.format(0.01, signed=True) == "0.0°"


def test_a_column_without_a_label_still_reads_as_words() -> None:
    assert label_for("stride_length_m").name == "Stride length m"


@pytest.mark.parametrize(
    ("seconds", "clock"),
    [(0.0, "0:00"), (65.4, "1:05"), (59.6, "1:00"), (3599.0, "59:59"), (3600.0, "1:00:00"), (-5.0, "-0:05")],
)
def test_times_are_minutes_and_seconds_from_the_start(seconds: float, clock: str) -> None:
    assert format_clock(seconds) == clock


def test_a_missing_time_is_a_dash() -> None:
    assert format_clock(math.nan) == "-"


def test_pelvic_drop_names_the_stance_leg_and_the_sagging_hip() -> None:
    assert worse_side_text("pelvic_drop_deg", "L") == "when standing on your left leg (right hip sags)"
    assert worse_side_text("contact_time_s", "R") == "on right steps"
