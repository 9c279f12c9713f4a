"""`posture sim` runs the simulated sensor as its own process; a central host reaches it over Bumble TCP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.keys import MemoryKeyStore
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport import open_transport

from sensorlink.protocol import PROFILE, AdvertisementInfo, ControlRequest, ControlResponse, ImuPacket

SIM_COMMAND = [sys.executable, "-m", "posture", "sim"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _sim_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `posture sim` on a free port; yield it and the host's transport once it is serving."""
    port = _free_port()
    process = subprocess.Popen(
        [*SIM_COMMAND, "--transport", f"tcp-server:127.0.0.1:{port}", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    stderr = process.stderr
    log: list[str] = []
    drain = threading.Thread(target=lambda: log.extend(stderr), daemon=True)
    try:
        while not any("simulated sensor" in line for line in log):
            line = stderr.readline()
            if not line:
                pytest.fail(f"posture sim exited with {process.wait()}: {''.join(log)}")
            log.append(line)
        # Keep draining its log so that a full pipe never blocks the sensor.
        drain.start()
        yield process, f"tcp-client:127.0.0.1:{port}"
    finally:
        process.terminate()  # SIGTERM: the sensor stops streaming and powers off
        try:
            assert process.wait(timeout=10) == 0, "".join(log)
        finally:
            if drain.is_alive():
                drain.join(timeout=5)  # ends at EOF, now that the process is gone
            stderr.close()


@contextlib.asynccontextmanager
async def _host(transport_name: str, address: str = "F0:F1:F2:F3:F4:F5") -> AsyncIterator[Device]:
    """A central host of its own (its own process, as far as `posture sim` can tell: its own TCP client)."""
    async with await open_transport(transport_name) as transport:
        device = Device.with_hci("host", hci.Address(address), transport.source, transport.sink)
        device.keystore = MemoryKeyStore()
        device.pairing_config_factory = lambda _connection: PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
        )
        await device.power_on()
        try:
            yield device
        finally:
            await device.power_off()


async def _find_sensor(host: Device) -> Advertisement:
    found: asyncio.Future[Advertisement] = asyncio.get_running_loop().create_future()

    def on_advertisement(advertisement: Advertisement) -> None:
        manufacturer = advertisement.data.get(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)
        if manufacturer is not None and manufacturer[0] == AdvertisementInfo.COMPANY_ID and not found.done():
            found.set_result(advertisement)

    host.on("advertisement", on_advertisement)
    await host.start_scanning(active=True)
    try:
        async with asyncio.timeout(10):
            return await found
    finally:
        await host.stop_scanning()


@dataclass
class _Streaming:
    """One host's streaming connection and what it received so far."""

    connection: Connection
    received: list[bytes]
    disconnected: list[int]

    def packets(self) -> list[ImuPacket]:
        return [ImuPacket.from_bytes(data) for data in self.received]


async def _start_streaming(connection: Connection) -> _Streaming:
    """Pair, subscribe and START on a connection; packets then collect in the result."""
    streaming = _Streaming(connection, [], [])
    connection.on("disconnection", streaming.disconnected.append)
    await connection.pair()
    peer = Peer(connection)
    await peer.request_mtu(247)
    await peer.discover_services()
    await peer.discover_characteristics()
    imu = peer.get_characteristics_by_uuid(UUID(PROFILE.gatt.imu_data_uuid))[0]
    control = peer.get_characteristics_by_uuid(UUID(PROFILE.gatt.control_point_uuid))[0]
    responses: asyncio.Queue[bytes] = asyncio.Queue()
    await imu.subscribe(lambda value: streaming.received.append(bytes(value)))
    await control.subscribe(lambda value: responses.put_nowait(bytes(value)), prefer_notify=False)
    await control.write_value(bytes(ControlRequest.start()), with_response=True)
    async with asyncio.timeout(5):
        info = ControlResponse.from_bytes(await responses.get()).start_info()
    assert info.samples_per_packet == 8  # the default configuration; fits MTU 247
    return streaming


async def _stream(host: Device, advertisement: Advertisement, seconds: float) -> list[ImuPacket]:
    streaming = await _start_streaming(await host.connect(advertisement.address))
    await asyncio.sleep(seconds)
    return streaming.packets()


@pytest.mark.slow
async def test_posture_sim_is_found_and_streams_over_tcp_and_serves_the_next_host() -> None:
    # A hang (a host that never finishes powering on or connecting) must fail the test, not stall CI.
    with _sim_process("--time-scale", "10", "--battery", "64") as (_process, transport_name):
        async with asyncio.timeout(30), _host(transport_name) as host:
            advertisement = await _find_sensor(host)
            manufacturer = advertisement.data.get(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)
            assert manufacturer is not None
            info = AdvertisementInfo.from_bytes(manufacturer[1])
            assert info.protocol_major == 1
            assert info.battery_pct == 64
            packets = await _stream(host, advertisement, seconds=0.5)
        assert len(packets) > 10
        assert [p.seq for p in packets] == list(range(len(packets)))
        # The first host's process is gone and the next one attaches at once: the sensor notices (supervision
        # timeout), keeps its session and advertises again, so the second host finds it and resumes
        # streaming with the running seq.
        async with asyncio.timeout(30), _host(transport_name) as host:
            advertisement = await _find_sensor(host)
            resumed = await _stream(host, advertisement, seconds=0.5)
        assert resumed
        assert resumed[0].seq > packets[-1].seq


@pytest.mark.slow
async def test_posture_sim_keeps_its_central_while_other_hosts_come_and_go() -> None:
    # Two more hosts on the same `posture sim` while the first streams: one scans and leaves, one tries to
    # connect. A single-connection sensor keeps streaming to the first without a gap, is invisible to the
    # others, and the waiting connect gets through once the first host is gone. (Before the fix, every host
    # arriving or leaving ended the first host's connection.)
    with _sim_process("--time-scale", "10") as (_process, transport_name):
        async with asyncio.timeout(60), contextlib.AsyncExitStack() as first_host_alive:
            first_host = await first_host_alive.enter_async_context(_host(transport_name))
            advertisement = await _find_sensor(first_host)
            first = await _start_streaming(await first_host.connect(advertisement.address))
            async with _host(transport_name, "F0:F1:F2:F3:F4:01") as scanner:
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(1.0):  # ten advertising intervals
                        await _find_sensor(scanner)
            async with _host(transport_name, "F0:F1:F2:F3:F4:02") as second_host:
                connecting = asyncio.ensure_future(second_host.connect(advertisement.address, timeout=None))
                try:
                    await asyncio.sleep(1.0)
                    assert not connecting.done()  # it waits: a connected sensor does not advertise
                    during = first.packets()
                    assert first.disconnected == []
                    assert len(during) > 10
                    assert [p.seq for p in during] == list(range(len(during)))  # not one packet missing
                    # The first host goes away without a word (its process ended): the sensor notices, keeps
                    # its session, advertises again, and the waiting host connects and resumes the seq.
                    await first_host_alive.aclose()
                    second = await _start_streaming(await connecting)
                    await asyncio.sleep(0.5)
                finally:
                    connecting.cancel()
    resumed = second.packets()
    assert resumed
    assert resumed[0].seq > during[-1].seq
