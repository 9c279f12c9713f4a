"""Polar Verity Sense (ACC + GYRO) and Polar H10 (ACC) through Polar Measurement Data (PMD): two profiles.

The bytes are `polar_pmd_protocol`'s; this module drives one connection and decodes one stream. Sources (facts
only, our own code): Polar's "Polar Measurement Data general description" (technical_documentation/
online_measurement.pdf in github.com/polarofficial/polar-ble-sdk), the SDK's documentation/products/
PolarVeritySense.md and PolarH10.md (rates and ranges), documentation/SdkModeExplained.md and
TimeSystemExplained.md, and its Android sources BlePMDClient.kt, PmdTimeStampUtils.kt. docs/sensors.md,
"Polar Verity Sense and H10", lists them with what each gave.

Session (the control-point handshake)
-------------------------------------
1. `check_device`: the PMD service must be there; the Device Information firmware revision must read
   MAJOR.MINOR.PATCH, and a Verity Sense needs 1.1.5 or later (SDK mode, SdkModeExplained.md).
2. `prepare`: the ATT MTU must be 232 or more (see `MIN_MTU`); indications of
   the control point; its read (the feature bit map) must offer ACC (and GYRO and SDK mode on a Verity Sense);
   a Verity Sense is put in SDK mode (``02 09``; its normal mode offers 52 Hz only); the settings the device
   offers for ACC (and GYRO) are read (``01 02``, ``01 05``) and must contain the request; Battery Service
   notifications are forwarded.
3. `start`: ``02 02 <TLVs>`` then, on a Verity Sense, ``02 05 <TLVs>``; each answered ``F0 02 type 00 ..``
   with optional setting TLVs, of which the conversion factor is checked against the one the decoding uses.
4. `stop`: ``03 05``, ``03 02`` and SDK mode off again (``03 09``), so that the sensor's own algorithms (heart
   rate) run again.

Timing
------
A frame's timestamp is the device time of its LAST sample, in nanoseconds since 2000-01-01 (PmdTimeStampUtils:
the last sample gets the frame's stamp). The decoding gives the link the first sample's time, in
microseconds, from the last one and the sample period measured between gap-free frames (nominal until then,
and whenever a frame is missing), as the SDK does; the link maps the device clock onto the host's by
arrivals (drift included) and counts loss from gaps in sample time. The device clock keeps running across a
reconnect, so a stream restarted after a link drop is reported as resumed: the samples missed while the link
was down are counted as lost, not hidden behind a new session. A frame whose time does not follow its stream
(more than 1 s back or 15 min ahead) is refused as malformed (random bytes that parse); if the next frame
follows it, the device's clock was reset (it lost its time) and a new session begins.

Merging: ACC and GYRO arrive in separate frames of different lengths. The decoding pairs samples whose
device times lie within half a sample period of each other and emits only whole 6-axis samples, in runs of
consecutive ones; a sample whose partner's stream has moved past it without one is lost (the link then
counts it from the time gap).

Deviation: PMD reports the gyroscope's conversion factor in the start response, but `StreamSettings` (what
the decoding and a session file's replay are built from) has no place for it. The decoding derives it from
the range (``range / 32768`` deg/s per count, a 16-bit full scale) and `start` refuses, in one line, a
device whose reported factor differs, rather than streaming mis-scaled rates.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from bleak import BleakClient

from sensorlink.errors import ControlCommandFailed, InvalidConfiguration, MalformedPacket, UnsupportedFirmware
from sensorlink.profile import (
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    FoundByDiscovery,
    PacketCounters,
    SampleTiming,
    SensorStatus,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles.polar_pmd_protocol import (
    ACC_MG_TO_MPS2,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    ControlPointRequest,
    ControlPointResponse,
    DataFrame,
    MeasurementStopped,
    MeasurementType,
    OpCode,
    PmdFeatures,
    PmdSettings,
    ResponseStatus,
)
from sensorlink.profiles.standard_gatt import (
    read_firmware_revision,
    read_standard_battery_pct,
    require_services,
    subscribe_standard_battery,
)

__all__ = [
    "POLAR_H10",
    "POLAR_VERITY_SENSE",
    "PolarModel",
    "PolarPmdDecoding",
    "PolarPmdProfile",
    "PolarPmdSession",
    "gyro_factor_dps_per_count",
]

logger = logging.getLogger(__name__)

ACC, GYRO, SDK_MODE = MeasurementType.ACC, MeasurementType.GYRO, MeasurementType.SDK_MODE
RESOLUTION_BITS = 16
"""ACC and GYRO resolution both devices offer (PolarVeritySense.md; H10 settings)."""
CHANNELS = 3
MIN_MTU = 232
"""ATT MTU the session asks of the link: what third-party Verity Sense clients negotiate for SDK mode (Polar's
documents name no number; a frame is at most MTU - 3 bytes, and Polar's frames fill about 230)."""
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_FACTOR_TOLERANCE = 1e-3
# Device clock: u64 nanoseconds since 2000-01-01, given to the link in microseconds.
_COUNTERS = PacketCounters(seq_modulo=2, sensor_time_modulo_us=2**64 // 1000)
# A merge that waits longer than this for the other stream drops the oldest samples (a stream that stalled).
_MAX_BUFFER_S = 2.0
# A frame stamped this much before its stream's previous one, or this much after it, is not of this clock.
_JUMP_BACK_NS = 1_000_000_000
_JUMP_AHEAD_NS = 15 * 60 * 1_000_000_000
# A frame that follows such a stamp within this time confirms it: the device's clock was reset.
_JUMP_CONFIRM_NS = 10 * 1_000_000_000


def gyro_factor_dps_per_count(gyr_range_dps: int) -> float:
    """The gyroscope scale the decoding uses: the range over a 16-bit full scale (module docstring)."""
    return gyr_range_dps / 32768


@dataclass(frozen=True, slots=True)
class PolarModel:
    """What tells one Polar PMD device apart from another.

    Attributes
    ----------
    kind, name, display_name : str
        As `SensorProfile` defines them.
    name_prefix : str
        The advertised local name starts with it ("Polar Sense 1A2B3C4D", "Polar H10 1A2B3C4D").
    capabilities : Capabilities
    sdk_mode : bool
        The device needs SDK mode for the rates and ranges in `capabilities` (Verity Sense).
    min_firmware : tuple of int
        Oldest firmware (major, minor, patch) the profile streams from.
    typical_samples_per_frame : int
        Samples of one stream in a frame at the highest rate (for logs only: frames vary in size).
    """

    kind: str
    name: str
    display_name: str
    name_prefix: str
    capabilities: Capabilities
    sdk_mode: bool
    min_firmware: tuple[int, int, int]
    typical_samples_per_frame: int

    @property
    def measurements(self) -> tuple[MeasurementType, ...]:
        return (ACC, GYRO) if self.capabilities.has_gyroscope else (ACC,)


VERITY_SENSE = PolarModel(
    kind="polar-verity-sense",
    name="polar-pmd-verity-sense",
    display_name="Polar Verity Sense",
    name_prefix="Polar Sense",
    # SDK mode, online streaming (PolarVeritySense.md, "SDK Mode capabilities"): 16-bit resolution.
    capabilities=Capabilities((26, 52, 104, 208, 416), (2, 4, 8, 16), (250, 500, 1000, 2000)),
    sdk_mode=True,
    min_firmware=(1, 1, 5),
    typical_samples_per_frame=36,
)
H10 = PolarModel(
    kind="polar-h10",
    name="polar-pmd-h10",
    display_name="Polar H10",
    name_prefix="Polar H10",
    # PolarH10.md: accelerometer at 25, 50, 100, 200 Hz, +-2, 4, 8 g, in mG.
    capabilities=Capabilities((25, 50, 100, 200), (2, 4, 8)),
    sdk_mode=False,
    min_firmware=(0, 0, 0),
    typical_samples_per_frame=36,
)


class PolarFirmwareUnsupported(UnsupportedFirmware):
    """A Polar firmware revision the profile cannot stream from (unreadable, or too old for SDK mode)."""

    def __init__(self, model: PolarModel, firmware_revision: str) -> None:
        need = ".".join(str(v) for v in model.min_firmware)
        Exception.__init__(
            self,
            f"this {model.display_name} runs firmware {firmware_revision or '(none reported)'}; posture "
            f"needs {need} or later for SDK mode: update it with the Polar Flow app",
        )
        self.firmware_revision = firmware_revision
        self.supported_major = model.min_firmware[0]
        self.reported_major = None


def _check_firmware(model: PolarModel, revision: str) -> None:
    match = _VERSION.match(revision.strip())
    if match is None or tuple(int(g) for g in match.groups()) < model.min_firmware:
        raise PolarFirmwareUnsupported(model, revision)


def _start_settings(
    settings: StreamSettings, measurement: MeasurementType, offered: PmdSettings
) -> PmdSettings:
    range_ = settings.acc_range_g if measurement is ACC else settings.gyr_range_dps
    return PmdSettings.selected(
        sample_rate_hz=settings.sample_rate_hz,
        resolution_bits=RESOLUTION_BITS,
        range_=range_,
        channels=CHANNELS if offered.channels else None,
    )


@dataclass(slots=True)
class _Pending:
    op_code: OpCode
    future: asyncio.Future[ControlPointResponse]
    parameters: bytearray = field(default_factory=bytearray)


class PolarPmdSession:
    """One connection to a Polar PMD device (a `ProfileSession`); see the module docstring for the steps."""

    def __init__(
        self, model: PolarModel, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> None:
        self._model = model
        self._client = client
        self._command_timeout_s = command_timeout_s
        self._on_status = on_status
        self._firmware_revision = ""
        self._checked = False
        self._resume = False
        self._settings: StreamSettings | None = None
        self._offered: dict[MeasurementType, PmdSettings] = {}
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None

    @property
    def firmware_revision(self) -> str:
        return self._firmware_revision

    async def check_device(self) -> str:
        require_services(self._client, (PMD_SERVICE_UUID,), self._model.display_name)
        revision = await read_firmware_revision(self._client) or ""
        _check_firmware(self._model, revision)
        self._firmware_revision = revision
        self._checked = True
        return revision

    async def read_battery_pct(self) -> int | None:
        return await read_standard_battery_pct(self._client)

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        model, client = self._model, self._client
        model.capabilities.check(requested, model.display_name)
        if not self._checked:
            await self.check_device()
        if client.mtu_size < MIN_MTU:
            raise InvalidConfiguration(
                f"the Bluetooth link to the {model.display_name} carries {client.mtu_size}-byte ATT packets; "
                f"PMD streaming needs an MTU of {MIN_MTU} or more: use another Bluetooth adapter"
            )
        await client.start_notify(PMD_CONTROL_POINT_UUID, lambda _c, data: self._on_control(bytes(data)))
        features = PmdFeatures.from_bytes(bytes(await client.read_gatt_char(PMD_CONTROL_POINT_UUID)))
        needed = set(model.measurements) | ({SDK_MODE} if model.sdk_mode else set())
        missing = sorted(m.name for m in needed - features.measurement_types)
        if missing:
            raise InvalidConfiguration(
                f"this {model.display_name} (firmware {self._firmware_revision}) offers no PMD "
                f"{', '.join(missing)}: it is another device or its firmware lacks them"
            )
        if await subscribe_standard_battery(client, self._on_status):
            battery_pct = await read_standard_battery_pct(client)
            if battery_pct is not None:  # the level now; later changes come as notifications
                self._on_status(SensorStatus(battery_pct=battery_pct))
        if model.sdk_mode:
            await self._enter_sdk_mode()
        for measurement in model.measurements:
            offered = (await self._command(ControlPointRequest.get_settings(measurement))).settings()
            self._check_offered(measurement, offered, requested)
            self._offered[measurement] = offered
        self._resume = resume
        self._settings = StreamSettings(
            sample_rate_hz=requested.sample_rate_hz,
            acc_range_g=requested.acc_range_g,
            gyr_range_dps=requested.gyr_range_dps,
            samples_per_packet=model.typical_samples_per_frame,
        )
        return self._settings

    def _check_offered(
        self, measurement: MeasurementType, offered: PmdSettings, want: StreamSettings
    ) -> None:
        range_ = want.acc_range_g if measurement is ACC else want.gyr_range_dps
        unit = "g" if measurement is ACC else "deg/s"
        problems = []
        if want.sample_rate_hz not in offered.sample_rates_hz:
            problems.append(f"{want.sample_rate_hz} Hz (it offers {_listed(offered.sample_rates_hz)} Hz)")
        if offered.ranges and range_ not in offered.ranges:
            problems.append(f"+-{range_} {unit} (it offers {_listed(offered.ranges)} {unit})")
        if offered.resolutions_bits and RESOLUTION_BITS not in offered.resolutions_bits:
            problems.append(f"{RESOLUTION_BITS}-bit samples (it offers {_listed(offered.resolutions_bits)})")
        if problems:
            raise InvalidConfiguration(
                f"this {self._model.display_name} (firmware {self._firmware_revision}) cannot stream "
                f"{measurement.name} at {' and '.join(problems)}"
            )

    async def _enter_sdk_mode(self) -> None:
        status = await self._command(ControlPointRequest(OpCode.GET_SDK_MODE_STATUS))
        if status.parameters[:1] not in (b"", b"\x00"):
            return
        response = await self._command(ControlPointRequest.start(SDK_MODE), check=False)
        if response.status is ResponseStatus.ERROR_INVALID_STATE:
            # A stream left running (an earlier client that did not stop it) keeps SDK mode from changing.
            logger.warning("%s was still streaming: stopping it to enter SDK mode", self._model.display_name)
            for measurement in reversed(self._model.measurements):
                await self._command(ControlPointRequest.stop(measurement), check=False)
            response = await self._command(ControlPointRequest.start(SDK_MODE), check=False)
        if not response.ok and response.status is not ResponseStatus.ERROR_ALREADY_IN_STATE:
            raise InvalidConfiguration(
                f"this {self._model.display_name} (firmware {self._firmware_revision}) refuses SDK mode "
                f"({response.status.name}), without which it streams at 52 Hz only: update its firmware with "
                "the Polar Flow app"
            )

    async def subscribe_data(self, on_data: DataCallback) -> None:
        await self._client.start_notify(PMD_DATA_UUID, lambda _c, data: on_data(data))

    async def start(self) -> StartInfo:
        settings = self._settings
        if settings is None:
            raise RuntimeError("start() before prepare()")
        for measurement in self._model.measurements:
            request = ControlPointRequest.start(
                measurement, _start_settings(settings, measurement, self._offered[measurement])
            )
            response = await self._command(request, check=False)
            if response.status is ResponseStatus.ERROR_ALREADY_IN_STATE:
                # Left running by an earlier connection: restart it with these settings.
                await self._command(ControlPointRequest.stop(measurement))
                response = await self._command(request)
            elif not response.ok:
                raise ControlCommandFailed(f"PMD start {measurement.name}", response.status.name)
            self._check_factor(measurement, response.settings().factor, settings)
        return StartInfo(
            next_seq=0,
            sensor_time_us=0,
            resumed=self._resume,
            samples_per_packet=settings.samples_per_packet,
        )

    def _check_factor(
        self, measurement: MeasurementType, factor: float | None, settings: StreamSettings
    ) -> None:
        expected = 1.0 if measurement is ACC else gyro_factor_dps_per_count(settings.gyr_range_dps)
        reported = 1.0 if factor is None else factor
        if not math.isclose(reported, expected, rel_tol=_FACTOR_TOLERANCE):
            raise InvalidConfiguration(
                f"this {self._model.display_name} (firmware {self._firmware_revision}) scales "
                f"{measurement.name} by {reported:g} per count; this posture decodes it with {expected:g}: "
                "update posture"
            )

    async def stop(self) -> None:
        for measurement in reversed(self._model.measurements):
            await self._command(ControlPointRequest.stop(measurement), check=False)
        if self._model.sdk_mode:
            await self._command(ControlPointRequest.stop(SDK_MODE), check=False)

    async def time_sync(self) -> int | None:
        """None: PMD has no time request; arrivals alone map the device clock."""
        return None

    async def _command(self, request: ControlPointRequest, *, check: bool = True) -> ControlPointResponse:
        """Write a request and wait for its response (all its "more" parts); errors raise if `check`."""
        async with self._lock:
            future: asyncio.Future[ControlPointResponse] = asyncio.get_running_loop().create_future()
            self._pending = _Pending(request.op_code, future)
            try:
                await self._client.write_gatt_char(PMD_CONTROL_POINT_UUID, bytes(request), response=True)
                async with asyncio.timeout(self._command_timeout_s):
                    response = await future
            finally:
                self._pending = None
        if check and not response.ok:
            what = request.measurement_type.name if request.measurement_type is not None else ""
            raise ControlCommandFailed(f"PMD {request.op_code.name} {what}".strip(), response.status.name)
        return response

    def _on_control(self, data: bytes) -> None:
        if data[:1] != b"\xf0":
            try:
                stopped = MeasurementStopped.from_bytes(data)
            except MalformedPacket as exc:
                logger.warning("ignored control-point indication: %s", exc)
                return
            names = ", ".join(m.name for m in stopped.measurement_types)
            logger.warning("%s stopped streaming %s on its own", self._model.display_name, names)
            return
        try:
            response = ControlPointResponse.from_bytes(data)
        except MalformedPacket as exc:
            logger.warning("ignored control-point response: %s", exc)
            return
        pending = self._pending
        if pending is None or pending.future.done() or response.op_code is not pending.op_code:
            logger.warning("unexpected control-point response %s", response)
            return
        pending.parameters += response.parameters
        if response.more:
            return
        pending.future.set_result(
            ControlPointResponse(
                response.op_code, response.measurement_type, response.status, False, bytes(pending.parameters)
            )
        )


def _listed(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class _StreamBuffer:
    """Decoded samples of one measurement waiting to be merged: device times (ns) and values."""

    times_ns: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    values: FloatArray = field(default_factory=lambda: np.empty((0, 3)))
    last_frame_ns: int | None = None
    period_ns: float = 0.0
    jump_ns: int | None = None

    def take(self, count: int) -> tuple[IntArray, FloatArray]:
        times, values = self.times_ns[:count], self.values[:count]
        self.times_ns, self.values = self.times_ns[count:], self.values[count:]
        return times, values


class PolarPmdDecoding:
    """The decoding state of one PMD stream (a `PacketDecoding`): frame timing and the ACC/GYRO merge.

    Parameters
    ----------
    settings : StreamSettings
        As the session's `prepare` gave them.
    gyroscope : bool
        Merge GYRO frames into 6-axis samples (Verity Sense); else ACC-only packets (H10).
    """

    def __init__(self, settings: StreamSettings, *, gyroscope: bool) -> None:
        self._gyroscope = gyroscope
        self._nominal_period_ns = 1e9 / settings.sample_rate_hz
        self._gyro_factor = gyro_factor_dps_per_count(settings.gyr_range_dps)
        self._streams: dict[MeasurementType, _StreamBuffer] = {ACC: _StreamBuffer()}
        if gyroscope:
            self._streams[GYRO] = _StreamBuffer()
        self._max_buffered = math.ceil(_MAX_BUFFER_S * settings.sample_rate_hz)
        self._last_emitted_ns: int | None = None
        self._session_start = True

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        frame = DataFrame.from_bytes(data)
        stream = self._streams.get(frame.measurement_type)
        if stream is None:
            raise MalformedPacket(
                "pmd data frame", f"a {frame.measurement_type.name} frame in this stream", length=len(data)
            )
        if frame.timestamp_ns >= 1 << 63:
            raise MalformedPacket("pmd data frame", "timestamp beyond the year 2292", length=len(data))
        factor = None if frame.measurement_type is ACC else self._gyro_factor
        values = frame.samples(factor)
        if self._clock_reset(stream, frame.timestamp_ns, len(data)):
            self._restart()
        if frame.measurement_type is ACC:
            values = values * ACC_MG_TO_MPS2
        times_ns = self._sample_times(stream, frame.timestamp_ns, values.shape[0])
        # Samples at or before what is already buffered or emitted (a repeated frame) are not taken again.
        newest = stream.times_ns[-1] if stream.times_ns.size else self._last_emitted_ns
        if newest is not None:
            keep = times_ns > newest + self._nominal_period_ns / 2
            times_ns, values = times_ns[keep], values[keep]
        stream.times_ns = np.concatenate([stream.times_ns, times_ns])
        stream.values = np.concatenate([stream.values, values])
        return self._emit()

    def _clock_reset(self, stream: _StreamBuffer, timestamp_ns: int, length: int) -> bool:
        """Whether the device clock was reset; a frame whose time does not follow its stream's is malformed.

        A stamp more than `_JUMP_BACK_NS` before the stream's previous frame (for its first frame: the other
        stream's), or more than `_JUMP_AHEAD_NS` after it, belongs to no frame of this clock: a corrupted
        notification (random bytes that happen to parse), refused. If the stream's next frame follows that
        stamp (within `_JUMP_CONFIRM_NS`), the device's clock was reset (it lost its time while the link was
        down): a new session begins there.
        """
        last = stream.last_frame_ns
        if last is None:  # a stream's first frame: the device has one clock, so check it against the other's
            others = [s.last_frame_ns for s in self._streams.values() if s.last_frame_ns is not None]
            last = max(others) if others else None
        if last is None or -_JUMP_BACK_NS <= timestamp_ns - last <= _JUMP_AHEAD_NS:
            stream.jump_ns = None
            return False
        if stream.jump_ns is not None and 0 < timestamp_ns - stream.jump_ns <= _JUMP_CONFIRM_NS:
            logger.warning(
                "the device clock jumped by %d s: a new session begins", (timestamp_ns - last) // 10**9
            )
            return True
        stream.jump_ns = timestamp_ns
        raise MalformedPacket(
            "pmd data frame",
            f"its time is {(timestamp_ns - last) / 1e9:+.3g} s off its stream's previous frame",
            length=length,
        )

    def _sample_times(self, stream: _StreamBuffer, last_ns: int, count: int) -> IntArray:
        """Device times of a frame's samples from its (last-sample) timestamp, as PmdTimeStampUtils does:
        the period between this frame's stamp and the previous one's when no frame is missing between them
        (within 5 % of nominal), the nominal period otherwise."""
        nominal = self._nominal_period_ns
        period = stream.period_ns or nominal
        if stream.last_frame_ns is not None:
            measured = (last_ns - stream.last_frame_ns) / count
            if abs(measured - nominal) < 0.05 * nominal:
                period = measured
        offsets = np.round(np.arange(count - 1, -1, -1) * period).astype(np.int64)
        if offsets[0] > last_ns:
            raise MalformedPacket("pmd data frame", "its first sample would precede 2000-01-01", length=0)
        stream.last_frame_ns, stream.period_ns = last_ns, period
        return np.int64(last_ns) - offsets

    def _restart(self) -> None:
        for stream in self._streams.values():
            stream.take(stream.times_ns.size)
            stream.last_frame_ns, stream.period_ns, stream.jump_ns = None, 0.0, None
        self._last_emitted_ns = None
        self._session_start = True

    def _emit(self) -> list[DecodedPacket]:
        acc = self._streams[ACC]
        if not self._gyroscope:
            times, values = acc.take(acc.times_ns.size)
            return self._runs(times, values, None)
        gyr = self._streams[GYRO]
        if not acc.times_ns.size or not gyr.times_ns.size:
            self._bound(acc)
            self._bound(gyr)
            return []
        half = self._nominal_period_ns / 2
        horizon = min(acc.times_ns[-1], gyr.times_ns[-1]) + half
        a_times, a_values = acc.take(int(np.searchsorted(acc.times_ns, horizon, side="right")))
        g_times, g_values = gyr.take(int(np.searchsorted(gyr.times_ns, horizon, side="right")))
        if not a_times.size or not g_times.size:  # one stream is ahead of every sample of the other
            return []
        # Pair each ACC sample with the GYRO sample nearest in device time, if within half a period.
        right = np.clip(np.searchsorted(g_times, a_times), 0, max(g_times.size - 1, 0))
        left = np.clip(right - 1, 0, None)
        nearer = np.where(np.abs(g_times[left] - a_times) < np.abs(g_times[right] - a_times), left, right)
        paired = np.abs(g_times[nearer] - a_times) < half
        unpaired = a_times.size - int(paired.sum()) + g_times.size - int(paired.sum())
        if unpaired:
            logger.debug("%d ACC/GYRO samples without a partner dropped", unpaired)
        return self._runs(a_times[paired], a_values[paired], g_values[nearer[paired]])

    def _bound(self, stream: _StreamBuffer) -> None:
        excess = stream.times_ns.size - self._max_buffered
        if excess > 0:
            logger.warning("the other PMD stream is silent: %d buffered samples dropped", excess)
            stream.take(excess)

    def _runs(self, times: IntArray, acc: FloatArray, gyr: FloatArray | None) -> list[DecodedPacket]:
        """Consecutive samples as packets: a new packet wherever a sample is missing."""
        if not times.size:
            return []
        breaks = np.flatnonzero(np.diff(times) > 1.5 * self._nominal_period_ns) + 1
        packets = []
        for start, end in zip(np.r_[0, breaks], np.r_[breaks, times.size], strict=True):
            packets.append(
                DecodedPacket(
                    acc_mps2=acc[start:end],
                    gyr_dps=None if gyr is None else gyr[start:end],
                    sensor_time_us=int(times[start] // 1000) % _COUNTERS.sensor_time_modulo_us,
                    session_start=self._session_start,
                )
            )
            self._session_start = False
        self._last_emitted_ns = int(times[-1])
        return packets


class PolarPmdProfile(FoundByDiscovery):
    """A Polar PMD device as a `SensorProfile` (use `POLAR_VERITY_SENSE` or `POLAR_H10`)."""

    requires_bonding = False
    counters = _COUNTERS
    timing = SampleTiming(
        clock="device",
        loss_checkable=True,
        description="a u64 nanosecond device clock (since 2000-01-01) stamps the last sample of every frame; "
        "it is mapped onto the host clock by arrivals, and gaps in it count lost samples",
    )

    def __init__(self, model: PolarModel) -> None:
        self.model = model
        self.kind = model.kind
        self.name = model.name
        self.display_name = model.display_name
        self.capabilities = model.capabilities
        # Both models carry the PMD service (checked on connect); the advertised name tells them apart.
        self.discovery = Discovery(name_prefixes=(model.name_prefix,))
        rates = model.capabilities.sample_rates_hz
        self.default_settings = StreamSettings(
            sample_rate_hz=max(rates),
            acc_range_g=8,
            gyr_range_dps=2000,
            samples_per_packet=model.typical_samples_per_frame,
        )

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> PolarPmdSession:
        return PolarPmdSession(self.model, client, command_timeout_s=command_timeout_s, on_status=on_status)

    def decoding(self, settings: StreamSettings) -> PolarPmdDecoding:
        return PolarPmdDecoding(settings, gyroscope=self.capabilities.has_gyroscope)


POLAR_VERITY_SENSE = PolarPmdProfile(VERITY_SENSE)
"""Polar Verity Sense: ACC and GYRO, 26 to 416 Hz in SDK mode."""
POLAR_H10 = PolarPmdProfile(H10)
"""Polar H10: ACC only, 25 to 200 Hz."""
