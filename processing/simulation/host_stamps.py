"""Time stamps as a phone app or a host computer writes them: arrival times of packets, not sample instants.

A sensor streaming over BLE sends its samples in packets of a few; the host stamps each packet (or each sample
it unpacks) with its own clock when the packet arrives. Three things then separate the stamps from the true
sample instants, and `host_stamped` plants all of them:

- Arrival jitter: a packet arrives some time after its last sample was taken. The latency is drawn from an
  exponential distribution with mean (and standard deviation) `HostStamps.jitter_s` (the host's scheduler and
  the radio's connection events make most latencies short and a few long), and packets arrive in order (a
  packet never arrives before the one sent before it: BLE notifications are ordered).
- Lost packets: `HostStamps.lost_packet_share` of the packets (rounded to whole packets), drawn at random
  places after the first; their samples are absent.
- The rate: the sensor's oscillator runs off its nominal rate (`Scenario.sample_rate_error_ppm`, applied by
  the simulator to the true instants); the stamps follow the true rate, the file's nominal rate does not.

Two styles of stamping (`HostStamps.style`): "batched" gives every sample of a packet the packet's arrival
time (several samples share one stamp); "per_sample" spreads the packet's samples back from its arrival at the
nominal period, as apps that unpack a packet into timed samples do (each stamp then carries the packet's
jitter). Stamps are rounded to the host clock's resolution (`resolution_s`, 1 ms as apps write them).

A constant transport delay is left out (the latency has no floor above zero): it shifts the whole axis, no
recording can reveal it, and it would only move the truth against the stamps by a constant. So the truth stays
on the true time axis and the stamps scatter after it by the jitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from processing.simulation.errors import InvalidScenarioError
from processing.simulation.rotations import FloatArray

__all__ = ["HostStamps", "host_stamped"]

IntArray = npt.NDArray[np.int64]
StampStyle = Literal["batched", "per_sample"]


@dataclass(frozen=True, slots=True)
class HostStamps:
    """How a host stamps the samples it receives (see the module docstring).

    Attributes
    ----------
    jitter_s : float, s
        Mean (and standard deviation) of the arrival latency of a packet after its last sample; 0 to 0.05.
    lost_packet_share : float
        Share of the packets that are lost, 0 to 0.2.
    packet_samples : int
        Samples per packet, 1 to 32.
    style : "batched" or "per_sample"
        One stamp per packet shared by its samples, or one per sample spread back at the nominal period.
    resolution_s : float, s
        The host clock's resolution; stamps are rounded to it (0: not rounded).
    """

    jitter_s: float = 0.004
    lost_packet_share: float = 0.01
    packet_samples: int = 4
    style: StampStyle = "batched"
    resolution_s: float = 0.001

    def __post_init__(self) -> None:
        if not (math.isfinite(self.jitter_s) and 0.0 <= self.jitter_s <= 0.05):
            raise InvalidScenarioError("host_stamps", f"jitter_s must be in [0, 0.05] s, got {self.jitter_s}")
        if not (math.isfinite(self.lost_packet_share) and 0.0 <= self.lost_packet_share <= 0.2):
            raise InvalidScenarioError(
                "host_stamps", f"lost_packet_share must be in [0, 0.2], got {self.lost_packet_share}"
            )
        if not (isinstance(self.packet_samples, int) and 1 <= self.packet_samples <= 32):
            raise InvalidScenarioError(
                "host_stamps", f"packet_samples must be an int in [1, 32], got {self.packet_samples!r}"
            )
        if self.style not in ("batched", "per_sample"):
            raise InvalidScenarioError(
                "host_stamps", f"style must be 'batched' or 'per_sample', got {self.style!r}"
            )
        if not (math.isfinite(self.resolution_s) and 0.0 <= self.resolution_s <= 0.01):
            raise InvalidScenarioError(
                "host_stamps", f"resolution_s must be in [0, 0.01] s, got {self.resolution_s}"
            )


def host_stamped(
    t_true_s: FloatArray, stamps: HostStamps, nominal_rate_hz: float, rng: np.random.Generator
) -> tuple[IntArray, FloatArray]:
    """The samples a host keeps and the times it writes for them.

    Parameters
    ----------
    t_true_s : (n,) array, s
        True sample instants (the sensor's own, possibly off-nominal, rate).
    stamps : HostStamps
    nominal_rate_hz : float, Hz
        The rate the sensor is set to (the per-sample style spreads a packet's samples at its period).
    rng : numpy.random.Generator

    Returns
    -------
    kept : (m,) int array
        Indices into `t_true_s` of the samples that arrived (lost packets left out), increasing.
    t_host_s : (m,) array, s
        Their stamps: non-decreasing (equal within a batched packet), rounded to `stamps.resolution_s`.
    """
    n = t_true_s.shape[0]
    size = stamps.packet_samples
    n_packets = -(-n // size)
    last = np.minimum(np.arange(n_packets) * size + size - 1, n - 1)
    latency = rng.exponential(stamps.jitter_s, n_packets) if stamps.jitter_s > 0 else np.zeros(n_packets)
    # in order: a packet waits for the one before it
    arrival = np.maximum.accumulate(t_true_s[last] + latency)
    # exactly the share asked for, at random places (a recording starts with the first packet the host got)
    arrived = np.ones(n_packets, dtype=bool)
    n_lost = min(round(stamps.lost_packet_share * n_packets), n_packets - 1)
    arrived[1 + rng.choice(n_packets - 1, size=n_lost, replace=False)] = False
    packet = np.arange(n) // size
    kept = np.flatnonzero(arrived[packet]).astype(np.int64)
    if stamps.style == "batched":
        t_host = arrival[packet[kept]]
    else:
        back = (last[packet[kept]] - kept) / nominal_rate_hz
        t_host = arrival[packet[kept]] - back
    if stamps.resolution_s > 0:
        t_host = np.round(t_host / stamps.resolution_s) * stamps.resolution_s
    # a host clock never runs backwards (the per-sample spread of a late packet may reach before the last one)
    return kept, np.asarray(np.maximum.accumulate(t_host), dtype=np.float64)
