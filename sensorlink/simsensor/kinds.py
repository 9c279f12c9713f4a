"""Simulated devices by kind: what ``--adapter sim:KIND`` puts on the in-process virtual link.

One line per kind in `SIMULATED_KINDS` names the module and the async start function (or ``Class.start``)
of its simulated peripheral, imported only when that kind is asked for: validating a ``sim:KIND`` adapter
costs no Bluetooth import. A start function takes ``(link, options: SimulatedDeviceOptions, motion)`` and
returns a powered-on, advertising peripheral with an async ``stop()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from sensorlink.errors import InvalidConfiguration

if TYPE_CHECKING:
    from bumble.link import LocalLink

    from sensorlink.simsensor.motion import MotionSource
    from sensorlink.simsensor.peripheral import SimulatedSensor
    from sensorlink.simsensor.vendor import SimulatedDeviceOptions

__all__ = [
    "SIMULATED_KINDS",
    "SIM_ADAPTER",
    "SIM_ADAPTER_PREFIX",
    "SimulatedKind",
    "simulated_kind",
    "simulated_kind_names",
    "start_posture",
]

SIM_ADAPTER = "sim"
"""The simulated adapter with our own sensor (``sim:posture``)."""
SIM_ADAPTER_PREFIX = "sim:"
DEFAULT_SIMULATED_KIND = "posture"

StartSimulated = Callable[["LocalLink", "SimulatedDeviceOptions", "MotionSource | None"], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class SimulatedKind:
    """Where the simulated peripheral of one profile kind lives.

    Attributes
    ----------
    kind : str
        The profile's `kind` (``sim:KIND``).
    module : str
        The module that defines its start function.
    start : str
        The start function's name in it, or ``Class.start`` for a `VendorPeripheral` subclass.
    """

    kind: str
    module: str
    start: str

    def load(self) -> StartSimulated:
        """Import the module and return the start function."""
        target: object = importlib.import_module(self.module)
        for part in self.start.split("."):
            target = getattr(target, part)
        if not callable(target):
            raise TypeError(f"{self.module}.{self.start} is not callable")
        return cast(StartSimulated, target)


SIMULATED_KINDS: tuple[SimulatedKind, ...] = (
    SimulatedKind("posture", "sensorlink.simsensor.kinds", "start_posture"),
    SimulatedKind("movesense", "sensorlink.simsensor.sim_movesense", "SimulatedMovesense.start"),
    SimulatedKind("polar-verity-sense", "sensorlink.simsensor.sim_polar", "SimulatedVeritySense.start"),
    SimulatedKind("polar-h10", "sensorlink.simsensor.sim_polar", "SimulatedPolarH10.start"),
    SimulatedKind("metamotion", "sensorlink.simsensor.sim_metawear", "SimulatedMetaMotionS.start"),
    SimulatedKind("witmotion", "sensorlink.simsensor.sim_witmotion", "SimulatedWitMotion.start"),
)
"""Every kind with a simulated peripheral (one line per vendor)."""


def simulated_kind_names() -> tuple[str, ...]:
    return tuple(k.kind for k in SIMULATED_KINDS)


def simulated_kind(adapter: str) -> SimulatedKind | None:
    """The simulated kind an adapter spec names (``sim`` is ``sim:posture``); None for a real adapter.

    Raises
    ------
    InvalidConfiguration
        ``sim:KIND`` with a kind that has no simulated peripheral (the message lists the kinds).
    """
    if adapter == SIM_ADAPTER:
        name = DEFAULT_SIMULATED_KIND
    elif adapter.startswith(SIM_ADAPTER_PREFIX):
        name = adapter.removeprefix(SIM_ADAPTER_PREFIX)
    else:
        return None
    for kind in SIMULATED_KINDS:
        if kind.kind == name:
            return kind
    raise InvalidConfiguration(
        f"no simulated sensor of kind {name!r}: use --adapter sim:KIND with KIND one of "
        f"{', '.join(simulated_kind_names())}"
    )


async def start_posture(
    link: LocalLink, options: SimulatedDeviceOptions, motion: MotionSource | None
) -> SimulatedSensor:
    """Our own simulated sensor, from the options every simulated kind takes."""
    from sensorlink.simsensor.peripheral import SimulatedSensorOptions, start_simulated_sensor

    sensor_options = SimulatedSensorOptions(
        time_scale=options.time_scale,
        faults=options.faults,
        battery_pct=options.battery_pct,
        keystore_file=options.keystore_file,
        log_max_records=options.log_max_records,
        connection_interval_s=options.connection_interval_s,
        connection_event_loss_probability=options.connection_event_loss_probability,
        radio_seed=options.radio_seed,
        pairing_mode=options.pairing_mode,
    )
    if options.address is not None:
        sensor_options = replace(sensor_options, address=options.address)
    return await start_simulated_sensor(link, sensor_options, motion)
