"""LiveViewers: every WebRTC viewer of the hub, with caps, idle close and clean shutdown.

One viewer = one RTCPeerConnection with one send-only H.264 passthrough track, reading its own
bounded subscription of a camera's fan-out. A viewer ends when its WHEP resource is deleted,
when its connection fails or closes, when it has not been connected for `idle_timeout_s`
(an offer that was never completed, a peer that vanished), when its opener's right to watch
ends (a supervisor link's expiry: `max_age_s`; its revocation: `close_owned_by`), and when
the hub stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, OperationError

from hub.runtime import Hub
from web.live.errors import BadOffer, LiveStopped, UnsupportedCodec, ViewerLimitReached
from web.live.peer import close_peer
from web.live.streams import HubStreams, StreamKind, StreamLeases
from web.live.track import PassthroughTrack

log = logging.getLogger(__name__)

# ~2 s of 25 fps video: a viewer further behind than that restarts at the next keyframe.
LIVE_QUEUE_PACKETS: Final = 50
_SWEEP_EVERY_S: Final = 1.0  # idle checks; far below any sensible idle timeout


@dataclass(frozen=True, slots=True)
class LiveLimits:
    per_camera: int = 16
    total: int = 64
    idle_timeout_s: float = 15.0
    ice_servers: tuple[str, ...] = ()  # empty: host candidates only, never a public STUN


@dataclass(slots=True, eq=False)
class Viewer:
    id: str
    camera_id: str
    stream: StreamKind
    pc: RTCPeerConnection
    track: PassthroughTrack
    created_at: float  # monotonic
    last_connected_at: float  # monotonic; the idle clock
    owner: str | None = None  # the user who opened it, who alone may close it
    deadline: float | None = None  # monotonic; closed then (the opener's right to watch ends)
    connected: bool = False
    answer_sdp: str = field(default="", repr=False)


def h264_preferences() -> list[Any]:
    """aiortc's H.264 codecs (and RTX for retransmissions): passthrough needs H.264 only."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return [c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")]


def is_idle(viewer: Viewer, now: float, timeout_s: float) -> bool:
    # A viewer still negotiating is not idle: on a loaded box ICE gathering alone can outlast
    # the timeout, and closing the peer under setLocalDescription would fail the offer.
    answered = bool(viewer.answer_sdp)
    return answered and not viewer.connected and now - viewer.last_connected_at >= timeout_s


