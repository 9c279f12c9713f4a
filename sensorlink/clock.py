"""Map the sensor's clock onto the host's clock: offset and drift, robust to arrival jitter (pure).

Each IMU packet carries the sensor time of its first sample. Its arrival time on the host is that instant plus
a
delay (sampling the rest of the packet, radio connection interval, host scheduling) that is never below some
minimum but often well above it. A least-squares fit of arrival against sensor time is biased by that
one-sided noise; instead we fit the *lower envelope*: the line below every (sensor time, arrival time) point
that minimises the summed distance to them. That is the linear program of Moon, Skelly and Towsley (1999),
"Estimation and removal of clock skew from network delay measurements", whose optimum is the edge of the
points' lower convex hull above the mean sensor time, so it is solved exactly without an LP solver.

Deviations and choices
----------------------
- Points are thinned to one per `bin_s` of sensor time (the one with the smallest apparent delay); only those
  can lie on the lower envelope in practice, and the fit then costs O(window_s / bin_s) whatever the packet
  rate.
- The fit uses a sliding window of `window_s` of sensor time, so a slowly changing drift (temperature) is
  followed.
- Without a TIME_SYNC exchange the mapped times include the minimum transport delay (a constant). A TIME_SYNC
  round trip (host send, sensor time at receipt, host receive) pins the offset at the midpoint of the fastest
  round trip seen, which removes that constant up to half the round-trip time.
- Sensor times are 32-bit microseconds that wrap; `unwrap` extends them, assuming calls arrive in roughly
  chronological order (within half the wrap period, 35 minutes).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SENSOR_TIME_MODULUS_US = 1 << 32
DEFAULT_WINDOW_S = 600.0
DEFAULT_BIN_S = 0.5
DEFAULT_MIN_DRIFT_SPAN_S = 30.0


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """Host time as a linear function of (unwrapped) sensor time.

    ``host_s = host_origin_ns * 1e-9 + offset_s + host_per_sensor * (sensor_us - sensor_origin_us) * 1e-6``

    Attributes
    ----------
    sensor_origin_us, host_origin_ns : int
        Reference instants (the first observation), kept as integers so that no precision is lost.
    offset_s : float
        Host seconds after `host_origin_ns` at which sensor time `sensor_origin_us` happened.
    host_per_sensor : float
        Host seconds per sensor second (1.0 = no drift).
    drift_ppm : float
        How much faster the sensor clock runs than the host's, parts per million (positive: sensor fast).
    span_s : float
        Sensor-time span of the points behind the estimate; drift is meaningless while it is short.
    synced : bool
        True when the offset comes from a TIME_SYNC round trip (minimum delay removed).
    """

    sensor_origin_us: int
    host_origin_ns: int
    offset_s: float
    host_per_sensor: float
    drift_ppm: float
    span_s: float
    synced: bool

    def host_time_s(self, sensor_us: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Host times in seconds for unwrapped sensor times in microseconds (array in, array out)."""
        rel_s = (np.asarray(sensor_us, dtype=np.float64) - float(self.sensor_origin_us)) * 1e-6
        return self.host_origin_ns * 1e-9 + (self.offset_s + self.host_per_sensor * rel_s)


