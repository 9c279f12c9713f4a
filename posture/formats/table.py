"""`SampleTable`: what every format reader returns, before any validation.

One shape for every file people have (our contract CSV, MetaBase, Polar Sensor Logger, phyphox, Sensor
Logger): times in seconds as the file stamps them, the accelerometer in m/s^2 with gravity, the gyroscope
in deg/s. Validation (rate, gaps, units, clipping) is the caller's job (`posture.recording_io`), so a reader
never refuses what the time-base repair (`processing.timebase`) could still fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processing.samples import FloatArray, ImuSamples

__all__ = ["SampleTable"]


@dataclass(frozen=True, slots=True, eq=False)
class SampleTable:
    """Samples read from a file, in the contract's units.

    Attributes
    ----------
    t_s : (n,) array, s
        Sample times as the file stamps them (sorted as in the file, never repaired: host-stamped app exports
        jitter). Vendor formats start at their first accelerometer sample; the contract CSV keeps its axis.
    acc_mps2 : (n, 3) array, m/s^2
        Specific force, gravity included, in the sensor's frame. An axis the logger does not have (a biaxial
        accelerometer) is an all-NaN column.
    gyr_dps : (n, 3) array, deg/s, or None
        Angular rate in the same frame, on the accelerometer's stamps; None without a gyroscope.
    source_format : str
        The `posture.formats.FORMATS` name of the reader that produced the table.
    truncated_rows_dropped : int
        Incomplete last rows left out (a logger killed mid-write), over all files read.
    duplicate_rows_dropped : int
        Rows left out because they repeated the row before exactly (same time, same readings).
    """

    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_dps: FloatArray | None
    source_format: str
    truncated_rows_dropped: int = 0
    duplicate_rows_dropped: int = 0

    def __post_init__(self) -> None:
        ImuSamples(self.t_s, self.acc_mps2, self.gyr_dps)  # the same shapes (raises ValueError otherwise)
        if self.truncated_rows_dropped < 0 or self.duplicate_rows_dropped < 0:
            raise ValueError("dropped-row counts cannot be negative")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def missing_acc_axes(self) -> tuple[int, ...]:
        """Indices of accelerometer axes the logger does not have (all-NaN columns)."""
        if len(self) == 0:
            return ()
        return tuple(int(j) for j in np.flatnonzero(np.all(np.isnan(self.acc_mps2), axis=0)))
