"""Property tests: decode(encode(x)) == x for every value on the air; random bytes raise only typed errors."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sensorlink.errors import MalformedPacket, SensorlinkError
from sensorlink.protocol import (
    PROFILE,
    AdvertisementInfo,
    ControlOpcode,
    ControlRequest,
    ControlResponse,
    ControlResult,
    ImuPacket,
    SensorConfig,
    StatusReport,
    encode_samples,
    packets_since,
)

_CFG = PROFILE.configuration
u8 = st.integers(0, 255)
configs = st.builds(
    SensorConfig,
    st.sampled_from(_CFG.sample_rates_hz),
    st.sampled_from(_CFG.acc_ranges_g),
    st.sampled_from(_CFG.gyr_ranges_dps),
    st.integers(_CFG.min_samples_per_packet, _CFG.max_samples_per_packet),
)
raw_arrays = st.integers(1, 19).flatmap(lambda n: hnp.arrays(np.int16, (n, 6)))
packets = st.builds(ImuPacket, st.integers(0, 65535), st.integers(0, 2**32 - 1), u8, raw_arrays)


@given(packets)
def test_imu_packet_round_trip(packet: ImuPacket) -> None:
    assert ImuPacket.from_bytes(bytes(packet)) == packet
    assert len(bytes(packet)) == 8 + 12 * packet.sample_count


@given(packets, configs)
def test_decoded_samples_encode_back_to_the_same_counts(packet: ImuPacket, config: SensorConfig) -> None:
    acc_mps2, gyr_dps = packet.decode(config)
    raw, flags = encode_samples(acc_mps2, gyr_dps, config)
    np.testing.assert_array_equal(raw, packet.raw)
    assert flags == 0


@given(configs)
def test_config_round_trip(config: SensorConfig) -> None:
    assert SensorConfig.from_bytes(bytes(config)) == config


@given(st.sampled_from(list(ControlOpcode)), u8)
def test_control_request_round_trip(opcode: ControlOpcode, duration_s: int) -> None:
    request = (
        ControlRequest.identify(duration_s) if opcode is ControlOpcode.IDENTIFY else ControlRequest(opcode)
    )
    assert ControlRequest.from_bytes(bytes(request)) == request


@given(st.integers(0, 65535), st.integers(0, 2**32 - 1), st.booleans(), st.integers(1, 19))
def test_start_response_round_trip(next_seq: int, time_us: int, resumed: bool, spp: int) -> None:
    response = ControlResponse.start_success(next_seq, time_us, resumed=resumed, samples_per_packet=spp)
    decoded = ControlResponse.from_bytes(bytes(response))
    assert decoded == response
    assert decoded.start_info().next_seq == next_seq
    assert decoded.start_info().resumed is resumed


@given(
    st.sampled_from(list(ControlOpcode)),
    st.sampled_from([r for r in ControlResult if r != ControlResult.SUCCESS]),
)
def test_error_response_round_trip(opcode: ControlOpcode, result: ControlResult) -> None:
    response = ControlResponse(opcode, result)
    assert ControlResponse.from_bytes(bytes(response)) == response


@given(st.integers(0, 2**32 - 1))
def test_time_sync_response_round_trip(time_us: int) -> None:
    response = ControlResponse.time_sync_success(time_us)
    assert ControlResponse.from_bytes(bytes(response)).time_sync_sensor_time_us() == time_us


@given(st.integers(0, 100), u8)
def test_status_and_advertisement_round_trip(battery_pct: int, flags: int) -> None:
    status = StatusReport(battery_pct, flags)
    assert StatusReport.from_bytes(bytes(status)) == status
    info = AdvertisementInfo(1, battery_pct, flags)
    assert AdvertisementInfo.from_bytes(bytes(info)) == info


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_the_typed_error(data: bytes) -> None:
    for decode in (
        ImuPacket.from_bytes,
        SensorConfig.from_bytes,
        ControlRequest.from_bytes,
        ControlResponse.from_bytes,
        StatusReport.from_bytes,
        AdvertisementInfo.from_bytes,
    ):
        error: SensorlinkError | None = None
        try:
            decode(data)
        except SensorlinkError as exc:  # anything else (IndexError, struct.error, ...) fails the test
            error = exc
        if isinstance(error, MalformedPacket):
            assert error.length == len(data)
        elif error is not None:  # InvalidConfiguration: well-formed but not allowed
            assert decode == SensorConfig.from_bytes


@given(st.binary(min_size=8, max_size=300))
def test_a_readable_header_reports_its_seq(data: bytes) -> None:
    expected = int.from_bytes(data[:2], "little")
    try:
        packet = ImuPacket.from_bytes(data)
    except MalformedPacket as exc:
        seq = exc.seq
    else:
        seq = packet.seq
    assert seq == expected


@given(
    configs,
    st.integers(0, 65535),
    st.integers(0, 2**32 - 1),
    st.integers(-50, 200_000),
)
def test_packets_since_recovers_the_true_distance(
    config: SensorConfig, seq: int, time_us: int, k: int
) -> None:
    """Any distance whose elapsed sensor time is below half the clock wrap is recovered, across seq wraps."""
    elapsed_us = k * config.packet_period_s * 1e6
    if abs(elapsed_us) >= 2**31 - 1e6:
        return
    later_seq = (seq + k) % 65536
    later_time = (time_us + round(elapsed_us)) % 2**32
    assert packets_since(seq, time_us, later_seq, later_time, config) == k
