"""Camera health: current state with reasons, history, uptime roll-ups; scope-filtered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, RootModel

from hub.health import queries
from hub.health.uptime import day_range, month_range, rollup
from hub.runtime import Hub
from web.auth import CurrentUser, ScopeKind, VisibleCameraId, visible_camera_ids
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.forward import ask_peers

router = APIRouter(prefix="/api/health", tags=["health"], responses=ERROR_RESPONSES)


class ProblemView(BaseModel):
    check: str = Field(description="offline, frozen, black, blurred, covered, moved, clock, ...")
    reason: str = Field(description="e.g. auth_failed, identical_frames, view_shifted")
    detail: str
    since: datetime


class CameraHealthView(BaseModel):
    id: str
    name: str
    school_id: str
    school_name: str
    town_id: str | None
    condition: str = Field(description="ok | problem | closed | learning | not_monitored")
    connection: str = Field(description="connecting | online | offline | stopped | disabled")
    problems: list[ProblemView]
    last_sample_at: datetime | None
    node: str | None = Field(
        default=None, description="The cluster node monitoring the camera; None on a one-node hub"
    )


class CameraHealthList(RootModel[list[CameraHealthView]]):
    pass


class HubProblemView(ProblemView):
    node: str | None = Field(default=None, description="The cluster node with the problem")


class HubProblemList(RootModel[list[HubProblemView]]):
    pass


class HealthPeriodView(BaseModel):
    check: str
    reason: str
    detail: str | None
    started_at: datetime
    ended_at: datetime | None = Field(description="None while the problem lasts")
    event_id: str | None


class Level(StrEnum):
    CAMERA = "camera"
    SCHOOL = "school"
    TOWN = "town"
    DISTRICT = "district"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


class UptimeRow(BaseModel):
    id: str
    name: str
    uptime: float | None = Field(description="0-1; None when never observed in the period")


class UptimeReport(BaseModel):
    level: Level
    period: Period
    start: datetime
    end: datetime
    rows: list[UptimeRow]


_LEVELS_FOR = {
    ScopeKind.DISTRICT: frozenset(Level),
    ScopeKind.TOWN: frozenset({Level.CAMERA, Level.SCHOOL, Level.TOWN}),
    ScopeKind.SCHOOL: frozenset({Level.CAMERA, Level.SCHOOL}),
}


def _epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def health_views(hub: Hub, visible: frozenset[str]) -> list[CameraHealthView]:
    views = []
    for school, camera in hub.config.iter_cameras():
        if camera.id not in visible:
            continue
        entry, monitor = hub.cameras.get(camera.id), hub.health.monitor(camera.id)
        problems = [] if monitor is None else list(monitor.problems.values())
        if entry is None or monitor is None:
            condition = "not_monitored"
        elif problems:
            condition = "problem"
        elif monitor.closed:
            condition = "closed"
        else:
            condition = "ok" if monitor.learned else "learning"
        views.append(
            CameraHealthView(
                id=camera.id,
                name=camera.name,
                school_id=school.id,
                school_name=school.name,
                town_id=school.town,
                condition=condition,
                connection="disabled" if entry is None else entry.supervisor.status.state.value,
                problems=[
                    ProblemView(check=str(p.check), reason=p.reason, detail=p.detail, since=p.since)
                    for p in sorted(problems, key=lambda p: p.since)
                ],
                last_sample_at=None if monitor is None else _epoch(monitor.last_sample_at),
                node=None if hub.owner is None or entry is None else hub.owner.node,
            )
        )
    return views


@router.get("/cameras")
async def list_camera_health(
    hub: HubDep, user: CurrentUser, request: Request
) -> list[CameraHealthView]:
    """Every camera in the caller's scope with its open problems and their reasons: in a
    cluster, as the node monitoring it sees them (a node that does not answer leaves its
    cameras not_monitored here)."""
    views = health_views(hub, visible_camera_ids(user, hub.config))
    peers, _ = await ask_peers(request, hub, request.url.path, CameraHealthList)
    elsewhere = {v.id: v for answer in peers.values() for v in answer.root if v.node is not None}
    return [elsewhere.get(v.id, v) if v.node is None else v for v in views]


@router.get("/cameras/{camera_id}/history")
async def camera_history(
    camera_id: VisibleCameraId,
    hub: HubDep,
    days: Annotated[int, Query(ge=1, le=400, description="How far back")] = 7,
) -> list[HealthPeriodView]:
    """The camera's problem periods of the last `days` days, newest first."""
    end = datetime.now(UTC)
    async with hub.db.session() as session:
        rows = await queries.history(session, camera_id, end - timedelta(days=days), end)
    return [
        HealthPeriodView(
            check=r.check,
            reason=r.reason,
            detail=r.detail,
            started_at=r.started_at,
            ended_at=r.ended_at,
            event_id=r.event_id,
        )
        for r in rows
    ]


