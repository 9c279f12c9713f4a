"""The simulated sensor as its own process: a virtual link with the sensor and a controller for a remote host.

`run_on_transport("tcp-server:127.0.0.1:9000", options)` builds a `LocalLink` holding the sensor's controller
and a second controller whose HCI side is the given Bumble transport (as `bumble.apps.controllers` does). A
central host on `tcp-client:127.0.0.1:9000` then drives that second controller: it scans, finds the sensor,
connects and pairs as over a radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bumble.link import LocalLink
from bumble.transport import open_transport

from sensorlink.simsensor.motion import MotionSource
from sensorlink.simsensor.peripheral import SimulatedSensor, SimulatedSensorOptions, start_simulated_sensor
from sensorlink.simsensor.quiet import QuietController

__all__ = ["run_on_transport"]

logger = logging.getLogger(__name__)

_HOST_POLL_S = 0.05


def _host_session(transport: object) -> object:
    """An identity of the remote host's current TCP session (None when detached or not a server transport)."""
    sink = getattr(transport, "sink", None)
    return getattr(sink, "transport", None)


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
    transport = await open_transport(transport_name)
    try:
        QuietController("host-bridge", host_source=transport.source, host_sink=transport.sink, link=link)
        sensor = await start_simulated_sensor(link, options, motion)
        if on_ready is not None:
            on_ready(sensor)
        try:
            stop_event = stop or asyncio.Event()
            session = _host_session(transport)
            while not stop_event.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_event.wait(), timeout=_HOST_POLL_S)
                current = _host_session(transport)
                if current is not session:
                    # The host that held the connection left (and maybe another one attached already).
                    session = current
                    if sensor.connection is not None:
                        logger.info("remote host changed: dropping the previous host's connection")
                        await sensor.drop_connection()
        finally:
            await sensor.stop()
        return sensor
    finally:
        await transport.close()
