"""The Polar PMD stream decoding without a link: last-sample stamps, the ACC/GYRO merge, gaps, bad frames."""

from __future__ import annotations

import numpy as np
import pytest

from sensorlink.errors import MalformedPacket
from sensorlink.profile import DecodedPacket, StreamSettings
from sensorlink.profiles.polar_pmd import POLAR_H10, POLAR_VERITY_SENSE, gyro_factor_dps_per_count
from sensorlink.profiles.polar_pmd_protocol import (
    ACC_MG_TO_MPS2,
    DataFrame,
    MeasurementType,
    encode_delta_samples,
    encode_raw_samples,
)

RATE_HZ = 416
PERIOD_NS = 1e9 / RATE_HZ
T0_NS = 760_000_000 * 10**9  # early 2024, in ns since 2000-01-01
SETTINGS = StreamSettings(sample_rate_hz=RATE_HZ, acc_range_g=8, gyr_range_dps=2000, samples_per_packet=36)


def _times_ns(first_index: int, count: int) -> np.ndarray:
    return T0_NS + np.round((first_index + np.arange(count)) * PERIOD_NS).astype(np.int64)


def _frame(measurement: MeasurementType, first_index: int, count: int) -> bytes:
    """A delta frame whose samples encode their own index (x = index, y = -index, z = 1000 or 7)."""
    index = np.arange(first_index, first_index + count)
    z = 1000 if measurement is MeasurementType.ACC else 7
    samples = np.stack([index % 30000, -(index % 30000), np.full(count, z)], axis=1)
    last_ns = int(_times_ns(first_index, count)[-1])
    frame_type = 1 if measurement is MeasurementType.ACC else 0
    return bytes(DataFrame(measurement, last_ns, frame_type, True, encode_delta_samples(samples, 16)))


def test_h10_frame_gives_the_first_sample_time_from_the_last_sample_stamp() -> None:
    settings = StreamSettings(sample_rate_hz=200, acc_range_g=8, gyr_range_dps=2000, samples_per_packet=36)
    decoding = POLAR_H10.decoding(settings)
    mg = np.array([[-9, -1, 999]] * 36)
    frame = DataFrame(MeasurementType.ACC, 2_000_000_000, 1, False, encode_raw_samples(mg, 2))
    (packet,) = decoding.decode(bytes(frame), host_ns=0)
    # Nominal period 5 ms: the first of 36 samples is 35 periods before the stamp.
    assert packet.sensor_time_us == (2_000_000_000 - 35 * 5_000_000) // 1000
    assert packet.gyr_dps is None
    assert packet.session_start
    np.testing.assert_allclose(packet.acc_mps2[0], np.array([-9, -1, 999]) * ACC_MG_TO_MPS2)


