"""Simulated Polar Verity Sense and Polar H10 speaking Polar Measurement Data (PMD) as Polar publishes it.

Every byte on the air is built and parsed with `sensorlink.profiles.polar_pmd_protocol`, the codec the profile
decodes with; the behaviour follows Polar's "Polar Measurement Data general description" and the SDK's
product pages (docs/sensors.md, "Polar Verity Sense and H10"). The `VendorPeripheral` base feeds it from the
running simulator, paces it on a drifting oscillator and injects the faults (link drops, lost notifications,
clock drift, arrival jitter).

What the simulated device does
------------------------------
- GATT: the PMD service (control point: read = feature bit map, write = requests, indicate = responses;
  data: notify), Device Information and Battery.
- Advertises flags and its name, "Polar Sense" / "Polar H10" and 8 hex digits of its id (the virtual
  controller delivers no scan response, so the name travels in the advertisement itself).
- Verity Sense: normal mode offers ACC and GYRO at 52 Hz, +-8 g and +-2000 deg/s only; SDK mode (start or
  stop of measurement type 9, refused with INVALID_STATE while a stream runs) offers 26 to 416 Hz and every
  range (PolarVeritySense.md). ACC goes out as delta frames of type 1 (0x81: 16-bit mG), GYRO as delta
  frames of type 0 (0x80: 16-bit counts; the start response carries the factor, deg/s per count). H10: ACC
  only, 25 to 200 Hz, +-2/4/8 g, raw frames of type 1 (0x01: 16-bit mG).
- Each frame is stamped with the device time of its LAST sample (ns since 2000-01-01). A chunk of the base
  stream becomes one ACC frame and, once GYRO runs, one GYRO frame of the same samples; chunk lengths vary
  (as Polar's frames do) and always fit an ATT MTU of 247.
- A disconnect stops the streams (SDK mode stays on while the device runs).

Simplifications: ACC and GYRO share one sample clock and must run at the same rate (a start at another rate
is refused with INVALID_SAMPLE_RATE); offline recording, PPG, PPI and the magnetometer are absent; requests
with the offline bit are refused with NOT_SUPPORTED.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sensorlink.errors import MalformedPacket
from sensorlink.profiles.polar_pmd import H10, VERITY_SENSE, PolarModel, gyro_factor_dps_per_count
from sensorlink.profiles.polar_pmd_protocol import (
    ACC_MG_TO_MPS2,
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    ControlPointRequest,
    ControlPointResponse,
    DataFrame,
    MeasurementType,
    OpCode,
    PmdFeatures,
    PmdSettings,
    ResponseStatus,
    encode_delta_samples,
    encode_raw_samples,
)
from sensorlink.simsensor.gap import AD_COMPLETE_LOCAL_NAME, ad_flags, ad_structure
from sensorlink.simsensor.motion import MotionSource
from sensorlink.simsensor.vendor import SampleChunk, SimulatedDeviceOptions, VendorPeripheral, VendorStream

__all__ = ["SimulatedPolarH10", "SimulatedPolarPeripheral", "SimulatedVeritySense"]

logger = logging.getLogger(__name__)

ACC, GYRO, SDK_MODE = MeasurementType.ACC, MeasurementType.GYRO, MeasurementType.SDK_MODE
_RESOLUTION_BITS = 16
_CHANNELS = 3
_INT16 = (-32768, 32767)
# Samples per frame, cycled: Polar's frames vary in length; 38 16-bit delta samples still fit 244 bytes.
_FRAME_SAMPLES = (36, 31, 38, 33, 35, 29, 37)
# Normal (non-SDK) mode of the Verity Sense: 52 Hz, +-8 g, +-2000 deg/s (PolarVeritySense.md, bold values).
_NORMAL_MODE = {ACC: (52, 8), GYRO: (52, 2000)}


class SimulatedPolarPeripheral(VendorPeripheral):
    """A Polar PMD device; `model` says which (see the module docstring)."""

    model: ClassVar[PolarModel]
    manufacturer_name = "Polar Electro Oy"

    def __init__(self, device: Device, options: SimulatedDeviceOptions, motion: MotionSource) -> None:
        self.sdk_mode = False
        self.running: dict[MeasurementType, int] = {}  # measurement -> range (g or deg/s)
        self._chunks_encoded = 0
        super().__init__(device, options, motion)

    # --- GATT and advertising ------------------------------------------------------------------------------

    def build_services(self) -> list[Service]:
        props = Characteristic.Properties
        permissions = Characteristic.Permissions.READABLE | Characteristic.Permissions.WRITEABLE
        self.control_point: Characteristic[bytes] = Characteristic(
            PMD_CONTROL_POINT_UUID,
            props.READ | props.WRITE | props.INDICATE,
            permissions,
            CharacteristicValue(read=self._read_features, write=self._write_control),
        )
        self.data_characteristic = Characteristic(
            PMD_DATA_UUID, props.NOTIFY, Characteristic.Permissions.READABLE, b""
        )
        return [Service(PMD_SERVICE_UUID, [self.control_point, self.data_characteristic])]

    def local_name(self) -> str:
        """Polar's form: the model and the 8-hex-digit device id (here the address's last four bytes)."""
        return f"{self.name_prefix} {self.address.replace(':', '')[-8:]}"

    def advertising_data(self) -> bytes:
        return ad_flags() + ad_structure(AD_COMPLETE_LOCAL_NAME, self.local_name().encode())

    def _read_features(self, _connection: Connection | None) -> bytes:
        offered = set(self.model.measurements) | ({SDK_MODE} if self.model.sdk_mode else set())
        return bytes(PmdFeatures(frozenset(offered)))

    # --- control point -------------------------------------------------------------------------------------

    def _write_control(self, connection: Connection | None, value: bytes) -> None:
        # Answer after the write response is on its way: the indication follows it.
        self.spawn(self.indicate(self.control_point, bytes(self._handle(connection, bytes(value)))))

    def _handle(self, connection: Connection | None, value: bytes) -> ControlPointResponse:
        try:
            request = ControlPointRequest.from_bytes(value)
        except MalformedPacket as exc:
            logger.info("PMD request refused: %s", exc)
            try:
                op = OpCode(value[0])
            except (IndexError, ValueError):
                return ControlPointResponse(
                    OpCode.GET_MEASUREMENT_STATUS, 0, ResponseStatus.ERROR_INVALID_OP_CODE
                )
            return ControlPointResponse(
                op, value[1] if len(value) > 1 else 0, ResponseStatus.ERROR_INVALID_PARAMETER
            )
        measurement = request.measurement_type
        if request.offline:
            return _answer(request, ResponseStatus.ERROR_NOT_SUPPORTED)
        op = request.op_code
        if op is OpCode.GET_SDK_MODE_STATUS:
            if not self.model.sdk_mode:
                return _answer(request, ResponseStatus.ERROR_NOT_SUPPORTED)
            return _answer(request, ResponseStatus.SUCCESS, bytes([1 if self.sdk_mode else 0]))
        if op is OpCode.GET_MEASUREMENT_STATUS:
            return _answer(request, ResponseStatus.SUCCESS, bytes(int(m) for m in self.running))
        if measurement is SDK_MODE:
            return _answer(request, self._sdk_mode(op))
        if measurement not in self.model.measurements:
            return _answer(request, ResponseStatus.ERROR_NOT_SUPPORTED)
        if op is OpCode.GET_MEASUREMENT_SETTINGS:
            return _answer(request, ResponseStatus.SUCCESS, bytes(self._offered(measurement, full=False)))
        if op is OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS:
            return _answer(request, ResponseStatus.SUCCESS, bytes(self._offered(measurement, full=True)))
        if op is OpCode.STOP_MEASUREMENT:
            if self.running.pop(measurement, None) is None:
                return _answer(request, ResponseStatus.ERROR_ALREADY_IN_STATE)
            if not self.running:
                self.stop_stream()
            return _answer(request, ResponseStatus.SUCCESS)
        status = self._start(connection, measurement, request.settings)
        parameters = b""
        if status is ResponseStatus.SUCCESS and measurement is GYRO:
            parameters = bytes(PmdSettings(factors=(gyro_factor_dps_per_count(self.running[GYRO]),)))
        return _answer(request, status, parameters)

    def _sdk_mode(self, op: OpCode) -> ResponseStatus:
        if not self.model.sdk_mode:
            return ResponseStatus.ERROR_NOT_SUPPORTED
        if op not in (OpCode.REQUEST_MEASUREMENT_START, OpCode.STOP_MEASUREMENT):
            return ResponseStatus.ERROR_INVALID_OP_CODE
        wanted = op is OpCode.REQUEST_MEASUREMENT_START
        if self.running:
            return ResponseStatus.ERROR_INVALID_STATE
        if self.sdk_mode == wanted:
            return ResponseStatus.ERROR_ALREADY_IN_STATE
        self.sdk_mode = wanted
        logger.info("%s SDK mode %s", self.kind, "on" if wanted else "off")
        return ResponseStatus.SUCCESS

    def _offered(self, measurement: MeasurementType, *, full: bool) -> PmdSettings:
        capabilities = self.model.capabilities
        rates: tuple[int, ...]
        ranges: tuple[int, ...]
        if self.model.sdk_mode and not (full or self.sdk_mode):
            rate, range_ = _NORMAL_MODE[measurement]
            rates, ranges = (rate,), (range_,)
        else:
            rates = capabilities.sample_rates_hz
            ranges = capabilities.acc_ranges_g if measurement is ACC else capabilities.gyr_ranges_dps
        return PmdSettings(
            sample_rates_hz=rates, resolutions_bits=(_RESOLUTION_BITS,), ranges=ranges, channels=(_CHANNELS,)
        )

    def _start(
        self, connection: Connection | None, measurement: MeasurementType, settings: PmdSettings
    ) -> ResponseStatus:
        offered = self._offered(measurement, full=False)
        if measurement in self.running:
            return ResponseStatus.ERROR_ALREADY_IN_STATE
        if len(settings.sample_rates_hz) != 1 or settings.sample_rates_hz[0] not in offered.sample_rates_hz:
            return ResponseStatus.ERROR_INVALID_SAMPLE_RATE
        if settings.resolutions_bits not in ((), (_RESOLUTION_BITS,)):
            return ResponseStatus.ERROR_INVALID_RESOLUTION
        if len(settings.ranges) != 1 or settings.ranges[0] not in offered.ranges:
            return ResponseStatus.ERROR_INVALID_RANGE
        if settings.channels not in ((), (_CHANNELS,)):
            return ResponseStatus.ERROR_INVALID_NUMBER_OF_CHANNELS
        if connection is not None and connection.att_mtu < 232:
            return ResponseStatus.ERROR_INVALID_MTU
        rate_hz = settings.sample_rates_hz[0]
        if self.stream is not None and self.stream.rate_hz != rate_hz:
            return ResponseStatus.ERROR_INVALID_SAMPLE_RATE  # one sample clock for both (module docstring)
        self.running[measurement] = settings.ranges[0]
        if self.stream is None:
            self.start_stream(rate_hz, _FRAME_SAMPLES[0])
        logger.info("%s %s started: %d Hz, +-%d", self.kind, measurement.name, rate_hz, settings.ranges[0])
        return ResponseStatus.SUCCESS

    def on_disconnected(self) -> None:
        self.running.clear()

    # --- frames --------------------------------------------------------------------------------------------

    def chunk_samples(self, stream: VendorStream) -> int:
        return _FRAME_SAMPLES[self._chunks_encoded % len(_FRAME_SAMPLES)]

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        """One frame per running measurement, ACC first, each stamped with its last sample's device time."""
        self._chunks_encoded += 1
        last_ns = int(chunk.device_time_ns[-1])
        frames = []
        acc_range = self.running.get(ACC)
        if acc_range is not None:
            mg = np.clip(np.round(chunk.acc_mps2 / ACC_MG_TO_MPS2), -1000 * acc_range, 1000 * acc_range)
            frames.append(self._acc_frame(last_ns, mg.astype(np.int64)))
        gyr_range = self.running.get(GYRO)
        if gyr_range is not None:
            counts = np.clip(np.round(chunk.gyr_dps / gyro_factor_dps_per_count(gyr_range)), *_INT16)
            content = encode_delta_samples(counts.astype(np.int64), _RESOLUTION_BITS)
            frames.append(bytes(DataFrame(GYRO, last_ns, 0, True, content)))
        return frames

    def _acc_frame(self, last_ns: int, mg: np.ndarray) -> bytes:
        raise NotImplementedError