@router.get("/uptime")
async def uptime_report(
    hub: HubDep,
    user: CurrentUser,
    level: Level = Level.SCHOOL,
    period: Period = Period.DAY,
    day: Annotated[date | None, Query(description="A day of the period (local); today")] = None,
) -> UptimeReport:
    """Uptime per camera, school, town or the district for a local day or month."""
    config, tz = hub.config, hub.tz
    allowed = _LEVELS_FOR[user.scope.kind]
    if level not in allowed:
        raise ApiError(403, "forbidden", f"level {level} is above your scope", zh="没有权限")
    local = day or datetime.now(tz).date()
    span = (
        day_range(local, tz) if period is Period.DAY else month_range(local.year, local.month, tz)
    )
    visible = visible_camera_ids(user, config)
    cameras = {c.id: (s, c) for s, c in config.iter_cameras() if c.id in visible and c.enabled}
    async with hub.db.session() as session:
        figures = await queries.camera_uptimes(session, list(cameras), span, datetime.now(UTC))
    if level is Level.CAMERA:
        rows = [
            UptimeRow(id=cid, name=cameras[cid][1].name, uptime=fig.ratio)
            for cid, fig in figures.items()
        ]
    else:
        groups = {
            cid: (
                school.id
                if level is Level.SCHOOL
                else (school.town or "")
                if level is Level.TOWN
                else config.district.id
            )
            for cid, (school, _cam) in cameras.items()
        }
        names = {s.id: s.name for s in config.schools} | {t.id: t.name for t in config.towns}
        names[config.district.id] = config.district.name
        values = rollup(figures, {c: g for c, g in groups.items() if g})
        rows = [
            UptimeRow(id=g, name=names.get(g, g), uptime=values.get(g))
            for g in sorted({g for g in groups.values() if g})
        ]
    return UptimeReport(level=level, period=period, start=span[0], end=span[1], rows=rows)


@router.get("/hub")
async def hub_health(hub: HubDep, user: CurrentUser, request: Request) -> list[HubProblemView]:
    """The hub's own open problems (spool, object store, detector): district staff only. In a
    cluster, every node's, and a node that does not answer is a problem of its own."""
    if user.scope.kind is not ScopeKind.DISTRICT:
        raise ApiError(403, "forbidden", "hub health is for district staff", zh="没有权限")
    node = None if hub.owner is None else hub.owner.node
    problems = [
        HubProblemView(
            check=str(p.check), reason=p.reason, detail=p.detail, since=p.since, node=node
        )
        for p in hub.health.hub_monitor.problems.values()
    ]
    peers, silent = await ask_peers(request, hub, request.url.path, HubProblemList)
    now = datetime.now(UTC)
    return (
        problems
        + [p for answer in peers.values() for p in answer.root]
        + [
            HubProblemView(
                check="node",
                reason="unreachable",
                detail=f"node {n} did not answer",
                since=now,
                node=n,
            )
            for n in silent
        ]
    )
