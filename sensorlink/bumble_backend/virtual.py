"""Bumble's virtual controller and host, fixed for our use: quiet, data length extension, connect cancel.

Bumble 0.0.236 builds a colored string of every HCI packet for `logger.debug` with eager f-strings, whether or
not debug logging is on: about half the CPU time of streaming notifications at high time scales, and the main
source of host scheduling jitter in time-scaled tests. These subclasses skip that formatting unless their
logger is enabled for DEBUG (or a snooper is attached) and otherwise do exactly what Bumble's classes do.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci, ll
from bumble.controller import Controller
from bumble.host import Host

__all__ = ["PeripheralController", "QuietController", "QuietHost", "VirtualController"]

logger = logging.getLogger(__name__)
_controller_logger = logging.getLogger("bumble.controller")
_host_logger = logging.getLogger("bumble.host")


class QuietController(Controller):
    """`bumble.controller.Controller` that formats HCI packets only when its debug log is on.

    It also reports LE Data Length Extension (Core Spec Vol 6 Part B 4.5.10): a 251-byte link-layer payload,
    as any BLE 4.2+ chip has. With Bumble's default of 27 bytes a 244-byte notification (19 samples at MTU
    247) travels as 9 HCI fragments.
    """

    le_acl_data_packet_length = 251
    #: The signal strength it reports for a connection (Read RSSI, Core Spec Vol 4 Part E 7.5.4), dBm: what
    #: Bumble's virtual controller puts in every advertising report. Bumble 0.0.236 does not implement the
    #: command, so every status read logged an "unsupported command" warning.
    virtual_rssi_dbm = -50

    def on_hci_read_rssi_command(
        self, command: hci.HCI_Read_RSSI_Command
    ) -> hci.HCI_Read_RSSI_ReturnParameters:
        return hci.HCI_Read_RSSI_ReturnParameters(
            status=hci.HCI_ErrorCode.SUCCESS, handle=command.handle, rssi=self.virtual_rssi_dbm
        )

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_logger.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Command):
            self.on_hci_command_packet(packet)
        else:
            super().on_hci_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _controller_logger.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
        elif self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))


class VirtualController(QuietController):
    """Bumble's virtual controller, with LE Create Connection Cancel finishing the pending connection.

    Core Spec Vol 4 Part E 7.8.13: after a successful cancel the controller must end the pending connection
    with an LE Connection Complete event, status Unknown Connection Identifier. Bumble 0.0.236's virtual
    controller answers the command but keeps the connection pending, so a connect attempt that times out
    (sensor out of range) hangs in `Device.connect` and every later attempt is refused as Command Disallowed.
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        result = super().on_hci_le_create_connection_cancel_command(command)
        pending = self.pending_le_connection
        if pending is not None:
            self.pending_le_connection = None
            event = hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
            # After the Command Complete that the caller is about to send.
            asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return result

    def leave_link(self) -> None:
        """Take this controller off its link, as a central whose host vanished (process ended, TCP closed).

        Its peers see what a peripheral sees when its central is gone: the connection times out (Core Spec
        Vol 6 Part B 4.5.2, supervision timeout, reason 0x08). Bumble has no supervision timer, so the
        timeout is reported at once. Advertising, scanning and a pending connection end with it; the other
        controllers on the link, and their connections, are untouched.
        """
        self.le_legacy_advertiser.stop()
        for advertising_set in self.advertising_sets.values():
            advertising_set.stop()
        self.le_scan_enable = False
        self.pending_le_connection = None
        for connection in list(self.le_connections.values()):
            connection.send_ll_control_pdu(ll.TerminateInd(hci.HCI_CONNECTION_TIMEOUT_ERROR))
        self.le_connections.clear()
        self.host = None
        if self.link is not None and self in self.link.controllers:
            self.link.remove_controller(self)


class PeripheralController(QuietController):
    """A peripheral's controller: a CONNECT_IND it does not take fails at the central, as over the air.

    Core Spec Vol 6 Part B 4.5.2: a central that sent CONNECT_IND considers the connection created; if the
    peripheral never answers (it was not advertising any more, because another central's CONNECT_IND for the
    same advertising event won), the central's controller ends it with Connection Failed to be Established
    (0x3E). Bumble's virtual peripheral ignores such a CONNECT_IND and the losing central would believe it is
    connected, sending into a connection nobody holds. This controller tells it, so that a single-connection
    sensor refuses a second central the way a real one does.
    """

    def on_le_connect_ind(self, packet: ll.ConnectInd) -> None:
        initiator = packet.initiator_address
        before = self.le_connections.get(initiator)
        super().on_le_connect_ind(packet)
        if packet.advertiser_address not in (self.random_address, self.public_address):
            return
        if self.le_connections.get(initiator) is not before:
            return  # accepted
        if before is not None:
            # A central with the address of the one we hold: the virtual link routes by address, so the two
            # cannot be told apart (nor can they on air). Leave both alone.
            logger.warning("a second central with the address %s tried to connect; ignored", initiator)
            return
        for controller in list(self.link.controllers) if self.link is not None else []:
            connection = controller.le_connections.get(packet.advertiser_address)
            if (
                controller is not self
                and connection is not None
                and connection.role == hci.Role.CENTRAL
                and connection.self_address == initiator
            ):
                asyncio.get_running_loop().call_soon(
                    controller.on_le_disconnected,
                    connection,
                    hci.HCI_CONNECTION_FAILED_TO_BE_ESTABLISHED_ERROR,
                )


class QuietHost(Host):
    """`bumble.host.Host` that formats HCI packets only when its debug log is on (or a snooper listens)."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_logger.isEnabledFor(logging.DEBUG) or self.snooper:
            super().send_hci_packet(packet)
        elif self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if _host_logger.isEnabledFor(logging.DEBUG) or self.snooper:
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)
