"""A simulated Movesense running the sample firmware gatt_sensordata_app: GSP as Movesense publishes it.

Every byte on the air is built and parsed with `sensorlink.profiles.movesense_protocol`, the codec the profile
decodes with; the behaviour follows the sample's GATTSensorDataClient.cpp (docs/sensors.md, "Movesense").
The `VendorPeripheral` base feeds it from the running simulator, paces it on a drifting oscillator and
injects the faults (link drops, lost notifications, clock drift, arrival jitter).

What the simulated sensor does
------------------------------
- Advertises flags and its name, "Movesense" and a 12-digit serial (the virtual controller delivers no scan
  response, so the name travels in the advertisement itself).
- GATT: the GSP service (command: write; data: notify), Device Information. MTU up to 161, the sample's
  buffer size ("MTU - 3" = 158 bytes).
- HELLO is answered COMMAND_RESULT "Hello". SUBSCRIBE `/Meas/IMU6/<rate>` at an IMU6 rate starts a stream;
  any other path or rate is refused by Whiteboard, which the sample does not report (no answer, no data).
  UNSUBSCRIBE with the subscription's reference stops it. A disconnect drops the subscription, as the sample
  does.
- Each IMU6 notification holds `samples_per_notification(rate)` samples stamped with the millisecond clock
  (the drifting oscillator, floored to ms) at the FIRST sample; bodies over 150 bytes go out as DATA and
  DATA_PART2 (8 samples: 196 bytes, two notifications).

Simplifications: one subscription at a time (a second SUBSCRIBE while one runs gets 507, the sample's "no free
slot" answer, although the sample has four slots); only IMU6 is served; no Battery Service (the sample adds
none to GSP; a Movesense reports its battery through Whiteboard, which GSP v1 cannot reach).

`SimulatedMovesenseFactoryFirmware` is the same sensor without the sample firmware: no GSP service at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sensorlink.errors import MalformedPacket
from sensorlink.profiles.movesense import NAME_PREFIX, samples_per_notification
from sensorlink.profiles.movesense_protocol import (
    GSP_COMMAND_UUID,
    GSP_DATA_UUID,
    GSP_SERVICE_UUID,
    IMU6_SAMPLE_RATES_HZ,
    TIMESTAMP_MODULO_MS,
    CommandResult,
    GspCommand,
    GspRequest,
    Imu6Data,
    data_notifications,
    parse_imu6_path,
)
from sensorlink.simsensor.gap import AD_COMPLETE_LOCAL_NAME, ad_flags, ad_structure
from sensorlink.simsensor.vendor import SampleChunk, VendorPeripheral, VendorStream

__all__ = ["SimulatedMovesense", "SimulatedMovesenseFactoryFirmware"]

logger = logging.getLogger(__name__)

_WHITEBOARD_SERVICE_UUID = "0000fdf3-0000-1000-8000-00805f9b34fb"
_NO_FREE_SLOT = 507  # HTTP Insufficient Storage, the sample's answer when its subscription slots are taken


class SimulatedMovesense(VendorPeripheral):
    """A Movesense with gatt_sensordata_app (see the module docstring)."""

    kind = "movesense"
    default_address = "CC:4D:00:00:05:01"
    name_prefix = NAME_PREFIX
    manufacturer_name = "Movesense"
    model_number = "Movesense"
    firmware_revision = "2.3.0"
    has_battery_service = False
    max_mtu = 161
    has_gsp: ClassVar[bool] = True

    subscription_reference: int | None = None
    """The client reference of the running IMU6 subscription."""

    def build_services(self) -> list[Service]:
        props = Characteristic.Properties
        self.command_characteristic: Characteristic[bytes] = Characteristic(
            GSP_COMMAND_UUID,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            Characteristic.Permissions.WRITEABLE,
            CharacteristicValue(write=self._write_command),
        )
        self.data_characteristic = Characteristic(
            GSP_DATA_UUID, props.NOTIFY, Characteristic.Permissions.READABLE, b""
        )
        if not self.has_gsp:
            # The factory firmware: Whiteboard's own service instead (16-bit FDF3, as third-party clients of
            # the factory firmware name it; only its absence of GSP matters here).
            return [Service(_WHITEBOARD_SERVICE_UUID, [self.data_characteristic])]
        return [Service(GSP_SERVICE_UUID, [self.command_characteristic, self.data_characteristic])]

    def local_name(self) -> str:
        """Movesense's form: "Movesense" and the 12-digit serial (here from the address's last 3 bytes)."""
        return f"{self.name_prefix} 1744{int(self.address.replace(':', '')[-6:], 16):08d}"

    def advertising_data(self) -> bytes:
        return ad_flags() + ad_structure(AD_COMPLETE_LOCAL_NAME, self.local_name().encode())

    # --- commands ------------------------------------------------------------------------------------------

    def _write_command(self, _connection: Connection | None, value: bytes) -> None:
        try:
            request = GspRequest.from_bytes(bytes(value))
        except MalformedPacket as exc:
            logger.info("GSP command ignored: %s", exc)  # the sample reads past what it does not know
            return
        if request.command is GspCommand.HELLO:
            self._answer(CommandResult(request.reference, hello=True))
        elif request.command is GspCommand.SUBSCRIBE:
            self._subscribe(request)
        elif request.reference == self.subscription_reference:
            self.subscription_reference = None
            self.stop_stream()

    def _subscribe(self, request: GspRequest) -> None:
        if self.subscription_reference is not None:
            self._answer(CommandResult(request.reference, status=_NO_FREE_SLOT))
            return
        rate_hz = parse_imu6_path(request.path)
        if rate_hz not in IMU6_SAMPLE_RATES_HZ:
            # Whiteboard refuses it (404 or 501); GSP reports nothing and no data ever comes.
            logger.info("GSP subscription to %s refused by Whiteboard (not reported)", request.path)
            return
        assert rate_hz is not None  # in IMU6_SAMPLE_RATES_HZ
        self.subscription_reference = request.reference
        self.start_stream(rate_hz, samples_per_notification(rate_hz))

    def _answer(self, result: CommandResult) -> None:
        self.spawn(self.notify(self.data_characteristic, bytes(result.to_notification())))

    def on_disconnected(self) -> None:
        self.subscription_reference = None  # the sample unsubscribes everything on disconnect

    # --- data ----------------------------------------------------------------------------------------------

    def chunk_samples(self, stream: VendorStream) -> int:
        return stream.samples_per_chunk

    def encode_chunk(self, chunk: SampleChunk) -> Sequence[bytes]:
        reference = self.subscription_reference
        if reference is None:
            return ()
        timestamp_ms = int(chunk.device_time_ns[0] // 1_000_000) % TIMESTAMP_MODULO_MS
        imu = Imu6Data(
            timestamp_ms,
            chunk.acc_mps2.astype(np.float32).astype(np.float64),
            chunk.gyr_dps.astype(np.float32).astype(np.float64),
        )
        return data_notifications(reference, imu.to_bytes())


class SimulatedMovesenseFactoryFirmware(SimulatedMovesense):
    """A Movesense without gatt_sensordata_app: it advertises the same way but offers no GSP service."""

    default_address = "CC:4D:00:00:05:02"
    firmware_revision = "2.2.1"
    has_gsp = False
