"""A violation an inspector finds during a round, raised by hand (人工登记违规).

The detector misses things and sees nothing where no camera looks (留样, 索证索票): the round's
inspector raises the violation as an event of the school, with one of the round's evidence
snapshots as its picture if they took one. It is an event like any other: alerted, escalated
until acknowledged, counted in the monthly report, linked to the round. `detail.manual` tells
it apart from the detector's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.config.detection import PESTS, ViolationType
from storage.db.models import Event, EventKind
from storage.db.models_supervision import InspectionEvidence, InspectionRoundEvent
from web.auth import audit, not_found
from web.auth.store import new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES
from web.params import RandomId

from ._params import SLUG, Note, Supervisor, ensure_camera_of
from .rounds import RoundView, _round, _view, _writable

__all__ = ["raise_manual_event", "router"]

router = APIRouter(prefix="/api/supervision", tags=["supervision"], responses=ERROR_RESPONSES)


class ManualEvent(BaseModel):
    type: ViolationType
    camera_id: str | None = Field(
        default=None, pattern=SLUG, description="where, if a camera saw it"
    )
    evidence_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$", description="a snapshot of the round: its picture"
    )
    note: Note = None


@router.post("/rounds/{round_id}/manual-events", status_code=201)
async def raise_manual_event(
    round_id: RandomId, body: ManualEvent, user: Supervisor, hub: HubDep
) -> RoundView:
    """Raise a violation found on the round as an event of its school, linked to the round."""
    now = datetime.now(UTC)
    async with hub.db.session() as s:
        row = await _round(s, round_id, user)
        _writable(row, user)
        camera = body.camera_id
        if camera is not None:
            ensure_camera_of(hub.config, camera, row.school_id)
        snapshot = None
        if body.evidence_id is not None:
            evidence = await s.scalar(
                select(InspectionEvidence).where(
                    InspectionEvidence.id == body.evidence_id,
                    InspectionEvidence.round_id == row.id,
                )
            )
            if evidence is None:
                raise not_found("snapshot")
            snapshot, camera = evidence.object_key, camera or evidence.camera_id
        event = Event(
            id=new_id(),
            kind=EventKind.VIOLATION,
            type=str(body.type),
            severity="urgent" if body.type in PESTS else "warning",
            camera_id=camera,
            school_id=row.school_id,
            town_id=row.town_id,
            started_at=now,
            updated_at=now,
            ended_at=now,  # a finding at one moment, not a state that lasts
            snapshot_key=snapshot,
            detail=_detail(row.id, user.username, body.note),
        )
        await hub.alerts.raise_event(s, event)
        s.add(InspectionRoundEvent(round_id=row.id, event_id=event.id))
        audit(s, at=now, actor=user.username, action="manual_event", camera_id=camera,
              detail={"round": row.id, "event": event.id, "type": body.type})  # fmt: skip
        await s.flush()
        return await _view(s, row, hub.config)


def _detail(round_id: str, who: str, note: str | None) -> str:
    facts = {"manual": True, "round": round_id, "raised_by": who, "summary": note or ""}
    return json.dumps(facts, ensure_ascii=False)
