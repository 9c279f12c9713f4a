"""WitMotion WT901BLE (WT901BLECL, BWT901BLECL5.0) through its published BLE protocol, as a `SensorProfile`.

The sensor streams its 20-byte 0x55 0x61 packet (acceleration, angular velocity, angle: one sample per
notification) from the moment a central enables notifications, at the return rate stored in its register
0x03 (10 Hz from the factory, 200 Hz at most). Codec and sources: `witmotion_protocol`, docs/sensors.md.

What the profile does:

- Recognised by its advertised name ("WT901BLE..." as WitMotion ships it) or its service FFE5.
- `check_device` needs the FFE5 service with FFE4 (notify) and FFE9 (write): one line if missing.
- `check_device` also reads register 0x03 (`FF AA 27 03 00`, answered by a 0x71 packet): a device that does
  not answer does not speak this protocol (one line).
- `prepare` (a new stream) writes the rate as WitMotion's SDKs do: unlock `FF AA 69 88 B5`, the rate
  `FF AA 03 RATE 00`, save `FF AA 00 00 00`, 100 ms apart, and reads register 0x03 back (the sensor
  acknowledges no write). Ranges are fixed (+-16 g, +-2000 deg/s).
- Timing: the packet has NO counter and NO clock. Sample times come from the host's arrival times, the
  nominal rate and the packet boundaries (`sensorlink.host_clock.HostSampleClock`, which holds each packet
  0.3 s before its times are final); lost notifications
  cannot be seen in the data, only inferred from arrival gaps (`LinkCounters.samples_lost_inferred`), so
  loss is reported as NOT checkable (`timing.loss_checkable` is False).
- The angle (the sensor's own fusion) is decoded by the codec but not passed on: the processing computes
  its own orientation from acceleration and angular rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np
from bleak import BleakClient

from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.errors import InvalidConfiguration
from sensorlink.host_clock import HostClockQuality, HostSampleClock
from sensorlink.profile import (
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    FloatArray,
    FoundByDiscovery,
    PacketCounters,
    SampleTiming,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles.standard_gatt import read_firmware_revision, read_standard_battery_pct
from sensorlink.profiles.witmotion_protocol import (
    ACC_FULL_SCALE_G,
    GYR_FULL_SCALE_DPS,
    HEADER,
    PACKET_BYTES,
    RETURN_RATE_CODES,
    WIT_NOTIFY_UUID,
    WIT_SERVICE_UUID,
    WIT_WRITE_UUID,
    PacketFlag,
    Register,
    RegisterRead,
    WitCommand,
    parse_notification,
)

__all__ = ["NAME_PREFIX", "WITMOTION", "WitMotionDecoding", "WitMotionProfile", "WitMotionSession"]

logger = logging.getLogger(__name__)

NAME_PREFIX = "WT901BLE"
"""WitMotion's BLE sensors advertise "WT901BLE" and two digits (e.g. "WT901BLE68")."""
COMMAND_GAP_S = 0.1
"""WitMotion's SDKs wait 100 ms between unlock, write and save."""
_DEVICE = "WitMotion WT901BLE"


class WitMotionDecoding:
    """0x61 packets of one stream as samples on the host's clock (a `PacketDecoding`).

    One `HostSampleClock` per stream numbers and times the samples from arrival times, the nominal rate and
    the packet sizes, and infers the samples lost before a packet. It holds each packet for its lookahead
    (0.3 s) before its placement is final, so `decode` returns the packets that became final, oldest first.
    Register answers (0x71) carry no samples and are skipped.
    """

    def __init__(self, settings: StreamSettings) -> None:
        self._clock: HostSampleClock[tuple[FloatArray, FloatArray]] = HostSampleClock(settings.sample_rate_hz)

    @property
    def quality(self) -> HostClockQuality:
        """How well the host clock times the samples so far (its own error estimate)."""
        return self._clock.quality

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        packets, _registers = parse_notification(bytes(data))
        if not packets:
            return ()
        acc_mps2 = np.stack([p.acc_g for p in packets]) * STANDARD_GRAVITY_MPS2
        gyr_dps = np.stack([p.gyr_dps for p in packets])
        return [
            DecodedPacket(
                acc_mps2=placed.payload[0],
                gyr_dps=placed.payload[1],
                host_time_s=placed.t_s,
                samples_lost_before=placed.samples_lost_before,
            )
            for placed in self._clock.push(host_ns, len(packets), (acc_mps2, gyr_dps))
        ]


