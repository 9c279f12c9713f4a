"""What every simulated peripheral shares on the air: advertising data, pairing, connection-event timing.

Used by our own simulated sensor (`peripheral.py`) and by the simulated vendor devices (`vendor.py`), so that
all of them advertise, pair and time their notifications the same way.

- Advertising data structures: Core Spec Supplement Part A 1.1-1.4, AD types from Assigned Numbers 2.3.
- Pairing: Just Works (no input, no output), accepted only in pairing mode.
- Connection events (Core Spec Vol 6 Part B 4.5.1): a notification leaves only at a connection event, every
  `interval_s`; an event whose packet is not acknowledged holds it and everything behind it for one more
  interval. `ConnectionEvents` draws those losses from a seeded generator, so a run is reproducible.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from dataclasses import dataclass, field

from bumble import hci
from bumble.pairing import PairingDelegate

__all__ = [
    "AD_COMPLETE_16_BIT_UUIDS",
    "AD_COMPLETE_128_BIT_UUIDS",
    "AD_COMPLETE_LOCAL_NAME",
    "AD_FLAGS",
    "AD_MANUFACTURER_DATA",
    "DISCONNECT_TIMEOUT_S",
    "FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED",
    "OUT_OF_RANGE_REASON",
    "SECOND_CENTRAL_REASON",
    "STOP_TASKS_TIMEOUT_S",
    "ConnectionEvents",
    "JustWorksDelegate",
    "ad_flags",
    "ad_structure",
    "uuid128_le",
]

logger = logging.getLogger(__name__)

AD_FLAGS = 0x01
AD_COMPLETE_16_BIT_UUIDS = 0x03
AD_COMPLETE_128_BIT_UUIDS = 0x07
AD_COMPLETE_LOCAL_NAME = 0x09
AD_MANUFACTURER_DATA = 0xFF
FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED = 0x06
#: What a central sees when the peripheral walks away (a supervision timeout).
OUT_OF_RANGE_REASON = hci.HCI_CONNECTION_TIMEOUT_ERROR
#: What a second central sees if it reaches a single-connection peripheral: one of the reasons HCI Disconnect
#: allows (Core Spec Vol 4 Part E 7.1.6), "low resources" (Vol 1 Part F 2.21).
SECOND_CENTRAL_REASON = hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_LOW_RESOURCES_ERROR
#: Bounds for a peripheral's own waits: Bumble waits for a Disconnection Complete without a timeout, and a
#: task's cancellation can be lost in a GATT wait on Python 3.11 (`asyncio.wait_for`), so neither may hold a
#: stop.
DISCONNECT_TIMEOUT_S = 5.0
STOP_TASKS_TIMEOUT_S = 5.0


def uuid128_le(text: str) -> bytes:
    """A 128-bit UUID string in the little-endian byte order of advertising data and ATT."""
    return uuid.UUID(text).bytes[::-1]


def ad_structure(ad_type: int, data: bytes) -> bytes:
    """One advertising data structure: length, type, data."""
    return bytes([len(data) + 1, ad_type]) + data


def ad_flags() -> bytes:
    """The flags structure of an LE-only, generally discoverable peripheral."""
    return ad_structure(AD_FLAGS, bytes([FLAGS_LE_GENERAL_DISCOVERABLE_BR_EDR_NOT_SUPPORTED]))


class JustWorksDelegate(PairingDelegate):
    """Just Works (no input, no output) that accepts a new bond only in pairing mode."""

    def __init__(self, pairing_mode: bool) -> None:
        super().__init__(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT)
        self.pairing_mode = pairing_mode

    async def accept(self) -> bool:
        if not self.pairing_mode:
            logger.info("pairing refused: not in pairing mode")
        return self.pairing_mode

    async def confirm(self, auto: bool = False) -> bool:
        return self.pairing_mode


@dataclass(slots=True)
class ConnectionEvents:
    """When a notification completed at some true time leaves: at a connection event, maybe a few later.

    Parameters
    ----------
    interval_s : float
        Seconds of true time between connection events; 0 sends at once (no radio timing).
    loss_probability : float
        Chance that an event's packet is not acknowledged, so that it waits for the next event (again and
        again: delays are geometric in whole intervals).
    seed : int
        Seed of the generator behind the losses.
    """

    interval_s: float
    loss_probability: float
    seed: int = 0
    anchor_true_s: float = 0.0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if not (self.interval_s == 0 or 0.0075 <= self.interval_s <= 4.0):
            raise ValueError(
                f"connection interval must be 0 (no radio timing) or within 0.0075..4 s (Core Spec Vol 6 "
                f"Part B 4.5.1), got {self.interval_s}"
            )
        if not 0 <= self.loss_probability < 1:
            raise ValueError(
                f"connection event loss probability must be within [0, 1), got {self.loss_probability}"
            )
        self._rng = random.Random(self.seed)

    def event_true_s(self, ready_true_s: float) -> float:
        """True time of the connection event that carries a packet completed at `ready_true_s`.

        The first connection event at or after completion (counted from `anchor_true_s`, the connection's
        first event), then one interval later for every event whose packet is not acknowledged.
        """
        interval_s = self.interval_s
        if interval_s == 0:
            return ready_true_s
        events_since_anchor = max(0, math.ceil((ready_true_s - self.anchor_true_s) / interval_s))
        event_true_s = self.anchor_true_s + events_since_anchor * interval_s
        while self._rng.random() < self.loss_probability:
            event_true_s += interval_s
        return event_true_s