def lower_envelope_fit(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float]:
    """The line ``y = a + b x`` below all points that minimises the summed vertical gap to them.

    Parameters
    ----------
    x : (n,) array, strictly increasing
    y : (n,) array

    Returns
    -------
    (a, b) : tuple of float
        Intercept and slope; slope 1 and the lowest ``y - x`` as intercept when fewer than two points.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of equal length")
    if xs.size == 0:
        raise ValueError("lower_envelope_fit needs at least one point")
    if xs.size < 2 or xs[-1] == xs[0]:
        return float(np.min(ys - xs)), 1.0
    if np.any(np.diff(xs) <= 0):
        raise ValueError("x must be strictly increasing")
    # Andrew's monotone chain, lower half only.
    hull: list[int] = []
    for i in range(xs.size):
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (xs[a] - xs[o]) * (ys[i] - ys[o]) - (ys[a] - ys[o]) * (xs[i] - xs[o])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    x_mean = float(np.mean(xs))
    # The LP optimum is the supporting line at x_mean: the hull edge whose x-span contains it.
    for left, right in itertools.pairwise(hull):
        if xs[left] <= x_mean <= xs[right]:
            slope = (ys[right] - ys[left]) / (xs[right] - xs[left])
            return float(ys[left] - slope * xs[left]), float(slope)
    raise ValueError("no hull edge spans the mean; x must be finite")  # unreachable for finite input


@dataclass(slots=True)
class ClockMapper:
    """Streaming estimator of the sensor-to-host clock mapping.

    Parameters
    ----------
    window_s : float
        Sensor-time span of the sliding window the fit uses.
    bin_s : float
        Thinning: one candidate point per bin of sensor time.
    min_drift_span_s : float
        Below this span of sensor time the slope is held at 1 (no drift) and only the offset is fitted: a
        slope from a few seconds of jittery arrivals is noise, and mapped sample times would wobble with it.
    """

    window_s: float = DEFAULT_WINDOW_S
    bin_s: float = DEFAULT_BIN_S
    min_drift_span_s: float = DEFAULT_MIN_DRIFT_SPAN_S
    _last_raw_us: int | None = field(default=None, init=False)
    _unwrapped_us: int = field(default=0, init=False)
    _sensor_origin_us: int = field(default=0, init=False)
    _host_origin_ns: int = field(default=0, init=False)
    _bins: deque[tuple[float, float]] = field(default_factory=deque, init=False)
    _current_bin: int | None = field(default=None, init=False)
    _current_best: tuple[float, float] | None = field(default=None, init=False)
    _best_sync: tuple[float, float, float] | None = field(default=None, init=False)
    _cached: ClockEstimate | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.bin_s <= 0 or self.bin_s > self.window_s:
            raise ValueError("need 0 < bin_s <= window_s")

    def unwrap(self, sensor_time_us: int) -> int:
        """Extend a 32-bit sensor time to an unbounded microsecond count (monotone within half a wrap)."""
        if not 0 <= sensor_time_us < SENSOR_TIME_MODULUS_US:
            raise ValueError(f"sensor_time_us must be a 32-bit number, got {sensor_time_us}")
        if self._last_raw_us is None:
            self._last_raw_us = sensor_time_us
            self._unwrapped_us = sensor_time_us
            return sensor_time_us
        half = SENSOR_TIME_MODULUS_US // 2
        delta = (sensor_time_us - self._last_raw_us + half) % SENSOR_TIME_MODULUS_US - half
        unwrapped = self._unwrapped_us + delta
        if delta > 0:
            self._last_raw_us, self._unwrapped_us = sensor_time_us, unwrapped
        return unwrapped

    def _relative(self, sensor_us: int, host_ns: int) -> tuple[float, float]:
        if not self._bins and self._current_bin is None and self._best_sync is None:
            self._sensor_origin_us, self._host_origin_ns = sensor_us, host_ns
        return (sensor_us - self._sensor_origin_us) * 1e-6, (host_ns - self._host_origin_ns) * 1e-9

    def observe(self, sensor_us: int, host_ns: int) -> None:
        """Add one packet: its unwrapped sensor time (us) and its arrival on the host clock (ns)."""
        x, y = self._relative(sensor_us, host_ns)
        bin_index = int(np.floor(x / self.bin_s))
        if self._current_bin is None or bin_index > self._current_bin:
            if self._current_best is not None:
                self._bins.append(self._current_best)
            self._current_bin, self._current_best = bin_index, (x, y)
            self._cached = None
            while self._bins and self._bins[0][0] < x - self.window_s:
                self._bins.popleft()
        elif (
            bin_index == self._current_bin
            and self._current_best is not None
            and y - x < self._current_best[1] - self._current_best[0]
        ):
            self._current_best = (x, y)
            self._cached = None
        # Points from an earlier bin (a late packet) are ignored: the window only moves forward.

    def observe_time_sync(self, sensor_us: int, host_send_ns: int, host_receive_ns: int) -> None:
        """Add a TIME_SYNC round trip: the sensor read its clock (`sensor_us`) between send and receive."""
        if host_receive_ns < host_send_ns:
            raise ValueError("host_receive_ns must not be earlier than host_send_ns")
        x, y_send = self._relative(sensor_us, host_send_ns)
        rtt_s = (host_receive_ns - host_send_ns) * 1e-9
        if self._best_sync is None or rtt_s <= self._best_sync[2]:
            self._best_sync = (x, y_send + rtt_s / 2, rtt_s)
            self._cached = None

    def estimate(self) -> ClockEstimate | None:
        """The current mapping, or None before the first observation."""
        if self._cached is not None:
            return self._cached
        points = list(self._bins)
        if self._current_best is not None:
            points.append(self._current_best)
        if not points and self._best_sync is None:
            return None
        if points:
            xs = np.array([p[0] for p in points])
            ys = np.array([p[1] for p in points])
            span_s = float(xs[-1] - xs[0])
            if span_s >= self.min_drift_span_s:
                intercept, slope = lower_envelope_fit(xs, ys)
            else:
                intercept, slope = float(np.min(ys - xs)), 1.0
        else:
            intercept, slope, span_s = 0.0, 1.0, 0.0
        synced = self._best_sync is not None
        if self._best_sync is not None:
            sync_x, sync_y, _ = self._best_sync
            if not points:
                slope = 1.0
            intercept = sync_y - slope * sync_x
        self._cached = ClockEstimate(
            sensor_origin_us=self._sensor_origin_us,
            host_origin_ns=self._host_origin_ns,
            offset_s=intercept,
            host_per_sensor=slope,
            drift_ppm=(1.0 / slope - 1.0) * 1e6,
            span_s=span_s,
            synced=synced,
        )
        return self._cached
