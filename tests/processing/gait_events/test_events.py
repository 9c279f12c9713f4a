"""GaitEvents validates itself and derives step and contact times."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from processing.gait_events import GaitEvents


def _events(ic: list[float], bout: list[int] | None = None) -> GaitEvents:
    n = len(ic)
    return GaitEvents(
        ic_s=np.array(ic),
        to_s=np.array(ic) + 0.2,
        side=np.array(["L", "R"] * (n // 2) + ["L"] * (n % 2)),
        side_score=np.zeros(n),
        bout_id=np.array(bout if bout is not None else [0] * n, dtype=np.int64),
        activity=np.array(["running"] * n),
    )


def test_step_time_is_nan_across_bouts_and_at_the_end() -> None:
    ev = _events([0.0, 0.35, 0.70, 3.0], bout=[0, 0, 0, 1])
    np.testing.assert_allclose(ev.step_time_s, [0.35, 0.35, np.nan, np.nan])
    np.testing.assert_allclose(ev.contact_time_s, 0.2)


def test_unsorted_contacts_are_refused() -> None:
    with pytest.raises(ValueError, match="increasing"):
        _events([0.5, 0.2])


def test_unknown_side_is_refused() -> None:
    ev = _events([0.0, 0.4])
    with pytest.raises(ValueError, match="side"):
        GaitEvents(ev.ic_s, ev.to_s, np.array(["L", "X"]), ev.side_score, ev.bout_id, ev.activity)


def test_shift_moves_every_time() -> None:
    ev = _events([0.0, 0.4]).shifted(10.0)
    np.testing.assert_allclose(ev.ic_s, [10.0, 10.4])
    np.testing.assert_allclose(ev.to_s, [10.2, 10.6])


def test_empty_is_valid() -> None:
    assert len(GaitEvents.empty()) == 0


def test_parity_groups_of_another_length_are_refused() -> None:
    ev = _events([0.0, 0.4])
    with pytest.raises(ValueError, match="parity_group"):
        replace(ev, parity_group=np.zeros(3, dtype=np.int64))


def test_parity_groups_follow_the_events_to_another_time_axis() -> None:
    ev = replace(_events([0.0, 0.4, 3.0], bout=[0, 0, 1]), parity_group=np.array([0, 0, 1]))
    assert ev.shifted(5.0).parity_group is ev.parity_group
    t_s = 100.0 + np.arange(500) / 100.0
    assert ev.on_sample_times(t_s, 100.0).parity_group is ev.parity_group
