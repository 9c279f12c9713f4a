"""Reconnect backoff: exponential, capped, jitter only shortens, bad input rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensorlink.backoff import backoff_delay_s


def test_without_jitter_the_delay_doubles_from_the_base_until_the_cap() -> None:
    delays = [backoff_delay_s(n, jitter_unit=0.0, base_delay_s=0.25, max_delay_s=2.0) for n in range(6)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_jitter_removes_at_most_its_fraction() -> None:
    assert backoff_delay_s(2, jitter_unit=0.5, base_delay_s=1.0, jitter_fraction=0.5, max_delay_s=100) == 3.0


def test_a_very_long_outage_stays_at_the_cap_without_overflow() -> None:
    assert backoff_delay_s(100_000, jitter_unit=0.0, max_delay_s=8.0) == 8.0


@given(st.integers(0, 10_000), st.floats(0.0, 0.999999))
def test_the_delay_is_always_within_zero_and_the_cap(attempt: int, jitter: float) -> None:
    delay = backoff_delay_s(attempt, jitter_unit=jitter, max_delay_s=5.0)
    assert 0.0 <= delay <= 5.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempt": -1, "jitter_unit": 0.0},
        {"attempt": 0, "jitter_unit": 1.0},
        {"attempt": 0, "jitter_unit": -0.1},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        backoff_delay_s(**kwargs)  # type: ignore[arg-type]
