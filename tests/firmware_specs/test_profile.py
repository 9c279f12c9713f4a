"""The profile file is the one home of the spec's numbers; the document and the golden vectors agree."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from firmware_specs import PROFILE_FILE, ProfileError, load_profile, parse_profile


def _text(name: str) -> str:
    return resources.files("firmware_specs").joinpath(name).read_text(encoding="utf-8")


def test_profile_loads_into_frozen_dataclasses() -> None:
    profile = load_profile()
    assert profile.protocol.major == 1
    assert profile.protocol.firmware_revision.startswith("1.")
    with pytest.raises(AttributeError):
        profile.protocol.major = 2  # type: ignore[misc]
    assert load_profile() is profile  # parsed once


def test_max_samples_per_packet_follows_the_mtu() -> None:
    profile = load_profile()
    assert profile.max_samples_for_mtu(247) == 19  # 8 + 12 * 19 = 236 <= 244
    assert profile.max_samples_for_mtu(23) == 1  # 8 + 12 = 20 <= 20
    assert profile.max_samples_for_mtu(22) == 0
    assert profile.max_samples_for_mtu(517) == profile.configuration.max_samples_per_packet


def test_every_uuid_is_distinct_and_128_bit() -> None:
    gatt = load_profile().gatt
    uuids = [
        gatt.service_uuid,
        gatt.imu_data_uuid,
        gatt.configuration_uuid,
        gatt.control_point_uuid,
        gatt.status_uuid,
    ]
    assert len(set(uuids)) == 5
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", u) for u in uuids
    )


def test_human_document_states_the_same_uuids_and_sets() -> None:
    profile = load_profile()
    doc = _text("posture_sensor_v1.md")
    gatt = profile.gatt
    for uuid in (gatt.service_uuid, gatt.imu_data_uuid, gatt.configuration_uuid, gatt.control_point_uuid):
        assert uuid in doc
    cfg = profile.configuration
    assert ", ".join(map(str, cfg.sample_rates_hz)) in doc
    assert ", ".join(map(str, cfg.acc_ranges_g)) in doc
    assert ", ".join(map(str, cfg.gyr_ranges_dps)) in doc
    assert f"company id `0x{profile.advertising.company_id:04X}`" in doc


def test_missing_key_is_a_profile_error() -> None:
    text = _text(PROFILE_FILE).replace("opcode_stop = 0x02", "")
    with pytest.raises(ProfileError, match=r"\[control\].*opcode_stop"):
        parse_profile(text)


def test_inconsistent_default_is_a_profile_error() -> None:
    text = _text(PROFILE_FILE).replace("default_sample_rate_hz = 208", "default_sample_rate_hz = 100")
    with pytest.raises(ProfileError, match="default_sample_rate_hz"):
        parse_profile(text)


def test_golden_vectors_are_for_this_protocol_major() -> None:
    golden = json.loads(_text("golden_vectors_v1.json"))
    assert golden["protocol_major"] == load_profile().protocol.major
    assert golden["imu_packets"]
    assert golden["receiver_rules"]
    assert golden["malformed_imu_packets"]


def test_layout_sizes_are_those_the_document_states() -> None:
    profile = load_profile()
    assert profile.imu_packet.header_size == 8
    assert profile.imu_packet.sample_size == 12
    assert profile.configuration.size == 6
    assert profile.status.size == 2
    assert profile.advertising.manufacturer_data_size == 3


@pytest.mark.parametrize(
    ("original", "broken", "message"),
    [
        ('header_format = "<HIBB"', 'header_format = "<HIZ"', "not a struct format"),
        ('format = "<BB"', 'format = ">BB"', "little-endian"),
        ('axis_format = "<h"', 'axis_format = "<f"', "int16"),
    ],
)
def test_bad_layout_is_a_profile_error(original: str, broken: str, message: str) -> None:
    text = _text(PROFILE_FILE)
    assert original in text
    with pytest.raises(ProfileError, match=message):
        parse_profile(text.replace(original, broken))