class WitMotionSession:
    """One connection to a WT901BLE (a `ProfileSession`): rate register and notifications, nothing else.

    Register answers (0x71) and data (0x61) share FFE4: the session subscribes to it once and passes a
    register answer to the read waiting for it, everything else to the link (once it asked for data).
    """

    def __init__(self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback) -> None:
        self._client = client
        self._command_timeout_s = command_timeout_s
        self._firmware_revision = ""
        self._notifying = False
        self._on_data: DataCallback | None = None
        self._waiter: asyncio.Future[RegisterRead] | None = None

    @property
    def firmware_revision(self) -> str:
        return self._firmware_revision

    async def check_device(self) -> str:
        """Refuse, in one line, a device without the FFE5 service and its FFE4/FFE9 characteristics, or one
        that does not answer a register read (a firmware that does not speak this protocol)."""
        services = self._client.services
        if services.get_service(WIT_SERVICE_UUID) is None or any(
            services.get_characteristic(uuid) is None for uuid in (WIT_NOTIFY_UUID, WIT_WRITE_UUID)
        ):
            raise InvalidConfiguration(
                f"this device has no WitMotion service {WIT_SERVICE_UUID} with its notify (FFE4) and write "
                "(FFE9) characteristics: it is not a WT901BLE, or a WitMotion model with another protocol"
            )
        await self._read_register(Register.RETURN_RATE)
        revision = await read_firmware_revision(self._client)
        self._firmware_revision = revision or "WT901BLE (no version reported)"
        return self._firmware_revision

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check the settings and (a new stream) write the return rate (unlock, rate, save), then read it
        back: the sensor acknowledges no write, and a rate it did not take would mistime every sample."""
        WITMOTION.capabilities.check(requested, _DEVICE)
        if not self._firmware_revision:
            await self.check_device()
        if not resume:
            for command in (WitCommand.unlock(), WitCommand.set_return_rate(requested.sample_rate_hz)):
                await self._write(command)
                await asyncio.sleep(COMMAND_GAP_S)
            await self._write(WitCommand.save())
            code = (await self._read_register(Register.RETURN_RATE)).values[0]
            if code != RETURN_RATE_CODES[requested.sample_rate_hz]:
                raise InvalidConfiguration(
                    f"the {_DEVICE} did not take a return rate of {requested.sample_rate_hz} Hz (register "
                    f"0x03 reads {code:#04x}): its firmware does not accept this rate; try another rate or "
                    "set it with WitMotion's app"
                )
        return StreamSettings(
            sample_rate_hz=requested.sample_rate_hz,
            acc_range_g=ACC_FULL_SCALE_G,
            gyr_range_dps=GYR_FULL_SCALE_DPS,
            samples_per_packet=1,
        )

    async def subscribe_data(self, on_data: DataCallback) -> None:
        self._on_data = on_data
        await self._ensure_notifying()

    async def start(self) -> StartInfo:
        """Nothing to send: the sensor streams while notifications are on."""
        return StartInfo(next_seq=0, sensor_time_us=0, resumed=False, samples_per_packet=1)

    async def stop(self) -> None:
        """Notifications off (the sensor itself never stops sampling)."""
        self._on_data = None
        if self._notifying:
            self._notifying = False
            await self._client.stop_notify(WIT_NOTIFY_UUID)

    async def time_sync(self) -> int | None:
        return None  # no device clock

    async def read_battery_pct(self) -> int | None:
        return await read_standard_battery_pct(self._client)

    async def _write(self, command: WitCommand) -> None:
        async with asyncio.timeout(self._command_timeout_s):
            await self._client.write_gatt_char(WIT_WRITE_UUID, bytes(command), response=True)

    async def _ensure_notifying(self) -> None:
        if not self._notifying:
            await self._client.start_notify(WIT_NOTIFY_UUID, lambda _c, data: self._on_notification(data))
            self._notifying = True

    async def _read_register(self, register: int) -> RegisterRead:
        """Ask for a 0x71 answer starting at `register`; one line if the sensor does not answer."""
        await self._ensure_notifying()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._write(WitCommand.read(register))
            async with asyncio.timeout(self._command_timeout_s):
                answer = await self._waiter
        except TimeoutError:
            raise InvalidConfiguration(
                f"the device does not answer a WitMotion register read within {self._command_timeout_s:g} s: "
                "its firmware does not speak the WT901BLE protocol (an unknown firmware or another model)"
            ) from None
        finally:
            self._waiter = None
        return answer

    def _on_notification(self, data: bytearray) -> None:
        if len(data) == PACKET_BYTES and data[0] == HEADER and data[1] == PacketFlag.REGISTERS:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(RegisterRead.from_bytes(bytes(data)))
            return
        if self._on_data is not None:
            self._on_data(data)


class WitMotionProfile(FoundByDiscovery):
    """WitMotion WT901BLE as a `SensorProfile` (use the module's `WITMOTION`)."""

    kind = "witmotion"
    name = "witmotion-wt901ble"
    display_name = _DEVICE
    discovery = Discovery(service_uuids=(WIT_SERVICE_UUID,), name_prefixes=(NAME_PREFIX,))
    capabilities = Capabilities(tuple(RETURN_RATE_CODES), (ACC_FULL_SCALE_G,), (GYR_FULL_SCALE_DPS,))
    timing = SampleTiming(
        clock="host",
        loss_checkable=False,
        description="no device clock and no counter: sample times from arrival times, the nominal return "
        "rate and packet boundaries; lost notifications are invisible and only inferred from arrival gaps",
    )
    requires_bonding = False
    counters = PacketCounters(seq_modulo=2, sensor_time_modulo_us=2)
    default_settings = StreamSettings(
        sample_rate_hz=max(RETURN_RATE_CODES),
        acc_range_g=ACC_FULL_SCALE_G,
        gyr_range_dps=GYR_FULL_SCALE_DPS,
        samples_per_packet=1,
    )

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> WitMotionSession:
        return WitMotionSession(client, command_timeout_s=command_timeout_s, on_status=on_status)

    def decoding(self, settings: StreamSettings) -> WitMotionDecoding:
        return WitMotionDecoding(settings)


WITMOTION = WitMotionProfile()
"""The WitMotion WT901BLE profile."""
