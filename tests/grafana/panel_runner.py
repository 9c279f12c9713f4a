"""Running a provisioned panel's queries the way Grafana would (see `dashboards.grafana.emulation`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from dashboards.grafana import DEFAULT_ROOT
from dashboards.grafana.emulation import (
    DEFAULT_MAX_DATA_POINTS,
    Numbers,
    TimeRange,
    calculate_interval_ms,
    evaluate_math,
    interpolate,
    parse_duration_s,
    reduce_series,
)
from posture.localstack.influxdb import InfluxDB, Series


def datasource_min_interval_ms() -> int:
    """The datasource's ``timeInterval`` (Grafana's floor for ``$__interval``), from the provisioned file."""
    document = yaml.safe_load((DEFAULT_ROOT / "datasources/posture.yaml").read_text(encoding="utf-8"))
    return round(parse_duration_s(document["datasources"][0]["jsonData"]["timeInterval"]) * 1000)


@dataclass(frozen=True)
class View:
    """What the dashboard is showing: the variables' values and the time range (epoch ns)."""

    variables: Mapping[str, str]
    time_range: TimeRange
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_variable(self, name: str, value: str) -> View:
        return View({**self.variables, name: value}, self.time_range)


def interval_ms(panel: Mapping[str, Any], view: View) -> int:
    """``$__interval`` of `panel` over the view's range (its own ``interval`` and the datasource's floor)."""
    floor_ms = max(round(parse_duration_s(panel.get("interval", "0s")) * 1000), datasource_min_interval_ms())
    max_points = int(panel.get("maxDataPoints", DEFAULT_MAX_DATA_POINTS))
    return calculate_interval_ms(view.time_range, max_data_points=max_points, min_interval_ms=floor_ms)


def final_query(panel: Mapping[str, Any], query: str, view: View) -> str:
    """The InfluxQL Grafana sends for one of the panel's queries."""
    return interpolate(
        query, variables=view.variables, time_range=view.time_range, interval_ms=interval_ms(panel, view)
    )


def run_panel(db: InfluxDB, panel: Mapping[str, Any], view: View) -> dict[str, tuple[Series, ...]]:
    """Every InfluxDB query of the panel, run: its series by refId."""
    return {
        t["refId"]: db.query(final_query(panel, t["query"], view))
        for t in panel["targets"]
        if t.get("datasource", {}).get("type") != "__expr__"
    }


def panel_numbers(db: InfluxDB, panel: Mapping[str, Any], view: View) -> Numbers:
    """A gauge's value: each query reduced to its last value, then the panel's math expression."""
    results = {ref: reduce_series(series, "last") for ref, series in run_panel(db, panel, view).items()}
    (expression,) = [t for t in panel["targets"] if t.get("datasource", {}).get("type") == "__expr__"]
    assert expression["type"] == "math"
    return evaluate_math(expression["expression"], results)


def zone_color(panel: Mapping[str, Any], value: float) -> str:
    """The colour Grafana gives `value` by the panel's absolute thresholds (the last step it reaches)."""
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    color = steps[0]["color"]
    for step in steps[1:]:
        if value >= step["value"]:
            color = step["color"]
    return str(color)


def rows(series: tuple[Series, ...]) -> list[dict[str, object]]:
    """The rows of a one-series answer (none when InfluxDB found nothing)."""
    if not series:
        return []
    (one,) = series
    return one.rows()
