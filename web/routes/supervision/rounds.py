"""Inspection rounds (巡查) with their evidence snapshots, within the caller's scope.

A round is started on a school, its checklist items are marked pass/fail, snapshots are
taken from the school's live cameras and violation events linked; finishing it needs every
item. Only the person who started a round records on it, and a finished round is final.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import HubConfig
from hub.runtime import Hub
from hub.supervision import put_jpeg
from storage.db.models import Event
from storage.db.models_supervision import (
    InspectionEvidence,
    InspectionItem,
    InspectionRound,
    InspectionRoundEvent,
    ItemResult,
    Meal,
    RoundMode,
)
from storage.keys import evidence_key
from storage.objectstore import ObjectStoreError
from web.auth import AuthUser, CurrentUser, audit, ensure_school_visible, not_found, scope_clause
from web.auth.store import new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError, store_unavailable
from web.forward import forward_to, remote_owner
from web.pagination import DEFAULT_LIMIT, Limit
from web.params import ID_PATTERN, RandomId, SlugFilter

from ._params import SLUG, TEXT, Note, Supervisor, ensure_camera_of

__all__ = ["router"]

router = APIRouter(prefix="/api/supervision", tags=["supervision"], responses=ERROR_RESPONSES)


class ChecklistView(BaseModel):
    items: list[str] = Field(description="检查项目, in order")
    meals: list[Meal]


class StartRound(BaseModel):
    school_id: str = Field(pattern=SLUG)
    mode: RoundMode = Field(description="remote (through the cameras) or on_site")
    note: Note = None


class ItemBody(BaseModel):
    item: str = Field(max_length=200, pattern=TEXT, description="a configured checklist item")
    result: ItemResult = Field(description="pass (合格) or fail (不合格)")
    note: Note = None


class SnapshotBody(BaseModel):
    camera_id: str = Field(pattern=SLUG, description="a camera of the round's school")
    item: str | None = Field(default=None, max_length=200, pattern=TEXT)


class LinkEvent(BaseModel):
    event_id: str = Field(pattern=ID_PATTERN)


class ItemView(BaseModel):
    item: str
    result: ItemResult
    note: str | None
    recorded_at: datetime


class EvidenceView(BaseModel):
    id: str
    camera_id: str
    item: str | None
    taken_at: datetime
    has_image: bool = Field(description="false once past retention")


class RoundView(BaseModel):
    id: str
    school_id: str
    school_name: str | None
    town_id: str | None
    inspector: str
    inspector_role: str
    mode: RoundMode
    started_at: datetime
    finished_at: datetime | None = Field(description="null while the round is under way")
    note: str | None
    items: list[ItemView]
    missing: list[str] = Field(description="checklist items not yet marked")
    evidence: list[EvidenceView]
    event_ids: list[str]


def _school_name(config: HubConfig, school_id: str) -> str | None:
    try:
        return config.school(school_id).name
    except KeyError:
        return None  # removed from the config since


def _round_scope(user: AuthUser) -> Any:
    return scope_clause(
        user, school_column=InspectionRound.school_id, town_column=InspectionRound.town_id
    )


async def _round(s: AsyncSession, round_id: str, user: AuthUser) -> InspectionRound:
    row = await s.scalar(
        select(InspectionRound).where(InspectionRound.id == round_id, _round_scope(user))
    )
    if row is None:
        raise not_found("round")
    return row


def _writable(row: InspectionRound, user: AuthUser) -> None:
    if row.inspector != user.username:
        raise ApiError(403, "forbidden", "only the round's inspector records on it",
                       zh="只有发起本次巡查的人可以填写")  # fmt: skip
    if row.finished_at is not None:
        raise ApiError(
            409, "round_finished", "the round is finished", zh="本次巡查已结束，不能修改"
        )


async def _view(s: AsyncSession, row: InspectionRound, config: HubConfig) -> RoundView:
    items = list(await s.scalars(select(InspectionItem).where(InspectionItem.round_id == row.id)))
    evidence = await s.scalars(
        select(InspectionEvidence)
        .where(InspectionEvidence.round_id == row.id)
        .order_by(InspectionEvidence.taken_at, InspectionEvidence.id)
    )
    events = await s.scalars(
        select(InspectionRoundEvent.event_id).where(InspectionRoundEvent.round_id == row.id)
    )
    order = {name: n for n, name in enumerate(config.supervision.items)}
    items.sort(key=lambda i: (order.get(i.item, len(order)), i.item))
    marked = {i.item for i in items}
    return RoundView(
        id=row.id,
        school_id=row.school_id,
        school_name=_school_name(config, row.school_id),
        town_id=row.town_id,
        inspector=row.inspector,
        inspector_role=row.inspector_role,
        mode=RoundMode(row.mode),
        started_at=row.started_at,
        finished_at=row.finished_at,
        note=row.note,
        items=[
            ItemView(
                item=i.item, result=ItemResult(i.result), note=i.note, recorded_at=i.recorded_at
            )
            for i in items
        ],
        missing=[name for name in config.supervision.items if name not in marked],
        evidence=[
            EvidenceView(
                id=e.id,
                camera_id=e.camera_id,
                item=e.item,
                taken_at=e.taken_at,
                has_image=e.object_key is not None,
            )
            for e in evidence
        ],
        event_ids=sorted(events),
    )


def _check_item(config: HubConfig, item: str | None) -> None:
    if item is not None and item not in config.supervision.items:
        raise ApiError(422, "unknown_item", f"{item!r} is not a checklist item",
                       zh="不是本区配置的检查项目")  # fmt: skip


@router.get("/checklist")
async def get_checklist(user: CurrentUser, hub: HubDep) -> ChecklistView:
    """The district's checklist items and meal names."""
    return ChecklistView(items=list(hub.config.supervision.items), meals=list(Meal))


