"""The builders turn typed results into valid messages with stable ids (docs/messages.md, "Payloads")."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posture.messages import (
    InvalidMessage,
    MetricSummary,
    decode,
    event_message,
    live_message,
    status_message,
    step_message,
    summary_message,
)
from processing.steps import METRIC_UNITS, StepMetrics

T0_NS = 1_780_000_000_000_000_000  # 2026-05-28, epoch ns of t_s = 0


def a_step(**changes: object) -> StepMetrics:
    step = StepMetrics(
        t_ic_s=12.345678901,
        side="R",
        t_to_s=12.57,
        step_time_s=0.34,
        contact_time_s=0.22,
        flight_time_s=0.12,
        cadence_spm=176.5,
        pelvic_tilt_deg=9.5,
        pelvic_drop_deg=6.1,
        pelvic_rotation_deg=11.0,
        vertical_oscillation_m=0.081,
        braking_peak_mps2=14.2,
        braking_dv_mps=0.31,
        impact_peak_g=2.7,
        is_running=True,
    )
    return replace(step, **changes)  # type: ignore[arg-type]


def test_a_step_message_carries_every_numeric_column_of_steps_csv_and_epoch_times() -> None:
    message = step_message("ann", "2026-05-28_run", a_step(), T0_NS)
    payload = message.payload
    assert set(METRIC_UNITS) <= set(payload)
    assert payload["t_ic_ns"] == T0_NS + 12_345_678_901
    assert payload["t_ns"] == payload["t_ic_ns"]
    assert payload["t_to_ns"] == T0_NS + 12_570_000_000
    assert payload["side"] == "R"
    assert payload["is_running"] is True
    assert payload["pelvic_drop_deg"] == 6.1
    assert message.message_id == f"ann/2026-05-28_run/step/{T0_NS + 12_345_678_901}"
    assert message.topic == "posture/v1/ann/2026-05-28_run/step"
    assert (message.qos, message.retain) == (1, False)


def test_nan_travels_as_null() -> None:
    step = a_step(t_to_s=math.nan, contact_time_s=math.nan, pelvic_tilt_deg=math.nan, impact_peak_g=math.inf)
    payload = step_message("ann", "s1", step, T0_NS).payload
    assert payload["t_to_ns"] is None
    assert payload["contact_time_s"] is None
    assert payload["pelvic_tilt_deg"] is None
    assert payload["impact_peak_g"] is None


def test_the_same_step_gives_the_same_bytes_and_id_on_every_build() -> None:
    first = step_message("ann", "s1", a_step(), T0_NS)
    again = step_message("ann", "s1", a_step(), T0_NS)
    assert first.raw == again.raw
    assert first.message_id == again.message_id
    other = step_message("ann", "s1", a_step(t_ic_s=12.9, t_to_s=13.1), T0_NS)
    assert other.message_id != first.message_id


def test_an_absurd_value_is_refused_by_the_builder() -> None:
    with pytest.raises(InvalidMessage) as info:
        step_message("ann", "s1", a_step(pelvic_drop_deg=120.0), T0_NS)
    assert info.value.reason == "schema"
    assert "pelvic_drop_deg" in info.value.detail
    with pytest.raises(InvalidMessage):
        step_message("ann", "s1", a_step(step_time_s=7.0), T0_NS)
    with pytest.raises(InvalidMessage) as bad_id:
        step_message("ann/x", "s1", a_step(), T0_NS)
    assert bad_id.value.reason == "schema"


def test_open_and_close_of_one_event_share_start_and_differ_in_id() -> None:
    common: dict[str, Any] = {
        "rule": "pelvic_drop_high",
        "type": "level",
        "metric": "pelvic_drop_deg",
        "side": "L",
        "t_start_ns": T0_NS + 60_000_000_000,
        "severity": "warning",
        "value": 9.2,
        "threshold": 8.0,
        "advice": ["form.hips_level", "strength.glutes"],
        "message": "Keep your hips level",
    }
    opened = event_message("ann", "s1", state="open", t_end_ns=None, **common)
    closed = event_message("ann", "s1", state="closed", t_end_ns=T0_NS + 90_000_000_000, **common)
    assert opened.message_id == f"ann/s1/event/pelvic_drop_high/L/{T0_NS + 60_000_000_000}/open"
    assert closed.message_id.endswith("/closed")
    assert opened.payload["t_ns"] == closed.payload["t_ns"] == common["t_start_ns"]
    sideless = event_message(
        "ann",
        "s1",
        **{**common, "side": None},
        state="summary",
        t_end_ns=T0_NS + 10**12,
    )
    assert "/pelvic_drop_high/-/" in sideless.message_id


def test_an_open_event_has_no_end_and_a_closed_one_ends_after_it_starts() -> None:
    common: dict[str, Any] = {
        "rule": "cadence_falling",
        "type": "cadence",
        "metric": "cadence_spm",
        "side": None,
        "t_start_ns": T0_NS,
        "severity": "info",
        "value": None,
        "threshold": None,
        "advice": [],
        "message": "Quicken your steps",
    }
    with pytest.raises(InvalidMessage, match="open event"):
        event_message("ann", "s1", state="open", t_end_ns=T0_NS + 1, **common)
    with pytest.raises(InvalidMessage, match="closed event"):
        event_message("ann", "s1", state="closed", t_end_ns=None, **common)
    with pytest.raises(InvalidMessage, match="precede"):
        event_message("ann", "s1", state="closed", t_end_ns=T0_NS - 1, **common)


def test_live_status_and_summary_messages_validate() -> None:
    live = live_message(
        "ann",
        "s1",
        t_ns=T0_NS,
        pelvic_tilt_deg=8.0,
        pelvic_obliquity_deg=-2.5,
        pelvic_rotation_deg=4.0,
        cadence_spm=None,
    )
    assert (live.qos, live.retain) == (0, False)
    assert live.message_id == f"ann/s1/live/{T0_NS}"
    status = status_message("ann", "s1", t_ns=T0_NS, state="running", connected=True, battery_pct=87)
    assert (status.qos, status.retain) == (1, True)
    assert status.message_id == f"ann/s1/status/{T0_NS}/running"
    summary = summary_message(
        "ann",
        "s1",
        t_ns=T0_NS + 3_600 * 10**9,
        started_ns=T0_NS,
        duration_s=3600.0,
        steps_total=10_000,
        steps_left=5_000,
        steps_right=4_999,
        steps_running=9_800,
        cadence_spm=170.2,
        distance_m=10_100.0,
        events={"level": 2, "summary": 1},
        metrics={
            "pelvic_drop_deg": MetricSummary(6.0, 5.5, 6.5, 1.0, 16.7, "R"),
            "pelvic_tilt_deg": MetricSummary(9.0, 9.0, 9.0, 0.0, math.nan, "even"),
        },
    )
    assert summary.message_id == "ann/s1/summary"
    assert summary.payload["metrics"]["pelvic_tilt_deg"]["si_pct"] is None
    for message in (live, status, summary):
        assert decode(message.topic, message.raw) == message


def test_a_summary_with_more_sided_steps_than_steps_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="exceed"):
        summary_message(
            "ann",
            "s1",
            t_ns=T0_NS,
            started_ns=T0_NS,
            duration_s=1.0,
            steps_total=2,
            steps_left=2,
            steps_right=1,
            steps_running=0,
            cadence_spm=None,
            distance_m=None,
            events={},
            metrics={},
        )


finite_or_nan = st.one_of(st.floats(min_value=0.0, max_value=5.0), st.just(math.nan))
angle = st.one_of(st.floats(min_value=-90.0, max_value=90.0), st.just(math.nan))


@settings(max_examples=200, deadline=None)
@given(
    t_ic_s=st.floats(min_value=0.0, max_value=1e6),
    side=st.sampled_from(["L", "R"]),
    contact_time_s=finite_or_nan,
    step_time_s=st.floats(min_value=1e-3, max_value=5.0),
    tilt=angle,
    drop=angle,
    t0_ns=st.integers(min_value=0, max_value=4_000_000_000 * 10**9),
)
def test_any_plausible_step_round_trips_with_nan_as_none(
    t_ic_s: float, side: str, contact_time_s: float, step_time_s: float, tilt: float, drop: float, t0_ns: int
) -> None:
    step = a_step(
        t_ic_s=t_ic_s,
        side=side,
        t_to_s=t_ic_s + (0.0 if math.isnan(contact_time_s) else contact_time_s),
        step_time_s=step_time_s,
        contact_time_s=contact_time_s,
        pelvic_tilt_deg=tilt,
        pelvic_drop_deg=drop,
    )
    message = step_message("ann", "s1", step, t0_ns)
    assert decode(message.topic, message.raw) == message
    assert message.payload["pelvic_tilt_deg"] == (None if math.isnan(tilt) else tilt)
    assert message.payload["contact_time_s"] == (None if math.isnan(contact_time_s) else contact_time_s)
    assert message.message_id == step_message("ann", "s1", step, t0_ns).message_id
