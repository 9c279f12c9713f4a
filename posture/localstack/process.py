"""What every local server of `posture.localstack` shares: started on entering, stopped on exit."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Final, Self

__all__ = ["HOST", "LocalServer", "accepts_connections", "free_port"]

#: Every local server listens on loopback only.
HOST: Final = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on now (the OS picks it; a tiny race remains until the server binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int, host: str = HOST) -> bool:
    """True when something accepts a TCP connection on `port` (a server that is up)."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class LocalServer:
    """A server child process as a context manager: `start()` on entering (its half-done setup removed by
    `close()` when it fails), `close()` on exit. Subclasses define both."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
