"""Cameras and their live state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.runtime import Hub
from storage.db import repository as repo
from web.auth import CurrentUser, visible_camera_ids
from web.deps import HubDep

router = APIRouter(prefix="/api", tags=["cameras"])


class CameraView(BaseModel):
    id: str
    name: str
    school_id: str
    school_name: str
    town_id: str | None = Field(description="None for a bureau-direct school (局直学校)")
    kitchen: str
    room: str
    state: str = Field(description="connecting | online | offline | stopped | disabled")
    reason: str | None = Field(description="why the camera is offline, e.g. connection_refused")
    detail: str | None
    since: datetime | None
    fps: float | None
    bitrate_kbps: float | None
    keyframe_interval_s: float | None
    last_packet_at: datetime | None
    segments_recorded: int = Field(description="Segments this node wrote since it started")
    node: str | None = Field(
        default=None, description="The cluster node running the camera; None on a one-node hub"
    )


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def camera_views(hub: Hub) -> list[CameraView]:
    views = []
    for school, camera in hub.config.iter_cameras():
        entry = hub.cameras.get(camera.id)
        common: dict[str, Any] = {
            "id": camera.id,
            "name": camera.name,
            "school_id": school.id,
            "school_name": school.name,
            "town_id": school.town,
            "kitchen": camera.kitchen or "",
            "room": str(camera.room),
        }
        if entry is None:
            views.append(
                CameraView(
                    **common,
                    state="disabled",
                    reason=None,
                    detail=None,
                    since=None,
                    fps=None,
                    bitrate_kbps=None,
                    keyframe_interval_s=None,
                    last_packet_at=None,
                    segments_recorded=0,
                )
            )
            continue
        status = entry.supervisor.status
        stats = entry.supervisor.stats.snapshot()
        views.append(
            CameraView(
                **common,
                state=status.state.value,
                reason=None if status.reason is None else status.reason.value,
                detail=status.detail,
                since=_utc(status.since),
                fps=stats.fps,
                bitrate_kbps=stats.bitrate_kbps,
                keyframe_interval_s=stats.keyframe_interval_s,
                last_packet_at=_utc(stats.last_packet_at),
                segments_recorded=entry.recorder.segments_written if entry.recorder else 0,
            )
        )
    return views


async def district_camera_views(hub: Hub) -> list[CameraView]:
    """camera_views, and in a cluster the cameras other nodes run, from the shared database."""
    views = camera_views(hub)
    if hub.owner is None:
        return views
    node_of = hub.owner.owners()
    async with hub.db.session() as session:
        rows = await repo.camera_statuses(session)
    for i, view in enumerate(views):
        row = rows.get(view.id)
        if view.id in hub.cameras:
            views[i] = view.model_copy(update={"node": hub.owner.node})
        elif row is not None and hub.config.camera(view.id).enabled:
            views[i] = view.model_copy(
                update={
                    "state": row.state,
                    "reason": row.reason,
                    "detail": row.detail,
                    "since": row.since,
                    "fps": row.fps,
                    "bitrate_kbps": row.bitrate_kbps,
                    "keyframe_interval_s": row.keyframe_interval_s,
                    "last_packet_at": row.last_packet_at,
                    "node": node_of.get(view.id),
                }
            )
    return views


@router.get("/cameras")
async def list_cameras(hub: HubDep, user: CurrentUser) -> list[CameraView]:
    """The cameras in the caller's scope (in a cluster: on every node)."""
    visible = visible_camera_ids(user, hub.config)
    return [view for view in await district_camera_views(hub) if view.id in visible]
