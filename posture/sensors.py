"""The sensor side of every command that streams: the adapter from the settings, pairing, the simulated run.

Shared by `posture record`, `run`, `demo` and the tests (nothing imports from `posture.commands`). Only this
module and `sensorlink.scan` choose a real BLE backend; everything below takes the backend as an argument.
With `--adapter sim:KIND` (`sim` is `sim:posture`) a simulated device of that profile kind runs in this
process on a virtual link; its bonds are kept in the config directory too, so `pair` and a later `run` in
another process see the same device. Everything device-specific goes through the sensor's profile (the one
the scan attributed it to); nothing here names a vendor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from posture.settings import Settings
from sensorlink.bonds import Bond, BondStore
from sensorlink.errors import PairingFailed, SensorNotFound
from sensorlink.profile import SensorStatus
from sensorlink.scan import (
    BleBackend,
    FoundSensor,
    bumble_key_store_path,
    open_ble_backend,
    scan_for_sensors,
)
from sensorlink.simsensor.kinds import DEFAULT_SIMULATED_KIND, simulated_kind

if TYPE_CHECKING:
    from sensorlink.simsensor.motion import MotionSource

__all__ = [
    "BUILTIN_SCENARIO",
    "PAIR_TIMEOUT_S",
    "SIM_SENSOR_KEYS",
    "choose_sensor",
    "is_simulated",
    "motion_for_scenario",
    "open_backend",
    "pair_with",
    "paired_or_pair_simulated",
]

SIM_SENSOR_KEYS = "sim-sensor-keys.json"
"""The simulated posture sensor's bonds in the config directory (another kind's: ``sim-KIND-keys.json``)."""
#: A profile session's commands during pairing (`ProfileSession.check_device`).
_PAIR_COMMAND_TIMEOUT_S = 5.0
#: Connect, pair and read the firmware revision: a real pairing takes a few seconds and SMP itself gives up
#: after 30 s (Core Spec Vol 3 Part H 3.4); a sensor that has not finished by this bound never will.
PAIR_TIMEOUT_S = 45.0
#: The in-process simulated sensor keeps only its most recent sent-log records (its totals stay exact), so a
#: long simulated run does not grow in memory.
SIM_LOG_MAX_RECORDS = 10_000
#: The simulated sensor's own motion when no scenario is named.
BUILTIN_SCENARIO = "stand-then-run"
# Scenarios are simulated at this rate and resampled to the sensor's (drifting) sampling instants; at least
# twice the highest sensor rate that still fits the simulator's limit keeps the interpolation error small.
_SCENARIO_SAMPLING_RATE_HZ = 416.0


def _simulated_sensors(
    settings: Settings, time_scale: float, motion: MotionSource | None = None
) -> list[Callable[[object], Awaitable[object]]]:
    """The in-process simulated device for `--adapter sim:KIND`, its bonds kept in the config directory.

    `motion` is what the device measures (default: the built-in stand-then-run motion).
    """
    kind = simulated_kind(settings.adapter)
    if kind is None:
        return []
    from sensorlink.simsensor.vendor import SimulatedDeviceOptions

    keys = settings.config_dir / (
        SIM_SENSOR_KEYS if kind.kind == DEFAULT_SIMULATED_KIND else f"sim-{kind.kind}-keys.json"
    )
    options = SimulatedDeviceOptions(
        time_scale=time_scale, keystore_file=keys, log_max_records=SIM_LOG_MAX_RECORDS
    )
    start_device = kind.load()

    async def start(link: object) -> object:
        return await start_device(link, options, motion)  # type: ignore[arg-type]

    return [start]


def is_simulated(settings: Settings) -> bool:
    """Whether the settings' adapter is a simulated device on the in-process virtual link (`sim:KIND`)."""
    return simulated_kind(settings.adapter) is not None


def open_backend(
    settings: Settings, time_scale: float = 1.0, motion: MotionSource | None = None
) -> AbstractAsyncContextManager[BleBackend]:
    """The async context manager of the adapter in the settings (with the simulated device for `sim:KIND`)."""
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    peripherals = _simulated_sensors(settings, time_scale, motion)
    return open_ble_backend(
        settings.adapter,
        key_store_path=bumble_key_store_path(settings.config_dir),
        simulated_peripherals=peripherals,
    )


