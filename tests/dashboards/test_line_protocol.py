"""Line protocol by hand: equal to influxdb-client's `Point.to_line_protocol()`, exact on every float."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from dashboards.errors import InvalidPoint
from dashboards.line_protocol import FieldValue, encode_line, format_field

# Names as anyone might pick them, including every character line protocol escapes. A measurement starting
# with '#' would be a comment line (Point warns about it), and keys/values are non-empty (InfluxDB has no
# empty tag; Point drops them, as encode_line does).
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
_names = _text.filter(lambda s: not s.startswith("#"))
_field_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    measurement=_names,
    tags=st.dictionaries(_text, _text, max_size=4),
    fields=st.dictionaries(_text, _field_values, min_size=1, max_size=6),
    time_ns=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_a_line_equals_the_clients_point(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], time_ns: int
) -> None:
    point = Point(measurement).time(time_ns, WritePrecision.NS)
    for key, tag_value in tags.items():
        point.tag(key, tag_value)
    for key, value in fields.items():
        point.field(key, value)
    assert encode_line(measurement, tags, fields, time_ns) == point.to_line_protocol()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_is_written_with_its_shortest_round_trip_text(value: float) -> None:
    assert float(format_field(value)) == value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_float_is_refused_not_dropped(value: float) -> None:
    with pytest.raises(InvalidPoint) as caught:
        encode_line("m", {}, {"x": value}, 0)
    assert caught.value.reason == "non_finite"


def test_a_point_without_fields_is_refused() -> None:
    with pytest.raises(InvalidPoint) as caught:
        encode_line("m", {"a": "b"}, {"x": None}, 0)
    assert caught.value.reason == "no_fields"


def test_integers_booleans_and_strings_take_their_line_protocol_forms() -> None:
    line = encode_line("m", {"t": "v"}, {"i": 3, "b": True, "s": 'say "hi" \\', "f": 2.0}, 5)
    assert line == 'm,t=v b=true,f=2,i=3i,s="say \\"hi\\" \\\\" 5'
