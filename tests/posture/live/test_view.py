"""The live view: readable names and times from the start of the run, the latest cue, '-' for unknowns."""

from __future__ import annotations

import math
import re

from rich.console import Console

from posture.live.view import LiveSnapshot, format_clock, render


def _text(snapshot: LiveSnapshot) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(render(snapshot))
    return console.export_text()


def _snapshot(**changes: object) -> LiveSnapshot:
    values: dict[str, object] = {
        "elapsed_s": 754.0,
        "phase": "running",
        "steps": 2100,
        "cadence_spm": 172.4,
        "pelvic_tilt_deg": 11.2,
        "pelvic_obliquity_deg": -2.5,
        "pelvic_rotation_deg": 3.0,
        "drop_left_deg": 4.1,
        "drop_right_deg": 7.9,
        "contact_si_pct": 3.2,
        "latest_cue": "Keep your hips level",
        "battery_pct": 81,
        "packet_loss_pct": 0.2,
        "mqtt": "connected",
    }
    values.update(changes)
    return LiveSnapshot(**values)  # type: ignore[arg-type]


def test_times_count_from_the_start_of_the_run() -> None:
    assert format_clock(754.0) == "12:34"
    assert format_clock(3 * 3600 + 5.4) == "3:00:05"
    assert format_clock(math.nan) == "-"


def test_the_view_names_metrics_in_words_and_shows_the_cue() -> None:
    text = _text(_snapshot())
    assert "12:34" in text
    assert "172 steps/min" in text
    assert "hip drop, R stance" in text
    assert "7.9 deg" in text
    assert "Keep your hips level" in text
    assert "pelvic_drop_deg" not in text


def test_unknown_values_show_as_a_dash_before_calibration() -> None:
    text = _text(
        _snapshot(
            phase="calibrating",
            steps=0,
            cadence_spm=math.nan,
            pelvic_tilt_deg=math.nan,
            drop_left_deg=math.nan,
            latest_cue=None,
            battery_pct=None,
        )
    )
    assert "calibrating" in text
    assert re.search(r"cadence +- ", text)
    assert "form looks steady" in text
    assert "battery ? %" in text
