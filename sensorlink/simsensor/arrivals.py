"""Arrival times of a device's notifications at the host, without Bluetooth: the host clock's test bench.

The same radio model as the simulated peripherals (`gap.ConnectionEvents` and the `FaultPlan`'s jitter and
loss), as plain arrays: a device samples at a true rate off nominal, a notification of `samples_per_packet`
samples is ready at its last sample, leaves at the next connection event (later when an event's packet is
not acknowledged), picks up uniform arrival jitter, keeps its order, and is lost with some probability. Ten
minutes of it take milliseconds, so `sensorlink.host_clock` is measured against the truth at any length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["ArrivalModel", "SimulatedArrivals", "simulate_arrivals"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ArrivalModel:
    """The device, radio and host between sample instants and arrivals.

    Attributes
    ----------
    nominal_rate_hz : float
    rate_error : float
        The true rate is ``nominal * (1 + rate_error)`` (about +-0.01 for the devices we know).
    samples_per_packet : int
    duration_s : float
        True seconds of streaming.
    connection_interval_s : float
    event_loss_probability : float
        A connection event's packet is not acknowledged and waits for the next event.
    jitter_s : float
        Extra arrival delay, uniform in [0, jitter_s].
    loss_probability : float
        A notification never arrives.
    seed : int
    """

    nominal_rate_hz: float = 100.0
    rate_error: float = 0.01
    samples_per_packet: int = 1
    duration_s: float = 600.0
    connection_interval_s: float = 0.015
    event_loss_probability: float = 0.02
    jitter_s: float = 0.005
    loss_probability: float = 0.02
    seed: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedArrivals:
    """What the host sees and the truth behind it.

    Attributes
    ----------
    arrival_s : (p,) array
        Arrival of every packet the device sent (lost ones too), seconds.
    received : (p,) bool array
        Which packets arrived.
    sample_true_s : (p * n,) array
        True instant of every sample, seconds, on the same clock as the arrivals.
    """

    model: ArrivalModel
    arrival_s: FloatArray = field(repr=False)
    received: BoolArray = field(repr=False)
    sample_true_s: FloatArray = field(repr=False)


def simulate_arrivals(model: ArrivalModel) -> SimulatedArrivals:
    """Arrivals and truth for `model` (deterministic in its seed)."""
    rng = np.random.default_rng(model.seed)
    n = model.samples_per_packet
    true_rate_hz = model.nominal_rate_hz * (1.0 + model.rate_error)
    packets = int(model.duration_s * true_rate_hz / n)
    sample_true_s = 1.0 + np.arange(packets * n) / true_rate_hz
    ready_s = sample_true_s[n - 1 :: n]
    interval_s = model.connection_interval_s
    anchor_s = rng.uniform(0.0, interval_s)
    event_s = anchor_s + np.ceil((ready_s - anchor_s) / interval_s) * interval_s
    event_s += (rng.geometric(1.0 - model.event_loss_probability, packets) - 1) * interval_s
    arrival_s = np.maximum.accumulate(event_s + rng.uniform(0.0, model.jitter_s, packets))
    received = rng.random(packets) >= model.loss_probability
    return SimulatedArrivals(model, arrival_s, received, sample_true_s)
