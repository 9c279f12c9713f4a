"""The simulated sensor as its own process: a virtual link with the sensor and a controller for a remote host.

`run_on_transport("tcp-server:127.0.0.1:9000", options)` builds a `LocalLink` holding the sensor's controller
and serves, on that TCP port, the HCI side of one more controller for every host that connects (as
`bumble.apps.controllers` serves one). A central host on `tcp-client:127.0.0.1:9000` then drives its
controller: it scans, finds the sensor, connects and pairs as over a radio. Other Bumble transport specs (a
pty, a serial port) are opened with `bumble.transport.open_transport`.

Hosts come and go (`posture pair`, then `posture record`, each its own process, and `posture scan` from
another terminal while a run streams). Each TCP client gets a virtual controller of its own on the link, as
each central has its own radio: the sensor then behaves as a real single-connection peripheral. It keeps its
connected central whatever other hosts do; while connected it does not advertise, so another host neither sees
it in a scan nor reaches it with a connect (which waits, as over the air, until the sensor advertises again);
and when the host that held the connection goes away, only that connection ends, as a supervision timeout,
after which the sensor advertises again. (Bumble's own tcp-server transport, and this module before, had one
controller for all clients, so any host arriving or leaving ended the current connection.)
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

_TCP_SERVER = "tcp-server:"


class _HostServer:
    """HCI over TCP: every remote host that connects drives a virtual controller of its own on the link."""

    def __init__(self, link: LocalLink) -> None:
        self.link = link
        self.hosts: set[_HostConnection] = set()
        self.hosts_total = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _HostConnection(self), host or None, port)

    async def close(self) -> None:
        for connection in list(self.hosts):
            connection.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _HostConnection(asyncio.Protocol):
    """One remote host: its TCP stream is the HCI of its own controller, which leaves the link with it."""

    def __init__(self, server: _HostServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.source = StreamPacketSource()
        self.controller: VirtualController | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.hosts_total += 1
        self.server.hosts.add(self)
        name = f"host-bridge-{self.server.hosts_total}"
        self.controller = VirtualController(
            name, host_source=self.source, host_sink=self, link=self.server.link
        )
        logger.info("%s attached (%d hosts)", name, len(self.server.hosts))

    def on_packet(self, packet: bytes) -> None:  # the controller's HCI output to this host
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def data_received(self, data: bytes) -> None:
        self.source.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def close(self) -> None:
        """The host is gone: its controller leaves the link (its connection, if any, times out)."""
        self.server.hosts.discard(self)
        controller, self.controller = self.controller, None
        if controller is not None:
            controller.leave_link()
            logger.info("%s left (%d hosts)", controller.name, len(self.server.hosts))
        if self.transport is not None:
            self.transport.close()


async def run_on_transport(
    transport_name: str,
    options: SimulatedSensorOptions,
    motion: MotionSource | None = None,
    *,
    on_ready: Callable[[SimulatedSensor], None] | None = None,
    stop: asyncio.Event | None = None,
) -> SimulatedSensor:
    """Serve a simulated sensor to a host on `transport_name` until `stop` is set (or the task is cancelled).

    With `tcp-server:` every host that connects gets a controller of its own (see the module docstring);
    when the host holding the connection goes away (its process ended), the sensor sees what a real sensor
    sees when its central vanishes, a supervision timeout, and advertises again for the next host.

    Returns
    -------
    SimulatedSensor
        The stopped sensor, with its sent-log.
    """
    link = LocalLink()
    async with contextlib.AsyncExitStack() as stack:
        if transport_name.startswith(_TCP_SERVER):
            address, _, port = transport_name.removeprefix(_TCP_SERVER).rpartition(":")
            server = _HostServer(link)
            await server.start("" if address in ("", "_") else address, int(port))
            stack.push_async_callback(server.close)
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
        await (stop or asyncio.Event()).wait()
    return sensor
