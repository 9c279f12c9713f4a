"""Reconnect backoff: how long to wait before the next connection attempt (pure).

Exponential backoff with a cap and multiplicative jitter, in the shape of bleak-retry-connector's
`calculate_backoff_time`. The jitter is an argument (a number in [0, 1)), not a hidden random call, so the
schedule is testable and the caller decides where randomness comes from.
"""

from __future__ import annotations

import math

DEFAULT_BASE_DELAY_S = 0.25
DEFAULT_MAX_DELAY_S = 8.0
DEFAULT_FACTOR = 2.0
DEFAULT_JITTER_FRACTION = 0.25


def backoff_delay_s(
    attempt: int,
    *,
    jitter_unit: float,
    base_delay_s: float = DEFAULT_BASE_DELAY_S,
    factor: float = DEFAULT_FACTOR,
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    jitter_fraction: float = DEFAULT_JITTER_FRACTION,
) -> float:
    """Delay before reconnect attempt number `attempt` (0 = the first retry).

    Parameters
    ----------
    attempt : int
        How many attempts have already failed since the last good connection (>= 0).
    jitter_unit : float
        A number in [0, 1), e.g. ``random.random()``; it spreads the delay over
        ``[d * (1 - jitter_fraction), d]`` so that many sensors losing one gateway do not retry in lockstep.
    base_delay_s, factor, max_delay_s : float
        The delay before jitter is ``min(max_delay_s, base_delay_s * factor ** attempt)``.
    jitter_fraction : float
        Share of the delay that jitter may remove, in [0, 1].

    Returns
    -------
    float
        Seconds to wait, in ``[0, max_delay_s]``.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not 0.0 <= jitter_unit < 1.0:
        raise ValueError(f"jitter_unit must be in [0, 1), got {jitter_unit}")
    if not 0.0 <= jitter_fraction <= 1.0:
        raise ValueError(f"jitter_fraction must be in [0, 1], got {jitter_fraction}")
    if base_delay_s < 0 or max_delay_s < 0 or factor < 1.0:
        raise ValueError("base_delay_s and max_delay_s must be >= 0 and factor >= 1")
    # Compare exponents rather than computing factor ** attempt, which overflows for long outages.
    if (
        factor > 1.0
        and base_delay_s > 0
        and attempt * math.log(factor) > math.log(max_delay_s / base_delay_s + 1)
    ):
        delay_s = max_delay_s
    else:
        delay_s = min(max_delay_s, base_delay_s * factor**attempt)
    return delay_s * (1.0 - jitter_fraction * jitter_unit)
