"""The headline's rules on hand-made runs: what went well, what to work on (posture/report/headline.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest

from posture.report.drift import SideDrift
from posture.report.headline import (
    MAX_WORK_ON,
    NO_STEPS,
    UNEVEN_DIFF_DEG,
    UNEVEN_SI_PCT,
    Headline,
    drift_verdict,
    headline,
    side_verdict,
)
from posture.report.run import FormEvent, MetricSummary, RunSummary
from processing.asymmetry import METRIC_DIRECTIONS
from processing.steps import Side

NOTHING_STOOD_OUT = "Nothing stood out in this run: keep running the way you did."


def even(metric: str, mean: float) -> MetricSummary:
    """Left and right within a hair of each other."""
    left, right = 0.999 * mean, 1.001 * mean
    si = 100 * (right - left) / (0.5 * (right + left))
    return MetricSummary(metric, mean, left, right, right - left, si, "R")


def ratio(metric: str, left: float, right: float) -> MetricSummary:
    si = 100 * (right - left) / (0.5 * (right + left))
    worse: Side = "R" if (right > left) == METRIC_DIRECTIONS[metric][1] else "L"
    return MetricSummary(metric, 0.5 * (left + right), left, right, right - left, si, worse)


def angle(metric: str, left: float, right: float, worse: Side | None) -> MetricSummary:
    return MetricSummary(metric, 0.5 * (left + right), left, right, right - left, math.nan, worse)


EVEN_METRICS = (
    even("step_time_s", 0.35),
    even("contact_time_s", 0.24),
    even("flight_time_s", 0.11),
    even("pelvic_tilt_deg", 4.0),
    even("pelvic_drop_deg", 5.0),
    even("pelvic_rotation_deg", 12.0),
    even("vertical_oscillation_m", 0.09),
    even("braking_peak_mps2", 3.3),
    even("braking_dv_mps", 0.22),
    even("impact_peak_g", 2.6),
)


def run_of(*changed: MetricSummary) -> RunSummary:
    """A clean 5-minute run with the given metrics replacing their even versions."""
    by_name = {m.metric: m for m in changed}
    metrics = tuple(by_name.get(m.metric, m) for m in EVEN_METRICS)
    return RunSummary("run.csv", 305.0, 850, 849, 170.3, metrics)


def alert(
    metric: str | None, t_start_s: float, *, severity: str = "warning", advice: tuple[str, ...] = ()
) -> FormEvent:
    return FormEvent(
        rule=f"{metric}_rule",
        type="asymmetry",
        metric=metric,
        side="L",
        t_start_s=t_start_s,
        t_end_s=math.nan,
        severity=severity,
        advice=advice,
        message=f"Message about {metric}.",
    )


@dataclass(frozen=True)
class Item:
    title: str
    cue: str
    explanation: str
    category: str


def steady_drifts() -> tuple[SideDrift, ...]:
    sides: tuple[Side, Side] = ("L", "R")
    return tuple(SideDrift(m.metric, side, m.mean, m.mean) for m in EVEN_METRICS for side in sides)


def test_a_clean_run_went_well_everywhere_and_has_nothing_to_work_on() -> None:
    h = headline(run_of(), alerts=(), drifts=steady_drifts())
    assert h.went_well == (
        "Left and right were even in every measure.",
        "Your form held steady from the first minutes to the end of the run.",
        "No form alerts during the run.",
    )
    assert h.work_on == (NOTHING_STOOD_OUT,)
    assert h.summary == "5:05 of recording, 850 steps, 170 steps/min."


def test_a_run_too_short_for_drift_claims_nothing_about_steadiness() -> None:
    h = headline(run_of(), alerts=())
    assert not any("steady" in line for line in h.went_well)


def test_uneven_pelvic_drop_names_the_stance_side_and_the_sagging_hip() -> None:
    h = headline(run_of(angle("pelvic_drop_deg", 8.0, 5.0, "L")), alerts=())
    assert h.work_on == ("Pelvic drop: 3.0° more when standing on your left leg (right hip sags).",)
    assert "pelvic drop" not in h.went_well[0]
    assert h.went_well[0].startswith("Left and right were even: step time, ground contact time, ")


def test_uneven_timing_is_given_as_a_percentage_of_the_two_sides() -> None:
    h = headline(run_of(ratio("contact_time_s", 0.230, 0.255)), alerts=())
    assert h.work_on == ("Ground contact time: 10 % more on right steps.",)


def test_a_metric_where_less_is_worse_says_less() -> None:
    h = headline(run_of(ratio("flight_time_s", 0.100, 0.115)), alerts=())
    assert h.work_on == ("Flight time: 14 % less on left steps.",)


def test_a_slight_difference_is_neither_praised_nor_flagged() -> None:
    slight = ratio("contact_time_s", 0.240, 0.252)  # SI 4.9 %: between the balanced and the red zone
    assert side_verdict(slight) == "slight"
    h = headline(run_of(slight), alerts=())
    assert h.work_on == (NOTHING_STOOD_OUT,)
    assert "ground contact time" not in h.went_well[0]


def test_a_difference_the_summary_calls_even_is_even_however_large() -> None:
    # summary.json's worse_side "even": the difference is within its uncertainty
    within_noise = angle("pelvic_drop_deg", 8.0, 5.0, None)
    assert side_verdict(within_noise) == "even"
    assert headline(run_of(within_noise), alerts=()).work_on == (NOTHING_STOOD_OUT,)


@pytest.mark.parametrize(
    ("left", "right", "verdict"),
    [(5.0, 5.0 + UNEVEN_DIFF_DEG, "slight"), (5.0, 5.01 + UNEVEN_DIFF_DEG, "uneven"), (5.0, 5.9, "even")],
)
def test_angle_thresholds(left: float, right: float, verdict: str) -> None:
    assert side_verdict(angle("pelvic_rotation_deg", left, right, "R")) == verdict


def test_ratio_threshold_is_garmins_red_zone() -> None:
    # a left share of 52.3 % of the contact time: Garmin's red zone starts beyond 52.2 %
    share = 0.523
    left, right = share, 1 - share
    m = ratio("contact_time_s", left, right)
    assert abs(m.si_pct) > UNEVEN_SI_PCT
    assert side_verdict(m) == "uneven"


def test_an_alert_leads_with_its_advice_cue_side_and_time() -> None:
    catalog = {"hips_level": Item("Level hips", "Keep your hips level", "Why.", "form")}
    h = headline(run_of(), alerts=(alert("pelvic_drop_deg", 150.4, advice=("hips_level",)),), advice=catalog)
    assert h.work_on == (
        "Keep your hips level: pelvic drop when standing on your left leg (right hip sags); at 2:30.",
    )
    assert "No form alerts during the run." not in h.went_well


def test_an_alert_without_catalog_advice_shows_its_own_message() -> None:
    h = headline(run_of(), alerts=(alert("contact_time_s", 65.0, advice=("unknown_id",)),))
    assert h.work_on == ("Message about contact_time_s: ground contact time on left steps; at 1:05.",)


def test_alerts_on_one_metric_make_one_line_led_by_the_most_pressing() -> None:
    late_high = replace(alert("pelvic_drop_deg", 200.0, severity="high"), message="Pressing.")
    early_info = replace(alert("pelvic_drop_deg", 100.0, severity="info"), message="Mild.")
    h = headline(run_of(), alerts=(early_info, late_high))
    assert h.work_on == (
        "Pressing: pelvic drop when standing on your left leg (right hip sags); 2 alerts, the first at 1:40.",
    )


def test_the_summary_event_is_not_an_alert() -> None:
    summary_event = replace(alert(None, 0.0), type="summary", message="One line about the run.")
    h = headline(run_of(), alerts=(summary_event,))
    assert h.work_on == (NOTHING_STOOD_OUT,)
    assert "No form alerts during the run." in h.went_well


def test_a_side_that_drifts_the_wrong_way_is_named_with_its_start_and_end() -> None:
    drifts = (
        *steady_drifts()[2:],
        SideDrift("step_time_s", "L", 0.35, 0.35),
        SideDrift("pelvic_drop_deg", "L", 6.7, 10.5),
        SideDrift("pelvic_drop_deg", "R", 4.9, 5.0),
    )
    h = headline(run_of(angle("pelvic_drop_deg", 8.6, 4.9, "L")), alerts=(), drifts=drifts)
    # the drift tells more than the asymmetry (when it started): one line for the metric, not two
    assert h.work_on == (
        "Pelvic drop when standing on your left leg (right hip sags) rose from 6.7° in your first minutes to "
        "10.5° by the end: a sign of tiring.",
    )
    assert not any("steady" in line for line in h.went_well)


def test_a_drift_in_a_time_is_given_with_its_percentage() -> None:
    drifts = (SideDrift("contact_time_s", "R", 0.240, 0.256),)
    h = headline(run_of(), alerts=(), drifts=drifts)
    assert h.work_on == (
        "Ground contact time on right steps rose from 240 ms in your first minutes to 256 ms (+7 %) by the "
        "end: a sign of tiring.",
    )


def test_a_drift_for_the_better_is_not_a_problem() -> None:
    assert drift_verdict(SideDrift("flight_time_s", "L", 0.100, 0.120)) == "better"
    assert drift_verdict(SideDrift("pelvic_drop_deg", "L", 7.0, 4.0)) == "better"
    assert drift_verdict(SideDrift("pelvic_drop_deg", "L", 7.0, 8.5)) == "steady"


def test_an_alerted_metric_is_not_repeated_as_a_drift_or_asymmetry() -> None:
    drifts = (SideDrift("pelvic_drop_deg", "L", 6.0, 10.0),)
    h = headline(
        run_of(angle("pelvic_drop_deg", 9.0, 5.0, "L")),
        alerts=(alert("pelvic_drop_deg", 150.0),),
        drifts=drifts,
    )
    assert len(h.work_on) == 1
    assert h.work_on[0].startswith("Message about pelvic_drop_deg: pelvic drop")


def test_at_most_a_few_things_to_work_on() -> None:
    lopsided = (
        ratio("step_time_s", 0.30, 0.36),
        ratio("contact_time_s", 0.20, 0.26),
        ratio("vertical_oscillation_m", 0.07, 0.10),
        ratio("braking_peak_mps2", 3.0, 4.0),
        ratio("impact_peak_g", 2.0, 3.0),
    )
    h = headline(run_of(*lopsided), alerts=())
    assert len(h.work_on) == MAX_WORK_ON
    assert h.work_on[0].startswith("Step time")


def test_a_run_where_nothing_went_well_still_counts() -> None:
    lopsided = tuple(
        ratio(m.metric, m.mean, 1.5 * m.mean) for m in EVEN_METRICS if not m.metric.endswith("_deg")
    )
    angles = tuple(
        angle(m.metric, m.mean, m.mean + 3.0, "R") for m in EVEN_METRICS if m.metric.endswith("_deg")
    )
    h = headline(run_of(*lopsided, *angles), alerts=(alert("pelvic_drop_deg", 10.0),))
    assert h.went_well == ("You got the run done: 850 steps in 5:05.",)


def test_a_headline_always_says_something_on_both_sides() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Headline("summary", went_well=(), work_on=("x",))


def test_an_alert_about_no_metric_names_what_it_is_about() -> None:
    load = replace(alert(None, 5.0), type="load", side=None, message="Build up your mileage gradually.")
    h = headline(run_of(), alerts=(load,))
    assert h.work_on == ("Build up your mileage gradually: weekly running load; at 0:05.",)


def test_a_recording_without_steps_says_so_and_claims_nothing_went_well() -> None:
    nothing = tuple(MetricSummary(m.metric, math.nan) for m in EVEN_METRICS)
    h = headline(RunSummary("run.csv", 65.0, 0, 0, math.nan, nothing), alerts=())
    assert h.summary == "1:05 of recording, no steps found."
    assert h.work_on == (NO_STEPS,)
    assert not any("alert" in line or "even" in line for line in h.went_well)
