"""Test-wide fixtures: every test gets its own config and data directories, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point POSTURE_CONFIG_DIR and POSTURE_DATA_DIR at a per-test folder (bonds, keys, sessions go there)."""
    home = tmp_path / "posture-home"
    monkeypatch.setenv("POSTURE_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("POSTURE_DATA_DIR", str(home / "data"))
    return home
