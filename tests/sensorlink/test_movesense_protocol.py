"""Movesense GSP codec (sensorlink.profiles.movesense_protocol): the sample firmware's bytes, both directions.

Golden vectors are built by hand from the published layouts (GATTSensorDataClient.cpp of the sample
gatt_sensordata_app, imu.yaml); Movesense publishes no captured IMU6 notification.
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sensorlink.errors import MalformedPacket
from sensorlink.profiles.movesense_protocol import (
    DATA_PART_MAX_BYTES,
    GSP_COMMAND_UUID,
    GSP_DATA_UUID,
    GSP_SERVICE_UUID,
    IMU6_SAMPLE_RATES_HZ,
    CommandResult,
    GspCommand,
    GspNotification,
    GspRequest,
    GspResponse,
    Imu6Data,
    Imu6Reassembler,
    data_notifications,
    imu6_path,
    parse_imu6_path,
)

REF = 99  # the reference the sample's own clients use for data


def test_uuids_share_the_gsp_root_as_the_sample_firmware_declares_them() -> None:
    # GATTSensorDataClient.cpp stores them little-endian: f0 e8 50 70 0e 63 31 b4 5d 4d 85 71 52 22 80 34.
    root = "-7185-4d5d-b431-630e7050e8f0"
    assert (
        "34802252" + root,
        "34800001" + root,
        "34800002" + root,
    ) == (GSP_SERVICE_UUID, GSP_COMMAND_UUID, GSP_DATA_UUID)


def test_subscribe_command_is_command_reference_and_path_text() -> None:
    assert bytes(GspRequest.subscribe(REF, imu6_path(208))) == b"\x01\x63/Meas/IMU6/208"
    assert bytes(GspRequest.unsubscribe(REF)) == b"\x02\x63"
    assert bytes(GspRequest.hello(123)) == b"\x00\x7b"


def test_imu6_paths_name_the_rate() -> None:
    assert [parse_imu6_path(imu6_path(r)) for r in IMU6_SAMPLE_RATES_HZ] == list(IMU6_SAMPLE_RATES_HZ)
    assert parse_imu6_path("/Meas/Acc/13") is None
    assert parse_imu6_path("/Meas/IMU6/x") is None


def test_hello_and_status_results_as_the_sample_sends_them() -> None:
    hello = GspNotification.from_bytes(bytes([1, 123]) + b"Hello")
    assert CommandResult.from_notification(hello) == CommandResult(123, hello=True)
    no_slot = GspNotification.from_bytes(bytes([1, REF, 0x01, 0xFB]))
    assert CommandResult.from_notification(no_slot).status == 507


def test_golden_imu6_notification_timestamp_then_acc_array_then_gyro_array() -> None:
    acc = [(0.0, 0.5, 9.75), (0.25, -1.0, 9.5)]
    gyr = [(1.0, -2.0, 3.0), (-4.0, 5.5, 0.125)]
    wire = (
        bytes([2, REF])
        + struct.pack("<I", 0x01020304)
        + struct.pack("<6f", *acc[0], *acc[1])
        + struct.pack("<6f", *gyr[0], *gyr[1])
    )
    data = Imu6Reassembler(REF).feed(wire)
    assert data is not None
    assert data.timestamp_ms == 0x01020304
    np.testing.assert_array_equal(data.acc_mps2, acc)
    np.testing.assert_array_equal(data.gyr_dps, gyr)
    assert data_notifications(REF, data.to_bytes()) == [wire]


def test_a_body_over_150_bytes_travels_as_data_and_data_part2() -> None:
    eight = Imu6Data(7, np.ones((8, 3)), np.full((8, 3), 2.0))  # 4 + 8 * 24 = 196 bytes
    parts = data_notifications(REF, eight.to_bytes())
    assert [p[0] for p in parts] == [GspResponse.DATA, GspResponse.DATA_PART2]
    assert len(parts[0]) == 2 + DATA_PART_MAX_BYTES
    reassembler = Imu6Reassembler(REF)
    assert reassembler.feed(parts[0]) is None
    joined = reassembler.feed(parts[1])
    assert joined is not None
    assert joined.sample_count == 8
    assert joined.timestamp_ms == 7


def test_a_lost_second_part_abandons_the_first_and_a_lost_first_part_makes_the_second_malformed() -> None:
    eight = data_notifications(REF, Imu6Data(1, np.zeros((8, 3)), np.zeros((8, 3))).to_bytes())
    reassembler = Imu6Reassembler(REF)
    assert reassembler.feed(eight[0]) is None
    assert reassembler.feed(eight[0]) is None  # the DATA_PART2 in between was lost
    assert reassembler.abandoned_parts == 1
    assert reassembler.feed(eight[1]) is not None
    with pytest.raises(MalformedPacket):
        reassembler.feed(eight[1])  # its first part is gone


def test_data_for_another_reference_or_a_command_result_is_malformed() -> None:
    body = Imu6Data(1, np.zeros((1, 3)), np.zeros((1, 3))).to_bytes()
    with pytest.raises(MalformedPacket):
        Imu6Reassembler(REF).feed(bytes([2, REF + 1]) + body)
    with pytest.raises(MalformedPacket):
        Imu6Reassembler(REF).feed(bytes([1, REF]) + b"Hello")


def test_non_finite_values_are_malformed() -> None:
    body = struct.pack("<I", 0) + struct.pack("<6f", 0, 0, float("nan"), 0, 0, 0)
    with pytest.raises(MalformedPacket):
        Imu6Data.from_bytes(body)


vectors = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        *[hnp.arrays(np.float32, (n, 3), elements=st.floats(-1e6, 1e6, width=32)) for _ in range(2)]
    )
)


@given(st.integers(0, 2**32 - 1), vectors)
def test_imu6_round_trip_through_notifications(
    timestamp_ms: int, arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    acc, gyr = (a.astype(np.float64) for a in arrays)
    sent = Imu6Data(timestamp_ms, acc, gyr)
    reassembler = Imu6Reassembler(REF)
    received = [reassembler.feed(n) for n in data_notifications(REF, sent.to_bytes())]
    got = received[-1]
    assert got is not None
    assert all(r is None for r in received[:-1])
    assert got.timestamp_ms == timestamp_ms
    np.testing.assert_array_equal(got.acc_mps2, acc)
    np.testing.assert_array_equal(got.gyr_dps, gyr)


@given(st.sampled_from(list(GspCommand)), st.integers(1, 255), st.sampled_from(IMU6_SAMPLE_RATES_HZ))
def test_command_round_trip(command: GspCommand, reference: int, rate_hz: int) -> None:
    path = imu6_path(rate_hz) if command is GspCommand.SUBSCRIBE else ""
    request = GspRequest(command, reference, path)
    assert GspRequest.from_bytes(bytes(request)) == request


@given(st.binary(max_size=320))
def test_random_notifications_raise_only_malformed_packet(data: bytes) -> None:
    reassembler = Imu6Reassembler(REF)
    for chunk in (data, data[:2] + data, bytes([2, REF]) + data, bytes([3, REF]) + data):
        with contextlib.suppress(MalformedPacket):
            reassembler.feed(chunk)


@given(st.binary(max_size=200))
def test_random_commands_raise_only_malformed_packet(data: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        GspRequest.from_bytes(data)


@given(vectors, st.integers(0, 195))
def test_a_truncated_notification_is_malformed_unless_cut_at_a_whole_sample(
    arrays: tuple[np.ndarray, np.ndarray], cut: int
) -> None:
    # GSP carries no length field and no checksum: a cut that leaves 4 + 24 k body bytes reads as k samples
    # (the accelerometer array then runs into the gyroscope's). Only the sensor's next timestamp shows it,
    # as a gap the link counts as lost samples. Every other cut is refused (or, at 150 bytes, waits for a
    # DATA_PART2 that a following DATA abandons).
    acc, gyr = (a.astype(np.float64) for a in arrays)
    wire = data_notifications(REF, Imu6Data(0, acc, gyr).to_bytes())[0]
    truncated = wire[: min(cut, len(wire) - 1)]
    body_bytes = len(truncated) - 2
    undetectable = body_bytes >= 28 and (body_bytes - 4) % 24 == 0
    try:
        result = Imu6Reassembler(REF).feed(truncated)
    except MalformedPacket:
        assert not undetectable
    else:
        assert undetectable or (result is None and body_bytes == DATA_PART_MAX_BYTES)
