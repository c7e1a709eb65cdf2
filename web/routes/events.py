"""Violation and health events, filtered by the caller's scope; snapshots and clips."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import and_, or_, select

from hub.config import HubConfig
from storage.db.models import Event, EventKind, Severity
from storage.db.models_verdicts import FalseAlarmReason, Verdict, VerdictKind
from storage.objectstore import ObjectStoreError
from web.auth import AuthUser, CurrentUser, audit, not_found, scope_clause
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError, store_unavailable
from web.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_time_cursor, make_page
from web.params import RandomId, SlugFilter, TypeFilter

router = APIRouter(prefix="/api/events", tags=["events"], responses=ERROR_RESPONSES)

_CLIP_URL_S: Final = 300  # a presigned clip URL outlives the click that asked for it briefly


class EventVerdict(BaseModel):
    kind: VerdictKind
    reason: FalseAlarmReason | None
    given_by: str
    created_at: datetime


class EventView(BaseModel):
    id: str
    kind: EventKind
    type: str = Field(description="e.g. no_hat, rat, camera_offline")
    severity: Severity
    camera_id: str | None
    camera_name: str | None
    school_id: str | None
    school_name: str | None
    town_id: str | None
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the event lasts")
    updated_at: datetime
    confidence: float | None
    has_snapshot: bool
    has_clip: bool
    detail: dict[str, Any] | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    verdict: EventVerdict | None = Field(description="确认违规 or 误报, once given")


def _names(row: Event, config: HubConfig) -> tuple[str | None, str | None]:
    camera = school = None
    try:
        camera = config.camera(row.camera_id).name if row.camera_id else None
        school = config.school(row.school_id).name if row.school_id else None
    except KeyError:
        pass  # removed from the config since; the ids still say what it was
    return camera, school


def _detail(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _verdict(row: Verdict | None) -> EventVerdict | None:
    if row is None:
        return None
    return EventVerdict(
        kind=VerdictKind(row.kind),
        reason=FalseAlarmReason(row.reason) if row.reason else None,
        given_by=row.given_by,
        created_at=row.created_at,
    )


def event_view(row: Event, config: HubConfig, verdict: Verdict | None) -> EventView:
    camera_name, school_name = _names(row, config)
    return EventView(
        id=row.id,
        kind=EventKind(row.kind),
        type=row.type,
        severity=Severity(row.severity),
        camera_id=row.camera_id,
        camera_name=camera_name,
        school_id=row.school_id,
        school_name=school_name,
        town_id=row.town_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        updated_at=row.updated_at,
        confidence=row.confidence,
        has_snapshot=row.snapshot_key is not None,
        has_clip=row.clip_key is not None,
        detail=_detail(row.detail),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        ack_comment=row.ack_comment,
        verdict=_verdict(verdict),
    )


def _in_scope(user: AuthUser) -> Any:
    return scope_clause(user, school_column=Event.school_id, town_column=Event.town_id)


@router.get("")
async def list_events(
    user: CurrentUser,
    hub: HubDep,
    town: SlugFilter = None,
    school: SlugFilter = None,
    camera: SlugFilter = None,
    type: TypeFilter = None,
    kind: EventKind | None = None,
    since: Annotated[AwareDatetime | None, Query(description="started at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="started before")] = None,
    acknowledged: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[EventView]:
    """Events in the caller's scope, newest first; filters narrow it further."""
    query = (
        select(Event, Verdict)
        .outerjoin(Verdict, Verdict.event_id == Event.id)
        .where(_in_scope(user))
    )
    for column, value in (
        (Event.town_id, town),
        (Event.school_id, school),
        (Event.camera_id, camera),
        (Event.type, type),
        (Event.kind, kind),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Event.started_at >= since)
    if until is not None:
        query = query.where(Event.started_at < until)
    if acknowledged is not None:
        ack = Event.acknowledged_at.is_not(None)
        query = query.where(ack if acknowledged else ~ack)
    if cursor:
        at, last_id = decode_time_cursor(cursor)
        query = query.where(
            or_(Event.started_at < at, and_(Event.started_at == at, Event.id < last_id))
        )
    query = query.order_by(Event.started_at.desc(), Event.id.desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = [(event, verdict) for event, verdict in await s.execute(query)]
    return make_page(
        rows,
        limit,
        lambda r: event_view(r[0], hub.config, r[1]),
        lambda r: (r[0].started_at.isoformat(), r[0].id),
    )


def _store_error(exc: ObjectStoreError, what: str) -> ApiError:
    if not exc.retriable:  # the object is gone (e.g. past retention)
        return not_found(what)
    return store_unavailable()


async def _event(event_id: str, user: AuthUser, hub: HubDep) -> Event:
    async with hub.db.session() as s:
        row = await s.scalar(select(Event).where(Event.id == event_id, _in_scope(user)))
    if row is None:
        raise not_found("event")
    return row


@router.get("/{event_id}")
async def get_event(event_id: RandomId, user: CurrentUser, hub: HubDep) -> EventView:
    row = await _event(event_id, user, hub)
    async with hub.db.session() as s:
        verdict = await s.scalar(select(Verdict).where(Verdict.event_id == row.id))
    return event_view(row, hub.config, verdict)


@router.get(
    "/{event_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def get_snapshot(event_id: RandomId, user: CurrentUser, hub: HubDep) -> Response:
    """The JPEG taken when the event started."""
    row = await _event(event_id, user, hub)
    if row.snapshot_key is None:
        raise not_found("snapshot")
    try:
        data = await hub.store.read_bytes(row.snapshot_key)
    except ObjectStoreError as exc:
        raise _store_error(exc, "snapshot") from exc
    if not data:
        raise not_found("snapshot")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get(
    "/{event_id}/clip",
    response_model=None,
    responses={200: {"content": {"video/mp4": {}}}, 307: {"description": "to the object store"}},
)
async def get_clip(event_id: RandomId, user: CurrentUser, hub: HubDep) -> Response:
    """The event's video clip; watching it is audited."""
    row = await _event(event_id, user, hub)
    if row.clip_key is None:
        raise not_found("clip")
    try:
        url = await hub.store.presigned_get_url(row.clip_key, expires_s=_CLIP_URL_S)
        path = None if url else await hub.store.open_local(row.clip_key)
    except ObjectStoreError as exc:
        raise _store_error(exc, "clip") from exc
    if url is None and path is None:
        raise not_found("clip")
    async with hub.db.session() as s:
        audit(
            s,
            at=datetime.now(UTC),
            actor=user.username,
            action="clip_view",
            camera_id=row.camera_id,
            object_key=row.clip_key,
            detail={"event": row.id},
        )
    if url is not None:
        return RedirectResponse(url, status_code=307)
    assert path is not None
    return FileResponse(path, media_type="video/mp4")  # answers Range requests for seeking
