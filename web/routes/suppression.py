"""Suppression zones proposed from repeated false alarms, applied only once accepted.

The hub proposes (GET /api/verdicts/zone-proposals, from the last 30 days' 误报 verdicts in
the caller's scope); a principal or above decides one (POST, accepted or not): an accepted zone
silences that rule there on the running detector at once, and a decided place is not
proposed again. Only proposals can be decided, so nobody silences an arbitrary area by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from hub.config.detection import ViolationType
from hub.detection.suppression import LOOKBACK_DAYS, Proposal, evidence_box, propose
from hub.runtime import Hub
from storage.db.models import Event
from storage.db.models_suppression import SuppressionZone
from storage.db.models_verdicts import Verdict, VerdictKind
from web.auth import (
    AuthUser,
    CurrentUser,
    Role,
    VisibleCameraId,
    audit,
    not_found,
    require_role,
    scope_clause,
)
from web.auth.store import new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.forward import forward_to, remote_owner
from web.params import RandomId

router = APIRouter(tags=["verdicts"], responses=ERROR_RESPONSES)
# Silencing a rule is a principal's call at least, not a canteen manager's.
_DECIDERS = (Role.DISTRICT_ADMIN, Role.TOWN_STAFF, Role.SCHOOL_PRINCIPAL)
Decider = Annotated[AuthUser, Depends(require_role(*_DECIDERS))]
Unit = Annotated[float, Field(ge=0, le=1)]


class ProposalView(BaseModel):
    camera_id: str
    type: ViolationType
    x1: Unit
    y1: Unit
    x2: Unit
    y2: Unit
    false_alarms: int = Field(description="false alarms at this place in the last 30 days")


class Decision(BaseModel):
    type: ViolationType
    x1: Unit
    y1: Unit
    x2: Unit
    y2: Unit
    accepted: bool = Field(description="true: apply the zone; false: do not propose it again")


class ZoneView(ProposalView):
    id: str
    accepted: bool
    decided_by: str
    decided_at: datetime


def _view(p: Proposal) -> ProposalView:
    x1, y1, x2, y2 = p.box
    return ProposalView(camera_id=p.camera_id, type=p.type, x1=x1, y1=y1, x2=x2, y2=y2,
                        false_alarms=p.false_alarms)  # fmt: skip


def _zone_view(row: SuppressionZone) -> ZoneView:
    return ZoneView(id=row.id, camera_id=row.camera_id, type=ViolationType(row.type), x1=row.x1,
                    y1=row.y1, x2=row.x2, y2=row.y2, false_alarms=row.false_alarms,
                    accepted=row.accepted, decided_by=row.decided_by,
                    decided_at=row.decided_at)  # fmt: skip


async def _proposals(hub: Hub, user: AuthUser, camera_id: str | None = None) -> list[Proposal]:
    since = datetime.now(UTC) - timedelta(days=LOOKBACK_DAYS)
    scope: Any = scope_clause(user, school_column=Verdict.school_id, town_column=Verdict.town_id)
    query = (
        select(Verdict.camera_id, Verdict.type, Event.detail)
        .join(Event, Event.id == Verdict.event_id)
        .where(Verdict.kind == VerdictKind.FALSE_ALARM, Verdict.at >= since, scope)
    )
    zones = select(SuppressionZone).where(
        scope_clause(user, school_column=SuppressionZone.school_id,
                     town_column=SuppressionZone.town_id)
    )  # fmt: skip
    if camera_id is not None:
        query = query.where(Verdict.camera_id == camera_id)
        zones = zones.where(SuppressionZone.camera_id == camera_id)
    async with hub.db.session() as s:
        alarms = (await s.execute(query)).all()
        decided = list(await s.scalars(zones))
    boxes = []
    for camera, vtype, detail in alarms:  # verdicts are on violation events: known types
        box = evidence_box(detail, ViolationType(vtype))
        if box is not None:
            boxes.append((camera, ViolationType(vtype), box))
    done = [(z.camera_id, ViolationType(z.type), (z.x1, z.y1, z.x2, z.y2)) for z in decided]
    return propose(boxes, done)


@router.get("/api/verdicts/zone-proposals")
async def zone_proposals(user: CurrentUser, hub: HubDep) -> list[ProposalView]:
    """Places where one camera's rule gave repeated false alarms, most first."""
    return [_view(p) for p in await _proposals(hub, user)]


