"""Bumble's JSON key store, written owner-only (`sensorlink.private_files`): it holds the long-term keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bumble.keys import JsonKeyStore

from sensorlink.private_files import make_private, write_private_text

__all__ = ["PrivateJsonKeyStore"]


class PrivateJsonKeyStore(JsonKeyStore):
    """`bumble.keys.JsonKeyStore` whose file is 0600 (Bumble's own `save` leaves it to the umask, 0644)."""

    def __init__(self, path: Path) -> None:
        super().__init__(namespace=None, filename=str(path))
        make_private(path)

    async def save(self, db: dict[str, dict[str, dict[str, Any]]]) -> None:
        write_private_text(self.filename, json.dumps(db, sort_keys=True, indent=4))
