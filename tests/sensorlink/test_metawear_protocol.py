"""The MetaWear codec against MbientLab's own test vectors, round trips, and hostile bytes.

Golden vectors: byte strings and decoded values from MetaWear-SDK-Cpp's public unit tests (file and test
named at each case); the SDK compares floats to 3 decimals, so do we.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from processing.samples import STANDARD_GRAVITY_MPS2
from sensorlink.errors import InvalidConfiguration, MalformedPacket
from sensorlink.profiles.metawear_protocol import (
    ACC_LSB_PER_G,
    ACC_ODR_HZ,
    GYRO_LSB_PER_DPS,
    GYRO_ODR_HZ,
    PACKED_SAMPLES,
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
    parse_command,
    parse_notification,
    quantise,
)

ACC = Module.ACCELEROMETER
GYRO = Module.GYRO
G = STANDARD_GRAVITY_MPS2


def _g(data: MotionData, range_g: int, chip: Chip) -> np.ndarray:
    return data.acc_mps2(AccConfig(chip, 100, range_g)) / G


# --- golden vectors: commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chip", "odr_hz", "range_g", "expected"),
    [
        # test_accelerometer_bmi160.py TestAccBmi160Config.test_set_odr (range left at its default 2 g)
        (Chip.BMI160, 25, 2, "03032603"),
        (Chip.BMI160, 50, 2, "03032703"),
        (Chip.BMI160, 100, 2, "03032803"),
        (Chip.BMI160, 200, 2, "03032903"),
        (Chip.BMI160, 400, 2, "03032a03"),
        (Chip.BMI160, 800, 2, "03032b03"),
        (Chip.BMI160, 1600, 2, "03032c03"),
        # ... test_set_range, test_set_odr_and_range
        (Chip.BMI160, 100, 16, "0303280c"),
        (Chip.BMI160, 200, 8, "03032908"),
        # test_accelerometer_bmi270.py TestAccBmi270Config (default range 8 g)
        (Chip.BMI270, 25, 8, "0303a602"),
        (Chip.BMI270, 100, 8, "0303a802"),
        (Chip.BMI270, 400, 8, "0303aa02"),
        (Chip.BMI270, 1600, 8, "0303ac02"),
        (Chip.BMI270, 100, 16, "0303a803"),
        (Chip.BMI270, 200, 8, "0303a902"),
    ],
)
def test_accelerometer_config_matches_the_sdk(chip: Chip, odr_hz: int, range_g: int, expected: str) -> None:
    config = AccConfig(chip, odr_hz, range_g)
    assert bytes(config).hex() == expected
    assert parse_command(bytes.fromhex(expected), chip) == config


@pytest.mark.parametrize(
    ("odr_hz", "range_dps", "expected"),
    [
        # test_gyro_bmi160.py TestGyroBmi160Config: set_odr (2000 dps default), set_fsr, set_all_config
        (200, 2000, "13032900"),
        (100, 250, "13032803"),
        (50, 125, "13032704"),
    ],
)
def test_gyroscope_config_matches_the_sdk(odr_hz: int, range_dps: int, expected: str) -> None:
    config = GyroConfig(odr_hz, range_dps)
    assert bytes(config).hex() == expected
    assert parse_command(bytes.fromhex(expected), Chip.BMI160) == config


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # test_accelerometer_bmi160.py / _bmi270.py: enable/disable_acceleration_sampling
        (SamplingEnable(ACC, True), "03020100"),
        (SamplingEnable(ACC, False), "03020001"),
        # test_gyro_bmi160.py: test_enable/disable_rotation_sampling, test_gyro_active/standby
        (SamplingEnable(GYRO, True), "13020100"),
        (SamplingEnable(GYRO, False), "13020001"),
        (PowerMode(GYRO, True), "130101"),
        (PowerMode(GYRO, False), "130100"),
        # test_macro.py records mbl_mw_acc_start as [0x03, 0x01, 0x01]
        (PowerMode(ACC, True), "030101"),
        # test_settings.py TestSettingsRevision3.test_read_battery_component: [0x11, 0x8c]
        (BatteryRead(), "118c"),
        # common.py answers every [module, 0x80] with the module's info: module discovery
        (InfoRead(0x03), "0380"),
        (ConfigRead(ACC), "0383"),
    ],
)
def test_switches_match_the_sdk(command: object, expected: str) -> None:
    assert bytes(command).hex() == expected  # type: ignore[call-overload]
    assert parse_command(bytes.fromhex(expected), Chip.BMI160) == command


@pytest.mark.parametrize(
    ("chip", "module", "packed", "expected_on"),
    [
        # test_accelerometer_bmi160.py TestBmi160AccelerationData / TestBmi160HighFreqAccData
        (Chip.BMI160, ACC, False, "030401"),
        (Chip.BMI160, ACC, True, "031c01"),
        # test_accelerometer_bmi270.py TestBmi270AccelerationData / TestBmi270HighFreqAccData
        (Chip.BMI270, ACC, False, "030401"),
        (Chip.BMI270, ACC, True, "030501"),
        # test_gyro_bmi160.py TestGyroBmi160DataHandler / TestGyroBmi160HighFreqDataHandler
        (Chip.BMI160, GYRO, False, "130501"),
        (Chip.BMI160, GYRO, True, "130701"),
    ],
)
def test_data_subscriptions_match_the_sdk(chip: Chip, module: Module, packed: bool, expected_on: str) -> None:
    register = data_register(chip, module, packed=packed)
    on, off = DataSubscription(module, register, True), DataSubscription(module, register, False)
    assert bytes(on).hex() == expected_on
    assert bytes(off).hex() == expected_on[:-2] + "00"
    assert parse_command(bytes(on), chip) == on


def test_reads_name_the_header_their_answer_starts_with() -> None:
    # common.py answers [module, 0x80] with [module, 0x80, ...]; test_settings.py answers the battery read
    # [0x11, 0x8c] with b'\x11\x8c...'; the SDK reads a configuration back under READ_REGISTER(DATA_CONFIG).
    assert InfoRead(0x13).answer_header == (0x13, 0x80)
    assert ConfigRead(GYRO).answer_header == (0x13, 0x83)
    assert BatteryRead().answer_header == (0x11, 0x8C)


def test_connection_parameters_match_the_sdk() -> None:
    # test_settings.py test_set_conn_params: (750 ms, 1000 ms, 128, 16384 ms); the SDK truncates 16384 ms to
    # 1638 units of 10 ms, which is 16380 ms.
    params = ConnectionParameters(750.0, 1000.0, 128, 16380.0)
    assert bytes(params).hex() == "110958022003800066" + "06"
    assert ConnectionParameters.from_bytes(bytes(params)) == params
    # MbientLab's high-frequency recipe: 7.5 ms, 7.5 ms, latency 0, 6000 ms -> 6, 6, 0, 600 units.
    assert (
        bytes(ConnectionParameters(7.5, 7.5, 0, 6000.0)).hex() == "1109" + "0600" + "0600" + "0000" + "5802"
    )


# --- golden vectors: notifications -------------------------------------------------------------------------


@pytest.mark.parametrize("chip", list(Chip))
def test_unpacked_acceleration_matches_the_sdk(chip: Chip) -> None:
    # test_accelerometer_bmi160.py / _bmi270.py test_get_acceleration_data_g, range 4 g
    data = parse_notification(bytes.fromhex("030416c494a22ad0"), chip)
    assert isinstance(data, MotionData)
    assert data.module is ACC
    assert not data.packed
    np.testing.assert_allclose(_g(data, 4, chip), [[-1.872, -2.919, -1.495]], atol=1e-3)
    assert data.to_bytes(chip).hex() == "030416c494a22ad0"


@pytest.mark.parametrize(("chip", "register"), [(Chip.BMI160, "1c"), (Chip.BMI270, "05")])
def test_packed_acceleration_matches_the_sdk(chip: Chip, register: str) -> None:
    # TestBmi160HighFreqAccData / TestBmi270HighFreqAccData test_get_acceleration_data_g, range 8 g
    wire = bytes.fromhex("03" + register + "62b7530de9fd16d04d0e57028affa1050a01")
    data = parse_notification(wire, chip)
    assert isinstance(data, MotionData)
    assert data.packed
    assert data.sample_count == PACKED_SAMPLES
    expected = [[-4.539, 0.833, -0.131], [-2.995, 0.894, 0.146], [-0.029, 0.352, 0.065]]
    np.testing.assert_allclose(_g(data, 8, chip), expected, atol=1e-3)
    assert data.to_bytes(chip) == wire


def test_rotation_matches_the_sdk() -> None:
    # test_gyro_bmi160.py test_rotation_data_handler (500 dps), TestGyroBmi160HighFreqDataHandler (1000 dps)
    single = parse_notification(bytes.fromhex("13053e43ff7f0080"), Chip.BMI160)
    assert isinstance(single, MotionData)
    assert single.module is GYRO
    np.testing.assert_allclose(
        single.gyr_dps(GyroConfig(100, 500)), [[262.409, 499.497, -499.512]], atol=1e-3
    )
    packed = parse_notification(bytes.fromhex("1307" + "0915ad2608de8a1a0d2665e48d20ac2773ec"), Chip.BMI160)
    assert isinstance(packed, MotionData)
    assert packed.packed
    expected = [[164.177, 301.860, -265.122], [207.134, 296.982, -215.457], [254.055, 309.634, -152.591]]
    np.testing.assert_allclose(packed.gyr_dps(GyroConfig(100, 1000)), expected, atol=1e-3)


def test_battery_state_matches_the_sdk() -> None:
    # test_settings.py TestSettingsRevision3.test_battery_state_data: voltage 4148 mV, charge 99 %
    state = parse_notification(bytes.fromhex("118c633410"), Chip.BMI270)
    assert state == BatteryState(charge_pct=99, voltage_mv=4148)
    assert bytes(state).hex() == "118c633410"


@pytest.mark.parametrize(
    ("board", "accelerometer", "gyroscope", "chip"),
    [
        # common.py: the module-info answers of the boards the SDK's tests emulate
        ("MetaMotion R", "03800101", "13800001", Chip.BMI160),
        ("MetaMotion RL", "03800102", "13800001", Chip.BMI160),
        ("MetaMotion S", "03800400", "13800100", Chip.BMI270),
    ],
)
def test_module_discovery_tells_the_chip(board: str, accelerometer: str, gyroscope: str, chip: Chip) -> None:
    acc_info = parse_notification(bytes.fromhex(accelerometer), None)
    gyro_info = parse_notification(bytes.fromhex(gyroscope), None)
    assert isinstance(acc_info, ModuleInfo)
    assert isinstance(gyro_info, ModuleInfo)
    assert chip_from_info(acc_info) is chip, board
    assert gyro_info.present
    assert bytes(gyro_info).hex() == gyroscope


def test_absent_and_unknown_modules() -> None:
    # common.py: the MetaMotion RL's absent barometer answers b'\x12\x80'
    absent = ModuleInfo.from_bytes(bytes.fromhex("1280"))
    assert not absent.present
    assert bytes(absent).hex() == "1280"
    # MetaMotion S settings: implementation 0, revision 10, two extra bytes
    settings = ModuleInfo.from_bytes(bytes.fromhex("1180000a0700"))
    assert (settings.implementation, settings.revision, settings.extra) == (0, 10, b"\x07\x00")
    with pytest.raises(InvalidConfiguration, match="no accelerometer"):
        chip_from_info(ModuleInfo(0x03, None, None))
    with pytest.raises(InvalidConfiguration, match="implementation id 2, neither"):
        chip_from_info(ModuleInfo(0x03, 2, 0))


def test_values_the_chips_do_not_offer_are_refused_in_one_line() -> None:
    with pytest.raises(InvalidConfiguration, match="no 120 Hz rate; it offers 25, 50"):
        AccConfig(Chip.BMI270, 120, 8)
    with pytest.raises(InvalidConfiguration, match="no \\+-32 g range"):
        AccConfig(Chip.BMI160, 100, 32)
    with pytest.raises(InvalidConfiguration, match="no \\+-300 deg/s"):
        GyroConfig(100, 300)
    with pytest.raises(InvalidConfiguration):
        ConnectionParameters(7.0, 7.5, 0, 6000.0)


# --- round trips -------------------------------------------------------------------------------------------

CHIPS = st.sampled_from(list(Chip))
RAW = st.booleans().flatmap(
    lambda packed: st.tuples(
        st.just(packed),
        hnp.arrays(np.int16, (PACKED_SAMPLES if packed else 1, 3)),
    )
)


@given(CHIPS, st.sampled_from([ACC, GYRO]), RAW)
def test_motion_data_round_trips(chip: Chip, module: Module, packed_raw: tuple[bool, np.ndarray]) -> None:
    packed, raw = packed_raw
    data = MotionData(module, packed, raw)
    back = parse_notification(data.to_bytes(chip), chip)
    assert isinstance(back, MotionData)
    assert back.same_as(data)


@given(CHIPS, st.sampled_from(ACC_ODR_HZ), st.sampled_from(sorted(ACC_LSB_PER_G)))
def test_accelerometer_config_round_trips(chip: Chip, odr_hz: int, range_g: int) -> None:
    config = AccConfig(chip, odr_hz, range_g)
    assert parse_command(bytes(config), chip) == config
    assert parse_notification(config.read_response(), chip) == config


@given(st.sampled_from(GYRO_ODR_HZ), st.sampled_from(sorted(GYRO_LSB_PER_DPS)))
def test_gyroscope_config_round_trips(odr_hz: int, range_dps: int) -> None:
    config = GyroConfig(odr_hz, range_dps)
    assert parse_command(bytes(config), Chip.BMI270) == config
    assert parse_notification(config.read_response(), Chip.BMI270) == config


@given(
    st.lists(st.integers(6, 3200), min_size=2, max_size=2).map(sorted),
    st.integers(0, 499),
    st.integers(10, 3200),
)
def test_connection_parameters_round_trip(
    interval_units: list[int], latency: int, timeout_units: int
) -> None:
    lo, hi = interval_units
    params = ConnectionParameters(lo * 1.25, hi * 1.25, latency, timeout_units * 10.0)
    assert ConnectionParameters.from_bytes(bytes(params)) == params
    assert parse_command(bytes(params), Chip.BMI160) == params


@given(
    st.integers(0, 0xFF),
    st.one_of(st.none(), st.tuples(st.integers(0, 255), st.integers(0, 255))),
    st.binary(),
)
def test_module_info_round_trips(module: int, impl_rev: tuple[int, int] | None, extra: bytes) -> None:
    info = (
        ModuleInfo(module, None, None)
        if impl_rev is None
        else ModuleInfo(module, impl_rev[0], impl_rev[1], extra)
    )
    assert ModuleInfo.from_bytes(bytes(info)) == info


@given(
    hnp.arrays(np.float64, (7, 3), elements=st.floats(-40.0, 40.0)), st.sampled_from(sorted(ACC_LSB_PER_G))
)
def test_quantised_acceleration_is_within_half_a_count(acc_mps2: np.ndarray, range_g: int) -> None:
    config = AccConfig(Chip.BMI270, 100, range_g)
    raw = quantise(acc_mps2, config.lsb_per_g / G)
    back = MotionData(ACC, False, raw[:1]).acc_mps2(config)
    counts_per_mps2 = config.lsb_per_g / G
    expected = np.clip(acc_mps2[:1], -32768 / counts_per_mps2, 32767 / counts_per_mps2)  # full-scale clipping
    np.testing.assert_allclose(back, expected, atol=0.5 * G / config.lsb_per_g + 1e-9)


# --- hostile bytes ----------------------------------------------------------------------------------------


def _outcome(parse: Callable[[bytes, Any], object], data: bytes, chip: Chip | None) -> object:
    """What `parse` returns, or the MalformedPacket it raises (any other exception fails the test)."""
    try:
        return parse(data, chip)
    except MalformedPacket as exc:
        return exc


@given(st.binary(max_size=40), st.one_of(st.none(), CHIPS))
def test_random_notifications_raise_only_malformed_packet(data: bytes, chip: Chip | None) -> None:
    outcome = _outcome(parse_notification, data, chip)
    assert not isinstance(outcome, MalformedPacket) or outcome.length == len(data)


@given(st.binary(max_size=40), CHIPS)
def test_random_commands_raise_only_malformed_packet(data: bytes, chip: Chip) -> None:
    outcome = _outcome(parse_command, data, chip)
    assert not isinstance(outcome, MalformedPacket) or outcome.length == len(data)


@pytest.mark.parametrize(
    "wire",
    [
        "",  # empty
        "03",  # header cut
        "030416c494a22a",  # one byte short
        "030416c494a22ad000",  # one byte long
        "031c62b7530de9fd16d04d0e57028aff",  # packed, truncated
        "0306010203040506",  # register 6 carries no data
        "0304",  # header only
        "0383ff",  # config answer cut
        "0383" + "2f03",  # ODR code 15 is no rate
        "1383" + "2807",  # gyroscope range code 7 is no range
        "118c65",  # battery answer cut
        "118c653410",  # charge 101 %
        "0380ff",  # module info with implementation but no revision
    ],
)
def test_truncated_and_malformed_notifications_are_malformed(wire: str) -> None:
    with pytest.raises(MalformedPacket):
        parse_notification(bytes.fromhex(wire), Chip.BMI160)


def test_a_motion_notification_from_the_other_chip_is_malformed() -> None:
    # A BMI270 packed gyroscope frame (register 0x05) is a single-sample frame's register on a BMI160 board,
    # with the wrong length for it.
    wire = MotionData(GYRO, True, np.zeros((3, 3), np.int16)).to_bytes(Chip.BMI270)
    with pytest.raises(MalformedPacket, match="expected 8 bytes"):
        parse_notification(wire, Chip.BMI160)
