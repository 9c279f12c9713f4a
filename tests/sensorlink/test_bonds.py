"""Bonds file: remembered across instances, replaced not duplicated, corrupt files give a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensorlink.bonds import Bond, BondStore
from sensorlink.errors import BondStoreError, SensorlinkError


def test_a_bond_survives_a_new_store_instance(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "bonds.json"
    BondStore(path).add(Bond("F0:F1:F2:F3:F4:F5", "PostureSensor-F4F5", "sim", 1))
    assert BondStore(path).load() == (Bond("F0:F1:F2:F3:F4:F5", "PostureSensor-F4F5", "sim", 1),)


def test_pairing_again_replaces_the_bond(tmp_path: Path) -> None:
    store = BondStore(tmp_path / "bonds.json")
    store.add(Bond("A", "one", "sim", 1))
    store.add(Bond("A", "one", "sim", 2))
    store.add(Bond("A", "one", "usb:0", 3))
    assert [b.paired_at_ns for b in store.load()] == [2, 3]
    assert store.for_adapter("sim") == (Bond("A", "one", "sim", 2),)


def test_forget_removes_every_bond_of_the_address(tmp_path: Path) -> None:
    store = BondStore(tmp_path / "bonds.json")
    store.add(Bond("A", "one", "sim", 1))
    assert store.forget("A")
    assert not store.forget("A")
    assert store.load() == ()


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = BondStore(tmp_path / "bonds.json")
    store.add(Bond("A", "one", "sim", 1))
    assert [p.name for p in tmp_path.iterdir()] == ["bonds.json"]


def test_a_corrupt_file_raises_a_sensorlink_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "bonds.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BondStoreError, match="delete it") as info:
        BondStore(path).load()
    assert isinstance(info.value, SensorlinkError)
    assert isinstance(info.value, OSError)
