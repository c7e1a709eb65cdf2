"""Live view: WebRTC H.264 passthrough of the hub's camera pulls to browsers (WHEP style)."""

from web.live.errors import (
    BadOffer,
    LiveError,
    LiveStopped,
    UnknownCamera,
    UnsupportedCodec,
    ViewerLimitReached,
)
from web.live.streams import HubStreams, StreamKind, StreamLeases
from web.live.track import PassthroughTrack, TrackStats
from web.live.viewers import LiveLimits, LiveViewers, Viewer, live_viewers_for

__all__ = [
    "BadOffer",
    "HubStreams",
    "LiveError",
    "LiveLimits",
    "LiveStopped",
    "LiveViewers",
    "PassthroughTrack",
    "StreamKind",
    "StreamLeases",
    "TrackStats",
    "UnknownCamera",
    "UnsupportedCodec",
    "Viewer",
    "ViewerLimitReached",
    "live_viewers_for",
]
