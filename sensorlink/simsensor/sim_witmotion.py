"""A simulated WitMotion WT901BLE speaking its published BLE protocol (0x55 0x61 packets, FFE5/FFE4/FFE9).

Every byte on the air is built and parsed with `sensorlink.profiles.witmotion_protocol`, the codec the profile
decodes with; the behaviour follows the WT901BLECL datasheet and WitMotion's BLE 5.0 SDKs (docs/sensors.md,
"WitMotion WT901BLE"). The `VendorPeripheral` base feeds it from the running simulator, paces it on a
drifting oscillator and injects the faults (link drops, lost notifications, clock drift, arrival jitter).

What the simulated sensor does
------------------------------
- Advertises flags and its name, "WT901BLE" and two digits (the virtual controller delivers no scan response,
  so the name travels in the advertisement itself).
- GATT: service FFE5 with FFE4 (notify) and FFE9 (write, with or without response), Device Information and
  Battery. All on WitMotion's UUID base (...-00805f9a34fb).
- It samples from the moment a central connects, at the return rate (register 0x03; 10 Hz at power-on), one
  sample per 20-byte notification; what no subscribed central takes is lost (sent-log: SUPPRESSED).
- Writing register 0x03 within 10 s of an unlock (`FF AA 69 88 B5`) changes the rate at once (a new stream
  of the base at the new rate); save (`FF AA 00 00 00`) keeps it over a reconnect. A write without unlock,
  or with a rate code it does not know, is ignored (the sensor answers nothing either way).
- A read (`FF AA 27 REG 00`) is answered with a 0x71 packet of 8 registers (the rate register reads back).
- A disconnect stops sampling (the base's stream); the next connection starts it again at the saved rate.

Simplifications: the angle is roll and pitch from the accelerometer and no yaw (the sensor fuses its own);
the magnetometer and the other registers read as zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.errors import MalformedPacket
from sensorlink.profiles.witmotion import NAME_PREFIX
from sensorlink.profiles.witmotion_protocol import (
    RETURN_RATE_CODES,
    UNLOCK_KEY,
    WIT_NOTIFY_UUID,
    WIT_SERVICE_UUID,
    WIT_WRITE_UUID,
    Register,
    RegisterRead,
    WitCommand,
    WitImuPacket,
)
from sensorlink.simsensor.gap import AD_COMPLETE_LOCAL_NAME, ad_flags, ad_structure
from sensorlink.simsensor.vendor import SampleChunk, VendorPeripheral

__all__ = ["SimulatedWitMotion"]

logger = logging.getLogger(__name__)

POWER_ON_RATE_HZ = 10
UNLOCK_S = 10.0  # the unlock lasts 10 s (datasheet, "Unlock (useful for 10 seconds)")


class SimulatedWitMotion(VendorPeripheral):
    """A WT901BLE (see the module docstring)."""

    kind = "witmotion"
    default_address = "CC:57:00:00:09:68"
    name_prefix = NAME_PREFIX
    manufacturer_name = "WitMotion"
    model_number = "WT901BLECL"
    firmware_revision = "5.0"
    max_mtu = 247

    rate_hz: int = POWER_ON_RATE_HZ
    saved_rate_hz: int = POWER_ON_RATE_HZ
    unlocked_until_true_s: float = -1.0

    def build_services(self) -> list[Service]:
        props = Characteristic.Properties
        self.write_characteristic: Characteristic[bytes] = Characteristic(
            WIT_WRITE_UUID,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._write_command),
        )
        self.data_characteristic = Characteristic(
            WIT_NOTIFY_UUID, props.NOTIFY, Characteristic.Permissions.READABLE, b""
        )
        return [Service(WIT_SERVICE_UUID, [self.data_characteristic, self.write_characteristic])]

    def local_name(self) -> str:
        return f"{self.name_prefix}{self.address[-2:]}"

    def advertising_data(self) -> bytes:
        return ad_flags() + ad_structure(AD_COMPLETE_LOCAL_NAME, self.local_name().encode())

    def on_connected(self, connection: Connection) -> None:
        self.rate_hz = self.saved_rate_hz
        self.start_stream(self.rate_hz, 1)

    # --- commands ------------------------------------------------------------------------------------------

    def _write_command(self, _connection: Connection | None, value: bytes) -> None:
        try:
            command = WitCommand.from_bytes(bytes(value))
        except MalformedPacket as exc:
            logger.info("WitMotion command ignored: %s", exc)
            return
        now = self.true_time_s()
        if command.register == Register.UNLOCK and command.value == UNLOCK_KEY:
            self.unlocked_until_true_s = now + UNLOCK_S
        elif command.register == Register.READ:
            self.spawn(self.notify(self.data_characteristic, bytes(self._registers(command.value))))
        elif now > self.unlocked_until_true_s:
            logger.info("WitMotion register %#x write ignored: not unlocked", command.register)
        elif command.register == Register.SAVE and command.value == 0:
            self.saved_rate_hz = self.rate_hz
        elif command.register == Register.RETURN_RATE:
            rate_hz = command.return_rate_hz
            if rate_hz is None:
                logger.info("WitMotion rate code %#x ignored", command.value)
                return
            self.rate_hz = rate_hz
            if self.connection is not None:
                self.start_stream(rate_hz, 1)

    def _registers(self, start: int) -> RegisterRead:
        values = [0] * 8
        offset = Register.RETURN_RATE - start
        if 0 <= offset < 8:
            values[offset] = RETURN_RATE_CODES[self.rate_hz]
        return RegisterRead(start, tuple(values))

    # --- data ----------------------------------------------------------------------------------------------

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        acc_g = chunk.acc_mps2 / STANDARD_GRAVITY_MPS2
        roll_deg = np.degrees(np.arctan2(acc_g[:, 1], acc_g[:, 2]))
        pitch_deg = np.degrees(np.arctan2(-acc_g[:, 0], np.hypot(acc_g[:, 1], acc_g[:, 2])))
        return [
            bytes(
                WitImuPacket.from_physical(
                    acc_g[i], chunk.gyr_dps[i], np.array([roll_deg[i], pitch_deg[i], 0.0])
                )
            )
            for i in range(chunk.sample_count)
        ]
