"""A minimal WHEP viewer on aiortc: for smoke checks, the tests and bench/live.py.

Connect with `WhepViewer().connect(http, url)`, read `frames`, `size` and `first_frame_at`,
then `close(http)`, which also deletes the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from web.live.peer import close_peer


class WhepViewer:
    """One receive-only video peer; counts the frames its track delivers."""

    def __init__(
        self, *, ice_servers: tuple[str, ...] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        # An explicit (possibly empty) list: aiortc would otherwise use a public STUN server.
        config = RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in ice_servers])
        self.pc = RTCPeerConnection(config)
        self.pc.addTransceiver("video", direction="recvonly")
        self._clock = clock
        self._reader: asyncio.Task[None] | None = None
        self.location: str | None = None
        self.stream: str | None = None
        self.offered_at: float | None = None
        self.first_frame_at: float | None = None
        self.frames = 0
        self.size: tuple[int, int] | None = None

    async def offer(self) -> str:
        """The SDP offer, with every candidate gathered (WHEP without trickle)."""
        self.offered_at = self._clock()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp: str = self.pc.localDescription.sdp
        return sdp

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        track = self.pc.getTransceivers()[0].receiver.track
        self._reader = asyncio.create_task(self._read(track), name="whep-viewer:read")

    async def connect(
        self, http: httpx.AsyncClient, url: str, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST the offer; on 201 apply the answer. Returns the response either way."""
        reply = await http.post(
            url,
            content=await self.offer(),
            headers={"Content-Type": "application/sdp", **(headers or {})},
        )
        if reply.status_code == 201:
            self.location = reply.headers["location"]
            self.stream = reply.headers.get("x-stream")
            await self.answer(reply.text)
        return reply

    async def packets_received(self) -> int:
        """RTP packets of the video stream."""
        return await self._stat("inbound-rtp", "packetsReceived")

    async def bytes_received(self) -> int:
        """Bytes of the whole connection (RTP, RTCP, DTLS)."""
        return await self._stat("transport", "bytesReceived")

    async def _stat(self, kind: str, field: str) -> int:
        stats = await self.pc.getTransceivers()[0].receiver.getStats()
        return sum(int(getattr(s, field)) for s in stats.values() if s.type == kind)

    async def close(
        self, http: httpx.AsyncClient | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """DELETE the session (if `http` is given), then close the peer and await its reader.

        The peer is closed even when the DELETE fails: a dead server must not leak it."""
        try:
            if http is not None and self.location is not None:
                await http.delete(self.location, headers=dict(headers or {}))
        finally:
            await close_peer(self.pc)
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader

    async def _read(self, track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if self.first_frame_at is None:
                    self.first_frame_at = self._clock()
                self.frames += 1
                self.size = (frame.width, frame.height)