def test_verity_merges_frames_of_different_lengths_into_whole_6_axis_samples() -> None:
    decoding = POLAR_VERITY_SENSE.decoding(SETTINGS)
    packets: list[DecodedPacket] = []
    acc_next = gyr_next = 0
    for _ in range(40):  # ACC in frames of 36, GYRO in frames of 29: boundaries never line up
        packets += decoding.decode(_frame(MeasurementType.ACC, acc_next, 36), host_ns=0)
        acc_next += 36
        packets += decoding.decode(_frame(MeasurementType.GYRO, gyr_next, 29), host_ns=0)
        gyr_next += 29
    acc = np.concatenate([p.acc_mps2 for p in packets])
    gyr = np.concatenate([p.gyr_dps for p in packets if p.gyr_dps is not None])
    index = np.round(acc[:, 0] / ACC_MG_TO_MPS2).astype(int)
    np.testing.assert_array_equal(index, np.arange(40 * 29))  # every sample both streams have, once, in order
    np.testing.assert_allclose(gyr[:, 0], index * gyro_factor_dps_per_count(2000))  # paired by time
    assert [p.session_start for p in packets] == [True] + [False] * (len(packets) - 1)
    first_us = [p.sensor_time_us for p in packets]
    expected_us = [int(_times_ns(round(p.acc_mps2[0, 0] / ACC_MG_TO_MPS2), 1)[0] // 1000) for p in packets]
    assert first_us == expected_us


def test_a_lost_acc_frame_leaves_a_gap_of_exactly_its_samples() -> None:
    decoding = POLAR_VERITY_SENSE.decoding(SETTINGS)
    packets: list[DecodedPacket] = []
    for k in range(6):
        if k != 3:
            packets += decoding.decode(_frame(MeasurementType.ACC, 36 * k, 36), host_ns=0)
        packets += decoding.decode(_frame(MeasurementType.GYRO, 36 * k, 36), host_ns=0)
    index = np.concatenate([np.round(p.acc_mps2[:, 0] / ACC_MG_TO_MPS2) for p in packets]).astype(int)
    np.testing.assert_array_equal(index, np.r_[0:108, 144:216])
    # The samples after the gap start a packet of their own, stamped where they were taken.
    after = next(p for p in packets if round(p.acc_mps2[0, 0] / ACC_MG_TO_MPS2) == 144)
    assert after.sensor_time_us == int(_times_ns(144, 1)[0] // 1000)


def test_a_frame_off_its_clock_is_refused_and_a_confirmed_reset_starts_a_new_session() -> None:
    decoding = POLAR_VERITY_SENSE.decoding(SETTINGS)
    for k in range(2):
        decoding.decode(_frame(MeasurementType.ACC, 36 * k, 36), host_ns=0)
        decoding.decode(_frame(MeasurementType.GYRO, 36 * k, 36), host_ns=0)
    back = -RATE_HZ * 10  # ten seconds earlier: random bytes, or a sensor that lost its time
    with pytest.raises(MalformedPacket, match=r"-10\.1 s off its stream"):
        decoding.decode(_frame(MeasurementType.ACC, back, 36), host_ns=0)
    # The stream goes on where it was: the odd frame changed nothing.
    assert not decoding.decode(_frame(MeasurementType.ACC, 72, 36), host_ns=0)  # waits for its GYRO frame
    (packet,) = decoding.decode(_frame(MeasurementType.GYRO, 72, 36), host_ns=0)
    assert not packet.session_start
    assert packet.sensor_time_us == int(_times_ns(72, 1)[0] // 1000)
    # A reset: two frames that follow each other on the new time.
    with pytest.raises(MalformedPacket):
        decoding.decode(_frame(MeasurementType.ACC, back, 36), host_ns=0)
    decoding.decode(_frame(MeasurementType.ACC, back + 36, 36), host_ns=0)
    packets = decoding.decode(_frame(MeasurementType.GYRO, back + 36, 36), host_ns=0)
    assert packets[0].session_start
    assert packets[0].sensor_time_us == int(_times_ns(back + 36, 1)[0] // 1000)


def test_the_first_frame_of_a_stream_must_follow_the_other_streams_clock() -> None:
    decoding = POLAR_VERITY_SENSE.decoding(SETTINGS)
    decoding.decode(_frame(MeasurementType.ACC, 0, 36), host_ns=0)
    with pytest.raises(MalformedPacket, match="off its stream"):  # random bytes stamped an hour ahead
        decoding.decode(_frame(MeasurementType.GYRO, RATE_HZ * 3600, 36), host_ns=0)
    (packet,) = decoding.decode(_frame(MeasurementType.GYRO, 0, 36), host_ns=0)
    assert packet.sample_count == 36


def test_bad_frames_raise_malformed_and_leave_the_decoding_usable() -> None:
    decoding = POLAR_H10.decoding(
        StreamSettings(sample_rate_hz=200, acc_range_g=8, gyr_range_dps=2000, samples_per_packet=36)
    )
    good = _frame(MeasurementType.ACC, 0, 36)
    with pytest.raises(MalformedPacket, match="GYRO frame in this stream"):
        decoding.decode(_frame(MeasurementType.GYRO, 0, 36), host_ns=0)
    with pytest.raises(MalformedPacket):
        decoding.decode(good[:-3], host_ns=0)
    with pytest.raises(MalformedPacket, match="year 2292"):
        decoding.decode(b"\x02" + b"\xff" * 8 + good[9:], host_ns=0)
    (packet,) = decoding.decode(good, host_ns=0)
    assert packet.sample_count == 36
    assert packet.session_start
