"""Movesense through the GATT SensorData Protocol of its sample firmware, as a `SensorProfile`.

THIS NEEDS MOVESENSE'S SAMPLE FIRMWARE `gatt_sensordata_app` ON THE SENSOR. The factory firmware talks only
to Movesense's mobile library (MDS, the Whiteboard protocol); the sample firmware (movesense-device-lib,
samples/gatt_sensordata_app, flashed with Movesense's DFU tools) adds the GSP service this profile speaks. A
Movesense without it is refused in one line that says so (`MovesenseSession.check_device`).

What the profile does (codec and sources: `movesense_protocol`, docs/sensors.md):

- Recognised by its advertised name "Movesense <serial>" (or the GSP service UUID where advertised).
- `check_device` finds the GSP service and sends HELLO; the sensor must answer "Hello".
- `start` subscribes `/Meas/IMU6/<rate>` (acc m/s^2 and gyro deg/s as float32) with client reference 99,
  `stop` unsubscribes. The sample firmware drops every subscription when the central disconnects, so a
  reconnect subscribes again: a new stream, `resumed=False`.
- Timing: each notification carries the sensor's millisecond clock at its FIRST sample (imu.yaml), no
  counter. The link tracks samples by that clock: a gap in sample time, in sample periods, is the loss, so
  every sample arriving once and in order is checkable. The clock's millisecond resolution is below one
  sample period from 1000 Hz on (833 and 1666 Hz): the link's period estimate averages it out.
- GSP v1 has no command to set ranges: the sensor keeps its configured ranges (assumed here to be the
  defaults, +-8 g and +-2000 deg/s: not confirmed from Movesense documents, see docs/sensors.md). Values
  arrive in physical units, so the ranges only decide where a signal saturates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bleak import BleakClient

from sensorlink.errors import ControlCommandFailed, InvalidConfiguration, MalformedPacket
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
from sensorlink.profiles.movesense_protocol import (
    GSP_COMMAND_UUID,
    GSP_DATA_UUID,
    GSP_SERVICE_UUID,
    IMU6_SAMPLE_RATES_HZ,
    TIMESTAMP_MODULO_MS,
    CommandResult,
    GspNotification,
    GspRequest,
    GspResponse,
    Imu6Reassembler,
    imu6_path,
)
from sensorlink.profiles.standard_gatt import read_firmware_revision, read_standard_battery_pct
from sensorlink.sequence import signed_wrap

__all__ = [
    "DATA_REFERENCE",
    "MOVESENSE",
    "NAME_PREFIX",
    "MovesenseDecoding",
    "MovesenseProfile",
    "MovesenseSession",
    "samples_per_notification",
]

logger = logging.getLogger(__name__)

NAME_PREFIX = "Movesense"
"""Movesense sensors advertise "Movesense <serial number>"."""
DATA_REFERENCE = 99
"""Client reference of the IMU6 subscription (the value the sample's own clients use)."""
HELLO_REFERENCE = 123
ACC_RANGE_G = 8
GYR_RANGE_DPS = 2000
_DEVICE = "Movesense"
_TIME_MODULO_US = TIMESTAMP_MODULO_MS * 1000
_FIRMWARE_ADVICE = (
    "flash Movesense's sample firmware gatt_sensordata_app (movesense-device-lib, samples/"
    "gatt_sensordata_app) onto it with Movesense's DFU tools; the factory firmware only talks to "
    "Movesense's mobile library"
)


def samples_per_notification(sample_rate_hz: int) -> int:
    """Samples the sensor batches into one IMU6 notification at this rate (what the simulator sends).

    Movesense does not document it; 8 at 104 Hz and above follows the sample's Python client, which reads 8
    IMU9 samples per 104 Hz notification. Lower rates halve it with the rate (an assumption). The decoding
    reads the count from each notification's length and never relies on this.
    """
    return max(1, min(8, sample_rate_hz // 13))


class MovesenseDecoding:
    """IMU6 notifications of one stream as samples stamped with the sensor clock (a `PacketDecoding`).

    Joins DATA and DATA_PART2 (`Imu6Reassembler`); `abandoned_parts` counts first parts whose second part
    never came (their samples show as a gap in sensor time, where the link counts them as lost).

    The sensor stamps in whole milliseconds, coarser than a sample period from 1000 Hz on (0.6 ms at
    1666 Hz): a gap between two stamps cannot say by itself how many samples lie between. The sensor sends
    its samples in notifications of a fixed count n, so a gap is a whole number of notifications: the
    decoding counts samples (`k`, the index of a notification's first sample) by rounding each gap to
    whole notifications of n samples at the period measured on the sensor's clock over the whole stream
    (`period_us`: milliseconds over minutes, so the rounding of each stamp no longer matters), and reports
    each notification's first sample on a grid that advances by whole samples at that period from the
    first stamp, in microseconds. The link's sample-time tracker then sees exact gaps at every rate.
    """

    def __init__(self, settings: StreamSettings) -> None:
        self._reassembler = Imu6Reassembler(DATA_REFERENCE)
        self._nominal_period_us = 1e6 / settings.sample_rate_hz
        self._first_ms: int | None = None
        self._last_ms = 0
        self._elapsed_ms = 0  # unwrapped milliseconds from the first stamp to the last accepted
        self._last_k = 0
        self._last_count = 0
        self._last_time_us = 0.0  # grid time of the last accepted notification's first sample

    @property
    def abandoned_parts(self) -> int:
        return self._reassembler.abandoned_parts

    @property
    def period_us(self) -> float:
        """The sample period measured on the sensor's clock (nominal until 1 s of stream has passed)."""
        if self._last_k * self._nominal_period_us < 1e6:
            return self._nominal_period_us
        return self._elapsed_ms * 1000.0 / self._last_k

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        imu = self._reassembler.feed(bytes(data))
        if imu is None:
            return ()
        n = imu.sample_count
        if self._first_ms is None:
            self._first_ms = self._last_ms = imu.timestamp_ms
            self._last_count = n
            self._last_time_us = imu.timestamp_ms * 1000.0
            return (self._packet(imu.acc_mps2, imu.gyr_dps, self._last_time_us, session_start=True),)
        period_us = self.period_us
        step_ms = signed_wrap(imu.timestamp_ms - self._last_ms, TIMESTAMP_MODULO_MS)
        block = self._last_count if self._last_count == n else 1
        steps = round(step_ms * 1000.0 / (period_us * block))
        # On the grid: the last accepted notification's time plus whole samples at the measured period (a
        # duplicate lands on its original's time, a late one before it: the link's tracker sorts them out).
        time_us = self._last_time_us + steps * block * period_us
        if steps > 0:
            self._last_k += steps * block
            self._last_count = n
            self._last_ms = imu.timestamp_ms
            self._elapsed_ms += step_ms
            self._last_time_us = time_us
        return (self._packet(imu.acc_mps2, imu.gyr_dps, time_us, session_start=False),)

    def _packet(
        self, acc_mps2: FloatArray, gyr_dps: FloatArray, time_us: float, *, session_start: bool
    ) -> DecodedPacket:
        return DecodedPacket(
            acc_mps2=acc_mps2,
            gyr_dps=gyr_dps,
            sensor_time_us=round(time_us) % _TIME_MODULO_US,
            session_start=session_start,
        )


class MovesenseSession:
    """One connection to a Movesense running gatt_sensordata_app (a `ProfileSession`).

    Command results and data share the one notify characteristic: the session subscribes to it once and
    passes COMMAND_RESULT notifications to the command waiting for them, everything else to the link.
    """

    def __init__(self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback) -> None:
        self._client = client
        self._command_timeout_s = command_timeout_s
        self._on_status = on_status
        self._firmware_revision = ""
        self._notifying = False
        self._on_data: DataCallback | None = None
        self._waiter: asyncio.Future[CommandResult] | None = None
        self._settings: StreamSettings | None = None

    @property
    def firmware_revision(self) -> str:
        return self._firmware_revision

    async def check_device(self) -> str:
        """Find the GSP service and have the sensor answer HELLO; return its firmware revision.

        Raises
        ------
        InvalidConfiguration
            No GSP service (the sensor does not run gatt_sensordata_app), or no answer to HELLO.
        """
        client = self._client
        if client.services.get_service(GSP_SERVICE_UUID) is None:
            raise InvalidConfiguration(
                f"this Movesense has no GATT SensorData Protocol service ({GSP_SERVICE_UUID}): "
                + _FIRMWARE_ADVICE
            )
        await self._ensure_notifying()
        try:
            result = await self._command(GspRequest.hello(HELLO_REFERENCE))
        except TimeoutError:
            raise InvalidConfiguration(
                f"this Movesense has the GSP service but does not answer HELLO within "
                f"{self._command_timeout_s:g} s: its firmware is not a gatt_sensordata_app this version "
                f"knows; {_FIRMWARE_ADVICE}"
            ) from None
        if not result.hello:
            raise InvalidConfiguration(
                f"this Movesense answered HELLO with status {result.status}: {_FIRMWARE_ADVICE}"
            )
        revision = await read_firmware_revision(client)
        self._firmware_revision = revision or "gatt_sensordata_app (GSP v1)"
        return self._firmware_revision

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check the device and the settings; nothing is written before `start` (GSP has no configuration).

        The typical samples per notification is what the sensor batches at that rate (reported, not set).
        """
        MOVESENSE.capabilities.check(requested, _DEVICE)
        if not self._firmware_revision:
            await self.check_device()
        settings = StreamSettings(
            sample_rate_hz=requested.sample_rate_hz,
            acc_range_g=requested.acc_range_g,
            gyr_range_dps=requested.gyr_range_dps,
            samples_per_packet=samples_per_notification(requested.sample_rate_hz),
        )
        self._settings = settings
        return settings

    async def subscribe_data(self, on_data: DataCallback) -> None:
        self._on_data = on_data
        await self._ensure_notifying()

    async def start(self) -> StartInfo:
        """Subscribe to /Meas/IMU6/<rate> (the sample answers nothing when that succeeds)."""
        settings = self._settings
        if settings is None:
            raise RuntimeError("prepare() comes before start()")
        request = GspRequest.subscribe(DATA_REFERENCE, imu6_path(settings.sample_rate_hz))
        await self._client.write_gatt_char(GSP_COMMAND_UUID, bytes(request), response=True)
        return StartInfo(
            next_seq=0, sensor_time_us=0, resumed=False, samples_per_packet=settings.samples_per_packet
        )

    async def stop(self) -> None:
        request = GspRequest.unsubscribe(DATA_REFERENCE)
        await self._client.write_gatt_char(GSP_COMMAND_UUID, bytes(request), response=True)

    async def time_sync(self) -> int | None:
        return None  # GSP v1 has no time request

    async def read_battery_pct(self) -> int | None:
        return await read_standard_battery_pct(self._client)

    async def _ensure_notifying(self) -> None:
        if not self._notifying:
            await self._client.start_notify(GSP_DATA_UUID, lambda _c, data: self._on_notification(data))
            self._notifying = True

    async def _command(self, request: GspRequest) -> CommandResult:
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        try:
            await self._client.write_gatt_char(GSP_COMMAND_UUID, bytes(request), response=True)
            async with asyncio.timeout(self._command_timeout_s):
                result = await self._waiter
        finally:
            self._waiter = None
        if result.reference != request.reference:
            raise ControlCommandFailed(request.command.name, f"answer for reference {result.reference}")
        return result

    def _on_notification(self, data: bytearray) -> None:
        if data and data[0] == GspResponse.COMMAND_RESULT:
            try:
                result = CommandResult.from_notification(GspNotification.from_bytes(bytes(data)))
            except MalformedPacket as exc:
                logger.warning("ignored GSP command result: %s", exc)
                return
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(result)
            elif result.status is not None:
                logger.warning(
                    "Movesense refused a command (reference %d): status %d", result.reference, result.status
                )
            return
        if self._on_data is not None:
            self._on_data(data)


class MovesenseProfile(FoundByDiscovery):
    """Movesense with gatt_sensordata_app as a `SensorProfile` (use the module's `MOVESENSE`)."""

    kind = "movesense"
    name = "movesense-gsp-v1"
    display_name = "Movesense (gatt_sensordata_app)"
    discovery = Discovery(service_uuids=(GSP_SERVICE_UUID,), name_prefixes=(NAME_PREFIX,))
    capabilities = Capabilities(IMU6_SAMPLE_RATES_HZ, (ACC_RANGE_G,), (GYR_RANGE_DPS,))
    timing = SampleTiming(
        clock="device",
        loss_checkable=True,
        description="a u32 millisecond sensor clock stamps the first sample of every IMU6 notification (no "
        "counter); the link maps it onto the host clock by arrivals and counts gaps in it as lost samples",
    )
    requires_bonding = False
    counters = PacketCounters(seq_modulo=2, sensor_time_modulo_us=_TIME_MODULO_US)
    default_settings = StreamSettings(
        sample_rate_hz=208, acc_range_g=ACC_RANGE_G, gyr_range_dps=GYR_RANGE_DPS, samples_per_packet=8
    )

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> MovesenseSession:
        return MovesenseSession(client, command_timeout_s=command_timeout_s, on_status=on_status)

    def decoding(self, settings: StreamSettings) -> MovesenseDecoding:
        return MovesenseDecoding(settings)


MOVESENSE = MovesenseProfile()
"""The Movesense profile (gatt_sensordata_app firmware required)."""
