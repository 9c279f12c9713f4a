"""A simulated MbientLab MetaMotionS (BMI270) or MetaMotionRL (BMI160) answering the MetaWear protocol.

Every byte on the air is built and parsed with `sensorlink.profiles.metawear_protocol`, the codec the profile
decodes with; the behaviour follows MbientLab's published SDK and protocol reference (docs/sensors.md,
"MbientLab MetaMotionS / MetaMotionRL"). The `VendorPeripheral` base feeds it from the running simulator,
paces it on a drifting oscillator and injects the faults (link drops, lost notifications, clock drift,
arrival jitter).

What the simulated board does
-----------------------------
- GATT: the MetaWear service, one command characteristic (write, write without response) and one notify
  characteristic for every answer and every data notification; Device Information (model "8" for the
  MetaMotionS, "5" for the MetaMotionRL, as the SDK's test boards report) and Battery.
- Advertises flags, the MetaWear service UUID and the name "MetaWear" (31 bytes; the virtual controller
  delivers no scan response, so all of it travels in the advertisement).
- Module discovery: `[module, 0x80]` is answered with the module infos of the SDK's emulated boards
  (`common.py`): accelerometer implementation 4 / gyroscope 1 on the BMI270 board, 1 / 0 on the BMI160 one;
  settings revision 10 / 3 (battery state from revision 3); every other module absent (`[module, 0x80]`).
- Accelerometer and gyroscope: configuration writes and reads, data subscriptions (unpacked and packed),
  sampling enable, power mode. The stream starts with the first sensor switched on, at the accelerometer's
  ODR, and stops when both are off. Each chunk of the base stream (3 samples when a packed register is
  subscribed, else 1) becomes one packed notification per subscribed packed sensor, or one notification
  per sample and unpacked sensor: accelerometer first, then gyroscope. No counter, no clock, as on the air.
- Settings: battery state reads (`[0x11, 0x8c]`); a connection-parameter write makes the board request
  those parameters from the central over L2CAP (Core Spec Vol 3 Part A 4.20), and the connection interval
  the central grants paces the notifications from then on.

Simplifications: the gyroscope streams only at the accelerometer's ODR (the BMI160/BMI270 sample both on
one clock when the rates are equal; other pairs are not simulated); a disconnect switches both sensors off
and forgets the subscriptions (a real board keeps its sensors running until told, which is why the profile
stops them before configuring); logging, sensor fusion, macros and every other module are absent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.errors import MalformedPacket
from sensorlink.profiles.metawear_protocol import (
    COMMAND_UUID,
    NOTIFY_UUID,
    PACKED_SAMPLES,
    SERVICE_UUID,
    AccConfig,
    BatteryRead,
    BatteryState,
    Chip,
    Command,
    ConfigRead,
    ConnectionParameters,
    DataSubscription,
    GyroConfig,
    InfoRead,
    Module,
    ModuleInfo,
    MotionData,
    PowerMode,
    SamplingEnable,
    data_register,
    parse_command,
    quantise,
)
from sensorlink.simsensor.gap import (
    AD_COMPLETE_128_BIT_UUIDS,
    AD_COMPLETE_LOCAL_NAME,
    ad_flags,
    ad_structure,
    uuid128_le,
)
from sensorlink.simsensor.motion import MotionSource
from sensorlink.simsensor.vendor import SampleChunk, SimulatedDeviceOptions, VendorPeripheral

__all__ = ["SimulatedMetaMotion", "SimulatedMetaMotionRL", "SimulatedMetaMotionS"]

logger = logging.getLogger(__name__)

ACC, GYRO, SETTINGS = Module.ACCELEROMETER, Module.GYRO, Module.SETTINGS
_SENSORS = (ACC, GYRO)
_LIPO_FULL_MV, _LIPO_EMPTY_MV = 4150, 3400  # a plausible cell voltage for the battery answer


class SimulatedMetaMotion(VendorPeripheral):
    """A MetaWear board with a Bosch IMU; the subclasses say which (see the module docstring).

    Attributes
    ----------
    acc_config, gyro_config : AccConfig, GyroConfig
        What the central last wrote (the boards' power-on defaults: 100 Hz, +-8 g / +-2000 deg/s).
    active, sampling : set of Module
        Sensors switched on, and sensors whose data-ready is routed to their data registers.
    subscribed : dict of Module to bool
        Subscribed data register per sensor: True packed, False unpacked.
    commands_refused : int
        Written commands the board did not understand (ignored, as the firmware does).
    granted_interval_s : float or None
        The connection interval the central granted after a connection-parameter request.
    """

    kind = "metamotion"
    name_prefix = "MetaWear"
    manufacturer_name = "MbientLab Inc"
    firmware_revision = "1.7.3"
    chip: ClassVar[Chip]
    module_infos: ClassVar[dict[int, ModuleInfo]]

    def __init__(self, device: Device, options: SimulatedDeviceOptions, motion: MotionSource) -> None:
        self.acc_config = AccConfig(self.chip, 100, 8)
        self.gyro_config = GyroConfig(100, 2000)
        self.active: set[Module] = set()
        self.sampling: set[Module] = set()
        self.subscribed: dict[Module, bool] = {}
        self.commands_refused = 0
        self.granted_interval_s: float | None = None
        super().__init__(device, options, motion)

    # --- GATT and advertising ------------------------------------------------------------------------------

    def build_services(self) -> list[Service]:
        props = Characteristic.Properties
        self.command_characteristic: Characteristic[bytes] = Characteristic(
            COMMAND_UUID,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._write_command),
        )
        self.data_characteristic = Characteristic(
            NOTIFY_UUID, props.NOTIFY, Characteristic.Permissions.READABLE, b""
        )
        return [Service(SERVICE_UUID, [self.command_characteristic, self.data_characteristic])]

    def local_name(self) -> str:
        """MetaWear boards advertise "MetaWear" until a central renames them."""
        return self.name_prefix

    def advertising_data(self) -> bytes:
        return (
            ad_flags()
            + ad_structure(AD_COMPLETE_128_BIT_UUIDS, uuid128_le(SERVICE_UUID))
            + ad_structure(AD_COMPLETE_LOCAL_NAME, self.local_name().encode())
        )

    # --- commands ------------------------------------------------------------------------------------------

    def _write_command(self, connection: Connection | None, value: bytes) -> None:
        try:
            command = parse_command(bytes(value), self.chip)
        except MalformedPacket as exc:
            self.commands_refused += 1
            logger.info("MetaWear command ignored: %s", exc)
            return
        answer = self._handle(connection, command)
        if answer is not None:
            # Answer after the write is acknowledged, as the board's notify follows the command.
            self.spawn(self.notify(self.data_characteristic, answer))

    def _handle(self, connection: Connection | None, command: Command) -> bytes | None:
        match command:
            case InfoRead(module=module):
                return bytes(self.module_infos.get(module, ModuleInfo(module, None, None)))
            case AccConfig():
                self.acc_config = command
            case GyroConfig():
                self.gyro_config = command
            case ConfigRead(module=module):
                return (self.acc_config if module is ACC else self.gyro_config).read_response()
            case DataSubscription(module=module, register=register, enabled=enabled):
                if enabled:
                    self.subscribed[module] = register == data_register(self.chip, module, packed=True)
                else:
                    self.subscribed.pop(module, None)
            case SamplingEnable(module=module, enabled=enabled):
                (self.sampling.add if enabled else self.sampling.discard)(module)
            case PowerMode(module=module, active=active):
                (self.active.add if active else self.active.discard)(module)
                self._update_stream()
            case ConnectionParameters():
                if connection is not None:
                    self.spawn(self._request_parameters(connection, command))
            case BatteryRead():
                return bytes(BatteryState(self.battery_pct, _battery_mv(self.battery_pct)))
        return None

    def _update_stream(self) -> None:
        if not self.active:
            self.stop_stream()
        elif self.stream is None:
            rate_hz = self.acc_config.odr_hz if ACC in self.active else self.gyro_config.odr_hz
            packed = any(self.subscribed.values())
            self.start_stream(rate_hz, PACKED_SAMPLES if packed else 1)

    async def _request_parameters(self, connection: Connection, params: ConnectionParameters) -> None:
        """Ask the central for the parameters over L2CAP; pace notifications at what it grants."""
        try:
            await self.device.update_connection_parameters(
                connection,
                params.min_interval_ms,
                params.max_interval_ms,
                params.latency,
                params.supervision_timeout_ms,
                use_l2cap=True,
            )
        except Exception as exc:
            logger.info("connection parameters refused: %r", exc)

    def on_connected(self, connection: Connection) -> None:
        connection.on(connection.EVENT_CONNECTION_PARAMETERS_UPDATE, lambda: self._on_parameters(connection))

    def _on_parameters(self, connection: Connection) -> None:
        if connection is not self.connection:
            return
        interval_s = connection.parameters.connection_interval / 1000.0
        self.granted_interval_s = interval_s
        self._events.interval_s = interval_s
        self._events.anchor_true_s = self.true_time_s()
        logger.info("%s: connection interval now %.2f ms", self.kind, interval_s * 1e3)

    def on_disconnected(self) -> None:
        self.active.clear()
        self.sampling.clear()
        self.subscribed.clear()

    # --- data ----------------------------------------------------------------------------------------------

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        """Per streaming sensor (switched on, sampling, subscribed): one packed notification or one per
        sample; the accelerometer's first."""
        out: list[bytes] = []
        for module in _SENSORS:
            if module not in self.active or module not in self.sampling or module not in self.subscribed:
                continue
            if module is ACC:
                raw = quantise(chunk.acc_mps2, self.acc_config.lsb_per_g / STANDARD_GRAVITY_MPS2)
            else:
                raw = quantise(chunk.gyr_dps, self.gyro_config.lsb_per_dps)
            if self.subscribed[module] and chunk.sample_count == PACKED_SAMPLES:
                out.append(MotionData(module, True, raw).to_bytes(self.chip))
            else:
                out.extend(
                    MotionData(module, False, raw[i : i + 1]).to_bytes(self.chip) for i in range(len(raw))
                )
        return out


def _battery_mv(charge_pct: int) -> int:
    return round(_LIPO_EMPTY_MV + (_LIPO_FULL_MV - _LIPO_EMPTY_MV) * charge_pct / 100)


class SimulatedMetaMotionS(SimulatedMetaMotion):
    """MetaMotionS: BMI270 (module infos of MetaWear-SDK-Cpp test/common.py, METAWEAR_MOTION_S_BOARD)."""

    default_address = "D4:57:00:00:00:03"
    model_number = "8"
    chip = Chip.BMI270
    module_infos: ClassVar[dict[int, ModuleInfo]] = {
        ACC: ModuleInfo(ACC, 4, 0),
        GYRO: ModuleInfo(GYRO, 1, 0),
        SETTINGS: ModuleInfo(SETTINGS, 0, 10, b"\x07\x00"),
    }


class SimulatedMetaMotionRL(SimulatedMetaMotion):
    """MetaMotionRL: BMI160 (module infos of MetaWear-SDK-Cpp test/common.py, METAWEAR_MOTION_RL_BOARD)."""

    default_address = "D4:57:00:00:00:04"
    model_number = "5"
    firmware_revision = "1.5.0"
    chip = Chip.BMI160
    module_infos: ClassVar[dict[int, ModuleInfo]] = {
        ACC: ModuleInfo(ACC, 1, 2),
        GYRO: ModuleInfo(GYRO, 0, 1),
        SETTINGS: ModuleInfo(SETTINGS, 0, 3),
    }