@router.get("/api/cameras/{camera_id}/suppression-zones")
async def list_zones(camera_id: VisibleCameraId, hub: HubDep) -> list[ZoneView]:
    """The decided zones of the camera (accepted ones are applied)."""
    async with hub.db.session() as s:
        rows = await s.scalars(select(SuppressionZone).where(SuppressionZone.camera_id == camera_id)
                               .order_by(SuppressionZone.decided_at))  # fmt: skip
        return [_zone_view(r) for r in rows]


async def _reapply(hub: Hub, camera_id: str) -> None:
    if camera_id in hub.detection.cameras:
        await hub.detection.load_suppressions(camera_id)


@router.post("/api/cameras/{camera_id}/suppression-zones", status_code=201, response_model=ZoneView)
async def decide_zone(
    camera_id: VisibleCameraId, body: Decision, user: Decider, hub: HubDep, request: Request
) -> ZoneView | Response:
    """Accept (apply) or turn down one of the camera's current proposals. In a cluster the
    node running the camera decides, so that its detector applies the zone at once."""
    if (remote := remote_owner(hub, camera_id, request)) is not None:
        return await forward_to(request, remote)
    chosen = (body.x1, body.y1, body.x2, body.y2)
    match = next((p for p in await _proposals(hub, user, camera_id)
                  if p.type == body.type and p.box == chosen), None)  # fmt: skip
    if match is None:
        raise ApiError(
            422,
            "no_such_proposal",
            "decide a current proposal of this camera (GET /api/verdicts/zone-proposals)",
            zh="该区域不是当前的建议，请刷新后重试",
        )
    school = hub.config.school_of(camera_id)
    now = datetime.now(UTC)
    row = SuppressionZone(
        id=new_id(),
        camera_id=camera_id,
        school_id=school.id,
        town_id=school.town,
        type=body.type,
        x1=body.x1,
        y1=body.y1,
        x2=body.x2,
        y2=body.y2,
        false_alarms=match.false_alarms,
        accepted=body.accepted,
        decided_by=user.username,
        decided_at=now,
    )
    async with hub.db.session() as s:
        s.add(row)
        audit(s, at=now, actor=user.username, action="suppression_zone", camera_id=camera_id,
              detail={"zone": row.id, "type": body.type, "accepted": body.accepted,
                      "box": list(chosen)})  # fmt: skip
    await _reapply(hub, camera_id)
    return _zone_view(row)


@router.delete("/api/cameras/{camera_id}/suppression-zones/{zone_id}", status_code=204)
async def remove_zone(
    camera_id: VisibleCameraId, zone_id: RandomId, user: Decider, hub: HubDep, request: Request
) -> Response:
    """Forget a decision: an accepted zone stops applying, and the place may be proposed again
    (in a cluster, on the node running the camera)."""
    if (remote := remote_owner(hub, camera_id, request)) is not None:
        return await forward_to(request, remote)
    async with hub.db.session() as s:
        gone = await s.execute(delete(SuppressionZone).where(
            SuppressionZone.id == zone_id, SuppressionZone.camera_id == camera_id))  # fmt: skip
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise not_found("zone")
        audit(s, at=datetime.now(UTC), actor=user.username, action="suppression_zone_remove",
              camera_id=camera_id, detail={"zone": zone_id})  # fmt: skip
    await _reapply(hub, camera_id)
    return Response(status_code=204)
