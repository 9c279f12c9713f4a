"""Running IC through what carries the force to the sensor.

The detector's low-pass and second difference are symmetric: they spread a sharp corner both ways, so its
onset reads early and that lead is given back. A rise the body has already spread causally (the leg, soft
tissue, a clip on a soft strap) is moved much less by them; giving it a bare corner's lead times the contact
late, by more the softer the clip and the higher the rate. The share it gets is measured on the signal.
"""

from __future__ import annotations

import dataclasses

import pytest

from processing.evaluation.suite import evaluate_scenario
from processing.simulation import scenario_by_name


@pytest.mark.parametrize(("rate_hz", "bound_ms"), [(104.0, 9.0), (208.0, 5.0), (416.0, 5.0)])
def test_contacts_through_a_loose_clip_are_not_timed_late(rate_hz: float, bound_ms: float) -> None:
    # a 14 Hz, lightly damped strap: the curvature of the force's onset builds up over ~15 ms
    scenario = dataclasses.replace(scenario_by_name("loose_clip"), duration_s=40.0, sampling_rate_hz=rate_hz)
    events = evaluate_scenario(scenario).events
    assert events.ic_f1 >= 0.99
    assert events.median_abs_ic_error_s * 1000.0 <= bound_ms