async def pair_with(backend: BleBackend, sensor: FoundSensor, store: BondStore) -> Bond:
    """Pair where the sensor's profile needs it (LE Secure Connections), check the device through its
    profile (`ProfileSession.check_device`: firmware, services), and remember it in `store` with its kind."""
    profile = sensor.profile
    # A device that announces a version its profile does not implement is not bonded: connecting and
    # checking it (`check_device`) gives the clear refusal.
    bond_first = profile.requires_bonding and (sensor.info is None or sensor.info.supported)
    factory = backend.pair_client_factory if bond_first else backend.client_factory
    client = factory(sensor.device, lambda _client: None)

    def ignore_status(_status: SensorStatus) -> None:
        return None

    try:
        async with asyncio.timeout(PAIR_TIMEOUT_S), client:
            if bond_first:
                await client.pair()
            session = profile.session(
                client, command_timeout_s=_PAIR_COMMAND_TIMEOUT_S, on_status=ignore_status
            )
            await session.check_device()
    except TimeoutError as exc:
        raise PairingFailed(sensor.address, f"no answer within {PAIR_TIMEOUT_S:g} s") from exc
    bond = Bond(
        sensor.address, sensor.name or sensor.address, backend.adapter, time.time_ns(), profile=profile.kind
    )
    store.add(bond)
    return bond


def choose_sensor(sensors: list[FoundSensor], address: str | None, timeout_s: float) -> FoundSensor:
    """The sensor at `address`, or the strongest one in pairing mode (then the strongest)."""
    if address is not None:
        for s in sensors:
            if s.address.upper() == address.upper():
                return s
        raise SensorNotFound(timeout_s, address)
    if not sensors:
        raise SensorNotFound(timeout_s)
    in_pairing_mode = [s for s in sensors if s.info is None or s.info.pairing_mode]
    return (in_pairing_mode or sensors)[0]  # strongest signal first


async def paired_or_pair_simulated(
    backend: BleBackend, settings: Settings, *, timeout_s: float = 5.0
) -> Bond:
    """The newest bond on this adapter; for the simulated sensor, pair it first if it never was.

    A real sensor must be paired with `posture pair` (the runner presses its button); the simulated one has
    no button, so `posture --adapter sim run` works on a fresh machine.
    """
    from sensorlink.errors import NotPaired

    store = BondStore(settings.bonds_file)
    bonds = store.for_adapter(settings.adapter)
    if bonds:
        return bonds[-1]
    if not is_simulated(settings):
        raise NotPaired(settings.adapter)
    sensors = await scan_for_sensors(backend, timeout_s=timeout_s)
    return await pair_with(backend, choose_sensor(sensors, None, timeout_s), store)


def motion_for_scenario(
    name: str | None, seed: int | None = None, duration_s: float | None = None
) -> MotionSource:
    """The motion source of a simulated sensor: a `processing.simulation` scenario, or the built-in motion.

    After a scenario's end the sensor rests (the runner stands still again).

    Raises
    ------
    KeyError
        An unknown scenario name (the message lists the known ones).
    """
    from sensorlink.simsensor import ArrayMotionSource, StandThenRunMotion

    if name is None or name == BUILTIN_SCENARIO:
        return StandThenRunMotion(seed=seed or 0)
    from processing.simulation import scenario_by_name, simulate  # heavy: only when a scenario is asked for

    scenario = scenario_by_name(name)
    # The simulated sensor is ours (three axes, a gyroscope, its own packets and clock): a scenario's
    # recording-only options, a biaxial logger or a host's stamps, describe files and are left out here.
    changes: dict[str, object] = {
        "sampling_rate_hz": _SCENARIO_SAMPLING_RATE_HZ,
        "absent_acc_axis": None,
        "host_stamps": None,
    }
    if seed is not None:
        changes["seed"] = seed
    if duration_s is not None:
        changes["duration_s"] = duration_s
    run = simulate(dataclasses.replace(scenario, **changes))  # type: ignore[arg-type]
    return ArrayMotionSource.from_samples(run.samples, at_end="rest")
