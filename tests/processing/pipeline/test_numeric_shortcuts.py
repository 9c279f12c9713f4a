"""The pipeline's shortcuts give numpy's numbers to the bit (the outputs must not depend on them)."""

from __future__ import annotations

import numpy as np
import pytest

from processing.pipeline.streaming import _unwrap_deg


@pytest.mark.parametrize("seed", range(5))
def test_heading_unwrap_is_numpys_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    turning = np.cumsum(rng.standard_normal(3000) * 5.0)  # many wraps, some steps of exactly 180 deg below
    wrapped = np.degrees(np.arctan2(np.sin(np.radians(turning)), np.cos(np.radians(turning))))
    wrapped[::97] = np.round(wrapped[::97] / 180.0) * 180.0
    column = np.empty((wrapped.shape[0], 9))
    column[:, 8] = wrapped  # a strided column, as the pipeline reads it
    assert np.array_equal(_unwrap_deg(column[:, 8]), np.unwrap(column[:, 8], period=360.0))
    assert np.array_equal(_unwrap_deg(wrapped[:1]), np.unwrap(wrapped[:1], period=360.0))
