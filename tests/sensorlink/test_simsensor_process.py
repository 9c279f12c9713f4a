"""`posture sim` runs the simulated sensor as its own process; a central host reaches it over Bumble TCP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Device, Peer
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
async def _host(transport_name: str) -> AsyncIterator[Device]:
    async with await open_transport(transport_name) as transport:
        device = Device.with_hci("host", hci.Address("F0:F1:F2:F3:F4:F5"), transport.source, transport.sink)
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


async def _stream(host: Device, advertisement: Advertisement, seconds: float) -> list[ImuPacket]:
    connection = await host.connect(advertisement.address)
    await connection.pair()
    peer = Peer(connection)
    await peer.request_mtu(247)
    await peer.discover_services()
    await peer.discover_characteristics()
    imu = peer.get_characteristics_by_uuid(UUID(PROFILE.gatt.imu_data_uuid))[0]
    control = peer.get_characteristics_by_uuid(UUID(PROFILE.gatt.control_point_uuid))[0]
    received: list[bytes] = []
    responses: asyncio.Queue[bytes] = asyncio.Queue()
    await imu.subscribe(lambda value: received.append(bytes(value)))
    await control.subscribe(lambda value: responses.put_nowait(bytes(value)), prefer_notify=False)
    await control.write_value(bytes(ControlRequest.start()), with_response=True)
    async with asyncio.timeout(5):
        info = ControlResponse.from_bytes(await responses.get()).start_info()
    assert info.samples_per_packet == 8  # the default configuration; fits MTU 247
    await asyncio.sleep(seconds)
    return [ImuPacket.from_bytes(data) for data in received]


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
