"""The simulated posture sensor as a Bumble peripheral: advertising, GATT, pairing, paced notify, faults.

It implements firmware_specs/posture_sensor_v1.md on a virtual Bumble controller, so the real link code (bleak
over our Bumble backend) runs against it unchanged. Everything on the air is built with `sensorlink.protocol`,
the same codec the receiver uses. The firmware logic (clock, session, packets) is `SensorCore`; this module
adds the Bluetooth side and maps true time to the event loop's clock: `true_s = (loop.time() - t0) *
time_scale`.

Limits of Bumble's virtual link, seen through this simulator:

- The virtual controller answers an active scan with the advertising data again, not with the scan response,
  so a central on it never sees the local name in advertisements; it reads it from the GAP Device Name.
- No radio timing: a packet arrives as soon as the event loop carries it through both stacks (about 1 ms of
  wall-clock time, more on a loaded machine). This module therefore models it: a notification leaves only at
  a connection event (every `connection_interval_s` of true time, Core Spec Vol 6 Part B 4.5.1), and a
  connection event whose packet is not acknowledged (interference, body shadowing) holds it and everything
  behind it for one more interval, with `connection_event_loss_probability`, from a seeded generator. Host
  arrival jitter on top of that is multiplied by the time scale in simulated time, which bounds how precisely
  a host can estimate clock drift from arrival times in real-time tests (the link tests run on a virtual
  event-loop clock instead), and the event loop bounds the notification rate (`time_scale * sample_rate_hz /
  samples_per_packet`): see benchmarks/bench_simsensor.py. A sensor that falls behind that rate still yields
  to the loop after every packet, so it slows down instead of freezing the process. The sensor's controller
  and host are the `quiet` variants, which skip Bumble's per-packet debug formatting (half the CPU time
  otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bumble import hci
from bumble.att import ATT_Error, Attribute, ErrorCode
from bumble.controller import Controller
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)
from bumble.keys import MemoryKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService
from bumble.transport.common import AsyncPipeSink

from sensorlink.bumble_backend.keystore import PrivateJsonKeyStore
from sensorlink.bumble_backend.virtual import PeripheralController, QuietHost
from sensorlink.errors import InvalidConfiguration, MalformedPacket
from sensorlink.protocol import (
    PROFILE,
    AdvertisementInfo,
    ControlOpcode,
    ControlRequest,
    ControlResponse,
    ControlResult,
    FirmwareVersion,
    SensorConfig,
    StatusReport,
    local_name_for,
)
from sensorlink.simsensor.core import FaultPlan, PacketFate, ProducedPacket, SensorCore, SentLog
from sensorlink.simsensor.gap import (
    AD_COMPLETE_128_BIT_UUIDS,
    AD_COMPLETE_LOCAL_NAME,
    AD_MANUFACTURER_DATA,
    DISCONNECT_TIMEOUT_S,
    OUT_OF_RANGE_REASON,
    SECOND_CENTRAL_REASON,
    STOP_TASKS_TIMEOUT_S,
    ConnectionEvents,
    JustWorksDelegate,
    ad_flags,
    ad_structure,
    uuid128_le,
)
from sensorlink.simsensor.motion import MotionSource, StandThenRunMotion

__all__ = ["SimulatedSensor", "SimulatedSensorOptions", "start_simulated_sensor"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimulatedSensorOptions:
    """How to run one simulated sensor.

    Attributes
    ----------
    address : str
        Random static address (two top bits set); its last two bytes form the advertised name.
    time_scale : float
        Simulated seconds per wall-clock second (20 streams 20 times faster than real time, for tests).
    faults : FaultPlan
    initial_seq, initial_sensor_time_us : int
        Counters at power-on (set near their wrap to test it).
    battery_pct : int
    max_mtu : int
        Largest ATT MTU the sensor accepts in an MTU exchange (247, as a BLE 4.2+ sensor with data length
        extension).
    keystore_file : Path or None
        Where the sensor keeps its bonds (JSON); None keeps them in memory for the sensor's lifetime.
    serial_number : str
    log_max_records : int or None
        Keep only this many sent-log records (a long-running process); None keeps all (tests).
    pairing_mode : bool
        Whether the sensor accepts a new bond (advertised in the manufacturer data flags). Out of pairing mode
        it refuses pairing; a central bonded earlier still re-encrypts with its key.
    connection_interval_s : float
        Seconds of true time between connection events, the only instants a notification leaves (7.5 ms to
        4 s in the Core Spec; phones grant 15 to 50 ms). 0 sends every packet the moment it is complete (no
        radio timing, for throughput measurements).
    connection_event_loss_probability : float
        Chance that a connection event's packet is not acknowledged, so that it and the packets behind it wait
        for the next event (repeatedly: delays are geometric in whole intervals).
    radio_seed : int
        Seed of the generator behind the event losses, so a run is reproducible.
    """

    address: str = "C4:5E:00:00:00:01"
    time_scale: float = 1.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    initial_seq: int = 0
    initial_sensor_time_us: int = 0
    battery_pct: int = 87
    max_mtu: int = 247
    keystore_file: Path | None = None
    serial_number: str = "SIM-0001"
    pairing_mode: bool = True
    log_max_records: int | None = None
    connection_interval_s: float = 0.015
    connection_event_loss_probability: float = 0.02
    radio_seed: int = 0

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {self.time_scale}")
        if not (self.connection_interval_s == 0 or 0.0075 <= self.connection_interval_s <= 4.0):
            raise ValueError(
                f"connection_interval_s must be 0 (no radio timing) or within 0.0075..4 s (Core Spec Vol 6 "
                f"Part B 4.5.1), got {self.connection_interval_s}"
            )
        if not 0 <= self.connection_event_loss_probability < 1:
            raise ValueError(
                "connection_event_loss_probability must be within [0, 1), got "
                f"{self.connection_event_loss_probability}"
            )
        if not 23 <= self.max_mtu <= 517:
            raise ValueError(f"max_mtu must be within 23..517, got {self.max_mtu}")


class SimulatedSensor:
    """A posture sensor on a Bumble controller. Create with `start_simulated_sensor`; end with `await stop()`.

    Attributes
    ----------
    device : bumble.device.Device
    core : SensorCore
        Firmware state; `core.log` is the sent-log.
    options : SimulatedSensorOptions
    name : str
        Advertised local name.
    """

    def __init__(self, device: Device, options: SimulatedSensorOptions, motion: MotionSource) -> None:
        self.device = device
        self.options = options
        self.core = SensorCore(
            motion,
            options.faults,
            initial_seq=options.initial_seq,
            initial_sensor_time_us=options.initial_sensor_time_us,
            battery_pct=options.battery_pct,
            log_max_records=options.log_max_records,
        )
        self.name = local_name_for(options.address)
        revision = options.faults.firmware_revision or PROFILE.protocol.firmware_revision
        self.firmware_revision = revision
        parsed = FirmwareVersion.parse(revision)
        self.advertised_major = parsed.major if parsed is not None else 0
        self.connection: Connection | None = None
        self.connections_total = 0
        self.disconnections_total = 0
        self._imu_subscribed = False
        self._control_indications = False
        self._status_subscribed = False
        self._started_on_connection = False
        self._out_of_range = False
        self._sensor_fault = False
        self._running = False
        self._t0_loop = 0.0
        # Random loss and arrival jitter of the fault plan (drawn only when the plan asks for them).
        self._fault_rng = random.Random(options.faults.seed)
        self._last_event_s = 0.0
        # Anchored at each connection's first connection event.
        self._events = ConnectionEvents(
            options.connection_interval_s, options.connection_event_loss_probability, options.radio_seed
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._fault_task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._pending_lost = set(options.faults.lost_seqs)
        self._pending_corrupted = set(options.faults.corrupted_seqs)
        self._pending_duplicated = set(options.faults.duplicated_seqs)
        self._build_gatt()

    # --- time ----------------------------------------------------------------------------------------------

    def true_time_s(self) -> float:
        """Seconds of simulated true time since power-on."""
        return (asyncio.get_running_loop().time() - self._t0_loop) * self.options.time_scale

    def _loop_time_for(self, true_s: float) -> float:
        return self._t0_loop + true_s / self.options.time_scale

    async def _sleep_until_true(self, true_s: float) -> None:
        delay = self._loop_time_for(true_s) - asyncio.get_running_loop().time()
        await asyncio.sleep(max(0.0, delay))

    @property
    def log(self) -> SentLog:
        return self.core.log

    @property
    def config(self) -> SensorConfig:
        return self.core.config

    # --- GATT ----------------------------------------------------------------------------------------------

    def _cccd(self, characteristic: Characteristic[bytes]) -> None:
        """Give the characteristic a CCCD that needs an encrypted link to write (spec "Security")."""
        permissions = Attribute.READABLE | Attribute.WRITEABLE | Attribute.WRITE_REQUIRES_ENCRYPTION
        descriptor = Descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR, permissions)
        descriptor.value = self.device.gatt_server.make_descriptor_value(characteristic)
        characteristic.descriptors = [descriptor]

    def _build_gatt(self) -> None:
        gatt = PROFILE.gatt
        enc_read = Attribute.READ_REQUIRES_ENCRYPTION | Attribute.READABLE
        enc_write = Attribute.WRITE_REQUIRES_ENCRYPTION | Attribute.WRITEABLE
        props = Characteristic.Properties
        self.imu_characteristic: Characteristic[bytes] = Characteristic(
            gatt.imu_data_uuid, props.NOTIFY, enc_read, b""
        )
        self.configuration_characteristic: Characteristic[bytes] = Characteristic(
            gatt.configuration_uuid,
            props.READ | props.WRITE,
            enc_read | enc_write,
            CharacteristicValue(read=self._read_configuration, write=self._write_configuration),
        )
        self.control_characteristic: Characteristic[bytes] = Characteristic(
            gatt.control_point_uuid,
            props.WRITE | props.INDICATE,
            enc_write,
            CharacteristicValue(write=self._write_control),
        )
        self.status_characteristic: Characteristic[bytes] = Characteristic(
            gatt.status_uuid,
            props.READ | props.NOTIFY,
            enc_read,
            CharacteristicValue(read=lambda _connection: bytes(self._status())),
        )
        for characteristic in (
            self.imu_characteristic,
            self.control_characteristic,
            self.status_characteristic,
        ):
            self._cccd(characteristic)
        self.imu_characteristic.on("subscription", self._on_imu_subscription)
        self.control_characteristic.on("subscription", self._on_control_subscription)
        self.status_characteristic.on("subscription", self._on_status_subscription)
        posture_service = Service(
            gatt.service_uuid,
            [
                self.imu_characteristic,
                self.configuration_characteristic,
                self.control_characteristic,
                self.status_characteristic,
            ],
        )
        info = PROFILE.device_information
        self.battery_service = BatteryService(read_battery_level=lambda _connection: self.core.battery_pct)
        self.device.add_services(
            [
                posture_service,
                DeviceInformationService(
                    manufacturer_name=info.manufacturer_name,
                    model_number=info.model_number,
                    serial_number=self.options.serial_number,
                    hardware_revision=info.hardware_revision,
                    firmware_revision=self.firmware_revision,
                    software_revision=info.software_revision,
                ),
                self.battery_service,
            ]
        )
        self.device.gatt_server.max_mtu = self.options.max_mtu

    def _status(self) -> StatusReport:
        flags = 0
        if self.core.battery_pct <= PROFILE.status.low_battery_pct:
            flags |= StatusReport.FLAG_LOW_BATTERY
        if self.core.streaming:
            flags |= StatusReport.FLAG_STREAMING
        if self._sensor_fault:
            flags |= StatusReport.FLAG_SENSOR_FAULT
        return StatusReport(self.core.battery_pct, flags)

    def _read_configuration(self, _connection: Connection) -> bytes:
        return bytes(self.core.config)

    def _write_configuration(self, _connection: Connection, value: bytes) -> None:
        errors = PROFILE.att_errors
        try:
            config = SensorConfig.from_bytes(value)
        except MalformedPacket:
            raise ATT_Error(ErrorCode(errors.invalid_attribute_length)) from None
        except InvalidConfiguration as exc:
            logger.info("configuration rejected: %s", exc)
            raise ATT_Error(ErrorCode(errors.value_not_allowed)) from None
        if self.core.streaming:
            raise ATT_Error(ErrorCode(errors.busy_streaming))
        self.core.config = config
        logger.info("configuration set to %s", config)

    def _on_imu_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self._imu_subscribed = notify

    def _on_control_subscription(self, _bearer: object, _notify: bool, indicate: bool) -> None:
        self._control_indications = indicate

    def _on_status_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self._status_subscribed = notify

    # --- control point -------------------------------------------------------------------------------------

    def _write_control(self, connection: Connection, value: bytes) -> None:
        if not value:
            raise ATT_Error(ErrorCode(PROFILE.att_errors.invalid_attribute_length))
        if not self._control_indications:
            raise ATT_Error(ErrorCode(PROFILE.att_errors.cccd_improperly_configured))
        # Handle after the write response is on its way: the response indication follows the ATT write
        # response.
        self._spawn(self._handle_control(connection, bytes(value)))

    async def _handle_control(self, connection: Connection, value: bytes) -> None:
        try:
            request = ControlRequest.from_bytes(value)
        except MalformedPacket:
            try:
                opcode = ControlOpcode(value[0])
            except ValueError:
                # Unknown opcode: a well-formed response needs a known opcode field, so echo it raw.
                raw = bytes([PROFILE.control.response_code, value[0], ControlResult.OPCODE_NOT_SUPPORTED])
                await self._indicate_control(connection, raw)
                return
            response = ControlResponse(opcode, ControlResult.INVALID_PARAMETER)
        else:
            response = self._execute(connection, request)
        await self._indicate_control(connection, bytes(response))

    def _execute(self, connection: Connection, request: ControlRequest) -> ControlResponse:
        now = self.true_time_s()
        if request.opcode == ControlOpcode.START:
            return self._start(connection, now)
        if request.opcode == ControlOpcode.STOP:
            if self.core.streaming:
                self.core.stop_session()
                self._started_on_connection = False
                logger.info("streaming stopped")
                self._spawn(self._notify_status())
            return ControlResponse(ControlOpcode.STOP, ControlResult.SUCCESS)
        if request.opcode == ControlOpcode.TIME_SYNC:
            return ControlResponse.time_sync_success(self.core.sensor_time_us(now))
        logger.info("identify: blinking for %d s", request.identify_duration_s)
        return ControlResponse(ControlOpcode.IDENTIFY, ControlResult.SUCCESS)

    def _start(self, connection: Connection, now: float) -> ControlResponse:
        mtu_limit = SensorConfig.max_samples_per_packet(connection.att_mtu)
        session = self.core.session
        if session is None:
            spp = min(self.core.config.samples_per_packet, mtu_limit)
            session = self.core.start_session(now, spp)
            resumed = False
            logger.info("session %d started: %s, %d samples per packet", session.index, session.config, spp)
            self._ensure_streaming_task()
            self._spawn(self._notify_status())
        else:
            if session.samples_per_packet > mtu_limit:
                # The session's packets do not fit this connection's MTU: STOP and START a new session.
                return ControlResponse(ControlOpcode.START, ControlResult.INVALID_STATE)
            resumed = True
            logger.info("session %d resumed at seq %d", session.index, session.next_seq)
        self._started_on_connection = True
        return ControlResponse.start_success(
            session.next_seq,
            self.core.sensor_time_us(now),
            resumed=resumed,
            samples_per_packet=session.samples_per_packet,
        )

    async def _indicate_control(self, connection: Connection, value: bytes) -> None:
        if connection is not self.connection:
            return
        try:
            await self.device.indicate_subscriber(connection, self.control_characteristic, value)
        except Exception as exc:
            logger.info("control response not delivered: %s", exc)

    async def _notify_status(self) -> None:
        connection = self.connection
        if connection is None or not connection.is_encrypted:
            return
        await self.device.notify_subscriber(connection, self.status_characteristic, bytes(self._status()))
        await self.device.notify_subscriber(connection, self.battery_service.battery_level_characteristic)

    # --- streaming -----------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task the sensor keeps a reference to (and cancels on stop)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _ensure_streaming_task(self) -> None:
        if self._stream_task is None or self._stream_task.done():
            self._stream_task = asyncio.create_task(self._stream_loop(), name="simsensor-stream")
        if self._fault_task is None and self.options.faults.has_timed_faults:
            self._fault_task = asyncio.create_task(self._fault_loop(), name="simsensor-faults")

    async def _stream_loop(self) -> None:
        """Produce packets at the instants the oscillator completes them, and deliver or discard each at the
        connection event that carries it."""
        while self._running:
            ready = self.core.next_packet_ready_true_s()
            if ready is None:
                return
            event_true_s = self._events.event_true_s(ready)
            jitter_s = self.options.faults.arrival_jitter_s
            if jitter_s:
                # Arrival jitter (FaultPlan), in order: a packet never overtakes the one before it.
                event_true_s = max(event_true_s + self._fault_rng.uniform(0.0, jitter_s), self._last_event_s)
                self._last_event_s = event_true_s
            await self._sleep_until_true(event_true_s)
            # Only the packets completed by this event go in it (a bounded batch even when the loop lags).
            for produced in self.core.produce_until(event_true_s):
                await self._deliver(produced)
                # Bumble's notify never suspends: without this a sensor that falls behind its pacing would
                # run this loop forever without giving the loop (and its own timers) a turn.
                await asyncio.sleep(0)

    def _can_send(self) -> bool:
        connection = self.connection
        return (
            connection is not None
            and connection.is_encrypted
            and self._imu_subscribed
            and self._started_on_connection
            and not self._out_of_range
        )

    async def _deliver(self, produced: ProducedPacket) -> None:
        seq = produced.packet.seq
        if not self._can_send():
            self.core.log.append(produced, PacketFate.SUPPRESSED)
            return
        connection = self.connection
        assert connection is not None  # checked by _can_send
        data = bytes(produced.packet)
        # Each planned fault fires once, at the first delivery attempt of its seq (seqs repeat after the
        # wrap).
        loss_probability = self.options.faults.loss_probability
        if loss_probability and self._fault_rng.random() < loss_probability:
            self.core.log.append(produced, PacketFate.FAULT_LOST)
            return
        if seq in self._pending_lost:
            self._pending_lost.discard(seq)
            self.core.log.append(produced, PacketFate.FAULT_LOST)
            return
        if seq in self._pending_corrupted:
            self._pending_corrupted.discard(seq)
            self.core.log.append(produced, PacketFate.CORRUPTED)
            await self.device.notify_subscriber(connection, self.imu_characteristic, data[:-1])
            return
        duplicated = seq in self._pending_duplicated
        self._pending_duplicated.discard(seq)
        self.core.log.append(produced, PacketFate.SENT, duplicated=duplicated)
        await self.device.notify_subscriber(connection, self.imu_characteristic, data)
        if duplicated:
            await self.device.notify_subscriber(connection, self.imu_characteristic, data)

    async def _fault_loop(self) -> None:
        faults = self.options.faults
        first = self.core.first_start_true_s or 0.0
        events: list[tuple[float, str, float]] = [
            (first + d.at_s, "drop", d.duration_s) for d in faults.link_drops
        ]
        if faults.low_battery_at_s is not None:
            events.append((first + faults.low_battery_at_s, "battery", 0.0))
        if faults.sensor_fault_at_s is not None:
            events.append((first + faults.sensor_fault_at_s, "sensor_fault", 0.0))
        for at_true_s, kind, duration_s in sorted(events):
            await self._sleep_until_true(at_true_s)
            if not self._running:
                return
            if kind == "battery":
                self.core.battery_pct = faults.low_battery_pct
                logger.info("battery low: %d %%", self.core.battery_pct)
                await self._notify_status()
                if self.connection is None and not self._out_of_range:
                    await self._advertise()
                continue
            if kind == "sensor_fault":
                self._sensor_fault = True
                logger.info("sensor fault raised")
                await self._notify_status()
                continue
            await self._go_out_of_range(duration_s)

    async def drop_connection(self) -> None:
        """End the current connection as a lost radio link does (the central sees a connection timeout)."""
        connection = self.connection
        if connection is not None:
            try:
                async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                    await connection.disconnect(reason=OUT_OF_RANGE_REASON)
            except Exception as exc:
                logger.info("disconnect: %r", exc)

    async def _go_out_of_range(self, duration_s: float) -> None:
        logger.info("link drop: out of range for %.1f s", duration_s)
        self._out_of_range = True
        await self.device.stop_advertising()
        await self.drop_connection()
        await self._sleep_until_true(self.true_time_s() + duration_s)
        self._out_of_range = False
        logger.info("link drop over: advertising again")
        if self._running and self.connection is None:
            await self._advertise()

    # --- connection life cycle -----------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if self._out_of_range:
            self._spawn(connection.disconnect(reason=OUT_OF_RANGE_REASON))
            return
        if self.connection is not None:
            # One central at a time (the spec's sensor, like most single-connection peripherals): it stops
            # advertising while connected, so a second central normally cannot reach it at all; should one get
            # through anyway, it is turned away and the connected central keeps its link.
            logger.warning(
                "central %s refused: %s is connected", connection.peer_address, self.connection.peer_address
            )
            self._spawn(connection.disconnect(reason=SECOND_CENTRAL_REASON))
            return
        logger.info("central %s connected", connection.peer_address)
        self.connection = connection
        self._events.anchor_true_s = self.true_time_s()
        self.connections_total += 1
        self._imu_subscribed = self._control_indications = self._status_subscribed = False
        self._started_on_connection = False
        self._connected.set()
        connection.on("disconnection", lambda reason: self._on_disconnection(connection, reason))

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if connection is not self.connection:
            return
        logger.info(
            "central disconnected (reason 0x%02x); session continues: %s", reason, self.core.streaming
        )
        self.connection = None
        self.disconnections_total += 1
        self._connected.clear()
        self._started_on_connection = False
        self._imu_subscribed = self._control_indications = self._status_subscribed = False
        if self._running and not self._out_of_range:
            self._spawn(self._advertise())

    async def wait_connected(self) -> None:
        await self._connected.wait()

    def advertising_data(self) -> bytes:
        """Flags, the posture service UUID and manufacturer data (28 of 31 bytes; the name is in the scan
        response)."""
        flags = PROFILE.advertising.flag_pairing_mode if self.options.pairing_mode else 0
        info = AdvertisementInfo(self.advertised_major, self.core.battery_pct, flags)
        return (
            ad_flags()
            + ad_structure(AD_COMPLETE_128_BIT_UUIDS, uuid128_le(PROFILE.gatt.service_uuid))
            + ad_structure(AD_MANUFACTURER_DATA, info.to_manufacturer_data())
        )

    def scan_response_data(self) -> bytes:
        return ad_structure(AD_COMPLETE_LOCAL_NAME, self.name.encode())

    async def _advertise(self) -> None:
        if not self._running or self._out_of_range or self.connection is not None:
            return
        interval_ms = float(PROFILE.advertising.interval_ms)
        await self.device.start_advertising(
            own_address_type=hci.OwnAddressType.RANDOM,
            auto_restart=False,
            advertising_data=self.advertising_data(),
            scan_response_data=self.scan_response_data(),
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )

    async def power_on(self) -> None:
        """Power the controller on and start advertising; true time starts now."""
        self.device.on("connection", self._on_connection)
        await self.device.power_on()
        self._t0_loop = asyncio.get_running_loop().time()
        self._running = True
        logger.info(
            "simulated sensor %s (%s) advertising, firmware %s",
            self.name,
            self.options.address,
            self.firmware_revision,
        )
        await self._advertise()

    async def stop(self) -> None:
        """Stop streaming, drop the connection and power off. Safe to call twice."""
        if not self._running:
            return
        self._running = False
        tasks = [t for t in (self._stream_task, self._fault_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=STOP_TASKS_TIMEOUT_S)
            for task in done:
                outcome = None if task.cancelled() else task.exception()
                if isinstance(outcome, Exception):
                    logger.info("simulated sensor task ended with %r", outcome)
            if pending:
                logger.warning("simulated sensor tasks still running after cancel, left behind: %s", pending)
        try:
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await self.device.stop_advertising()
                if self.connection is not None:
                    await self.connection.disconnect()
        except Exception as exc:
            logger.info("simulated sensor shutdown: %r", exc)
        await self.device.power_off()


def _build_device(controller: Controller, options: SimulatedSensorOptions) -> Device:
    host = QuietHost(controller, AsyncPipeSink(controller))
    address = hci.Address(options.address, hci.Address.RANDOM_DEVICE_ADDRESS)
    device = Device(name=local_name_for(options.address), address=address, host=host)
    device.keystore = (
        PrivateJsonKeyStore(options.keystore_file) if options.keystore_file is not None else MemoryKeyStore()
    )
    security = PROFILE.security
    device.pairing_config_factory = lambda _connection: PairingConfig(
        sc=security.secure_connections,
        mitm=security.mitm,
        bonding=security.bonding,
        delegate=JustWorksDelegate(options.pairing_mode),
    )
    return device


async def start_simulated_sensor(
    link: LocalLink,
    options: SimulatedSensorOptions | None = None,
    motion: MotionSource | None = None,
) -> SimulatedSensor:
    """Put a simulated sensor on a Bumble `LocalLink`, powered on and advertising.

    A central joins by creating its own `Controller` on the same link (in-process), or through a bridged
    transport (`sensorlink.simsensor.transport`). Stop it with `await sensor.stop()`.

    Parameters
    ----------
    link : bumble.link.LocalLink
    options : SimulatedSensorOptions, optional
    motion : MotionSource, optional
        What the IMU measures; `StandThenRunMotion()` if not given.
    """
    options = options or SimulatedSensorOptions()
    controller = PeripheralController("posture-sensor", link=link)
    device = _build_device(controller, options)
    sensor = SimulatedSensor(device, options, motion or StandThenRunMotion())
    await sensor.power_on()
    return sensor
