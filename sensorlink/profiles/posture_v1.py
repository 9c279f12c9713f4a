"""Our own sensor, firmware spec v1 (firmware_specs/posture_sensor_v1.md), as the first `SensorProfile`.

Recognition, settings, the control point (START, STOP, TIME_SYNC with indications), the status
characteristic and the packet codec all come from `sensorlink.protocol`, which takes every UUID, size and
opcode from `firmware_specs`. The link's own behaviour (resume after a drop, loss accounting, clock mapping)
is the same for every profile; what the spec says about it ("Link drops", "Receiver rules") is met by the
link together with this session: START after a reconnect resumes the running session and reports its seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from bleak import BleakClient
from bleak.backends.scanner import AdvertisementData

from sensorlink.errors import ControlCommandFailed, MalformedPacket
from sensorlink.profile import (
    AdvertisedSensor,
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    SampleTiming,
    SensorStatus,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles.standard_gatt import FIRMWARE_REVISION_UUID, read_standard_battery_pct
from sensorlink.protocol import (
    DEFAULT_CONFIG,
    PROFILE,
    AdvertisementInfo,
    ControlRequest,
    ControlResponse,
    ImuPacket,
    SensorConfig,
    StatusReport,
    check_firmware_revision,
    local_name_for,
)
from sensorlink.sequence import POSTURE_V1_COUNTERS

__all__ = [
    "FIRMWARE_REVISION_UUID",
    "POSTURE_V1",
    "STREAMING_CONFIG",
    "PostureSensorV1",
    "PostureV1Decoding",
    "PostureV1Session",
]

logger = logging.getLogger(__name__)

#: Samples per notification while streaming: the most whose loss the processing still bridges (one lost
#: packet at the default 208 Hz is 17 / 208 = 82 ms of missing time, within the gap policy's 0.085 s,
#: `processing.pipeline.gaps.GapPolicy.max_bridge_s`; 19, the most an MTU of 247 holds, would leave 91 ms and
#: split the run at every lost packet, costing a step). Still 2.1 times fewer notifications than the spec's
#: default 8, which matters on a busy host; the session lowers it on smaller MTUs.
STREAMING_SAMPLES_PER_PACKET = 17
STREAMING_CONFIG = replace(DEFAULT_CONFIG, samples_per_packet=STREAMING_SAMPLES_PER_PACKET)

_GATT = PROFILE.gatt
_CFG = PROFILE.configuration
_DEVICE = "the posture sensor"


def _status(report: StatusReport) -> SensorStatus:
    return SensorStatus(
        battery_pct=report.battery_pct,
        flags=report.flags,
        buffer_overflow=report.buffer_overflow,
        sensor_fault=report.sensor_fault,
    )


class PostureV1Session:
    """One connection to a spec-v1 sensor: configuration, control point and status (a `ProfileSession`)."""

    def __init__(self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback) -> None:
        self._client = client
        self._command_timeout_s = command_timeout_s
        self._on_status_report = on_status
        self._firmware_revision = ""
        self._lock = asyncio.Lock()
        self._waiter: asyncio.Future[ControlResponse] | None = None

    @property
    def firmware_revision(self) -> str:
        return self._firmware_revision

    async def check_device(self) -> str:
        """Read the firmware revision and refuse a protocol major version this client does not implement."""
        revision = bytes(await self._client.read_gatt_char(FIRMWARE_REVISION_UUID)).decode(
            "utf-8", errors="replace"
        )
        check_firmware_revision(revision)
        self._firmware_revision = revision
        return revision

    async def read_battery_pct(self) -> int | None:
        return await read_standard_battery_pct(self._client)

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check the firmware, subscribe to status and control, and (new session) write the configuration.

        A session left running by an earlier client that did not stop it (crash, kill) is stopped first, so
        that the configuration can be written and the new session starts at a session-start packet.
        """
        client = self._client
        await self.check_device()
        POSTURE_V1.capabilities.check(requested, _DEVICE)
        config = SensorConfig.from_settings(requested).fitted_to_mtu(client.mtu_size)
        await client.start_notify(_GATT.status_uuid, lambda _c, data: self._on_status(data))
        await client.start_notify(_GATT.control_point_uuid, lambda _c, data: self._on_control(data))
        status = StatusReport.from_bytes(bytes(await client.read_gatt_char(_GATT.status_uuid)))
        self._on_status(bytearray(bytes(status)))
        if not resume:
            if status.streaming:
                logger.warning("sensor %s was still streaming an old session; stopping it", client.address)
                await self.stop()
            await client.write_gatt_char(_GATT.configuration_uuid, bytes(config), response=True)
        return config

    async def subscribe_data(self, on_data: DataCallback) -> None:
        await self._client.start_notify(_GATT.imu_data_uuid, lambda _c, data: on_data(data))

    async def start(self) -> StartInfo:
        return (await self._command(ControlRequest.start())).start_info()

    async def stop(self) -> None:
        await self._command(ControlRequest.stop())

    async def time_sync(self) -> int | None:
        return (await self._command(ControlRequest.time_sync())).time_sync_sensor_time_us()

    async def _command(self, request: ControlRequest) -> ControlResponse:
        """Write a control-point request and wait for its indication."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                await self._client.write_gatt_char(_GATT.control_point_uuid, bytes(request), response=True)
                async with asyncio.timeout(self._command_timeout_s):
                    response = await self._waiter
            finally:
                self._waiter = None
        if response.opcode != request.opcode:
            raise ControlCommandFailed(request.opcode.name, f"answer was for {response.opcode.name}")
        if not response.ok:
            raise ControlCommandFailed(request.opcode.name, response.result.name)
        return response

    def _on_control(self, data: bytearray) -> None:
        try:
            response = ControlResponse.from_bytes(bytes(data))
        except MalformedPacket as exc:
            logger.warning("ignored control response: %s", exc)
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        else:
            logger.warning("unexpected control response %s", response)

    def _on_status(self, data: bytearray) -> None:
        try:
            report = StatusReport.from_bytes(bytes(data))
        except MalformedPacket as exc:
            logger.warning("ignored status: %s", exc)
            return
        self._on_status_report(_status(report))


class PostureV1Decoding:
    """Spec v1 packets under one stream's settings (a `PacketDecoding`): stateless, each packet on its own.

    Every packet carries its counter and the sensor time of its first sample, so nothing is buffered.
    """

    def __init__(self, settings: StreamSettings) -> None:
        self._config = SensorConfig.from_settings(settings)

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        return (decode_packet(data, self._config),)


def decode_packet(data: bytes, config: SensorConfig) -> DecodedPacket:
    """One spec v1 IMU notification as samples; `MalformedPacket` if it does not follow the layout."""
    packet = ImuPacket.from_bytes(data)
    acc_mps2, gyr_dps = packet.decode(config)
    return DecodedPacket(
        acc_mps2=acc_mps2,
        gyr_dps=gyr_dps,
        seq=packet.seq,
        sensor_time_us=packet.sensor_time_us,
        session_start=bool(packet.flags & ImuPacket.FLAG_SESSION_START),
    )


class PostureSensorV1:
    """Firmware spec v1 as a `SensorProfile` (use the module's `POSTURE_V1`)."""

    kind = "posture"
    name = "posture-v1"
    display_name = "posture sensor (spec v1)"
    discovery = Discovery(
        service_uuids=(_GATT.service_uuid,),
        name_prefixes=(PROFILE.advertising.local_name_prefix,),
        company_ids=(PROFILE.advertising.company_id,),
    )
    capabilities = Capabilities(_CFG.sample_rates_hz, _CFG.acc_ranges_g, _CFG.gyr_ranges_dps)
    timing = SampleTiming(
        clock="device",
        loss_checkable=True,
        description="a u32 microsecond sample clock and a u16 packet counter in every packet, mapped onto "
        "the host clock by arrivals and TIME_SYNC round trips",
    )
    requires_bonding = True
    counters = POSTURE_V1_COUNTERS
    default_settings: StreamSettings = STREAMING_CONFIG

    def recognises(self, advertisement: AdvertisementData) -> bool:
        """Our service UUID, our name prefix, or our manufacturer data (company id) in the advertisement."""
        return self.discovery.matches(advertisement)

    def advertised(
        self, address: str, advertisement: AdvertisementData
    ) -> tuple[str | None, AdvertisedSensor | None]:
        try:
            info = AdvertisementInfo.from_manufacturer_data(advertisement.manufacturer_data)
        except MalformedPacket as exc:
            logger.warning("sensor %s advertises unreadable data: %s", address, exc)
            info = None
        name = advertisement.local_name
        if name is None:
            # The spec derives the name from the address, and the name travels in the scan response, which
            # some scanners (and Bumble's virtual controller) never deliver: derive it the same way.
            try:
                name = local_name_for(address.split("/")[0])
            except ValueError:
                name = None
        if info is None:
            return name, None
        return name, AdvertisedSensor(
            protocol_major=info.protocol_major,
            battery_pct=info.battery_pct,
            pairing_mode=info.pairing_mode,
            supported=info.protocol_major == PROFILE.protocol.major,
        )

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> PostureV1Session:
        return PostureV1Session(client, command_timeout_s=command_timeout_s, on_status=on_status)

    def decoding(self, settings: StreamSettings) -> PostureV1Decoding:
        return PostureV1Decoding(settings)


POSTURE_V1 = PostureSensorV1()
"""The profile of our own sensor, the link's and the scanner's default."""
