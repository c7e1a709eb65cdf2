"""Liveness and a summary of the hub's condition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from web.deps import HubDep
from web.routes.cameras import camera_views

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    cameras_total: int
    cameras_online: int
    spool_damaged_parts: int
    spool_dropped_segments: int
    object_store_failing_since: datetime | None
    detection: dict[str, Any] = Field(
        description="Detector state (new, disabled, failed, running, stopped) and totals"
    )


@router.get("/healthz")
async def healthz(hub: HubDep) -> Health:
    views = camera_views(hub)
    return Health(
        status="ok",
        cameras_total=len(views),
        cameras_online=sum(v.state == "online" for v in views),
        spool_damaged_parts=hub.archive.damaged_parts,
        spool_dropped_segments=hub.archive.dropped,
        object_store_failing_since=hub.archive.failing_since,
        detection=hub.detection.totals(),
    )
