"""Sample times for devices without a sample clock: from arrival times, the nominal rate and packet sizes.

MetaWear's streaming and WitMotion's packets carry neither a clock nor a counter. What the host knows is
when each notification arrived, how many samples it holds, and the rate the device was asked for (its true
rate differs by up to about a percent). A notification leaves the device at a connection event after its
last sample was taken, so its arrival is that sample's instant plus a delay that is never below some minimum
but often well above it (connection-event wait, retransmissions, host scheduling: several milliseconds).

`HostSampleClock` numbers the samples and times them on a line ``t(s) = t0 + s * period`` under the lower
envelope of arrival time against sample index (Paxson's min-filtering, as `sensorlink.clock` does for
device clocks): per bin of `bin_s` the packet with the smallest delay. The slope is the median of the slopes
between envelope points a second apart (between neighbours, leaving out implausible ones, in the first
seconds), so the true rate is fitted, and a numbering error moves only the pairs that straddle it; the
offset is the floor of the last two seconds of envelope points, so where numbering went a packet off, the
times follow the arrivals again within two seconds. Arrivals also bound the line from above (no sample
arrives before it is taken): a packet that arrives before the line's time of its last sample lowers the
line at once (unless it sits next to a loss decision), and no sample is timed after its packet arrived.

Lost notifications show as a step of a whole packet period in the delays, never as one late arrival (a late
packet is just a larger delay). The clock therefore looks `lookahead_s` ahead: there is a loss before the
next packet when every packet in the lookahead sits at least three quarters of a packet period above the
delay floor of the second before it. Where the delays spread wider than a packet period (a 15 ms connection
interval and 5 ms of jitter against 10 ms packets), several positions explain the step; the loss goes where
a step of that height fits the delays best in the least-squares sense. The first two seconds (until the
slope is known) infer no loss. All of this costs `lookahead_s` of latency.

Error, honestly: times carry the minimum delay as a constant bias (unobservable without a device clock: 1
to 2 ms on the simulated radio, up to 5 ms when the device samples so close to nominal that its phase
against the connection events stays put), the envelope's noise, and, for a packet put a period off by a
loss decision, that period until the offset follows (the p99). `HostClockQuality` reports the fitted rate,
the inferred loss, the close decisions and `expected_error_s`, a running estimate of the typical error
beyond the constant. Measured against the simulator's truth (benchmarks/bench_host_clock.py, 10 minutes at
100 Hz, rate +-1 %, 5 ms jitter, 2 % lost, 8 seeds): median 1.0-1.3 ms with 2 samples per notification and
1.6-2.0 ms with 1; p99 after 30 s 2.7-4.3 ms, and 9-10 ms (about one packet period) with 1 sample per
notification. At exactly the nominal rate the median is 3.6 ms, nearly all of it the constant. A start with
several losses in its first two seconds can be off by tens of milliseconds for up to ten seconds. The
lookahead loss placement and the median-of-pairs slope are ours, not a published method.

Sample times are slewed (`sensorlink.clock.SlewedTimeline`, up to 2 %), so a refit never makes them step
back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from sensorlink.clock import ClockEstimate, SlewedTimeline

__all__ = [
    "DEFAULT_BIN_S",
    "DEFAULT_LOOKAHEAD_S",
    "HostClockQuality",
    "HostSampleClock",
    "PlacedPacket",
]

FloatArray = npt.NDArray[np.float64]
PayloadT = TypeVar("PayloadT")

#: How far the clock looks ahead before a packet's loss decision is final: long enough to see several
#: packets after a gap at 50 Hz with one sample per notification, short enough for a live view.
DEFAULT_LOOKAHEAD_S = 0.3
#: One envelope point per this much of the stream: the smallest delay among a few packets.
DEFAULT_BIN_S = 0.2
#: The envelope window: long enough that the slope is a rate, short enough to follow a warming oscillator.
DEFAULT_WINDOW_S = 120.0
#: A device's true rate stays within this fraction of nominal (datasheets give +-1 %); fits beyond it are
#: clamped, so a burst of delays cannot tilt the line into nonsense.
DEFAULT_MAX_RATE_ERROR = 0.03
#: Slew limit of the sample times (see `SlewedTimeline`): 2 % lets the corrections of the first seconds
#: (tens of milliseconds) out within a few seconds; consecutive samples stay strictly increasing.
DEFAULT_MAX_SLEW_PPM = 20000.0
# How far (in packet periods) a packet may sit below the delay floor after a loss is put before it: the
# floor's own uncertainty (the minimum of a few jittered delays).
_FLOOR_TOLERANCE = 0.25
# The delay floor before a decision is the smallest delay over this much of the placed stream: long enough
# that a burst of late packets (retransmissions) never lifts it, so that a loss after it always shows.
_FLOOR_WINDOW_S = 1.0
# The slope is the median over envelope points this many bins apart (a second at the default bin).
_SLOPE_LAG_BINS = 5
# Envelope points before losses are inferred: until the slope is known, a device rate off nominal by a
# percent would read as a loss every second. Losses in the first two seconds go uncounted.
_WARMUP_BINS = 10
# The line's offset is the floor of the envelope over this much of the recent stream.
_OFFSET_WINDOW_S = 2.0
# Delays seen before their spread is trusted for loss placement.
_MIN_DELAYS = 16
# Packets on each side of a loss decision (or a close one) that the envelope leaves out.
_DOUBT_PACKETS = 2
# A decision whose residual lies this close (in packet periods) to the rounding boundary is "close".
_CLOSE_MARGIN = 0.2


@dataclass(frozen=True, slots=True, eq=False)
class PlacedPacket(Generic[PayloadT]):
    """A packet with final sample times.

    Attributes
    ----------
    payload : object
        What the caller pushed with it (its samples).
    t_s : (n,) array, s
        Sample times on the host's time base (the arrival clock), strictly increasing across packets.
    first_sample_index : int
        Index of the first sample in the stream, counting inferred lost samples.
    samples_lost_before : int
        Samples inferred lost between the previous packet and this one.
    arrival_ns : int
    """

    payload: PayloadT
    t_s: FloatArray = field(repr=False)
    first_sample_index: int
    samples_lost_before: int
    arrival_ns: int


@dataclass(frozen=True, slots=True)
class HostClockQuality:
    """How well the host clock times the samples so far (for status, logs and tests).

    Attributes
    ----------
    rate_hz : float
        Fitted true sample rate.
    rate_error_ppm : float
        Fitted rate against nominal, parts per million.
    envelope_noise_s : float
        Robust spread (1.4826 MAD) of the envelope points about the fitted line: the line's own noise.
    median_delay_s : float
        Median arrival delay above the envelope (how late packets typically are; not an error).
    packets : int
        Packets placed.
    samples_lost_inferred : int
    close_decisions : int
        Loss decisions that were close (within 0.2 packet periods of the rounding boundary, or a loss that
        fitted better one packet later): each may have put a packet one period off, until the line's offset
        follows the arrivals again (`_OFFSET_WINDOW_S`).
    expected_error_s : float
        Running estimate of the typical (median) sample-time error, beyond the constant minimum delay: the
        envelope noise. Measured against the simulator's truth it is the right size (benchmarks/
        bench_host_clock.py); a packet numbered a period off errs by that period, which shows in the p99,
        not here.
    """

    rate_hz: float
    rate_error_ppm: float
    envelope_noise_s: float
    median_delay_s: float
    packets: int
    samples_lost_inferred: int
    close_decisions: int
    expected_error_s: float


@dataclass(slots=True)
class _Pending(Generic[PayloadT]):
    arrival_ns: int
    sample_count: int
    payload: PayloadT


class HostSampleClock(Generic[PayloadT]):
    """Number and time the samples of one stream from arrivals (see the module docstring).

    Parameters
    ----------
    nominal_rate_hz : float
        The rate the device was configured for.
    lookahead_s : float
        Seconds of arrivals a packet waits for before its loss decision and times are final.
    bin_s : float
        Stream seconds per envelope point.
    window_s : float
        Stream seconds of envelope points the line is fitted to.
    max_rate_error : float
        The fitted rate stays within this fraction of nominal.
    max_slew_ppm : float
        How fast a refit's step is worked into the sample times.

    Notes
    -----
    `push` returns the packets whose placement became final, oldest first; packets still within the
    lookahead when the stream ends are never placed (at most `lookahead_s` of samples). Pure and
    deterministic: the same pushes give the same placements.
    """

    def __init__(
        self,
        nominal_rate_hz: float,
        *,
        lookahead_s: float = DEFAULT_LOOKAHEAD_S,
        bin_s: float = DEFAULT_BIN_S,
        window_s: float = DEFAULT_WINDOW_S,
        max_rate_error: float = DEFAULT_MAX_RATE_ERROR,
        max_slew_ppm: float = DEFAULT_MAX_SLEW_PPM,
    ) -> None:
        if not nominal_rate_hz > 0:
            raise ValueError(f"nominal_rate_hz must be > 0, got {nominal_rate_hz}")
        if lookahead_s < 0 or not 0 < bin_s <= window_s or not 0 < max_rate_error < 0.5:
            raise ValueError("need lookahead_s >= 0, 0 < bin_s <= window_s and 0 < max_rate_error < 0.5")
        self._nominal_period_s = 1.0 / nominal_rate_hz
        self._lookahead_ns = round(lookahead_s * 1e9)
        self._bin_samples = max(1, round(bin_s * nominal_rate_hz))
        self._window_samples = max(self._bin_samples, round(window_s * nominal_rate_hz))
        self._max_rate_error = max_rate_error
        self._timeline = SlewedTimeline(max_slew_ppm)
        self._pending: deque[_Pending[PayloadT]] = deque()
        self._origin_ns: int | None = None
        self._next_index = 0
        self._typical_count = 0
        # The line t(s) = t0 + s * period, seconds after the origin; period starts nominal.
        self._t0_s = 0.0
        self._period_s = self._nominal_period_s
        self._fitted = False
        self._estimate: ClockEstimate | None = None
        # Envelope points (sample index of a packet's last sample, arrival s): finished bins and the open one.
        self._bins: deque[tuple[float, float]] = deque()
        self._open_bin = -1
        self._open_best: tuple[float, float] | None = None
        self._delays: deque[float] = deque(maxlen=512)
        # Placed packets within the floor window before the next decision: (last sample index, arrival s).
        self._recent: deque[tuple[int, float]] = deque()
        # Placed packets on their way to the envelope: (last sample index, arrival s, left out).
        self._unsettled: deque[tuple[int, float, bool]] = deque()
        self._doubt_ahead = 0
        # Recent delays above the floor: how late a packet before a loss may be.
        self._spread: deque[float] = deque(maxlen=512)
        self._placed = 0
        self._lost = 0
        self._close = 0
        self._noise_s = 0.0
        self._last_time_s = -np.inf

    # --- public API -----------------------------------------------------------------------------------------

    @property
    def nominal_rate_hz(self) -> float:
        return 1.0 / self._nominal_period_s

    @property
    def pending_packets(self) -> int:
        """Packets pushed but not yet placed (within the lookahead)."""
        return len(self._pending)

    @property
    def quality(self) -> HostClockQuality:
        rate_hz = 1.0 / self._period_s
        return HostClockQuality(
            rate_hz=rate_hz,
            rate_error_ppm=(self._nominal_period_s / self._period_s - 1.0) * 1e6,
            envelope_noise_s=self._noise_s,
            median_delay_s=float(np.median(self._delays)) if self._delays else 0.0,
            packets=self._placed,
            samples_lost_inferred=self._lost,
            close_decisions=self._close,
            expected_error_s=self._noise_s,
        )

    def push(self, arrival_ns: int, sample_count: int, payload: PayloadT) -> list[PlacedPacket[PayloadT]]:
        """Take one notification's arrival; return the packets whose placement is now final.

        Parameters
        ----------
        arrival_ns : int
            Host clock at arrival, nanoseconds (non-decreasing from push to push).
        sample_count : int
            Samples in the notification.
        payload : object
            Handed back with the placed packet.
        """
        if sample_count < 1:
            raise ValueError("a packet holds at least one sample")
        if self._origin_ns is None:
            self._origin_ns = arrival_ns
        if self._pending and arrival_ns < self._pending[-1].arrival_ns:
            arrival_ns = self._pending[-1].arrival_ns  # a host clock step back: hold it
        self._pending.append(_Pending(arrival_ns, sample_count, payload))
        placed: list[PlacedPacket[PayloadT]] = []
        while self._pending and arrival_ns - self._pending[0].arrival_ns >= self._lookahead_ns:
            placed.append(self._place())
        return placed

    def flush(self) -> list[PlacedPacket[PayloadT]]:
        """Place every pending packet with what is known now (the stream ended)."""
        placed: list[PlacedPacket[PayloadT]] = []
        while self._pending:
            placed.append(self._place())
        return placed

    # --- placement ------------------------------------------------------------------------------------------

    def _arrival_s(self, arrival_ns: int) -> float:
        return (arrival_ns - (self._origin_ns or 0)) * 1e-9

    def _line_s(self, index: float) -> float:
        return self._t0_s + index * self._period_s

    def _place(self) -> PlacedPacket[PayloadT]:
        packet = self._pending[0]
        n = packet.sample_count
        if not self._fitted and self._placed == 0:
            # The first packet defines the line's offset: its last sample arrives with the minimum delay.
            self._t0_s = self._arrival_s(packet.arrival_ns) - (n - 1) * self._period_s
        if self._typical_count == 0:
            self._typical_count = n
        unit_s = self._typical_count * self._period_s
        lost_packets, close = self._loss_before_next(unit_s)
        self._close += close
        lost = lost_packets * self._typical_count
        first = self._next_index + lost
        self._next_index = first + n
        self._typical_count = n
        self._pending.popleft()
        arrival_s = self._arrival_s(packet.arrival_ns)
        above_s = self._line_s(first + n - 1) - arrival_s
        if above_s > 0 and self._fitted and not (lost_packets or close or self._doubt_ahead):
            # No sample arrives before it is taken: a line above an arrival is too high, so it comes down at
            # once rather than at the next refit. Not next to a loss decision, where the packet may be the
            # one numbered a period off (lowering the line for it would move the right ones).
            self._t0_s -= above_s
            self._estimate = None
        self._spread.append(arrival_s - self._line_s(first + n - 1) - self._floor_s())
        self._recent.append((first + n - 1, arrival_s))
        while self._recent and arrival_s - self._recent[0][1] > _FLOOR_WINDOW_S:
            self._recent.popleft()
        self._settle(first + n - 1, arrival_s, doubtful=bool(lost_packets) or close)
        self._placed += 1
        self._lost += lost
        t_s = self._times(first, n)
        # The slewed times follow a lowered line gradually; a packet's samples are still never timed after
        # its arrival (and stay after the previous packet's).
        late_s = float(t_s[-1]) - packet.arrival_ns * 1e-9
        if late_s > 0:
            t_s = t_s - min(late_s, max(0.0, float(t_s[0]) - self._last_time_s - 1e-6))
        self._last_time_s = float(t_s[-1])
        return PlacedPacket(packet.payload, t_s, first, lost, packet.arrival_ns)

    def _floor_s(self) -> float:
        """The delay floor just before the next packet: the smallest residual of the packets placed within
        `_FLOOR_WINDOW_S` before it, on the current line (the first packet's own residual before any)."""
        if not self._recent:
            packet = self._pending[0] if self._pending else None
            if packet is None:
                return 0.0
            last_index = self._next_index + packet.sample_count - 1
            return self._arrival_s(packet.arrival_ns) - self._line_s(last_index)
        return min(arrival_s - self._line_s(index) for index, arrival_s in self._recent)

    def _loss_before_next(self, unit_s: float) -> tuple[int, bool]:
        """Packets lost before the next pending packet, and whether the decision was close.

        Residuals of the pending packets, numbered as if nothing more was lost, above the floor before them:
        a loss raises every residual after it by the lost packets' duration. Where the delays spread wider
        than a packet period, several positions explain the raised residuals; the loss goes where a step of
        that size fits the residuals best in the least-squares sense (a change point of known height: with
        mean delay mu, position j costs the prefix sum of ``r_i - mu - step / 2`` over i < j), searched up to
        the first residual too high for any delay seen (95th percentile). Only a loss that fits best right
        here is placed; one that fits better later waits for its packet.
        """
        if not self._fitted:
            return 0, False
        floor = self._floor_s()
        end = self._next_index
        raised_list = []
        for later in self._pending:
            end += later.sample_count
            raised_list.append(self._arrival_s(later.arrival_ns) - self._line_s(end - 1) - floor)
        raised = np.array(raised_list)
        suffix_min = float(np.min(raised))
        threshold = (1.0 - _FLOOR_TOLERANCE) * unit_s
        ratio = max(0.0, suffix_min / unit_s)
        close = abs(ratio - np.floor(ratio) - 0.5) < _CLOSE_MARGIN
        if suffix_min < threshold:
            return 0, close
        lost = max(1, round(ratio))
        enough = len(self._spread) >= _MIN_DELAYS
        mean_delay = float(np.mean(self._spread)) if enough else 0.5 * unit_s
        high = float(np.percentile(self._spread, 95)) if enough else unit_s
        too_high = np.nonzero(raised > high + _FLOOR_TOLERANCE * unit_s)[0]
        latest = int(too_high[0]) if too_high.size else len(raised) - 1
        cost = np.cumsum(raised[:latest] - mean_delay - lost * unit_s / 2)
        if cost.size and float(cost.min()) < 0:
            return 0, False  # the step fits better after a later packet
        return lost, close

    def _times(self, first: int, n: int) -> FloatArray:
        """Slewed times of samples first .. first + n - 1 on the current line (as a `ClockEstimate`)."""
        estimate = self._estimate
        if estimate is None:
            estimate = self._estimate = self._as_estimate()
        nominal_us = (first + np.arange(n, dtype=np.float64)) * self._nominal_period_s * 1e6
        return self._timeline.host_times_s(estimate, nominal_us)

    def _as_estimate(self) -> ClockEstimate:
        """The line as a mapping from the nominal sample clock (index x nominal period) to host time."""
        slope = self._period_s / self._nominal_period_s
        return ClockEstimate(
            sensor_origin_us=0,
            host_origin_ns=self._origin_ns or 0,
            offset_s=self._t0_s,
            host_per_sensor=slope,
            drift_ppm=(1.0 / slope - 1.0) * 1e6,
            span_s=len(self._bins) * self._bin_samples * self._nominal_period_s,
            synced=False,
        )

    # --- the envelope ---------------------------------------------------------------------------------------

    def _settle(self, last_index: int, arrival_s: float, *, doubtful: bool) -> None:
        """Feed the envelope a few packets late, leaving out those next to a loss or a close decision.

        Where a loss was put one packet off, that packet's residual is a whole period too low or high; as the
        minimum of its bin it would pull the line down by that much.
        """
        if doubtful:
            for k in range(max(0, len(self._unsettled) - _DOUBT_PACKETS), len(self._unsettled)):
                index, arrival, _ = self._unsettled[k]
                self._unsettled[k] = (index, arrival, True)
            self._doubt_ahead = _DOUBT_PACKETS
        elif self._doubt_ahead:
            self._doubt_ahead -= 1
            doubtful = True
        self._unsettled.append((last_index, arrival_s, doubtful))
        while len(self._unsettled) > _DOUBT_PACKETS:
            index, arrival, excluded = self._unsettled.popleft()
            if not excluded:
                self._observe(index, arrival)

    def _observe(self, last_index: int, arrival_s: float) -> None:
        """Add a placed packet's (last sample index, arrival) to the envelope; refit when a bin closes."""
        delay_s = arrival_s - self._line_s(last_index)
        self._delays.append(delay_s)
        if delay_s < 0 and not self._fitted:
            # Below the first guess of the line (the first packet was late): lower it at once (the slewing
            # smooths the times). Once fitted, only the fit moves the line.
            self._t0_s += delay_s
            self._estimate = None
        point = (float(last_index), arrival_s)
        bin_index = last_index // self._bin_samples
        nominal_residual = arrival_s - last_index * self._nominal_period_s
        if bin_index != self._open_bin:
            if self._open_best is not None:
                self._bins.append(self._open_best)
                while self._bins and self._bins[0][0] < last_index - self._window_samples:
                    self._bins.popleft()
                self._refit()
            self._open_bin, self._open_best = bin_index, point
        elif self._open_best is not None:
            best_residual = self._open_best[1] - self._open_best[0] * self._nominal_period_s
            if nominal_residual < best_residual:
                self._open_best = point

    def _refit(self) -> None:
        """Slope from the envelope's long-run shape, offset from its recent floor.

        The slope is the median of the slopes between neighbouring envelope points, leaving out those a rate
        within `max_rate_error` of nominal cannot give: a loss between two points (counted or not) or a
        packet numbered a period off lifts that one pair by a packet period per bin, several percent, so
        numbering errors never tilt the rate, from the first seconds on. The offset is the floor of the last
        `_OFFSET_WINDOW_S` of points on that slope: where numbering went a period off, the times follow the
        arrivals again within that window.
        """
        count = len(self._bins)
        if count < 3:
            return
        index = np.fromiter((b[0] for b in self._bins), dtype=np.float64, count=count)
        arrival = np.fromiter((b[1] for b in self._bins), dtype=np.float64, count=count)
        limit = self._max_rate_error
        # Early on, neighbours, leaving out pairs with a loss between them (not yet inferred: a jump of a
        # packet period per bin, several percent); later, points a second apart, whose median no single
        # numbering error moves.
        lag = _SLOPE_LAG_BINS if count >= 4 * _SLOPE_LAG_BINS else 1
        slopes = (arrival[lag:] - arrival[:-lag]) / ((index[lag:] - index[:-lag]) * self._nominal_period_s)
        if lag == 1:
            slopes = slopes[np.abs(slopes - 1.0) <= limit]
            if slopes.size == 0:
                return
        slope = float(np.clip(np.median(slopes), 1 - limit, 1 + limit))
        period_s = slope * self._nominal_period_s
        recent = index >= index[-1] - _OFFSET_WINDOW_S / self._nominal_period_s
        residual = arrival[recent] - index[recent] * period_s
        self._period_s = period_s
        self._t0_s = float(np.min(residual))
        self._noise_s = float(1.4826 * np.median(np.abs(residual - np.median(residual))))
        self._fitted = count >= _WARMUP_BINS
        self._estimate = None
