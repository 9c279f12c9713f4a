"""MbientLab MetaMotionS (BMI270) and MetaMotionRL (BMI160) through the MetaWear command protocol.

The bytes are `metawear_protocol`'s; this module drives one connection and decodes one stream. Sources (facts
only, our own code): MbientLab's MetaWear-SDK-Cpp (module, register and implementation ids, configuration
bit fields, scale factors, its unit tests' vectors), its C++ documentation ("High Frequency Stream",
"Advanced Features") and docs.mbientlab.com/protocol-reference; Bosch's BMI160 datasheet (section 2.3.2:
accelerometer and gyroscope samples are synchronized in hardware). docs/sensors.md, "MbientLab MetaMotionS /
MetaMotionRL", lists them with what each gave.

Session
-------
1. `check_device`: the MetaWear service must be there (else one line); notifications of its notify
   characteristic are switched on; module discovery reads the info register of the accelerometer, gyroscope
   and settings modules (`[module, 0x80]`). The accelerometer's implementation id names the chip: 1 BMI160
   (MetaMotionR/RL), 4 BMI270 (MetaMotionS); any other (a MetaWear with another accelerometer) or a board
   without a gyroscope of that chip is refused in one line.
2. `prepare`: the request must be one of the offered rates and ranges (`CAPABILITIES`); whatever an earlier
   client left running is switched off (power, sampling, subscriptions); the board is asked for an 8.75 ms
   connection interval (`[0x11, 0x09, ...]`; see "Connection interval"); the accelerometer and gyroscope
   configurations are written and read back, and must read back as written.
3. `start`: subscribe the data registers (packed above 100 Hz: 3 samples per notification), enable sampling,
   switch the gyroscope then the accelerometer on. `stop` undoes it in reverse order.
4. Battery: the settings module's battery state (`[0x11, 0x8c]`, settings revision 3 and later), else the
   standard Battery Service.

Every command is written without response, as the SDK does; answers arrive on the notify characteristic,
the same one that carries the data.

Connection interval
-------------------
MbientLab's high-frequency recipe is packed data plus a short connection interval
(``mbl_mw_settings_set_connection_parameters(board, 7.5, 7.5, 0, 6000)``; its C# guide: 11.25 ms on Android
M and later). The board turns the settings write into an L2CAP connection-parameter update request (Core Spec
Vol 3 Part A 4.20): what the central must do is accept it (BlueZ and Bumble do; a phone's OS may grant less).
At 200 Hz packed the board sends 133 notifications per second, two per 15 ms, so the stream fits a longer
interval too. Deviation: we ask for 8.75 ms (min = max), not 7.5 ms. A notification waits for the next
connection event, and the smallest such wait is the host clock's bias, which arrivals cannot reveal. With
7.5 ms, which divides the 15-ms period of packed chunks (and shares 2.5 ms with the 10, 20 and 40 ms of the
other rates), the phase between sample instants and events barely moves, and that wait can sit near a
whole interval for minutes; 8.75 ms shares only 1.25 ms with every chunk period offered, so successive
chunks meet the events at phases 1.25 ms apart and the smallest wait is under 1.25 ms.

Timing (no device clock)
------------------------
Streaming notifications carry neither a counter nor a clock (`MetaWearDecoding`). The decoding groups each
chunk's accelerometer and gyroscope notifications (they are sampled together, BMI160 datasheet 2.3.2, and
sent back to back), times the chunks with one host sample clock (`sensorlink.host_clock`: arrival times, the
nominal rate and the chunk size, with the true rate fitted) and emits whole 6-axis samples only. A chunk
missing one of its notifications still marks its place, so its samples are counted as lost exactly; only
chunks that lost both are inferred from arrival gaps. Loss is therefore reported, not checkable.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsBytes

import numpy as np
import numpy.typing as npt
from bleak import BleakClient

from sensorlink.errors import InvalidConfiguration, MalformedPacket
from sensorlink.host_clock import HostClockQuality, HostSampleClock, PlacedPacket
from sensorlink.profile import (
    Capabilities,
    DataCallback,
    DecodedPacket,
    Discovery,
    FoundByDiscovery,
    PacketCounters,
    SampleTiming,
    StartInfo,
    StatusCallback,
    StreamSettings,
)
from sensorlink.profiles.metawear_protocol import (
    COMMAND_UUID,
    NOTIFY_UUID,
    PACKED_SAMPLES,
    SERVICE_UUID,
    AccConfig,
    BatteryRead,
    BatteryState,
    Chip,
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
    chip_from_info,
    data_register,
    gyro_implementation,
    parse_notification,
)
from sensorlink.profiles.standard_gatt import (
    read_firmware_revision,
    read_standard_battery_pct,
    require_services,
)

__all__ = [
    "CAPABILITIES",
    "METAMOTION",
    "PACKED_ABOVE_HZ",
    "STREAMING_CONNECTION_PARAMETERS",
    "MetaWearDecoding",
    "MetaWearProfile",
    "MetaWearSession",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

ACC, GYRO, SETTINGS = Module.ACCELEROMETER, Module.GYRO, Module.SETTINGS
DISPLAY_NAME = "MbientLab MetaMotion"

CAPABILITIES = Capabilities(
    # Rates streamed as 6-axis data. Both chips sample faster (accelerometer to 1600 Hz, gyroscope to
    # 3200 Hz), but MbientLab documents streaming "higher than 100 Hz" only through packed data (3 samples
    # per notification) and shows 200 Hz; above that the chips' rates are for on-board logging.
    sample_rates_hz=(25, 50, 100, 200),
    acc_ranges_g=(2, 4, 8, 16),
    gyr_ranges_dps=(125, 250, 500, 1000, 2000),
)
PACKED_ABOVE_HZ = 100
"""Above this rate the packed data registers carry the stream (MbientLab: packed data to exceed 100 Hz)."""
STREAMING_CONNECTION_PARAMETERS = ConnectionParameters(8.75, 8.75, 0, 6000.0)
"""What the board asks the central for: MbientLab's recipe (7.5 ms, latency 0, 6 s timeout) with an interval
that shares only 1.25 ms with the chunk periods (module docstring, "Connection interval")."""
_SETTINGS_BATTERY_REVISION = 3  # SDK settings.cpp BATTERY_REVISION
_PACKED_MIN_REVISION = {Chip.BMI160: 1, Chip.BMI270: 0}  # SDK PACKED_ACC_REVISION (BMI160 boards only)
_EMIT_EVERY_S = 0.1  # merged samples go out in batches this long (after the host clock's 0.3 s lookahead)
_LEARN_NOTIFICATIONS = 24  # notifications that tell which sensor's opens a chunk


def samples_per_notification(rate_hz: int) -> int:
    """3 (packed) above `PACKED_ABOVE_HZ`, else 1."""
    return PACKED_SAMPLES if rate_hz > PACKED_ABOVE_HZ else 1


@dataclass(slots=True)
class _Board:
    """What module discovery found."""

    chip: Chip
    accelerometer: ModuleInfo
    gyroscope: ModuleInfo
    settings: ModuleInfo


class MetaWearSession:
    """One connection to a MetaMotion board (a `ProfileSession`); see the module docstring for the steps."""

    def __init__(self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback) -> None:
        self._client = client
        self._command_timeout_s = command_timeout_s
        self._on_status = on_status
        self._firmware_revision = ""
        self._board: _Board | None = None
        self._settings: StreamSettings | None = None
        self._notifying = False
        self._on_data: DataCallback | None = None
        self._waiters: dict[tuple[int, int], asyncio.Future[bytes]] = {}
        self._lock = asyncio.Lock()
        self.notifications_dropped = 0
        """Notifications that were neither an awaited answer nor taken by a data subscriber (logged)."""

    @property
    def firmware_revision(self) -> str:
        return self._firmware_revision

    @property
    def chip(self) -> Chip | None:
        """The board's IMU, once `check_device` ran."""
        return None if self._board is None else self._board.chip

    # --- the notify characteristic -------------------------------------------------------------------------

    def _on_notify(self, data: bytes) -> None:
        """Answers to awaited reads go to their waiter; everything else to the data subscriber."""
        if len(data) >= 2:
            waiter = self._waiters.get((data[0], data[1]))
            if waiter is not None and not waiter.done():
                waiter.set_result(data)
                return
        if self._on_data is not None:
            self._on_data(bytearray(data))
        else:
            self.notifications_dropped += 1
            logger.info("MetaWear notification before streaming ignored: %s", data.hex())

    async def _write(self, *commands: SupportsBytes) -> None:
        for command in commands:
            await self._client.write_gatt_char(COMMAND_UUID, bytes(command), response=False)

    async def _read(self, command: InfoRead | ConfigRead | BatteryRead) -> bytes:
        """Write a read command and wait for the notification that starts with its answer's header."""
        async with self._lock:
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            self._waiters[command.answer_header] = future
            try:
                await self._write(command)
                async with asyncio.timeout(self._command_timeout_s):
                    return await future
            finally:
                self._waiters.pop(command.answer_header, None)

    # --- ProfileSession ------------------------------------------------------------------------------------

    async def check_device(self) -> str:
        client = self._client
        require_services(client, (SERVICE_UUID,), DISPLAY_NAME)
        self._firmware_revision = await read_firmware_revision(client) or ""
        if not self._notifying:
            await client.start_notify(NOTIFY_UUID, lambda _c, data: self._on_notify(bytes(data)))
            self._notifying = True
        infos = {}
        for module in (ACC, GYRO, SETTINGS):
            answer = await self._read(InfoRead(module))
            try:
                infos[module] = ModuleInfo.from_bytes(answer)
            except MalformedPacket as exc:
                raise InvalidConfiguration(
                    f"the {DISPLAY_NAME} gave an unreadable module info: {exc}"
                ) from None
        chip = chip_from_info(infos[ACC])
        gyro = infos[GYRO]
        if not gyro.present or gyro.implementation != gyro_implementation(chip):
            raise InvalidConfiguration(
                f"this MetaWear board has a {chip.value} accelerometer but no {chip.value} gyroscope "
                f"(gyroscope module info {bytes(gyro).hex()}): posture needs both, as on the MetaMotionS/RL"
            )
        revision = infos[ACC].revision or 0
        if revision < _PACKED_MIN_REVISION[chip]:
            raise InvalidConfiguration(
                f"this {chip.value} board's accelerometer module is revision {revision}, without packed "
                "data: update its firmware with MbientLab's MetaBase app"
            )
        self._board = _Board(chip, infos[ACC], gyro, infos[SETTINGS])
        logger.info("MetaWear board: %s, firmware %s", chip.value, self._firmware_revision)
        return self._firmware_revision

    async def prepare(self, requested: StreamSettings, *, resume: bool) -> StreamSettings:
        """Check, stop what runs, configure (also on `resume`: the board's state is not trusted), verify."""
        CAPABILITIES.check(requested, DISPLAY_NAME)
        board = self._board
        if board is None:
            await self.check_device()
            board = self._board
            if board is None:
                raise RuntimeError("check_device() found no board")
        chip = board.chip
        await self.stop()
        rate_hz = requested.sample_rate_hz
        await self._write(STREAMING_CONNECTION_PARAMETERS)
        acc = AccConfig(chip, rate_hz, requested.acc_range_g)
        gyro = GyroConfig(rate_hz, requested.gyr_range_dps)
        await self._write(acc, gyro)
        for module, written in ((ACC, acc), (GYRO, gyro)):
            answer = await self._read(ConfigRead(module))
            try:
                read_back = parse_notification(answer, chip)
            except MalformedPacket as exc:
                raise InvalidConfiguration(
                    f"the {DISPLAY_NAME} answered its configuration unreadably: {exc}"
                ) from None
            if read_back != written:
                raise InvalidConfiguration(
                    f"the {DISPLAY_NAME} did not take its configuration ({read_back} instead of {written}): "
                    "restart the sensor and try again"
                )
        self._settings = StreamSettings(
            sample_rate_hz=rate_hz,
            acc_range_g=requested.acc_range_g,
            gyr_range_dps=requested.gyr_range_dps,
            samples_per_packet=samples_per_notification(rate_hz),
        )
        return self._settings

    async def subscribe_data(self, on_data: DataCallback) -> None:
        """The notify characteristic is already on (`check_device`): data now go to `on_data`."""
        self._on_data = on_data

    async def start(self) -> StartInfo:
        if self._board is None or self._settings is None:
            raise RuntimeError("prepare() before start()")
        chip, spp = self._board.chip, self._settings.samples_per_packet
        packed = spp == PACKED_SAMPLES
        await self._write(
            DataSubscription(ACC, data_register(chip, ACC, packed=packed), True),
            DataSubscription(GYRO, data_register(chip, GYRO, packed=packed), True),
            SamplingEnable(ACC, True),
            SamplingEnable(GYRO, True),
            PowerMode(GYRO, True),
            PowerMode(ACC, True),
        )
        return StartInfo(next_seq=0, sensor_time_us=0, resumed=False, samples_per_packet=spp)

    async def stop(self) -> None:
        """Switch both sensors off and unsubscribe every data register (also what an earlier client left)."""
        if self._board is None:
            return
        chip = self._board.chip
        await self._write(
            PowerMode(ACC, False),
            PowerMode(GYRO, False),
            SamplingEnable(ACC, False),
            SamplingEnable(GYRO, False),
            *(
                DataSubscription(module, data_register(chip, module, packed=packed), False)
                for module in (ACC, GYRO)
                for packed in (False, True)
            ),
        )

    async def time_sync(self) -> int | None:
        return None

    async def read_battery_pct(self) -> int | None:
        board = self._board
        if board is None or (board.settings.revision or 0) < _SETTINGS_BATTERY_REVISION:
            return await read_standard_battery_pct(self._client)
        answer = await self._read(BatteryRead())
        try:
            return BatteryState.from_bytes(answer).charge_pct
        except MalformedPacket as exc:
            logger.warning("unreadable battery state: %s", exc)
            return None


