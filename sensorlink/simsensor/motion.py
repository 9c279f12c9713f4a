"""Motion sources that feed the simulated sensor: what its accelerometer and gyroscope would measure.

The simulated sensor asks a `MotionSource` for samples at the instants its own (possibly drifting) oscillator
takes them. The running-kinematics simulator with known truth lives in `processing.simulation`; this module
only adapts its output (`ArrayMotionSource.from_samples`) and offers a small built-in motion for when no
scenario is given (`StandThenRunMotion`), so there is one running simulator in the project, not two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from processing.samples import STANDARD_GRAVITY_MPS2, ImuSamples

__all__ = ["ArrayMotionSource", "MotionSource", "StandThenRunMotion"]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class MotionSource(Protocol):
    """Sequential sample supplier at a fixed true-time sampling rate.

    `start(sampling_rate_hz)` (re)starts the motion at its beginning with samples `1 / sampling_rate_hz`
    seconds of true time apart; each `read(n)` returns the next n samples.
    """

    def start(self, sampling_rate_hz: float) -> None: ...

    def read(self, n_samples: int) -> tuple[FloatArray, FloatArray]:
        """Next `n_samples` samples: acc_mps2 (n, 3) with gravity, sensor frame; gyr_dps (n, 3)."""
        ...


@dataclass(slots=True)
class StandThenRunMotion:
    """A plausible built-in motion: standing still, then a periodic running-like pattern.

    Not a kinematic model (that is `processing.simulation`): sinusoids at the step and stride frequencies with
    the amplitudes a sacral IMU sees while running (vertical about +-1.5 g, fore-aft +-0.4 g, lateral +-0.25
    g; yaw rate +-40 deg/s, roll +-25 deg/s, pitch +-15 deg/s), plus white noise. The sensor frame equals the
    body frame (x forward, y left, z up), so at rest the accelerometer reads +9.81 m/s^2 on z.

    Parameters
    ----------
    standing_s : float
        Still period at the start (lets a receiver calibrate the mounting).
    cadence_spm : float
        Steps per minute while running.
    noise_acc_mps2, noise_gyr_dps : float
        Standard deviation of the white noise added to each axis.
    seed : int
        Seed of the noise generator (the motion is deterministic).
    """

    standing_s: float = 5.0
    cadence_spm: float = 170.0
    noise_acc_mps2: float = 0.05
    noise_gyr_dps: float = 0.3
    seed: int = 0
    _sampling_rate_hz: float = field(default=0.0, init=False, repr=False)
    _index: int = field(default=0, init=False, repr=False)
    _rng: np.random.Generator | None = field(default=None, init=False, repr=False)

    def start(self, sampling_rate_hz: float) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be positive, got {sampling_rate_hz}")
        self._sampling_rate_hz = float(sampling_rate_hz)
        self._index = 0
        self._rng = np.random.default_rng(self.seed)

    def read(self, n_samples: int) -> tuple[FloatArray, FloatArray]:
        if self._rng is None:
            raise RuntimeError("call start(sampling_rate_hz) before read()")
        t_s = (self._index + np.arange(n_samples)) / self._sampling_rate_hz
        self._index += n_samples
        running = (t_s >= self.standing_s).astype(np.float64)
        # Ease in over one second so the transition has no step in acceleration.
        running *= np.clip(t_s - self.standing_s, 0.0, 1.0)
        step_hz = self.cadence_spm / 60.0
        phase = 2 * np.pi * step_hz * (t_s - self.standing_s)
        g = STANDARD_GRAVITY_MPS2
        acc = np.zeros((n_samples, 3))
        acc[:, 0] = running * 0.4 * g * np.sin(phase + 0.6)
        acc[:, 1] = running * 0.25 * g * np.sin(phase / 2)
        acc[:, 2] = g + running * 1.5 * g * np.maximum(np.sin(phase), -0.6)
        gyr = np.zeros((n_samples, 3))
        gyr[:, 0] = running * 25.0 * np.sin(phase / 2 + 0.3)
        gyr[:, 1] = running * 15.0 * np.sin(phase + 1.2)
        gyr[:, 2] = running * 40.0 * np.sin(phase / 2)
        acc += self._rng.normal(0.0, self.noise_acc_mps2, acc.shape)
        gyr += self._rng.normal(0.0, self.noise_gyr_dps, gyr.shape)
        return acc, gyr


@dataclass(slots=True)
class ArrayMotionSource:
    """Reads recorded or simulated arrays sequentially, resampled to the rate the sensor asks for.

    Linear interpolation on the source's time axis; the sensor's rate (its oscillator's true rate, with drift)
    rarely equals the source's. Past the end the source holds its last sample ("hold"), starts over ("loop"),
    or rests ("rest": the mean specific force of its first second, zero rotation, as a runner standing still
    again).

    Parameters
    ----------
    t_s : (n,) array, s
        Strictly increasing sample times of the source.
    acc_mps2 : (n, 3) array, m/s^2
    gyr_dps : (n, 3) array, deg/s
    at_end : {"hold", "loop", "rest"}
    """

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray
    at_end: Literal["hold", "loop", "rest"] = "rest"
    _sampling_rate_hz: float = field(default=0.0, init=False, repr=False)
    _index: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        if self.t_s.ndim != 1 or n < 2 or not np.all(np.diff(self.t_s) > 0):
            raise ValueError("t_s must be 1-D, strictly increasing, with at least two samples")
        if self.acc_mps2.shape != (n, 3) or self.gyr_dps.shape != (n, 3):
            raise ValueError(f"acc_mps2 and gyr_dps must have shape ({n}, 3)")
        if self.at_end not in ("hold", "loop", "rest"):
            raise ValueError(f"at_end must be 'hold', 'loop' or 'rest', got {self.at_end!r}")

    @classmethod
    def from_samples(
        cls, samples: ImuSamples, at_end: Literal["hold", "loop", "rest"] = "rest"
    ) -> ArrayMotionSource:
        """Adapter for `processing.simulation.simulate(...).samples` (or any recording with a gyroscope)."""
        if samples.gyr_dps is None:
            raise ValueError("the simulated sensor needs gyroscope data; this recording has none")
        return cls(samples.t_s, samples.acc_mps2, samples.gyr_dps, at_end)

    def start(self, sampling_rate_hz: float) -> None:
        if not sampling_rate_hz > 0:
            raise ValueError(f"sampling_rate_hz must be positive, got {sampling_rate_hz}")
        self._sampling_rate_hz = float(sampling_rate_hz)
        self._index = 0

    def read(self, n_samples: int) -> tuple[FloatArray, FloatArray]:
        if self._sampling_rate_hz <= 0:
            raise RuntimeError("call start(sampling_rate_hz) before read()")
        t0 = self.t_s[0]
        t_s = t0 + (self._index + np.arange(n_samples)) / self._sampling_rate_hz
        self._index += n_samples
        if self.at_end == "loop":
            t_s = t0 + np.mod(t_s - t0, self.t_s[-1] - t0)
        # Interpolate within the stretch of the recording that brackets these instants only: the same values
        # (np.interp reads the two samples around each instant), at a cost that does not grow with the
        # recording's length (a whole column per call made an hour-long scenario 40 ms per packet).
        lo = max(0, int(np.searchsorted(self.t_s, t_s.min(), side="right")) - 1)
        hi = min(len(self.t_s), int(np.searchsorted(self.t_s, t_s.max(), side="left")) + 1)
        ts = self.t_s[lo:hi]
        acc = np.column_stack([np.interp(t_s, ts, self.acc_mps2[lo:hi, k]) for k in range(3)])
        gyr = np.column_stack([np.interp(t_s, ts, self.gyr_dps[lo:hi, k]) for k in range(3)])
        if self.at_end == "rest":
            after = t_s > self.t_s[-1]
            if after.any():
                first_second = self.t_s <= t0 + 1.0
                acc[after] = self.acc_mps2[first_second].mean(axis=0)
                gyr[after] = 0.0
        return acc, gyr
