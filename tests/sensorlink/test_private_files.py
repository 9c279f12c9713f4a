"""Files holding key material are owner-only (0600), whatever the umask: bonds, pairing keys, identity."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from bleak import BleakClient

from sensorlink.bonds import Bond, BondStore
from sensorlink.bumble_backend import BumbleClient
from sensorlink.bumble_backend.adapter import CENTRAL_IDENTITY_FILE, central_identity
from sensorlink.private_files import make_private, write_private_text
from sensorlink.simsensor import SimulatedSensorOptions
from tests.sensorlink.test_link import simulated


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask that lets everyone read new files (0644 would be the default's result; this is worse)."""
    old = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("permissive_umask")
def test_a_private_file_is_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.json"
    write_private_text(path, "one")
    write_private_text(path, "two")
    assert path.read_text() == "two"
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.json"]  # no temporary file left


def test_a_key_file_left_readable_by_an_older_version_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "old-keys.json"
    path.write_text("{}")
    path.chmod(0o644)
    make_private(path)
    assert mode(path) == 0o600
    make_private(tmp_path / "absent.json")  # nothing to do, no error


@pytest.mark.usefixtures("permissive_umask")
def test_the_central_identity_and_the_bonds_are_owner_only(tmp_path: Path) -> None:
    central_identity(tmp_path / "keys.json")
    assert mode(tmp_path / CENTRAL_IDENTITY_FILE) == 0o600
    store = BondStore(tmp_path / "bonds.json")
    store.add(Bond("C4:5E:00:00:00:01", "PostureSensor-0001", "sim", 1))
    assert mode(tmp_path / "bonds.json") == 0o600


@pytest.mark.usefixtures("permissive_umask")
async def test_pairing_writes_both_sides_long_term_keys_owner_only(tmp_path: Path) -> None:
    sensor_keys = tmp_path / "sensor-keys.json"
    options = SimulatedSensorOptions(time_scale=20.0, keystore_file=sensor_keys)
    async with simulated(tmp_path, options) as (adapter, sensor, _):
        client = BleakClient(sensor.options.address, backend=BumbleClient, bumble_adapter=adapter)
        async with client:
            await client.pair()
    central_keys = tmp_path / "keys.json"
    assert sensor.options.address.split("/")[0] in central_keys.read_text()
    assert mode(central_keys) == 0o600
    assert mode(sensor_keys) == 0o600
    assert mode(tmp_path / CENTRAL_IDENTITY_FILE) == 0o600