class LiveViewers:
    def __init__(
        self,
        streams: StreamLeases,
        limits: LiveLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._streams = streams
        self._limits = limits
        self._clock = clock
        self._viewers: dict[str, Viewer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stopped = False
        self.opened = 0
        self.refused = 0
        # Why viewers ended ("deleted", "idle", "failed", "stopped", ...): what an operator
        # asks first when viewers report a black tile.
        self.closed: Counter[str] = Counter()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._sweeper is None and not self._stopped:
            self._sweeper = asyncio.create_task(self._sweep(), name="live:idle-sweep")

    async def stop(self) -> None:
        """Close every viewer (idempotent); later opens raise LiveStopped."""
        self._stopped = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        # One peer failing to close must not keep the others open.
        await asyncio.gather(
            *(self.close(v, reason="stopped") for v in list(self._viewers)), return_exceptions=True
        )
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- viewers ----------------------------------------------------------------------------

    def count(self, camera_id: str | None = None) -> int:
        if camera_id is None:
            return len(self._viewers)
        return sum(v.camera_id == camera_id for v in self._viewers.values())

    def sessions(self) -> list[Viewer]:
        return list(self._viewers.values())

    def get(self, viewer_id: str) -> Viewer | None:
        return self._viewers.get(viewer_id)

    async def close_owned_by(self, owner: str, *, reason: str) -> int:
        """End every viewer `owner` opened (e.g. a revoked link's); how many there were."""
        ids = [v.id for v in self._viewers.values() if v.owner == owner]
        closed = await asyncio.gather(*(self.close(i, reason=reason) for i in ids))
        return sum(closed)

    async def open(
        self,
        camera_id: str,
        stream: StreamKind,
        offer_sdp: str,
        *,
        owner: str | None = None,
        max_age_s: float | None = None,
    ) -> Viewer:
        """Answer a viewer's SDP offer; the viewer then receives the camera's stream, for at
        most `max_age_s` seconds if given."""
        if self._stopped:
            raise LiveStopped("the hub is stopping")
        if self.count(camera_id) >= self._limits.per_camera:
            self.refused += 1
            raise ViewerLimitReached(
                f"camera {camera_id} already has {self._limits.per_camera} viewers"
            )
        if self.count() >= self._limits.total:
            self.refused += 1
            raise ViewerLimitReached(f"the hub already serves {self._limits.total} viewers")
        fanout, served = self._streams.acquire(camera_id, stream)
        info = fanout.current
        if info is not None and info.codec != "h264":
            self._streams.release(camera_id, served)
            raise UnsupportedCodec(f"camera {camera_id} streams {info.codec}; live view needs h264")
        viewer_id = secrets.token_urlsafe(12)
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in self._limits.ice_servers])
        )
        track = PassthroughTrack(
            fanout.subscribe(f"viewer:{viewer_id}", maxsize=LIVE_QUEUE_PACKETS),
            clock=self._clock,
        )
        now = self._clock()
        deadline = None if max_age_s is None else now + max_age_s
        viewer = Viewer(viewer_id, camera_id, served, pc, track, now, now, owner, deadline)
        self._viewers[viewer_id] = viewer  # counted against the caps from here on
        pc.on("connectionstatechange", lambda: self._state_changed(viewer))
        try:
            await self._negotiate(viewer, offer_sdp)
        except Exception as exc:
            if viewer_id not in self._viewers:  # the hub stopped it under the negotiation
                raise LiveStopped("the hub is stopping") from exc
            await self.close(viewer_id, reason="bad_offer")
            raise
        except BaseException:
            await self.close(viewer_id, reason="cancelled")
            raise
        if viewer_id not in self._viewers:  # closed (hub stopping) while negotiating
            raise LiveStopped("the hub is stopping")
        viewer.last_connected_at = self._clock()  # the idle clock starts with the answer
        self.opened += 1
        log.info("live viewer %s of %s (%s) opened", viewer_id, camera_id, served)
        return viewer

    async def close(self, viewer_id: str, *, reason: str = "deleted") -> bool:
        """End a viewer and give back its stream lease; False if there was no such viewer."""
        viewer = self._viewers.pop(viewer_id, None)
        if viewer is None:
            return False
        self.closed[reason] += 1
        try:
            await close_peer(viewer.pc)
        finally:
            viewer.track.stop()  # already stopped by the sender, unless it never started
            self._streams.release(viewer.camera_id, viewer.stream)
            log.info("live viewer %s of %s closed: %s", viewer_id, viewer.camera_id, reason)
        return True

    # -- internals --------------------------------------------------------------------------

    async def _negotiate(self, viewer: Viewer, offer_sdp: str) -> None:
        pc = viewer.pc
        transceiver = pc.addTransceiver(viewer.track, direction="sendonly")
        # Before setRemoteDescription, or aiortc negotiates VP8 and the passthrough sends
        # nothing (ENVIRONMENT.md).
        transceiver.setCodecPreferences(h264_preferences())
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, KeyError, IndexError, InvalidAccessError, OperationError) as exc:
            # OperationError: the offer has no codec in common with H.264 passthrough.
            raise BadOffer(f"unusable SDP offer: {exc}") from exc
        viewer.answer_sdp = pc.localDescription.sdp

    def _state_changed(self, viewer: Viewer) -> None:
        state = viewer.pc.connectionState
        if viewer.connected or state == "connected":
            viewer.last_connected_at = self._clock()  # the idle clock starts when it drops
        viewer.connected = state == "connected"
        if state in ("failed", "closed") and viewer.id in self._viewers:
            self._spawn(self.close(viewer.id, reason=state), name=f"live:{viewer.id}:close")

    def _spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_EVERY_S)
            now = self._clock()
            for viewer in list(self._viewers.values()):
                if viewer.deadline is not None and now >= viewer.deadline:
                    log.info("live viewer %s: its right to watch ended", viewer.id)
                    self._spawn(
                        self.close(viewer.id, reason="expired"), name=f"live:{viewer.id}:expired"
                    )
                elif viewer.connected:
                    viewer.last_connected_at = now
                elif is_idle(viewer, now, self._limits.idle_timeout_s):
                    log.info("live viewer %s idle: closing", viewer.id)
                    self._spawn(self.close(viewer.id, reason="idle"), name=f"live:{viewer.id}:idle")


def live_viewers_for(hub: Hub) -> LiveViewers:
    """The hub's live viewers, limited by its config (`web.live`, `web.ice_servers`)."""
    web = hub.config.web
    limits = LiveLimits(
        per_camera=web.live.max_viewers_per_camera,
        total=web.live.max_viewers_total,
        idle_timeout_s=web.live.idle_timeout_s,
        ice_servers=tuple(web.ice_servers),
    )
    return LiveViewers(HubStreams(hub.cameras, hub.substreams), limits)
