"""WitMotion WT901BLE codec (sensorlink.profiles.witmotion_protocol): the 0x55 0x61 packet and commands.

Golden vectors follow the WT901BLECL datasheet (section 6.1.1 layout and scale factors) and the commands
WitMotion's own BLE 5.0 SDKs write (unlock `FF AA 69 88 B5`, 50 Hz `FF AA 03 08 00`, save `FF AA 00 00 00`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sensorlink.errors import MalformedPacket
from sensorlink.profiles.witmotion_protocol import (
    PACKET_BYTES,
    RETURN_RATE_CODES,
    WIT_NOTIFY_UUID,
    WIT_SERVICE_UUID,
    WIT_WRITE_UUID,
    RegisterRead,
    WitCommand,
    WitImuPacket,
    parse_notification,
)


def test_uuids_are_witmotions_own_base_not_the_sig_base() -> None:
    assert WIT_SERVICE_UUID == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert (WIT_NOTIFY_UUID[4:8], WIT_WRITE_UUID[4:8]) == ("ffe4", "ffe9")


def test_commands_are_the_bytes_witmotions_sdks_write() -> None:
    assert bytes(WitCommand.unlock()) == bytes.fromhex("ffaa6988b5")
    assert bytes(WitCommand.set_return_rate(50)) == bytes.fromhex("ffaa030800")
    assert bytes(WitCommand.set_return_rate(10)) == bytes.fromhex("ffaa030600")
    assert bytes(WitCommand.set_return_rate(200)) == bytes.fromhex("ffaa030b00")
    assert bytes(WitCommand.save()) == bytes.fromhex("ffaa000000")
    assert bytes(WitCommand.read(0x3A)) == bytes.fromhex("ffaa273a00")


def test_a_rate_the_device_does_not_offer_is_refused() -> None:
    with pytest.raises(ValueError, match="no return rate of 400 Hz"):
        WitCommand.set_return_rate(400)
    assert max(RETURN_RATE_CODES) == 200


def test_golden_packet_scales_by_the_datasheet_formulas() -> None:
    # ax = 0x0800 = 2048 -> 2048 / 32768 * 16 = 1 g; az = 0xF800 = -2048 -> -1 g
    # gx = 0x4000 = 16384 -> 1000 deg/s; gz = 0xC000 -> -1000 deg/s
    # roll = 0x2000 = 8192 -> 45 deg; yaw = 0x8000 -> -180 deg
    wire = bytes.fromhex("55610008000000f80040010000c0002000000080")
    packet = WitImuPacket.from_bytes(wire)
    np.testing.assert_allclose(packet.acc_g, [1.0, 0.0, -1.0])
    np.testing.assert_allclose(packet.gyr_dps, [1000.0, 2000 / 32768, -1000.0])
    np.testing.assert_allclose(packet.angle_deg, [45.0, 0.0, -180.0])
    assert bytes(packet) == wire
    assert len(wire) == PACKET_BYTES


def test_quantisation_rounds_and_saturates() -> None:
    packet = WitImuPacket.from_physical(np.array([20.0, -20.0, 1.0]), np.zeros(3), np.zeros(3))
    assert packet.raw[:3].tolist() == [32767, -32768, 2048]


def test_a_notification_may_hold_imu_and_register_packets_back_to_back() -> None:
    imu = WitImuPacket.from_physical(np.array([0, 0, 1.0]), np.zeros(3), np.zeros(3))
    reg = RegisterRead(0x3A, (1, 2, 3, 4, 5, 6, 7, 8))
    packets, registers = parse_notification(bytes(imu) + bytes(reg) + bytes(imu))
    assert packets == [imu, imu]
    assert registers == [reg]


@pytest.mark.parametrize(
    "data",
    [b"", bytes(19), bytes(21), bytes.fromhex("5562") + bytes(18), bytes.fromhex("aa61") + bytes(18)],
    ids=["empty", "short", "long", "unknown flag", "no header"],
)
def test_malformed_notifications(data: bytes) -> None:
    with pytest.raises(MalformedPacket):
        parse_notification(data)


raw_counts = hnp.arrays(np.int16, (9,))


@given(raw_counts)
def test_packet_round_trip(raw: np.ndarray) -> None:
    packet = WitImuPacket(raw)
    assert WitImuPacket.from_bytes(bytes(packet)) == packet
    again = WitImuPacket.from_physical(packet.acc_g, packet.gyr_dps, packet.angle_deg)
    assert again == packet


@given(st.integers(0, 255), st.integers(0, 0xFFFF))
def test_command_round_trip(register: int, value: int) -> None:
    command = WitCommand(register, value)
    assert WitCommand.from_bytes(bytes(command)) == command


@given(st.binary(max_size=100))
def test_random_bytes_raise_only_malformed_packet(data: bytes) -> None:
    for parse in (parse_notification, WitCommand.from_bytes):
        with contextlib.suppress(MalformedPacket):
            parse(data)


@given(raw_counts, st.integers(0, PACKET_BYTES - 1))
def test_every_truncation_is_malformed(raw: np.ndarray, cut: int) -> None:
    with pytest.raises(MalformedPacket):
        parse_notification(bytes(WitImuPacket(raw))[:cut])