def _answer(
    request: ControlPointRequest, status: ResponseStatus, parameters: bytes = b""
) -> ControlPointResponse:
    """The response to `request`: its op code and measurement type echoed, then the status."""
    type_byte = 0 if request.measurement_type is None else int(request.measurement_type)
    return ControlPointResponse(request.op_code, type_byte, status, False, parameters)


class SimulatedVeritySense(SimulatedPolarPeripheral):
    """A Polar Verity Sense (ACC and GYRO, SDK mode) on the virtual link."""

    model = VERITY_SENSE
    kind = VERITY_SENSE.kind
    name_prefix = VERITY_SENSE.name_prefix
    default_address = "C4:5E:00:50:0A:01"
    model_number = "Polar Sense"
    firmware_revision = "2.1.0"

    def _acc_frame(self, last_ns: int, mg: np.ndarray) -> bytes:
        return bytes(DataFrame(ACC, last_ns, 1, True, encode_delta_samples(mg, _RESOLUTION_BITS)))


class SimulatedPolarH10(SimulatedPolarPeripheral):
    """A Polar H10 (ACC only, no SDK mode) on the virtual link."""

    model = H10
    kind = H10.kind
    name_prefix = H10.name_prefix
    default_address = "C4:5E:00:50:0A:02"
    model_number = "H10"
    firmware_revision = "3.0.35"

    def _acc_frame(self, last_ns: int, mg: np.ndarray) -> bytes:
        return bytes(DataFrame(ACC, last_ns, 1, False, encode_raw_samples(mg, 2)))
