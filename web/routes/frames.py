"""A camera's frame to box a missed violation on (漏报): live, or from recorded footage.

The JPEG is unannotated and at the camera's resolution. Its id (X-Frame-Id) is what a miss
names (POST /api/cameras/{id}/misses), so the miss keeps the very frame it was drawn on, and
X-Frame-At says when the camera saw it. A frame is kept on the node that served it; a miss
naming a frame this node does not hold goes to the node running the camera.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from hub.detection.snapshot import SnapshotError, encode_frame
from hub.runtime import Hub
from storage.export import ExportFailed
from storage.recorded_frame import recorded_frame
from web.auth import VisibleCameraId
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError, store_unavailable
from web.forward import forward_to, remote_owner

router = APIRouter(tags=["verdicts"], responses=ERROR_RESPONSES)

_QUALITY: Final = 92  # training data: little loss


def _jpeg(bgr: npt.NDArray[np.uint8]) -> bytes:
    try:
        return encode_frame(bgr, quality=_QUALITY)
    except SnapshotError as exc:
        raise ApiError(500, "encode_failed", str(exc), zh="画面编码失败") from exc


async def _live(hub: Hub, camera_id: str) -> tuple[datetime, bytes]:
    frame = hub.frames.newest(camera_id)
    image = None if frame is None else await asyncio.to_thread(frame.full_bgr)
    if frame is None or image is None:
        raise ApiError(409, "no_live_picture", "the camera has no live picture",
                       zh="该摄像头当前没有实时画面")  # fmt: skip
    return datetime.fromtimestamp(frame.wall_time, UTC), await asyncio.to_thread(_jpeg, image)


async def _recorded(hub: Hub, camera_id: str, at: datetime) -> tuple[datetime, bytes]:
    if at > datetime.now(UTC) + timedelta(minutes=5):  # clocks differ a little
        raise ApiError(422, "in_the_future", "no footage from the future", zh="时间不能晚于当前")
    work = Path(hub.config.recording.spool_dir) / "frame-work"
    try:
        found = await recorded_frame(hub.db, hub.exporter.local_copy, camera_id, at, work)
    except ExportFailed as exc:
        if exc.retriable:
            raise store_unavailable() from exc
        raise ApiError(500, "footage_unreadable", str(exc), zh="录像无法读取") from exc
    if found is None:
        raise ApiError(404, "no_footage", "nothing was recorded at that moment",
                       zh="该时刻没有录像")  # fmt: skip
    return found.at, await asyncio.to_thread(_jpeg, found.bgr)


@router.get(
    "/api/cameras/{camera_id}/frame",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def camera_frame(
    camera_id: VisibleCameraId,
    hub: HubDep,
    request: Request,
    at: Annotated[
        AwareDatetime | None, Query(description="a moment of recorded footage; none: live")
    ] = None,
) -> Response:
    """The camera's live picture, or its recorded frame at `at`, as a JPEG to box a miss on.
    In a cluster the live picture comes from the node that runs the camera (and the frame is
    kept there for the miss)."""
    if at is None and (remote := remote_owner(hub, camera_id, request)) is not None:
        return await forward_to(request, remote)
    seen_at, data = await (_live(hub, camera_id) if at is None else _recorded(hub, camera_id, at))
    frame_id = hub.shown_frames.put(camera_id, seen_at, data)
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "Cache-Control": "private, no-store",
            "X-Frame-Id": frame_id,
            "X-Frame-At": seen_at.isoformat(),
        },
    )
