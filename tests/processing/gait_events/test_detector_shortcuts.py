"""What the detector's shortcut relies on: the walking gap filling returns only strong or weak candidates.

`GaitEventDetector.detect` skips the gap filling (and its side evidence and bend filter) when every strong
and weak candidate lies inside a running contact; that gives the same events only while the filled rhythm is
made of those candidates and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

from processing.gait_events.walking import fill_rhythm_gaps

FS = 100.0


@pytest.mark.parametrize("seed", range(20))
def test_the_filled_rhythm_holds_only_strong_and_weak_candidates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    step = rng.uniform(0.45, 0.9) * FS
    strong = np.cumsum(rng.normal(step, 0.03 * FS, 30))
    missed = rng.choice(np.arange(2, 28), size=4, replace=False)
    weak = np.sort(
        np.concatenate([strong[missed] + rng.normal(0, 0.02 * FS, 4), rng.uniform(0, strong[-1], 6)])
    )
    strong = np.delete(strong, missed)
    for evidence in (None, lambda c: np.where(np.arange(c.size) % 2 == 0, 1.0, -1.0)):
        filled = fill_rhythm_gaps(
            strong, weak, min_step_samples=0.25 * FS, max_step_samples=1.0 * FS, side_evidence=evidence
        )
        assert np.isin(filled, np.concatenate([strong, weak])).all()
        assert np.isin(strong, filled).all()
        if evidence is None:
            assert filled.size > strong.size  # some missed steps were filled: the check is not vacuous
