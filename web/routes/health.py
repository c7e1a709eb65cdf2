"""Liveness and a summary of the hub's condition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.runtime import Hub
from web.deps import HubDep
from web.routes.cameras import camera_views

router = APIRouter(tags=["health"])


class ClusterNode(BaseModel):
    node: str
    nats_connected: bool
    nats_down_since: datetime | None
    cameras: list[str] = Field(description="Cameras this node holds the lease on and runs")


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
    cluster: ClusterNode | None = Field(description="This node's leases; null: one-node hub")


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
        cluster=_cluster(hub),
    )


def _cluster(hub: Hub) -> ClusterNode | None:
    if hub.owner is None:
        return None
    status = hub.owner.status()
    down = status.nats_down_since
    return ClusterNode(
        node=status.node,
        nats_connected=status.connected,
        nats_down_since=None if down is None else datetime.fromtimestamp(down, UTC),
        cameras=list(status.cameras),
    )
