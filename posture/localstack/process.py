"""What every local server of `posture.localstack` shares: started on entering, stopped on exit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["LocalServer"]


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
