"""Paired sensors, remembered across processes in the user's config directory (JSON, atomic writes).

The Bluetooth keys themselves live in the BLE stack's own key store (for the Bumble backend, a JSON key store
next to this file); this file only says which sensors the user paired, so that `posture record` can find "my
sensor" without a scan prompt.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from sensorlink.errors import BondStoreError
from sensorlink.private_files import write_private_text

logger = logging.getLogger(__name__)

BONDS_FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Bond:
    """One paired sensor.

    Attributes
    ----------
    address : str
        The sensor's Bluetooth address as the adapter reports it ("AA:BB:CC:DD:EE:FF" or "…/P" for Bumble).
    name : str
        The advertised local name at pairing time.
    adapter : str
        The adapter spec it was paired through ("sim", "usb:0", "auto", ...); keys are per adapter.
    paired_at_ns : int
        Wall-clock time of pairing, nanoseconds since the epoch.
    profile : str
        The sensor's profile kind (`SensorProfile.kind`: "posture", "polar-h10", ...); bonds written before
        there were several profiles are our own sensor's.
    """

    address: str
    name: str
    adapter: str
    paired_at_ns: int
    profile: str = "posture"

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("a bond needs an address")
        if self.paired_at_ns < 0:
            raise ValueError("paired_at_ns must be >= 0")


class BondStore:
    """The bonds file: read it, add or forget a sensor, each change written atomically.

    Parameters
    ----------
    path : Path
        The JSON file (settings.bonds_file); its folder is created on the first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[Bond, ...]:
        """All bonds, oldest first; an absent file means none."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ()
        except OSError as exc:
            raise BondStoreError(self.path, f"cannot read it ({exc})") from exc
        try:
            document = json.loads(text)
            if document.get("version") != BONDS_FORMAT_VERSION:
                raise ValueError(f"unknown version {document.get('version')!r}")
            return tuple(Bond(**entry) for entry in document["bonds"])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BondStoreError(self.path, f"it is not a valid bonds file ({exc})") from exc

    def _write(self, bonds: tuple[Bond, ...]) -> None:
        document = {"version": BONDS_FORMAT_VERSION, "bonds": [asdict(b) for b in bonds]}
        write_private_text(self.path, json.dumps(document, indent=2))

    def add(self, bond: Bond) -> None:
        """Remember a sensor; a bond with the same address and adapter is replaced."""
        kept = tuple(b for b in self.load() if (b.address, b.adapter) != (bond.address, bond.adapter))
        self._write((*kept, bond))
        logger.info(
            "remembered sensor %s (%s) on adapter %s in %s", bond.name, bond.address, bond.adapter, self.path
        )

    def forget(self, address: str) -> bool:
        """Forget every bond with this address; True if one was there."""
        bonds = self.load()
        kept = tuple(b for b in bonds if b.address != address)
        if len(kept) != len(bonds):
            self._write(kept)
            logger.info("forgot sensor %s", address)
            return True
        return False

    def for_adapter(self, adapter: str) -> tuple[Bond, ...]:
        """Bonds made through this adapter, newest last."""
        return tuple(b for b in self.load() if b.adapter == adapter)