@router.post("/rounds", status_code=201)
async def start_round(body: StartRound, user: Supervisor, hub: HubDep) -> RoundView:
    """Start an inspection round on a school in the caller's scope."""
    ensure_school_visible(user, body.school_id, hub.config)
    school = hub.config.school(body.school_id)
    now = datetime.now(UTC)
    row = InspectionRound(
        id=new_id(),
        school_id=school.id,
        town_id=school.town,
        inspector=user.username,
        inspector_role=user.role.value,
        mode=body.mode.value,
        started_at=now,
        note=body.note,
    )
    async with hub.db.session() as s:
        s.add(row)
        audit(s, at=now, actor=user.username, action="round_start",
              detail={"round": row.id, "school": school.id, "mode": row.mode})  # fmt: skip
        await s.flush()
        return await _view(s, row, hub.config)


@router.get("/rounds")
async def list_rounds(
    user: CurrentUser,
    hub: HubDep,
    school: SlugFilter = None,
    town: SlugFilter = None,
    limit: Limit = DEFAULT_LIMIT,
) -> list[RoundView]:
    """Rounds in the caller's scope, newest first."""
    query = select(InspectionRound).where(_round_scope(user))
    if school is not None:
        query = query.where(InspectionRound.school_id == school)
    if town is not None:
        query = query.where(InspectionRound.town_id == town)
    query = query.order_by(InspectionRound.started_at.desc(), InspectionRound.id).limit(limit)
    async with hub.db.session() as s:
        return [await _view(s, row, hub.config) for row in await s.scalars(query)]


@router.get("/rounds/{round_id}")
async def get_round(round_id: RandomId, user: CurrentUser, hub: HubDep) -> RoundView:
    async with hub.db.session() as s:
        return await _view(s, await _round(s, round_id, user), hub.config)


@router.put("/rounds/{round_id}/items")
async def record_item(
    round_id: RandomId, body: ItemBody, user: Supervisor, hub: HubDep
) -> RoundView:
    """Mark one checklist item 合格 or 不合格 (again: the new result replaces the old)."""
    async with hub.db.session() as s:
        row = await _round(s, round_id, user)
        _writable(row, user)
        _check_item(hub.config, body.item)
        now = datetime.now(UTC)
        item = await s.scalar(
            select(InspectionItem).where(
                InspectionItem.round_id == row.id, InspectionItem.item == body.item
            )
        )
        if item is None:
            item = InspectionItem(round_id=row.id, item=body.item)
            s.add(item)
        item.result, item.note, item.recorded_at = body.result.value, body.note, now
        await s.flush()
        return await _view(s, row, hub.config)


