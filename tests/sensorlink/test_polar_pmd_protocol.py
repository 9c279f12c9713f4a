"""The Polar PMD codec: golden vectors from Polar's own tests and a real Verity Sense, round trips, bad bytes.

Golden vectors (bytes and decoded values are facts; where each comes from is named at the test):
- polar-ble-sdk, sources/Android/android-communications/library/src/test/java/com/polar/androidcommunications/
  api/ble/model/gatt/client/pmd/: model/AccDataTest.kt, model/GyrDataTest.kt, BlePmdClientParsersTest.kt,
  PmdSettingTest.kt, BlePmdClientControlPointResponseTest.kt.
- github.com/polarofficial/polar-ble-sdk/issues/443: a start request, its response and a 227-byte ACC
  frame from a Verity Sense.
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensorlink.errors import MalformedPacket
from sensorlink.profiles.polar_pmd_protocol import (
    ControlPointRequest,
    ControlPointResponse,
    DataFrame,
    MeasurementStopped,
    MeasurementType,
    OpCode,
    PmdFeatures,
    PmdSettings,
    ResponseStatus,
    decode_delta_samples,
    decode_raw_samples,
    encode_delta_samples,
    encode_raw_samples,
)

ACC, GYRO = MeasurementType.ACC, MeasurementType.GYRO

# AccDataTest.kt "process acc raw data frame type 1": 36 samples of 16-bit mG, timestamp 2_000_000_000 ns.
ACC_RAW_TYPE1 = bytes.fromhex(
    "02009435770000000001"
    "f7ffffffe703f8fffeffe503f9ffffffe503faffffffe603fafffeffe603f9ffffffe503f8ffffffe603f8fffeffe603faffffff"
    "e503faffffffe703faffffffe503f8ffffffe603f7ffffffe603f8fffeffe603f9fffeffe703f9ff0000e603f9ffffffe603f7ff"
    "feffe503f9ffffffe503f9ffffffe503faff0000e603f9fffeffe603f8ffffffe603f8ffffffe503f9ffffffe603f9ffffffe503"
    "faffffffe603f9ffffffe503f9ffffffe503f8fffeffe603f9ffffffe603f9ffffffe603f9ff0000e503f9fffeffe603f8fffeff"
    "e603f7fffeffe603"
)
# AccDataTest.kt "process acc compressed data type 0": reference + 56 ten-bit deltas, in g times the factor.
ACC_DELTA_TYPE0 = bytes.fromhex(
    "02009435770000000080"
    "7107f06a9e8d0a38be5cbeba2f96b3ee4be5adfb42b9ebbe4cfeba2f92bfee4be4b1fb12b9ecbd3c3ebb2f8fd3de4be3b5f7d2b8"
    "edbd307e7b2f8be3ce8be2baf7a2b8eebc20be7b2f88f3cecbe1bdef52f8efbc18fe3b2f8403bfcbe0c2ef32b8f0bb044ebc2e81"
    "13af0be0c6eff2f7f1b9fc7dbc2e7d279f4bdfcaebc2f7f2b8eccd7c2e7b378f4bdecee392f7f3b8e00dfd2d774b7fcbddd2df62"
    "37f5b7d44dbd2d745b6fcbdcd7d73237f6b5c88d7d2d716b4f4bdcdcd3f236f7b4bcddfd2c6f7b3f4bdbe0cfd236f8b2b02dbe2c"
    "6c8f1fcbdae3c7a276f9"
)
# AccDataTest.kt "process acc compressed data type 1": the Verity Sense ACC format (0x81).
ACC_DELTA_TYPE1 = bytes.fromhex("02650000000000000081f1ff1400f00306017b0f08")
# GyrDataTest.kt "process gyro compressed data type 0" (0x80, the Verity Sense GYRO format).
GYRO_DELTA_TYPE0 = bytes.fromhex("05ffffffffffffff7f80eaff08000d000301df00")
# GyrDataTest.kt "process gyro compressed data type 1": float32 bit patterns summed modulo 2**32.
GYRO_DELTA_TYPE1 = bytes.fromhex("050094357700000000810000803f000020410000a0411c010000a001000008cdccec0d")
# Issue 443: a Verity Sense ACC frame (52 Hz, 16 bit, +-8 g), 227 bytes as the device sent it.
VERITY_ACC_FRAME = bytes.fromhex(
    "0200416fc41245930a81ee021ffe82ff080a10da20d6a30bd9cbe7d6f6c4e6f1e1f3e0151afe281bf8372c252013191"
    "10a2fed4fc07ef4e9bb6e800dc82fb03e14d1afb07f16c4cc2087340354128bff8d00c142fbe6d3dfb5e191532fbef9"
    "ed43b03efddb9b903df503605f7bfad9dfae000b2464704012cccfbf04e4c533b038084180efc212ec178146fdfe5bb"
    "001f3d1d76f81ffcd7b0fc20136607f43d35f3f3f78cb06484eff000efc820551ab55e34a2d1d0c5fbde858734dbdeb"
    "a06751020cc47041ca267fa0028919fe3f5f74e72244203f1566b0524d055ca41fbee96800"
)


def _f32(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])


# --- golden vectors -----------------------------------------------------------------------------------------


def test_acc_raw_type1_is_16_bit_milli_g_stamped_at_the_last_sample() -> None:
    frame = DataFrame.from_bytes(ACC_RAW_TYPE1)
    assert (frame.measurement_type, frame.timestamp_ns, frame.frame_type, frame.compressed) == (
        ACC,
        2_000_000_000,
        1,
        False,
    )
    samples = frame.samples()
    assert samples.shape == (36, 3)
    np.testing.assert_array_equal(samples[:2], [[-9, -1, 999], [-8, -2, 997]])
    assert bytes(frame) == ACC_RAW_TYPE1


def test_acc_delta_type0_is_in_g_times_the_factor() -> None:
    frame = DataFrame.from_bytes(ACC_DELTA_TYPE0)
    assert frame.compressed
    assert frame.frame_type == 0
    factor = 2.44e-4
    samples_mg = frame.samples(factor)
    ref = np.array([1905, 27376, -29282])
    assert samples_mg.shape == (57, 3)
    np.testing.assert_allclose(samples_mg[0], ref * factor * 1000)
    np.testing.assert_allclose(samples_mg[1], (ref + np.array([190, -105, -85])) * factor * 1000)
    assert np.abs(samples_mg).max() <= 8 * 1000  # the test's +-8 g range


def test_acc_delta_type1_verity_sense_format() -> None:
    frame = DataFrame.from_bytes(ACC_DELTA_TYPE1)
    assert frame.timestamp_ns == 101
    np.testing.assert_array_equal(frame.samples(), [[-15, 20, 1008], [-20, 17, 1008]])


def test_gyro_delta_type0_with_max_timestamp() -> None:
    frame = DataFrame.from_bytes(GYRO_DELTA_TYPE0)
    assert frame.measurement_type is GYRO
    assert frame.timestamp_ns == 2**63 - 1
    np.testing.assert_array_equal(frame.samples(), [[-22, 8, 13], [-23, 11, 16]])


def test_gyro_delta_type1_sums_float_bit_patterns_modulo_2_32() -> None:
    frame = DataFrame.from_bytes(GYRO_DELTA_TYPE1)
    expected = [
        [1.0, 10.0, 20.0],
        [_f32(0x3F800000 + 0x1A00000), _f32(0x41200000 + 0x0800000), _f32(0x41A00000 + 0xFDECCCCD)],
    ]
    np.testing.assert_array_equal(frame.samples(), expected)
    np.testing.assert_allclose(frame.samples(0.5), np.multiply(expected, 0.5))


def test_float32_delta_frame_of_four_blocks() -> None:
    """BlePmdClientParsersTest.kt test_parseDeltaFrameAllSamples_withResolution32_realVector1."""
    content = bytes.fromhex(
        "0000803f000020410000a0411c060000a001000008cdccec0d000008cdccec3d33331acdccec3d33331a0000c03033331a00"
        "00c0a09999da0000c0a09999da6666a6a19999da6666a60100000e20036666a6010000e000426c450e0000e000426c450e2b"
        "f8ed21000060fdbe93baf0939b4ccf1c060000a001000008cdccec0d000008cdccec3d33331acdccec3d33331a0000c03033"
        "331a0000c0a09999da0000c0a09999da6666a6a19999da6666a60100000e20036666a6010000e000426c450e0000e000426c"
        "450e2bf8ed21000060fdbe93baf0939b4ccf"
    )
    samples = decode_delta_samples(content, 3, 32, float32=True)
    assert samples.shape == (1 + 6 + 3 + 6 + 3, 3)
    np.testing.assert_array_equal(samples[0], [1.0, 10.0, 20.0])
    np.testing.assert_array_equal(
        samples[1],
        [_f32(0x3F800000 + 0x1A00000), _f32(0x41200000 + 0x0800000), _f32(0x41A00000 + 0xFDECCCCD)],
    )


def test_reference_sample_sign_extension() -> None:
    """BlePmdClientParsersTest.kt: 16-bit reference channels FFFF, 0000, FF7F, 0080."""
    samples = decode_delta_samples(bytes.fromhex("ffff0000ff7f0080"), 4, 16)
    np.testing.assert_array_equal(samples, [[-1, 0, 32767, -32768]])


def test_real_verity_sense_frame_decodes_exactly() -> None:
    """Issue 443: 58 samples, every byte of the content consumed (a wrong block layout would not be)."""
    frame = DataFrame.from_bytes(VERITY_ACC_FRAME)
    assert len(VERITY_ACC_FRAME) == 227
    assert (frame.measurement_type, frame.frame_type, frame.compressed) == (ACC, 1, True)
    # 762_028_708.86 s after 2000-01-01: 2024-02-23, the day the issue was filed.
    assert frame.timestamp_ns == 762_028_708_863_099_136
    samples = frame.samples()
    assert samples.shape == (58, 3)
    np.testing.assert_array_equal(samples[0], [750, -481, -126])
    assert np.abs(samples).max() <= 8000  # the +-8 g the start asked for
    assert bytes(frame) == VERITY_ACC_FRAME


def test_settings_tlvs_of_pmd_setting_test() -> None:
    """PmdSettingTest.kt testPmdSettingsWithRange: 52 Hz, 16 bit, 245/500/1000/2000 dps, 3 channels."""
    data = bytes.fromhex("00013400010110000204f500f401e803d007040103")
    settings = PmdSettings.from_bytes(data)
    assert settings == PmdSettings(
        sample_rates_hz=(52,), resolutions_bits=(16,), ranges=(245, 500, 1000, 2000), channels=(3,)
    )
    assert settings.factor is None
    assert bytes(settings) == data


def test_start_request_and_response_of_issue_443() -> None:
    request = bytes.fromhex("0202000134000101100002010800040103")
    parsed = ControlPointRequest.from_bytes(request)
    assert parsed == ControlPointRequest.start(
        ACC, PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=8, channels=3)
    )
    assert bytes(parsed) == request
    response = ControlPointResponse.from_bytes(bytes.fromhex("f002020000"))
    assert (response.op_code, response.measurement_type, response.ok, response.more) == (
        OpCode.REQUEST_MEASUREMENT_START,
        2,
        True,
        False,
    )
    assert response.settings().factor is None


def test_control_point_responses_of_the_sdk_tests() -> None:
    """BlePmdClientControlPointResponseTest.kt: a success with parameters, an error without."""
    ok = ControlPointResponse.from_bytes(bytes.fromhex("f001020000ffffff"))
    assert ok == ControlPointResponse(
        OpCode.GET_MEASUREMENT_SETTINGS, 2, ResponseStatus.SUCCESS, False, b"\xff" * 3
    )
    failed = ControlPointResponse.from_bytes(bytes.fromhex("f001060700"))
    assert failed.status is ResponseStatus.ERROR_INVALID_RESOLUTION
    assert not failed.ok
    assert failed.parameters == b""


def test_sdk_mode_is_start_and_stop_of_measurement_type_9() -> None:
    """BlePMDClient.startSDKMode / stopSDKMode: REQUEST_MEASUREMENT_START / STOP_MEASUREMENT with SDK_MODE."""
    assert bytes(ControlPointRequest.start(MeasurementType.SDK_MODE)) == b"\x02\x09"
    assert bytes(ControlPointRequest.stop(MeasurementType.SDK_MODE)) == b"\x03\x09"
    assert bytes(ControlPointRequest(OpCode.GET_SDK_MODE_STATUS)) == b"\x06"


def test_features_and_stop_indication() -> None:
    features = PmdFeatures.from_bytes(bytes([0x0F, 0x04 | 0x20 | 0x02, 0x02]))
    assert features.measurement_types == {ACC, GYRO, MeasurementType.PPG, MeasurementType.SDK_MODE}
    assert PmdFeatures.from_bytes(bytes(features)) == features
    assert MeasurementStopped.from_bytes(b"\x01\x01\x02").measurement_types == (MeasurementType.PPG, ACC)


# --- round trips --------------------------------------------------------------------------------------------

_u16 = st.integers(0, 0xFFFF)
_small_tuple = st.lists(_u16, max_size=6).map(tuple)
_settings = st.builds(
    PmdSettings,
    sample_rates_hz=_small_tuple,
    resolutions_bits=_small_tuple,
    ranges=_small_tuple,
    range_milliunits=st.lists(st.integers(0, 2**32 - 1), max_size=3).map(tuple),
    channels=st.lists(st.integers(0, 255), max_size=3).map(tuple),
    factors=st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=2).map(tuple),
)
_typed_ops = [
    OpCode.GET_MEASUREMENT_SETTINGS,
    OpCode.STOP_MEASUREMENT,
    OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS,
]


@given(_settings)
def test_settings_round_trip(settings: PmdSettings) -> None:
    assert PmdSettings.from_bytes(bytes(settings)) == settings


@given(
    st.one_of(
        st.builds(
            ControlPointRequest, st.sampled_from([OpCode.GET_MEASUREMENT_STATUS, OpCode.GET_SDK_MODE_STATUS])
        ),
        st.builds(ControlPointRequest, st.sampled_from(_typed_ops), st.sampled_from(MeasurementType)),
        st.builds(ControlPointRequest.start, st.sampled_from(MeasurementType), _settings),
    )
)
def test_request_round_trip(request: ControlPointRequest) -> None:
    assert ControlPointRequest.from_bytes(bytes(request)) == request


@given(
    st.builds(
        ControlPointResponse,
        st.sampled_from(OpCode),
        st.integers(0, 255),
        st.sampled_from(ResponseStatus),
        st.booleans(),
        st.binary(max_size=40),
    )
)
def test_response_round_trip(response: ControlPointResponse) -> None:
    assert ControlPointResponse.from_bytes(bytes(response)) == response


def _walk(draw: st.DrawFn, bits: int, max_step: int) -> np.ndarray:
    n = draw(st.integers(1, 120))
    limit = 1 << (bits - 1)
    start = np.array([draw(st.integers(-limit, limit - 1)) for _ in range(3)])
    steps = np.array(
        draw(st.lists(st.integers(-max_step, max_step), min_size=3 * (n - 1), max_size=3 * (n - 1)))
    )
    walk = np.vstack([start, start + np.cumsum(steps.reshape(n - 1, 3), axis=0)]) if n > 1 else start[None, :]
    return np.clip(walk, -limit, limit - 1)


@st.composite
def _int16_walks(draw: st.DrawFn) -> np.ndarray:
    return _walk(draw, 16, draw(st.sampled_from([0, 1, 5, 300, 40000])))


@given(_int16_walks(), st.integers(1, 255))
def test_delta_round_trip(samples: np.ndarray, block_samples: int) -> None:
    content = encode_delta_samples(samples, 16, block_samples=block_samples)
    np.testing.assert_array_equal(decode_delta_samples(content, 3, 16), samples)


@given(_int16_walks())
def test_raw_round_trip(samples: np.ndarray) -> None:
    np.testing.assert_array_equal(decode_raw_samples(encode_raw_samples(samples, 2), 3, 2), samples)


@given(
    st.sampled_from([ACC, GYRO]),
    st.integers(0, 2**64 - 1),
    st.integers(0, 127),
    st.booleans(),
    st.binary(max_size=60),
)
def test_data_frame_round_trip(
    measurement: MeasurementType, timestamp_ns: int, frame_type: int, compressed: bool, content: bytes
) -> None:
    frame = DataFrame(measurement, timestamp_ns, frame_type, compressed, content)
    assert DataFrame.from_bytes(bytes(frame)) == frame


# --- bad bytes ----------------------------------------------------------------------------------------------

_PARSERS = [
    PmdSettings.from_bytes,
    ControlPointRequest.from_bytes,
    ControlPointResponse.from_bytes,
    PmdFeatures.from_bytes,
    MeasurementStopped.from_bytes,
    lambda data: DataFrame.from_bytes(data).samples(),
    lambda data: decode_delta_samples(data, 3, 16),
    lambda data: decode_raw_samples(data, 3, 2),
]


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_malformed_packet(data: bytes) -> None:
    for parse in _PARSERS:
        with contextlib.suppress(MalformedPacket):
            parse(data)


@given(
    st.sampled_from([0x02, 0x05]),
    st.sampled_from([0x00, 0x01, 0x80, 0x81]),
    st.binary(min_size=1, max_size=240),
)
def test_random_content_of_imu_frames_raises_only_malformed_packet(
    type_byte: int, frame_byte: int, body: bytes
) -> None:
    data = bytes([type_byte]) + bytes(8) + bytes([frame_byte]) + body
    try:
        samples = DataFrame.from_bytes(data).samples(1.0)
    except MalformedPacket:
        return
    assert samples.shape[1:] == (3,)
    assert np.isfinite(samples).all()


@pytest.mark.parametrize("frame", [ACC_RAW_TYPE1, ACC_DELTA_TYPE0, VERITY_ACC_FRAME, GYRO_DELTA_TYPE1])
def test_a_truncated_frame_is_malformed_or_a_prefix_of_its_samples(frame: bytes) -> None:
    full = DataFrame.from_bytes(frame).samples()
    outcomes = {"malformed": 0, "prefix": 0}
    for cut in range(len(frame)):
        try:
            samples = DataFrame.from_bytes(frame[:cut]).samples()
        except MalformedPacket:
            outcomes["malformed"] += 1
            continue
        np.testing.assert_array_equal(samples, full[: len(samples)])
        outcomes["prefix"] += 1
    assert outcomes["malformed"] > 0


def test_malformed_packet_names_what_was_wrong() -> None:
    with pytest.raises(MalformedPacket, match="unknown measurement type 63"):
        DataFrame.from_bytes(b"\x3f" + bytes(9))
    with pytest.raises(MalformedPacket, match="delta width 0 bits"):
        decode_delta_samples(bytes(6) + b"\x00\x01", 3, 16)
    with pytest.raises(MalformedPacket, match="no decoder for ACC frame type 5"):
        DataFrame.from_bytes(b"\x02" + bytes(8) + b"\x05").samples()
    with pytest.raises(MalformedPacket, match="appears twice"):
        PmdSettings.from_bytes(bytes.fromhex("0001340000013400"))
