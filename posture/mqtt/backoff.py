"""How long to wait before the next connection attempt: a pure function, so it is tested without a broker."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["backoff_s"]


def backoff_s(
    attempt: int,
    *,
    initial_s: float,
    max_s: float,
    jitter: float = 0.2,
    uniform: Callable[[], float] = random.random,
) -> float:
    """Exponential backoff with a cap and a little jitter.

    Parameters
    ----------
    attempt : int
        Failed attempts so far in a row (0 for the wait after the first failure).
    initial_s, max_s : float, s
        The first wait, and the largest.
    jitter : float
        Fraction of the wait taken off at random (0..jitter), so many clients that lost one broker do not all
        come back in the same instant.
    uniform : callable
        Source of numbers in [0, 1); tests pass a constant.

    Returns
    -------
    float, s
        `min(max_s, initial_s * 2**attempt) * (1 - jitter * uniform())`.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    # 2**attempt overflows a float after ~1000 failures; the cap is reached long before.
    wait_s = max_s if attempt > 60 else min(max_s, initial_s * 2.0**attempt)
    return wait_s * (1.0 - jitter * uniform())