# --- decoding ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Chunk:
    """The notifications of one sample chunk: the accelerometer's and the gyroscope's (either may be lost)."""

    arrival_ns: int
    acc_mps2: FloatArray | None = None
    gyr_dps: FloatArray | None = None

    def has(self, module: Module) -> bool:
        return (self.acc_mps2 if module is ACC else self.gyr_dps) is not None

    def put(self, module: Module, values: FloatArray) -> None:
        if module is ACC:
            self.acc_mps2 = values
        else:
            self.gyr_dps = values

    @classmethod
    def alone(cls, arrival_ns: int, module: Module, values: FloatArray) -> _Chunk:
        chunk = cls(arrival_ns)
        chunk.put(module, values)
        return chunk


@dataclass(frozen=True, slots=True)
class DecodingCounts:
    """What a MetaWear decoding inferred and dropped (for reports and tests).

    Attributes
    ----------
    chunks : int
        Chunks placed on the host clock (a chunk: the samples of one accelerometer notification and one
        gyroscope notification).
    acc_missing, gyro_missing : int
        Chunks that came without their accelerometer or their gyroscope notification (lost on the air, or
        before the other sensor started): their samples are dropped and counted as lost.
    samples_lost_unseen : int
        Samples of chunks of which neither notification came, inferred by the host clock from arrival gaps.
    """

    chunks: int
    acc_missing: int
    gyro_missing: int
    samples_lost_unseen: int


