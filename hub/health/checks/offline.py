"""Offline: the ingest supervisor's state, with its reason (refused, timeout, auth, ...)."""

from __future__ import annotations

from camera_adapters.errors import OfflineReason
from hub.config.health import CheckName
from hub.ingest.supervisor import CameraState, CameraStatus

from ..model import Finding

__all__ = ["judge_offline"]

_EXPLAINED = {
    OfflineReason.CONNECTION_REFUSED: "connection refused",
    OfflineReason.TIMEOUT: "timed out",
    OfflineReason.AUTH_FAILED: "authentication failed",
    OfflineReason.NOT_FOUND: "stream not found",
    OfflineReason.STREAM_ENDED: "stream ended",
    OfflineReason.CODEC_UNSUPPORTED: "codec not supported",
    OfflineReason.ONVIF_FAILED: "ONVIF device failed",
    OfflineReason.ERROR: "error",
}


def judge_offline(status: CameraStatus, last_reason: OfflineReason | None) -> Finding:
    """Bad while not online; the reason is the last offline reason seen (a reconnect attempt
    in progress keeps the reason of the failure before it)."""
    if status.state is CameraState.ONLINE:
        return Finding(CheckName.OFFLINE, False)
    if status.state is CameraState.STOPPED:
        return Finding(CheckName.OFFLINE, None)
    reason = status.reason or last_reason
    if reason is None:
        return Finding(CheckName.OFFLINE, True, "connecting", "not connected yet")
    detail = _EXPLAINED.get(reason, str(reason))
    if status.detail:
        detail = f"{detail}: {status.detail}"
    return Finding(CheckName.OFFLINE, True, str(reason), detail)
