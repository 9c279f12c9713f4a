"""The codec decodes the golden vectors as firmware_specs/posture_sensor_v1.md says, and encodes them back."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import pytest

from sensorlink.errors import InvalidConfiguration, MalformedPacket, SensorlinkError, UnsupportedFirmware
from sensorlink.protocol import (
    DEFAULT_CONFIG,
    AdvertisementInfo,
    ControlOpcode,
    ControlRequest,
    ControlResponse,
    ControlResult,
    ImuPacket,
    SensorConfig,
    StatusReport,
    check_firmware_revision,
    check_protocol_major,
    encode_samples,
    local_name_for,
    packets_since,
)

GOLDEN: dict[str, Any] = json.loads(
    resources.files("firmware_specs").joinpath("golden_vectors_v1.json").read_text(encoding="utf-8")
)


def _cases(section: str, *, errors: bool | None = None) -> list[Any]:
    cases = GOLDEN[section]
    if errors is not None:
        cases = [c for c in cases if ("error" in c) == errors]
    return [pytest.param(c, id=c["name"] if "name" in c else c["revision"]) for c in cases]


def _config(c: dict[str, int]) -> SensorConfig:
    return SensorConfig(**c)


# --- IMU packets --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("imu_packets"))
def test_golden_imu_packet_decodes_as_specified(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    packet = ImuPacket.from_bytes(data)
    expect = case["expect"]
    assert (packet.seq, packet.sensor_time_us, packet.sample_count, packet.flags) == (
        expect["seq"],
        expect["sensor_time_us"],
        expect["sample_count"],
        expect["flags"],
    )
    np.testing.assert_array_equal(packet.raw, expect["raw"])
    acc_mps2, gyr_dps = packet.decode(_config(case["config"]))
    np.testing.assert_allclose(acc_mps2, expect["acc_mps2"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gyr_dps, expect["gyr_dps"], rtol=0, atol=1e-12)
    assert bytes(packet) == data


@pytest.mark.parametrize("case", _cases("malformed_imu_packets"))
def test_golden_malformed_packet_raises_with_length_and_seq(case: dict[str, Any]) -> None:
    with pytest.raises(MalformedPacket) as info:
        ImuPacket.from_bytes(bytes.fromhex(case["hex"]))
    assert info.value.length == case["length"]
    assert info.value.seq == case["seq"]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SensorlinkError)


def test_one_g_at_rest_is_standard_gravity() -> None:
    acc, gyr = encode_samples(np.array([[0.0, 0.0, 9.80665]]), np.zeros((1, 3)), SensorConfig(acc_range_g=2))
    assert acc[0].tolist() == [0, 0, 16384, 0, 0, 0]
    assert gyr == 0  # no saturation flags


def test_encode_rounds_to_nearest_count() -> None:
    config = SensorConfig(gyr_range_dps=2000)  # 2000 / 32768 = 0.0610 deg/s per count
    lsb = config.gyr_dps_per_lsb
    raw, _ = encode_samples(np.zeros((3, 3)), np.array([[0.49 * lsb, 0.51 * lsb, -1.5 * lsb]] * 3), config)
    assert raw[0, 3:].tolist() == [0, 1, -2]  # numpy rounds half to even


def test_encode_saturates_and_flags_each_sensor() -> None:
    config = SensorConfig(acc_range_g=2, gyr_range_dps=125)
    raw, flags = encode_samples(np.array([[100.0, -100.0, 0.0]]), np.array([[0.0, 0.0, 0.0]]), config)
    assert raw[0, :3].tolist() == [32767, -32768, 0]
    assert flags == ImuPacket.FLAG_ACC_SATURATED
    raw, flags = encode_samples(np.zeros((1, 3)), np.array([[0.0, 500.0, 0.0]]), config)
    assert raw[0, 4] == 32767
    assert flags == ImuPacket.FLAG_GYR_SATURATED


def test_encode_rejects_non_finite_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="finite"):
        encode_samples(np.array([[np.nan, 0, 0]]), np.zeros((1, 3)), DEFAULT_CONFIG)
    with pytest.raises(ValueError, match="shape"):
        encode_samples(np.zeros((2, 3)), np.zeros((3, 3)), DEFAULT_CONFIG)


def test_packet_holds_a_read_only_copy_and_compares_arrays() -> None:
    raw = np.ones((2, 6), dtype=np.int16)
    packet = ImuPacket(1, 2, 0, raw)
    raw[0, 0] = 5
    assert packet.raw[0, 0] == 1
    with pytest.raises(ValueError, match="read-only"):
        packet.raw[0, 0] = 3
    assert packet == ImuPacket(1, 2, 0, np.ones((2, 6), dtype=np.int16))
    assert packet != ImuPacket(1, 2, 0, np.zeros((2, 6), dtype=np.int16))


def test_packet_validates_its_fields() -> None:
    with pytest.raises(TypeError, match="int16"):
        ImuPacket(0, 0, 0, np.zeros((1, 6)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seq"):
        ImuPacket(65536, 0, 0, np.zeros((1, 6), dtype=np.int16))
    with pytest.raises(ValueError, match="shape"):
        ImuPacket(0, 0, 0, np.zeros((0, 6), dtype=np.int16))


def test_sample_times_follow_the_sample_rate() -> None:
    packet = ImuPacket(0, 1_000_000, 0, np.zeros((4, 6), dtype=np.int16))
    np.testing.assert_allclose(
        packet.sample_times_us(SensorConfig(sample_rate_hz=416)), 1e6 + np.arange(4) * 1e6 / 416
    )


# --- configuration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("configurations"))
def test_golden_configuration(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    if case.get("error") == "malformed":
        with pytest.raises(MalformedPacket):
            SensorConfig.from_bytes(data)
    elif case.get("error") == "invalid":
        with pytest.raises(InvalidConfiguration):
            SensorConfig.from_bytes(data)
    else:
        config = SensorConfig.from_bytes(data)
        assert config == _config(case["expect"])
        assert bytes(config) == data


def test_default_config_and_scales() -> None:
    assert SensorConfig(208, 16, 1000, 8) == DEFAULT_CONFIG
    assert DEFAULT_CONFIG.acc_mps2_per_lsb == pytest.approx(16 * 9.80665 / 32768)
    assert DEFAULT_CONFIG.gyr_dps_per_lsb == pytest.approx(1000 / 32768)


def test_config_fitted_to_mtu() -> None:
    assert SensorConfig.max_samples_per_packet(247) == 19
    assert SensorConfig.max_samples_per_packet(23) == 1
    assert DEFAULT_CONFIG.fitted_to_mtu(23).samples_per_packet == 1
    assert DEFAULT_CONFIG.fitted_to_mtu(247) is DEFAULT_CONFIG
    with pytest.raises(InvalidConfiguration, match="too small"):
        DEFAULT_CONFIG.fitted_to_mtu(20)


def test_invalid_config_message_lists_the_choices() -> None:
    with pytest.raises(InvalidConfiguration, match=r"choose one of \[52, 104, 208, 416\]"):
        SensorConfig(sample_rate_hz=100)


# --- control point, status, advertising ---------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("control_requests"))
def test_golden_control_request(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    if "error" in case:
        with pytest.raises(MalformedPacket):
            ControlRequest.from_bytes(data)
        return
    request = ControlRequest.from_bytes(data)
    assert request.opcode is ControlOpcode[case["opcode"]]
    assert request.payload == bytes.fromhex(case["payload"])
    assert bytes(request) == data


def test_control_request_constructors() -> None:
    assert bytes(ControlRequest.start()) == b"\x01"
    assert bytes(ControlRequest.identify(5)) == b"\x04\x05"
    assert ControlRequest.identify(5).identify_duration_s == 5
    with pytest.raises(ValueError, match="payload"):
        ControlRequest(ControlOpcode.STOP, b"\x00")


@pytest.mark.parametrize("case", _cases("control_responses"))
def test_golden_control_response(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    if "error" in case:
        with pytest.raises(MalformedPacket):
            ControlResponse.from_bytes(data)
        return
    response = ControlResponse.from_bytes(data)
    assert response.opcode is ControlOpcode[case["opcode"]]
    assert response.result is ControlResult[case["result"]]
    assert bytes(response) == data
    if "start" in case:
        info = response.start_info()
        assert (info.next_seq, info.sensor_time_us, info.resumed, info.samples_per_packet) == tuple(
            case["start"].values()
        )
    if "time_sync_sensor_time_us" in case:
        assert response.time_sync_sensor_time_us() == case["time_sync_sensor_time_us"]


def test_start_info_only_from_a_successful_start() -> None:
    with pytest.raises(ValueError, match="START"):
        ControlResponse(ControlOpcode.START, ControlResult.INVALID_STATE).start_info()
    built = ControlResponse.start_success(7, 1234, resumed=True, samples_per_packet=19)
    assert built.start_info().resumed is True


@pytest.mark.parametrize("case", _cases("status"))
def test_golden_status(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    if "error" in case:
        with pytest.raises(MalformedPacket):
            StatusReport.from_bytes(data)
        return
    status = StatusReport.from_bytes(data)
    assert (status.battery_pct, status.flags) == (case["battery_pct"], case["flags"])
    assert status.streaming is case["streaming"]
    assert status.low_battery is case["low_battery"]
    assert status.buffer_overflow is case.get("buffer_overflow", False)
    assert bytes(status) == data


@pytest.mark.parametrize("case", _cases("advertisements"))
def test_golden_advertisement(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["manufacturer_payload_hex"])
    if "error" in case:
        with pytest.raises(MalformedPacket):
            AdvertisementInfo.from_bytes(data)
        return
    info = AdvertisementInfo.from_manufacturer_data({0xFFFF: data})
    assert info is not None
    assert (info.protocol_major, info.battery_pct, info.flags) == (
        case["protocol_major"],
        case["battery_pct"],
        case["flags"],
    )
    assert info.pairing_mode is case["pairing_mode"]
    assert info.to_manufacturer_data() == bytes.fromhex(case["ad_structure_payload_hex"])
    if case.get("supported", True):
        check_protocol_major(info)
    else:
        with pytest.raises(UnsupportedFirmware, match="update posture"):
            check_protocol_major(info)


def test_other_company_data_is_not_a_posture_sensor() -> None:
    assert AdvertisementInfo.from_manufacturer_data({0x004C: b"\x01\x02\x03"}) is None


def test_local_name_uses_the_last_two_address_bytes() -> None:
    assert local_name_for("C4:5E:00:00:12:ab") == "PostureSensor-12AB"
    with pytest.raises(ValueError, match="address"):
        local_name_for("C45E")


# --- receiver rules and firmware ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("receiver_rules"))
def test_golden_receiver_rule(case: dict[str, Any]) -> None:
    config = _config(case["config"])
    k = packets_since(
        case["last"]["seq"],
        case["last"]["sensor_time_us"],
        case["packet"]["seq"],
        case["packet"]["sensor_time_us"],
        config,
    )
    assert k == case["packets_since"]
    assert max(0, k - 1) * config.samples_per_packet == case["lost_samples"]


@pytest.mark.parametrize("case", _cases("firmware_revisions"))
def test_golden_firmware_revision(case: dict[str, Any]) -> None:
    if case["supported"]:
        assert check_firmware_revision(case["revision"]).major == 1
        return
    with pytest.raises(UnsupportedFirmware) as info:
        check_firmware_revision(case["revision"])
    for fragment in case["message_contains"]:
        assert fragment in str(info.value)
    assert info.value.supported_major == 1
