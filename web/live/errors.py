"""Why a live view cannot be opened. Each maps onto one HTTP status in web.routes.live.

LiveError
├── UnknownCamera        the camera is not configured, disabled, or outside the user's scope
├── UnsupportedCodec     the camera streams something browsers cannot take as-is (H.265)
├── BadOffer             the SDP offer is malformed or offers no H.264
├── ViewerLimitReached   the per-camera or hub-wide viewer cap is full (retry later)
└── LiveStopped          the hub is shutting down
"""

from __future__ import annotations


class LiveError(Exception):
    """Base of the live-view errors."""

    code = "live_error"


class UnknownCamera(LiveError):
    code = "unknown_camera"


class UnsupportedCodec(LiveError):
    code = "unsupported_codec"


class BadOffer(LiveError):
    code = "bad_offer"


class ViewerLimitReached(LiveError):
    code = "viewer_limit"


class LiveStopped(LiveError):
    code = "live_stopped"
