"""Our reading of Grafana: variable and macro substitution for InfluxQL, the interval, and alert evaluation.

The cases are Grafana's own behaviour as its sources state it (see `dashboards.grafana.emulation`); anything
the emulation does not know is refused loudly rather than guessed.
"""

from __future__ import annotations

import pytest

from dashboards.grafana.emulation import (
    AlertTimeline,
    EmulationError,
    Labels,
    Numbers,
    TimeRange,
    calculate_interval_ms,
    evaluate_condition,
    evaluate_math,
    expand_macros,
    format_interval,
    interpolate,
    interpolate_variables,
    parse_duration_s,
    round_interval_ms,
)
from posture.localstack.influxdb import Series

S = 10**9
RANGE = TimeRange(1_796_000_000_123_456_789, 1_796_000_300_987_654_321)


def test_time_filter_is_both_ends_in_whole_milliseconds_included() -> None:
    query = expand_macros('SELECT x FROM "m" WHERE $timeFilter', time_range=RANGE, interval_ms=1000)
    assert query == 'SELECT x FROM "m" WHERE time >= 1796000000123ms and time <= 1796000300987ms'


@pytest.mark.parametrize(
    ("interval_ms", "text"),
    [
        (1, "1ms"),
        (500, "500ms"),
        (1000, "1s"),
        (15_000, "15s"),
        (90_000, "1m"),
        (7_200_000, "2h"),
        (86_400_000, "1d"),
    ],
)
def test_interval_macros_are_grafanas_text_and_milliseconds(interval_ms: int, text: str) -> None:
    assert format_interval(interval_ms) == text
    query = "GROUP BY time($__interval) -- $interval $__interval_ms"
    assert expand_macros(query, time_range=RANGE, interval_ms=interval_ms) == (
        f"GROUP BY time({text}) -- {text} {interval_ms}"
    )


@pytest.mark.parametrize(
    ("raw_ms", "rounded_ms"), [(5, 1), (12, 10), (300, 200), (1_400, 1_000), (16_000, 15_000)]
)
def test_the_interval_is_rounded_down_to_a_nice_step(raw_ms: float, rounded_ms: int) -> None:
    assert round_interval_ms(raw_ms) == rounded_ms


def test_the_interval_is_the_range_over_the_points_and_at_least_the_floor() -> None:
    five_minutes = TimeRange(0, 300 * S)
    assert calculate_interval_ms(five_minutes) == 200  # 300 ms per point, rounded
    assert calculate_interval_ms(five_minutes, min_interval_ms=1000) == 1000
    assert calculate_interval_ms(TimeRange(0, 90 * 86_400 * S)) == 7_200_000


def test_variables_are_substituted_regex_escaped_in_every_syntax() -> None:
    query = '"a" =~ /^$athlete$/ AND "s" =~ /^${session}$/ AND "m" = \'[[metric]]\' AND raw = ${session:raw}'
    got = interpolate_variables(query, {"athlete": "alex", "session": "run.1/x", "metric": "pelvic_drop_deg"})
    assert got == '"a" =~ /^alex$/ AND "s" =~ /^run\\.1\\/x$/ AND "m" = \'pelvic_drop_deg\' AND raw = run.1/x'


def test_grafanas_own_names_are_left_for_the_backend_and_unknown_ones_refused() -> None:
    assert interpolate_variables("$timeFilter $__interval", {}) == "$timeFilter $__interval"
    with pytest.raises(EmulationError, match=r"\$athlete"):
        interpolate_variables("$athlete", {})
    with pytest.raises(EmulationError, match="not an InfluxQL macro"):
        expand_macros("WHERE $__timeFilter", time_range=RANGE, interval_ms=1000)
    with pytest.raises(EmulationError, match=r"\$__range"):
        interpolate("WHERE $__range", variables={}, time_range=RANGE, interval_ms=1000)


def test_durations() -> None:
    assert parse_duration_s("0s") == 0
    assert parse_duration_s("1m30s") == 90
    assert parse_duration_s("10s") == 10
    with pytest.raises(EmulationError):
        parse_duration_s("1 minute")


X: Labels = (("athlete", "x"),)
Y: Labels = (("athlete", "y"),)
Z: Labels = (("athlete", "z"),)


def test_math_pairs_numbers_with_equal_labels() -> None:
    a: Numbers = {X: 6.0, Y: 5.0}
    b: Numbers = {X: 9.0, Z: 1.0}
    assert evaluate_math("$B - $A", {"A": a, "B": b}) == {X: 3.0}
    assert evaluate_math("100 * ($B - $A) / (0.5 * ($B + $A))", {"A": a, "B": b}) == {X: pytest.approx(40.0)}
    assert evaluate_math("abs($A - 7) > 1.5", {"A": a}) == {X: 0.0, Y: 1.0}


def _rule(threshold: float, kind: str, for_: str = "0s", reducer: str = "last") -> dict[str, object]:
    return {
        "condition": "C",
        "for": for_,
        "noDataState": "OK",
        "data": [
            {
                "refId": "A",
                "datasourceUid": "influx",
                "relativeTimeRange": {"from": 300, "to": 0},
                "model": {"query": 'SELECT v FROM "m" WHERE $timeFilter GROUP BY "who"'},
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {
                    "type": "reduce",
                    "expression": "A",
                    "reducer": reducer,
                    "settings": {"mode": "dropNN"},
                },
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": kind, "params": [threshold]}}],
                },
            },
        ],
    }


def _answer(values: list[float | None]) -> list[Series]:
    rows = tuple((k, v) for k, v in enumerate(values))
    return [Series("m", (("who", "x"),), ("time", "v"), rows)]


def test_a_rule_reduces_each_series_then_compares_with_its_threshold() -> None:
    seen: list[str] = []

    def run(query: str) -> list[Series]:
        seen.append(query)
        return _answer([1.0, None, 5.0, 3.0])

    assert evaluate_condition(_rule(4.0, "gt", reducer="max"), now_ns=600 * S, run_query=run) == {
        (("who", "x"),): 1.0
    }
    assert evaluate_condition(_rule(4.0, "gt", reducer="mean"), now_ns=600 * S, run_query=run) == {
        (("who", "x"),): 0.0
    }
    assert evaluate_condition(_rule(2.0, "lt", reducer="last"), now_ns=600 * S, run_query=run) == {
        (("who", "x"),): 0.0
    }
    assert seen[0] == 'SELECT v FROM "m" WHERE time >= 300000ms and time <= 600000ms GROUP BY "who"'
    assert evaluate_condition(_rule(0.0, "gt"), now_ns=S, run_query=lambda q: []) is None, "no data"


def test_an_instance_alerts_only_after_its_condition_held_for_the_rules_for() -> None:
    values = iter([5.0, 5.0, 1.0, 5.0, 5.0, 5.0, 5.0])
    timeline = AlertTimeline(_rule(4.0, "gt", for_="20s"))
    timeline.run(start_ns=0, end_ns=60 * S, interval_s=10.0, run_query=lambda q: _answer([next(values)]))
    assert [s.state for s in timeline.states] == [
        "Pending",
        "Pending",
        "Normal",
        "Pending",
        "Pending",
        "Alerting",
        "Alerting",
    ]
    assert [s.t_ns for s in timeline.firing] == [50 * S, 60 * S]


def test_no_data_takes_the_rules_no_data_state() -> None:
    timeline = AlertTimeline(_rule(4.0, "gt"))
    (state,) = timeline.evaluate(S, lambda q: [])
    assert state.state == "Normal"  # noDataState OK
