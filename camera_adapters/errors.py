"""Camera adapter errors, one tree for every source.

CameraError                 base; `reason` is a stable machine-readable code
├── CameraUnreachable       connection refused, host down, DNS failure (retriable)
├── CameraTimeout           no answer or no packets within the timeout (retriable)
├── CameraAuthError         credentials rejected (retriable, but slowly)
├── CameraNotFound          the stream path does not exist on the camera (retriable, slowly)
├── StreamEnded             the camera closed the stream (retriable)
└── UnsupportedStream       no video, or a codec the hub cannot record (retriable, slowly)
"""

from __future__ import annotations

from enum import StrEnum


class OfflineReason(StrEnum):
    """Why a camera is not online; stored with every offline period."""

    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    NOT_FOUND = "not_found"
    STREAM_ENDED = "stream_ended"
    CODEC_UNSUPPORTED = "codec_unsupported"
    ONVIF_FAILED = "onvif_failed"
    ERROR = "error"


class CameraError(Exception):
    reason: OfflineReason = OfflineReason.ERROR
    # Errors a person must fix (credentials, paths) are retried at the longest backoff.
    needs_person: bool = False


class CameraUnreachable(CameraError):
    reason = OfflineReason.CONNECTION_REFUSED


class CameraTimeout(CameraError):
    reason = OfflineReason.TIMEOUT


class CameraAuthError(CameraError):
    reason = OfflineReason.AUTH_FAILED
    needs_person = True


class CameraNotFound(CameraError):
    reason = OfflineReason.NOT_FOUND
    needs_person = True


class StreamEnded(CameraError):
    reason = OfflineReason.STREAM_ENDED


class StreamError(CameraError):
    reason = OfflineReason.ERROR


class UnsupportedStream(CameraError):
    reason = OfflineReason.CODEC_UNSUPPORTED
    needs_person = True