async def _snapshot(hub: Hub, camera_id: str, school_id: str, evidence_id: str) -> str:
    """Take and store the camera's live picture; its object key."""
    data = await hub.frames.jpeg(camera_id, hub.tz, quality=hub.config.detection.snapshot_quality)
    if data is None:
        raise ApiError(409, "no_live_picture", "the camera has no live picture",
                       zh="该摄像头当前没有实时画面，无法截图")  # fmt: skip
    key = evidence_key(school_id, camera_id, datetime.now(UTC), hub.tz, evidence_id)
    work_dir = Path(hub.config.recording.spool_dir) / "evidence-work"
    try:
        await put_jpeg(hub.store, key, data, work_dir)
    except (ObjectStoreError, TimeoutError) as exc:
        raise store_unavailable() from exc
    return key


@router.post("/rounds/{round_id}/snapshots", status_code=201, response_model=EvidenceView)
async def take_snapshot(
    round_id: RandomId, body: SnapshotBody, user: Supervisor, hub: HubDep, request: Request
) -> EvidenceView | Response:
    """Evidence: the live picture of a camera of the round's school, kept like an event's
    snapshot (same scope, same retention). Taken by the node running the camera."""
    async with hub.db.session() as s:
        row = await _round(s, round_id, user)
    _writable(row, user)
    ensure_camera_of(hub.config, body.camera_id, row.school_id)
    _check_item(hub.config, body.item)
    if (remote := remote_owner(hub, body.camera_id, request)) is not None:
        return await forward_to(request, remote)
    evidence_id = new_id()
    key = await _snapshot(hub, body.camera_id, row.school_id, evidence_id)
    now = datetime.now(UTC)
    evidence = InspectionEvidence(
        id=evidence_id,
        round_id=row.id,
        camera_id=body.camera_id,
        item=body.item,
        object_key=key,
        taken_at=now,
    )
    async with hub.db.session() as s:
        _writable(await _round(s, round_id, user), user)  # not finished meanwhile
        s.add(evidence)
        audit(s, at=now, actor=user.username, action="round_snapshot",
              camera_id=body.camera_id, object_key=key, detail={"round": row.id})  # fmt: skip
    return EvidenceView(id=evidence_id, camera_id=body.camera_id, item=body.item,
                        taken_at=now, has_image=True)  # fmt: skip


@router.get(
    "/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def get_evidence(evidence_id: RandomId, user: CurrentUser, hub: HubDep) -> Response:
    """An evidence snapshot's JPEG."""
    async with hub.db.session() as s:
        evidence = await s.scalar(
            select(InspectionEvidence)
            .join(InspectionRound, InspectionRound.id == InspectionEvidence.round_id)
            .where(InspectionEvidence.id == evidence_id, _round_scope(user))
        )
    if evidence is None or evidence.object_key is None:
        raise not_found("snapshot")
    try:
        data = await hub.store.read_bytes(evidence.object_key)
    except ObjectStoreError as exc:
        if not exc.retriable:
            raise not_found("snapshot") from exc
        raise store_unavailable() from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.post("/rounds/{round_id}/events")
async def link_event(
    round_id: RandomId, body: LinkEvent, user: Supervisor, hub: HubDep
) -> RoundView:
    """Link a violation event of the round's school to what the round found."""
    async with hub.db.session() as s:
        row = await _round(s, round_id, user)
        _writable(row, user)
        event = await s.scalar(
            select(Event.id).where(Event.id == body.event_id, Event.school_id == row.school_id)
        )
        if event is None:
            raise not_found("event")
        linked = await s.get(InspectionRoundEvent, (row.id, event))
        if linked is None:
            s.add(InspectionRoundEvent(round_id=row.id, event_id=event))
            await s.flush()
        return await _view(s, row, hub.config)


@router.post("/rounds/{round_id}/finish")
async def finish_round(round_id: RandomId, user: Supervisor, hub: HubDep) -> RoundView:
    """Finish the round; every checklist item must be marked first."""
    async with hub.db.session() as s:
        row = await _round(s, round_id, user)
        _writable(row, user)
        view = await _view(s, row, hub.config)
        if view.missing:
            raise ApiError(422, "items_missing", f"items not marked: {', '.join(view.missing)}",
                           zh="还有检查项目未填写：" + "、".join(view.missing))  # fmt: skip
        now = datetime.now(UTC)
        row.finished_at = now
        audit(s, at=now, actor=user.username, action="round_finish",
              detail={"round": row.id, "school": row.school_id})  # fmt: skip
        return view.model_copy(update={"finished_at": now})
