"""The hub's HTTP API. The hub is built and started in the app's lifespan and reached by
route handlers through request state, never through globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from hub.config import HubConfig
from hub.runtime import Hub


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
    segments_recorded: int


class Health(BaseModel):
    status: str
    cameras_total: int
    cameras_online: int
    spool_damaged_parts: int
    object_store_failing_since: datetime | None


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


def create_app(config: HubConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Hub]]:
        hub = Hub(config)
        await hub.start()
        try:
            yield {"hub": hub}
        finally:
            await hub.stop()

    app = FastAPI(title="Bright Kitchen Hub 明厨亮灶视频监管平台", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz(request: Request) -> Health:
        hub: Hub = request.state.hub
        views = camera_views(hub)
        return Health(
            status="ok",
            cameras_total=len(views),
            cameras_online=sum(v.state == "online" for v in views),
            spool_damaged_parts=hub.archive.damaged_parts,
            object_store_failing_since=hub.archive.failing_since,
        )

    @app.get("/api/cameras")
    async def cameras(request: Request) -> list[CameraView]:
        return camera_views(request.state.hub)

    return app
