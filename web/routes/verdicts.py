"""Verdicts: people who look at events teach the detector (confirmed, false alarm, missed).

A verdict on an event is given at most once (409 after that), on events in the caller's
scope only (404 otherwise, like every other route), so a canteen manager judges his own
school's events. Each verdict keeps the event's unannotated frame in the hard-example store
and is audited. False-alarm rates per camera and type show which cameras and rules are noisy.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from detectors.detection import CLASS_NAMES
from hub.config.detection import ViolationType
from hub.detection.events import evidence_boxes
from hub.health.uptime import month_range, week_range
from hub.supervision import put_jpeg
from storage.db.models import Event, EventKind
from storage.db.models_verdicts import FalseAlarmReason, Verdict, VerdictKind
from storage.hard_examples import copy_frame
from storage.keys import hard_example_key
from storage.objectstore import ObjectStoreError
from web.auth import (
    AuthUser,
    CurrentUser,
    VisibleCameraId,
    audit,
    not_found,
    scope_clause,
)
from web.auth.store import new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError, store_unavailable
from web.forward import forward_to, remote_owner
from web.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_time_cursor, make_page
from web.params import RandomId, SlugFilter

router = APIRouter(tags=["verdicts"], responses=ERROR_RESPONSES)
log = logging.getLogger(__name__)

Unit = Annotated[float, Field(ge=0, le=1, description="normalised to the frame: 0..1")]
ClassName = Literal[CLASS_NAMES]  # type: ignore[valid-type]  # the detector's class map


class LabelBox(BaseModel):
    """A box in the camera frame, corners normalised to [0, 1] (x to the right, y down)."""

    cls: ClassName = Field(description="one of the detector's classes, e.g. head_bare, rat")
    x1: Unit
    y1: Unit
    x2: Unit
    y2: Unit

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not (self.x1 < self.x2 and self.y1 < self.y2):
            raise ValueError("a box needs x1 < x2 and y1 < y2")
        return self


Labels = Annotated[list[LabelBox], Field(max_length=50)]
Note = Annotated[str | None, Field(default=None, max_length=500)]


class VerdictRequest(BaseModel):
    kind: Literal[VerdictKind.CONFIRMED, VerdictKind.FALSE_ALARM]
    reason: FalseAlarmReason | None = Field(default=None, description="false alarms only")
    note: Note = None
    labels: Labels = Field(
        default_factory=list,
        description="corrected boxes; none on a false alarm: a negative; none on a "
        "confirmation: the detector's boxes",
    )


class MissRequest(BaseModel):
    frame_id: str = Field(
        pattern=r"^[0-9a-f]{32}$",
        description="X-Frame-Id of GET /api/cameras/{id}/frame: the frame the boxes are on",
    )
    type: ViolationType
    labels: Annotated[list[LabelBox], Field(min_length=1, max_length=50)]
    note: Note = None


class VerdictView(BaseModel):
    id: str
    event_id: str | None
    kind: VerdictKind
    reason: FalseAlarmReason | None
    note: str | None
    type: str
    at: datetime
    camera_id: str
    school_id: str
    town_id: str | None
    given_by: str
    created_at: datetime
    labels: list[LabelBox]
    has_hard_example: bool


def verdict_view(row: Verdict) -> VerdictView:
    return VerdictView(
        id=row.id,
        event_id=row.event_id,
        kind=VerdictKind(row.kind),
        reason=FalseAlarmReason(row.reason) if row.reason else None,
        note=row.note,
        type=row.type,
        at=row.at,
        camera_id=row.camera_id,
        school_id=row.school_id,
        town_id=row.town_id,
        given_by=row.given_by,
        created_at=row.created_at,
        labels=[LabelBox.model_validate(b) for b in json.loads(row.labels)],
        has_hard_example=row.hard_example_key is not None,
    )


def _in_scope(user: AuthUser, school: Any, town: Any) -> Any:
    return scope_clause(user, school_column=school, town_column=town)


def _conflict() -> ApiError:
    return ApiError(409, "verdict_exists", "this event already has a verdict", zh="该事件已有判定")


async def _keep_frame(hub: HubDep, verdict: Verdict, frame_key: str | None) -> None:
    """Copy the unannotated frame into the hard-example store, before the row is written:
    a store that is down answers 503 and nothing is recorded."""
    if frame_key is None:
        return
    key = hard_example_key(verdict.school_id, verdict.camera_id, verdict.at, hub.tz, verdict.id)
    scratch = Path(hub.config.recording.spool_dir) / "tmp"
    try:
        kept = await copy_frame(hub.store, frame_key, key, scratch)
    except ObjectStoreError as exc:
        raise store_unavailable() from exc
    verdict.hard_example_key = key if kept else None


async def _record(hub: HubDep, user: AuthUser, verdict: Verdict) -> VerdictView:
    """Write the verdict with its audit entry; a race lost to another verdict is a 409 and
    its hard-example copy is removed again."""
    try:
        async with hub.db.session() as s:
            s.add(verdict)
            audit(
                s,
                at=verdict.created_at,
                actor=user.username,
                action="verdict",
                camera_id=verdict.camera_id,
                object_key=verdict.hard_example_key,
                detail={"verdict": verdict.id, "event": verdict.event_id, "kind": verdict.kind,
                        "reason": verdict.reason, "type": verdict.type},
            )  # fmt: skip
    except IntegrityError:
        if verdict.hard_example_key is not None:
            await hub.store.delete(verdict.hard_example_key)
        raise _conflict() from None
    return verdict_view(verdict)


def model_boxes(event: Event) -> list[LabelBox]:
    """The detector's boxes of the event, normalised: what a confirmation without corrected
    boxes confirms, so it trains as a positive."""
    return [
        LabelBox(cls=cls, x1=x0, y1=y0, x2=x1, y2=y1)
        for cls, (x0, y0, x1, y1) in evidence_boxes(event.detail)
        if cls in CLASS_NAMES and x0 < x1 and y0 < y1
    ]


@router.post("/api/events/{event_id}/verdict", status_code=201)
async def give_verdict(
    event_id: RandomId, body: VerdictRequest, user: CurrentUser, hub: HubDep
) -> VerdictView:
    """确认违规 or 误报 (with a reason) on a violation event; once per event."""
    async with hub.db.session() as s:
        event = await s.scalar(
            select(Event).where(Event.id == event_id, _in_scope(user, Event.school_id,
                                                                 Event.town_id))
        )  # fmt: skip
        given = await s.scalar(select(Verdict.id).where(Verdict.event_id == event_id))
    if event is None:
        raise not_found("event")
    # Checked after the scope, so another school's event is a 404 whatever the body says.
    if (body.kind is VerdictKind.FALSE_ALARM) != (body.reason is not None):
        raise ApiError(422, "reason_mismatch", "a false alarm needs a reason; a confirmation "
                       "has none", zh="误报须选择原因，确认违规不填原因")  # fmt: skip
    if event.kind != EventKind.VIOLATION or event.camera_id is None or event.school_id is None:
        raise ApiError(422, "not_a_violation", "only violation events take verdicts",
                       zh="只能对违规事件进行判定")  # fmt: skip
    if given is not None:
        raise _conflict()
    labels = body.labels
    if body.kind is VerdictKind.CONFIRMED and not labels:
        labels = model_boxes(event)
    verdict = Verdict(
        id=new_id(),
        event_id=event.id,
        kind=body.kind,
        reason=body.reason,
        note=body.note,
        type=event.type,
        at=event.started_at,
        camera_id=event.camera_id,
        school_id=event.school_id,
        town_id=event.town_id,
        given_by=user.username,
        created_at=datetime.now(UTC),
        labels=json.dumps([b.model_dump() for b in labels]),
    )
    await _keep_frame(hub, verdict, event.frame_key)
    return await _record(hub, user, verdict)


@router.post("/api/cameras/{camera_id}/misses", status_code=201, response_model=VerdictView)
async def report_miss(
    camera_id: VisibleCameraId, body: MissRequest, user: CurrentUser, hub: HubDep, request: Request
) -> VerdictView | Response:
    """漏报: a violation the detector did not raise, boxed on a frame of the camera (live or
    recorded) the console fetched; the frame is kept as the miss's hard example. A frame this
    node does not hold was shown by the node running the camera: the miss goes there."""
    frame = hub.shown_frames.get(body.frame_id)
    if frame is None and (remote := remote_owner(hub, camera_id, request)) is not None:
        return await forward_to(request, remote)
    if frame is None or frame.camera_id != camera_id:
        raise ApiError(422, "frame_unknown", "unknown or expired frame: fetch the frame again",
                       zh="画面已失效，请重新获取画面")  # fmt: skip
    school = hub.config.school_of(camera_id)
    now = datetime.now(UTC)
    verdict = Verdict(
        id=new_id(),
        kind=VerdictKind.MISSED,
        note=body.note,
        type=body.type,
        at=frame.at,
        camera_id=camera_id,
        school_id=school.id,
        town_id=school.town,
        given_by=user.username,
        created_at=now,
        labels=json.dumps([b.model_dump() for b in body.labels]),
    )
    key = hard_example_key(school.id, camera_id, frame.at, hub.tz, verdict.id)
    try:
        await put_jpeg(hub.store, key, frame.jpeg, Path(hub.config.recording.spool_dir) / "tmp")
    except (ObjectStoreError, TimeoutError) as exc:
        raise store_unavailable() from exc
    verdict.hard_example_key = key
    return await _record(hub, user, verdict)


@router.get("/api/verdicts")
async def list_verdicts(
    user: CurrentUser,
    hub: HubDep,
    town: SlugFilter = None,
    school: SlugFilter = None,
    camera: SlugFilter = None,
    type: ViolationType | None = None,
    kind: VerdictKind | None = None,
    since: Annotated[AwareDatetime | None, Query(description="violation at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="violation before")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[VerdictView]:
    """Verdicts in the caller's scope, newest violation first; filters narrow it further."""
    query = select(Verdict).where(_in_scope(user, Verdict.school_id, Verdict.town_id))
    for column, value in (
        (Verdict.town_id, town),
        (Verdict.school_id, school),
        (Verdict.camera_id, camera),
        (Verdict.type, type),
        (Verdict.kind, kind),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(Verdict.at >= since)
    if until is not None:
        query = query.where(Verdict.at < until)
    if cursor:
        at, last_id = decode_time_cursor(cursor)
        query = query.where(or_(Verdict.at < at, and_(Verdict.at == at, Verdict.id < last_id)))
    query = query.order_by(Verdict.at.desc(), Verdict.id.desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list(await s.scalars(query))
    return make_page(rows, limit, verdict_view, lambda r: (r.at.isoformat(), r.id))


class RatePeriod(StrEnum):
    WEEK = "week"
    MONTH = "month"


class RateRow(BaseModel):
    camera_id: str
    type: str
    events: int = Field(description="violation events raised in the period")
    false_alarms: int = Field(description="of those, marked 误报")
    rate: float = Field(description="false_alarms / events")


class RateReport(BaseModel):
    period: RatePeriod
    start: datetime
    end: datetime
    rows: list[RateRow]


@router.get("/api/verdicts/false-alarm-rates")
async def false_alarm_rates(
    user: CurrentUser,
    hub: HubDep,
    period: RatePeriod = RatePeriod.WEEK,
    day: Annotated[date | None, Query(description="A day of the period (local); today")] = None,
) -> RateReport:
    """Per camera and violation type: events raised in the local week (from Monday) or
    month, how many of them were false alarms, and the rate; noisiest first."""
    local = day or datetime.now(hub.tz).date()
    start, end = (
        week_range(local, hub.tz)
        if period is RatePeriod.WEEK
        else month_range(local.year, local.month, hub.tz)
    )
    false_alarm = func.count(Verdict.id).filter(Verdict.kind == VerdictKind.FALSE_ALARM)
    query = (
        select(Event.camera_id, Event.type, func.count(Event.id), false_alarm)
        .outerjoin(Verdict, Verdict.event_id == Event.id)
        .where(
            _in_scope(user, Event.school_id, Event.town_id),
            Event.kind == EventKind.VIOLATION,
            Event.camera_id.is_not(None),
            Event.started_at >= start,
            Event.started_at < end,
        )
        .group_by(Event.camera_id, Event.type)
    )
    async with hub.db.session() as s:
        found = (await s.execute(query)).all()
    rows = [
        RateRow(camera_id=camera, type=vtype, events=n, false_alarms=fa, rate=round(fa / n, 4))
        for camera, vtype, n, fa in found
    ]
    rows.sort(key=lambda r: (-r.rate, -r.events, r.camera_id, r.type))
    return RateReport(period=period, start=start, end=end, rows=rows)
