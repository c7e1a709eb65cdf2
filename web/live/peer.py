"""Closing an aiortc peer connection so that none of its tasks outlives it."""

from __future__ import annotations

from aiortc import RTCPeerConnection


async def close_peer(pc: RTCPeerConnection) -> None:
    """Close `pc`, then stop its senders and receivers once more.

    aiortc's connect task may finish a DTLS handshake just before close() and start a sender or
    receiver while close() awaits its transports; nothing stops those afterwards, and a sender's
    RTCP loop would run forever on the dead transport. Stopping is idempotent, so stop again.
    """
    await pc.close()
    for transceiver in pc.getTransceivers():
        await transceiver.sender.stop()
        await transceiver.receiver.stop()