class MetaWearDecoding:
    """The decoding state of one MetaWear stream (a `PacketDecoding`): chunks, host-clock times, 6-axis merge.

    Parameters
    ----------
    settings : StreamSettings
        As the session's `prepare` gave them (rate, ranges; packed above 100 Hz).

    Notes
    -----
    Chunks. The board sends each chunk's accelerometer and gyroscope notifications back to back, in one
    order it keeps; the decoding learns that order from the first `_LEARN_NOTIFICATIONS` notifications (which
    sensor's notification is followed within half a chunk period by the other's more often). From then on a
    notification of the sensor that comes first opens a chunk, and one of the other sensor completes the open
    chunk if it arrived within half a chunk period of it. Later, it is either the same chunk's half delayed
    by the host (a stall between two deliveries: the next notification then follows early, within one and a
    half chunk periods of the first half) or the next chunk's, whose first half was lost (the next
    notification comes about two periods after); the next arrival decides. Without an open chunk it is a
    chunk of its own whose first half was lost. One host sample clock (`sensorlink.host_clock`) times the
    chunks by the arrival of their first notification: a chunk that lost one of its two notifications still
    shows where it was, so only a chunk that lost both is inferred from an arrival gap. Samples of incomplete
    chunks are dropped (no 6-axis sample without both halves) and reported as lost. The data registers of
    both chips are accepted: a session file does not record the chip, and the samples look the same on both.
    """

    def __init__(self, settings: StreamSettings) -> None:
        rate_hz = settings.sample_rate_hz
        self._acc_config = AccConfig(Chip.BMI270, rate_hz, settings.acc_range_g)
        self._gyro_config = GyroConfig(rate_hz, settings.gyr_range_dps)
        self._samples_per_chunk = samples_per_notification(rate_hz)
        self._chunk_period_ns = round(self._samples_per_chunk / rate_hz * 1e9)
        self._max_gap_ns = self._chunk_period_ns // 2
        self._emit_samples = max(1, round(_EMIT_EVERY_S * rate_hz))
        self._clock: HostSampleClock[_Chunk] = HostSampleClock(rate_hz)
        self._first: Module | None = None
        self._second: Module = GYRO
        self._late: tuple[int, FloatArray] | None = None
        self._learning: list[tuple[Module, int, FloatArray]] = []
        self._open: _Chunk | None = None
        # The run of complete chunks not yet emitted: times and samples of each.
        self._run: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        self._run_samples = 0
        self._next_slot: int | None = None  # slot after the last emitted or buffered sample
        self._lost_before_run = 0
        self._session_start = True
        self._chunks = 0
        self._missing = {ACC: 0, GYRO: 0}

    @property
    def counts(self) -> DecodingCounts:
        return DecodingCounts(
            self._chunks, self._missing[ACC], self._missing[GYRO], self._clock.quality.samples_lost_inferred
        )

    @property
    def clock_quality(self) -> HostClockQuality:
        """How well the host clock times the chunks so far."""
        return self._clock.quality

    def decode(self, data: bytes, host_ns: int) -> Sequence[DecodedPacket]:
        motion = _parse_motion(data)
        n = motion.sample_count
        if n != self._samples_per_chunk:
            raise MalformedPacket(
                "metawear data",
                f"{n} samples where this stream sends {self._samples_per_chunk}",
                length=len(data),
            )
        module = motion.module
        values = motion.acc_mps2(self._acc_config) if module is ACC else motion.gyr_dps(self._gyro_config)
        if self._first is None:
            self._learning.append((module, host_ns, values))
            if len(self._learning) < _LEARN_NOTIFICATIONS:
                return []
            self._first = self._learnt_order()
            self._second = GYRO if self._first is ACC else ACC
            learnt, self._learning = self._learning, []
            chunks = [c for m, t, v in learnt for c in self._group(m, t, v)]
        else:
            chunks = self._group(module, host_ns, values)
        out: list[DecodedPacket] = []
        for chunk in chunks:
            for placed in self._clock.push(chunk.arrival_ns, self._samples_per_chunk, chunk):
                out.extend(self._take(placed))
        if self._run_samples >= self._emit_samples:
            out.extend(self._flush())
        return out

    def _learnt_order(self) -> Module:
        """The sensor whose notification opens a chunk: the one more often followed at once by the other's."""
        votes = {ACC: 0, GYRO: 0}
        for (m0, t0, _), (m1, t1, _) in itertools.pairwise(self._learning):
            if m0 is not m1 and t1 - t0 <= self._max_gap_ns:
                votes[m0] += 1
        first = GYRO if votes[GYRO] > votes[ACC] else ACC
        logger.debug("MetaWear chunk order learnt: %s first (%s)", first.name, votes)
        return first

    def _group(self, module: Module, host_ns: int, values: FloatArray) -> list[_Chunk]:
        """The chunks this notification closes (see the class notes)."""
        closed: list[_Chunk] = []
        open_chunk, late = self._open, self._late
        if open_chunk is not None and late is not None:
            # A second half that came more than half a chunk period after the first: a host stall between
            # the two deliveries (the next notification then follows it early: the gaps add up to about one
            # chunk period), or the next chunk's second half whose first half was lost (about two periods).
            self._open = self._late = None
            late_ns, late_values = late
            if host_ns - open_chunk.arrival_ns < 1.5 * self._chunk_period_ns:
                open_chunk.put(self._second, late_values)
                closed.append(open_chunk)
            else:
                closed.extend((open_chunk, _Chunk.alone(late_ns, self._second, late_values)))
            open_chunk = None
        if module is self._first:
            if open_chunk is not None:
                closed.append(open_chunk)
            self._open = _Chunk.alone(host_ns, module, values)
            return closed
        if open_chunk is not None and not open_chunk.has(module):
            if host_ns - open_chunk.arrival_ns <= self._max_gap_ns:
                open_chunk.put(module, values)
                self._open = None
                closed.append(open_chunk)
            else:
                self._late = (host_ns, values)  # decided by the next notification's arrival
            return closed
        if open_chunk is not None:
            closed.append(open_chunk)
            self._open = None
        closed.append(_Chunk.alone(host_ns, module, values))
        return closed

    def _take(self, placed: PlacedPacket[_Chunk]) -> list[DecodedPacket]:
        """A chunk whose host-clock placement is final: into the run, or a gap that ends it."""
        chunk = placed.payload
        self._chunks += 1
        slot = placed.first_sample_index
        if chunk.acc_mps2 is None or chunk.gyr_dps is None:
            self._missing[ACC if chunk.acc_mps2 is None else GYRO] += 1
            return []  # its slots become a gap before the next complete chunk
        out: list[DecodedPacket] = []
        if self._next_slot is not None and slot != self._next_slot:
            out.extend(self._flush())
            self._lost_before_run = slot - self._next_slot
        self._run.append((placed.t_s, chunk.acc_mps2, chunk.gyr_dps))
        self._run_samples += placed.t_s.size
        self._next_slot = slot + placed.t_s.size
        return out

    def _flush(self) -> list[DecodedPacket]:
        if not self._run:
            return []
        t_s, acc, gyr = (np.concatenate(parts) for parts in zip(*self._run, strict=True))
        packet = DecodedPacket(
            acc_mps2=acc,
            gyr_dps=gyr,
            session_start=self._session_start,
            host_time_s=t_s,
            samples_lost_before=self._lost_before_run,
        )
        self._session_start = False
        self._run, self._run_samples, self._lost_before_run = [], 0, 0
        return [packet]


