"""The simulated sensor as its own process: a virtual link with the sensor and a controller for a remote host.

`run_on_transport("tcp-server:127.0.0.1:9000", options)` builds a `LocalLink` holding the sensor's controller
and a second controller whose HCI side is served on that TCP port (as `bumble.apps.controllers` does). A
central host on `tcp-client:127.0.0.1:9000` then drives that second controller: it scans, finds the sensor,
connects and pairs as over a radio. Other Bumble transport specs (a pty, a serial port) are opened with
`bumble.transport.open_transport`.

Hosts come and go (`posture pair`, then `posture record`, each its own process). Bumble's own tcp-server
transport keeps one sink for all clients, so when one host leaves just as the next arrives, the old
connection's close can detach the new one and the new host hangs at power-on. `_HostServer` serves one host at
a time and lets only the current connection attach or detach; a new host replaces the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import StreamPacketSource

from sensorlink.bumble_backend.virtual import VirtualController
from sensorlink.simsensor.motion import MotionSource
from sensorlink.simsensor.peripheral import SimulatedSensor, SimulatedSensorOptions, start_simulated_sensor

__all__ = ["run_on_transport"]

logger = logging.getLogger(__name__)

_HOST_POLL_S = 0.05
_TCP_SERVER = "tcp-server:"


class _HostServer:
    """HCI over TCP for one remote host at a time: the packet source and sink of the host-side controller."""

    def __init__(self) -> None:
        self.source = StreamPacketSource()
        self.current: asyncio.Transport | None = None
        self.host_sessions = 0
        """Counts host arrivals and departures: a change means the host that held a connection is gone."""
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _HostConnection(self), host or None, port)

    def on_packet(self, packet: bytes) -> None:  # the controller's HCI output
        if self.current is not None:
            self.current.write(packet)

    def attach(self, transport: asyncio.Transport) -> None:
        if self.current is not None:
            logger.info("a new host replaces the previous one")
            self.current.close()
        self.current = transport
        self.source.parser.reset()  # a host that left mid-packet must not garble the next one's first packet
        self.host_sessions += 1

    def detach(self, transport: asyncio.Transport) -> None:
        if transport is self.current:
            self.current = None
            self.host_sessions += 1

    def feed(self, transport: asyncio.Transport, data: bytes) -> None:
        if transport is self.current:
            self.source.data_received(data)

    async def close(self) -> None:
        if self.current is not None:
            self.current.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _HostConnection(asyncio.Protocol):
    def __init__(self, server: _HostServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.attach(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.detach(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.transport is not None:
            self.server.feed(self.transport, data)


async def run_on_transport(
    transport_name: str,
    options: SimulatedSensorOptions,
    motion: MotionSource | None = None,
    *,
    on_ready: Callable[[SimulatedSensor], None] | None = None,
    stop: asyncio.Event | None = None,
) -> SimulatedSensor:
    """Serve a simulated sensor to a host on `transport_name` until `stop` is set (or the task is cancelled).

    When the remote host goes away (its process ended), the sensor sees what a real sensor sees when its
    central vanishes: a supervision timeout. It then advertises again for the next host.

    Returns
    -------
    SimulatedSensor
        The stopped sensor, with its sent-log.
    """
    link = LocalLink()
    async with contextlib.AsyncExitStack() as stack:
        server: _HostServer | None = None
        if transport_name.startswith(_TCP_SERVER):
            address, _, port = transport_name.removeprefix(_TCP_SERVER).rpartition(":")
            server = _HostServer()
            await server.start("" if address in ("", "_") else address, int(port))
            stack.push_async_callback(server.close)
            VirtualController("host-bridge", host_source=server.source, host_sink=server, link=link)
        else:
            transport = await open_transport(transport_name)
            stack.push_async_callback(transport.close)
            VirtualController(
                "host-bridge", host_source=transport.source, host_sink=transport.sink, link=link
            )
        sensor = await start_simulated_sensor(link, options, motion)
        stack.push_async_callback(sensor.stop)
        if on_ready is not None:
            on_ready(sensor)
        stop_event = stop or asyncio.Event()
        sessions = server.host_sessions if server is not None else 0
        while not stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=_HOST_POLL_S)
            if server is not None and server.host_sessions != sessions:
                sessions = server.host_sessions
                if sensor.connection is not None:
                    # The host that held the connection left (and maybe another one attached already).
                    logger.info("remote host changed: dropping the previous host's connection")
                    await sensor.drop_connection()
    return sensor
