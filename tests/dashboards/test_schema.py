"""The storage schema: one name per thing, typed fields, and points that overwrite themselves on replay."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboards.errors import InvalidPoint
from dashboards.line_protocol import encode_line
from dashboards.schema import (
    EVENT,
    LIVE,
    MEASUREMENTS,
    RUN_HISTORY,
    SESSION_STATUS,
    SESSION_SUMMARY,
    STEP,
    FieldKind,
    Tag,
    lines_for,
    summary_event_count_field,
    summary_metric_field,
)
from posture.localstack.influxdb import InfluxDB
from processing.steps import METRIC_UNITS

T0 = 1_780_000_000_000_000_000


def step_payload(t_ic_ns: int = T0, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "schema": "posture.step/1",
        "message_id": f"alex/s1/step/{t_ic_ns}",
        "athlete": "alex",
        "session": "s1",
        "t_ns": t_ic_ns,
        "t_ic_ns": t_ic_ns,
        "side": "L",
        "t_to_ns": t_ic_ns + 250_000_000,
        "is_running": True,
        **{name: 0.1 + i for i, name in enumerate(METRIC_UNITS)},
    }
    payload["cadence_spm"] = 180  # a JSON integer in a float field
    payload.update(overrides)
    return payload


def event_payload(state: str, t_end_ns: int | None, value: float) -> dict[str, Any]:
    return {
        "schema": "posture.event/1",
        "message_id": f"alex/s1/event/drop_high/R/{T0}/{state}",
        "athlete": "alex",
        "session": "s1",
        "t_ns": T0 if t_end_ns is None else t_end_ns,
        "rule": "drop_high",
        "type": "level",
        "metric": "pelvic_drop_deg",
        "side": "R",
        "t_start_ns": T0,
        "t_end_ns": t_end_ns,
        "state": state,
        "severity": "warning",
        "value": value,
        "threshold": 8.0,
        "advice": ["glute_med", "cadence_up"],
        "message": 'Hips "level": squeeze the glute',
    }


def summary_payload(made_ns: int) -> dict[str, Any]:
    stats = {"mean": 6.5, "left_mean": 6.0, "right_mean": 7.0, "right_minus_left": 1.0, "si_pct": 15.4}
    return {
        "schema": "posture.summary/1",
        "message_id": "alex/s1/summary",
        "athlete": "alex",
        "session": "s1",
        "t_ns": made_ns,
        "started_ns": T0,
        "duration_s": 600.0,
        "steps_total": 1800,
        "steps_left": 900,
        "steps_right": 900,
        "steps_running": 1700,
        "cadence_spm": 172.5,
        "distance_m": 1650.0,
        "events": {"level": 2, "summary": 1},
        "metrics": {"pelvic_drop_deg": {**stats, "worse_side": "R"}},
    }


def test_no_measurement_tag_or_field_is_named_twice() -> None:
    names = [m.name for m in MEASUREMENTS]
    assert len(set(names)) == len(names)
    for measurement in MEASUREMENTS:
        field_names = [f.name for f in measurement.fields]
        assert len(set(field_names)) == len(field_names)
        assert not set(field_names) & {t.value for t in measurement.tag_keys}


def test_the_step_measurement_carries_every_numeric_steps_csv_column_with_its_unit_in_the_name() -> None:
    for column in METRIC_UNITS:
        assert STEP.kind_of(column) is FieldKind.FLOAT
    assert STEP.tag_keys == (Tag.ATHLETE, Tag.SESSION, Tag.SIDE)


def test_a_misspelt_field_fails_when_a_query_is_built() -> None:
    with pytest.raises(KeyError, match="pelvic_drop_deg"):
        STEP.field("pelvic_drop")


def test_a_step_is_one_point_at_its_initial_contact_with_floats_cast_to_float() -> None:
    (line,) = lines_for("step", step_payload())
    assert line.startswith("step,athlete=alex,session=s1,side=L ")
    assert line.endswith(f" {T0}")
    assert "cadence_spm=180," in line
    assert "cadence_spm=180i" not in line
    assert f"t_to_ns={T0 + 250_000_000}i" in line
    assert "is_running=true" in line


def test_a_null_value_leaves_its_field_out() -> None:
    (line,) = lines_for("step", step_payload(pelvic_tilt_deg=None, t_to_ns=None))
    assert "pelvic_tilt_deg" not in line
    assert "t_to_ns" not in line


def test_a_live_sample_without_any_angle_has_nothing_to_store() -> None:
    payload = {"athlete": "a", "session": "s", "t_ns": T0, "pelvic_tilt_deg": None}
    assert lines_for("live", payload) == ()


def test_a_field_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidPoint):
        lines_for("step", step_payload(is_running="yes"))


def test_an_events_close_lands_on_the_point_of_its_open() -> None:
    (opened,) = lines_for("event", event_payload("open", None, 9.1))
    (closed,) = lines_for("event", event_payload("closed", T0 + 30_000_000_000, 9.4))
    key = opened.split(" ")[0], opened.rsplit(" ", 1)[1]
    assert (closed.split(" ")[0], closed.rsplit(" ", 1)[1]) == key
    assert key[0] == "event,athlete=alex,event_type=level,rule=drop_high,session=s1,severity=warning,side=R"


def test_a_summary_is_stamped_with_the_runs_start_so_a_replay_overwrites_it() -> None:
    run = lines_for("summary", summary_payload(made_ns=T0 + 700_000_000_000))
    replay = lines_for("summary", summary_payload(made_ns=T0 + 9_000_000_000_000))
    assert run == replay
    summary, history = run
    assert summary.startswith(f"{SESSION_SUMMARY.name},athlete=alex,session=s1 ")
    assert f"{summary_metric_field('pelvic_drop_deg', 'si_pct')}=15.4" in summary
    assert 'pelvic_drop_deg_worse_side="R"' in summary
    assert "events_level=2i" in summary
    assert history.startswith(f"{RUN_HISTORY.name},athlete=alex ")
    assert 'session="s1"' in history


def test_influxdb_stores_every_field_with_the_declared_type(influxdb: InfluxDB) -> None:
    status = {
        "athlete": "alex",
        "session": "s1",
        "t_ns": T0,
        "state": "running",
        "connected": True,
        "battery_pct": 80,
        "rssi_dbm": -60,
        "packet_loss_rate": 0.01,
        "samples_lost": 3,
        "reconnects": 0,
        "outbox_pending": 0,
    }
    live = {"athlete": "alex", "session": "s1", "t_ns": T0, **{f.name: 1.0 for f in LIVE.fields}}
    lines = [
        *lines_for("step", step_payload()),
        *lines_for("event", event_payload("closed", T0 + 1, 9.0)),
        *lines_for("summary", summary_payload(T0)),
        *lines_for("status", status),
        *lines_for("live", live),
    ]
    influxdb.write_v1("\n".join(lines))
    for measurement in (LIVE, STEP, EVENT, SESSION_STATUS, SESSION_SUMMARY, RUN_HISTORY):
        (series,) = influxdb.query(f'SHOW FIELD KEYS FROM "{measurement.name}"')
        stored = {str(row["fieldKey"]): row["fieldType"] for row in series.rows()}
        declared = {f.name: f.kind.value for f in measurement.fields}
        if measurement is SESSION_SUMMARY:  # plus one count per event type
            declared |= {summary_event_count_field(t): "integer" for t in ("level", "summary")}
        assert stored == {name: declared[name] for name in stored}


def test_strings_and_floats_come_back_from_influxdb_exactly(influxdb: InfluxDB) -> None:
    nasty = ['a "quoted" word', "back\\slash", "comma, space = equals", "ünïcødé ✓", "trailing \\"]
    values = [0.1, 1e-300, 123456789.123456789, -0.0, 5e-324, 1.7976931348623157e308, 2.0]
    for i, (text, value) in enumerate(zip(nasty, values, strict=False)):
        payload = event_payload("open", None, value) | {"message": text, "t_start_ns": T0 + i}
        influxdb.write_v1("\n".join(lines_for("event", payload)))
    (series,) = influxdb.query(f'SELECT "message", "value" FROM "{EVENT.name}"')
    got = [(row["message"], row["value"]) for row in series.rows()]
    assert got == list(zip(nasty, values, strict=False))


_finite_or_null = st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)


@settings(max_examples=200, deadline=None)
@given(
    values=st.fixed_dictionaries({name: _finite_or_null for name in METRIC_UNITS}),
    t_ic_ns=st.integers(0, 2**63 - 1),
    t_to_ns=st.none() | st.integers(0, 2**63 - 1),
    side=st.sampled_from(["L", "R"]),
    is_running=st.booleans(),
)
def test_the_fast_step_line_equals_the_general_encoder(
    values: dict[str, float | int | None], t_ic_ns: int, t_to_ns: int | None, side: str, is_running: bool
) -> None:
    payload = step_payload(t_ic_ns, side=side, t_to_ns=t_to_ns, is_running=is_running, **values)
    fields = {f.name: payload[f.source] for f in STEP.fields}
    fields = {
        k: float(v) if STEP.kind_of(k) is FieldKind.FLOAT and v is not None else v for k, v in fields.items()
    }
    expected = encode_line(STEP.name, {"athlete": "alex", "session": "s1", "side": side}, fields, t_ic_ns)
    assert lines_for("step", payload) == (expected,)