def _parse_motion(data: bytes) -> MotionData:
    """A data notification of either chip's registers (`MalformedPacket` for anything else)."""
    try:
        return MotionData.from_bytes(data, Chip.BMI270)
    except MalformedPacket:
        return MotionData.from_bytes(data, Chip.BMI160)


# --- the profile ------------------------------------------------------------------------------------------


class MetaWearProfile(FoundByDiscovery):
    """MbientLab MetaMotionS / MetaMotionRL as a `SensorProfile` (use `METAMOTION`)."""

    kind = "metamotion"
    name = "metawear"
    display_name = DISPLAY_NAME
    discovery = Discovery(service_uuids=(SERVICE_UUID,), name_prefixes=("MetaWear",))
    capabilities = CAPABILITIES
    timing = SampleTiming(
        clock="host",
        loss_checkable=False,
        description=(
            "no device clock or counter in MetaWear streaming: sample times come from arrival times, the "
            "nominal rate and notification boundaries (host sample clock); loss is inferred from arrival gaps"
        ),
    )
    requires_bonding = False
    counters = PacketCounters(seq_modulo=2, sensor_time_modulo_us=2)
    default_settings = StreamSettings(
        sample_rate_hz=200, acc_range_g=16, gyr_range_dps=1000, samples_per_packet=PACKED_SAMPLES
    )

    def session(
        self, client: BleakClient, *, command_timeout_s: float, on_status: StatusCallback
    ) -> MetaWearSession:
        return MetaWearSession(client, command_timeout_s=command_timeout_s, on_status=on_status)

    def decoding(self, settings: StreamSettings) -> MetaWearDecoding:
        return MetaWearDecoding(settings)


METAMOTION = MetaWearProfile()
"""The MetaMotionS / MetaMotionRL profile."""
