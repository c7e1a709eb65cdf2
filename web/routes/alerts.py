"""Alerts: acknowledge (API and signed link), the alert log of an event, channel health, and
the live alert stream (server-sent events) that the console listens to.

Every API route takes `AlertViewerDep`: the logged-in user (web.auth: 401 without login, CSRF
on changes) as a name to record and a school filter. Events outside the caller's scope are
404, and the live stream only carries the caller's schools. The /ack/{token} link is public:
its signed, expiring token is the credential.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.alerts import InvalidAckToken, UnknownEvent
from hub.config import HubConfig
from storage.db.models import Event
from storage.db.models_alerts import AlertMessage, AlertMessageEvent, AlertStep
from web.auth import AuthUser, CurrentUser, ScopeKind, can_see_school, not_found
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(tags=["alerts"], responses=ERROR_RESPONSES)

HEARTBEAT_S: Final = 15.0  # keeps proxies from closing an idle alert stream
_MAX_FORM_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class AlertViewer:
    """Who is asking: the name acknowledgements are recorded under, and their scope."""

    name: str
    district_wide: bool
    may_see_school: Callable[[str | None], bool]


def viewer_for(user: AuthUser, config: HubConfig) -> AlertViewer:
    """Hub-wide events (no school) are for the district only, as in web.auth.scope_clause."""
    district = user.scope.kind is ScopeKind.DISTRICT
    towns = {s.id: s.town for s in config.schools}

    def may_see(school_id: str | None) -> bool:
        if school_id is None or school_id not in towns:
            return district
        return can_see_school(user.scope, school_id, towns[school_id])

    return AlertViewer(name=user.username, district_wide=district, may_see_school=may_see)


async def alert_viewer(user: CurrentUser, hub: HubDep) -> AlertViewer:
    return viewer_for(user, hub.config)


AlertViewerDep = Annotated[AlertViewer, Depends(alert_viewer)]


class AckRequest(BaseModel):
    comment: str | None = Field(default=None, max_length=500, description="What was done.")


class AckView(BaseModel):
    event_id: str
    acknowledged_at: datetime
    acknowledged_by: str
    already: bool = Field(description="true: it had been acknowledged before; nothing changed")


class StepView(BaseModel):
    at: datetime
    action: str
    level: str | None
    actor: str
    via: str | None
    detail: str | None


class MessageView(BaseModel):
    key: str
    channel: str
    level: str
    status: str
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


class AlertLog(BaseModel):
    event_id: str
    steps: list[StepView]
    messages: list[MessageView]


async def _visible_event(hub: HubDep, viewer: AlertViewer, event_id: str) -> Event:
    async with hub.db.session() as session:
        event = await session.get(Event, event_id)
    if event is None or not viewer.may_see_school(event.school_id):
        raise not_found("event")
    return event


@router.post("/api/events/{event_id}/ack")
async def acknowledge_event(
    event_id: str, body: AckRequest, hub: HubDep, viewer: AlertViewerDep
) -> AckView:
    """Acknowledge an event as the caller: stops its escalation; recorded with time and
    person."""
    await _visible_event(hub, viewer, event_id)
    result = await hub.alerts.acknowledge(event_id, by=viewer.name, via="api", comment=body.comment)
    return AckView(
        event_id=result.event_id,
        acknowledged_at=result.acknowledged_at,
        acknowledged_by=result.acknowledged_by,
        already=result.already,
    )


@router.get("/api/events/{event_id}/alerts")
async def alert_log(event_id: str, hub: HubDep, viewer: AlertViewerDep) -> AlertLog:
    """Every alert step of an event (notified, escalated, acknowledged) and its messages."""
    await _visible_event(hub, viewer, event_id)
    async with hub.db.session() as session:
        steps = await session.scalars(
            select(AlertStep).where(AlertStep.event_id == event_id).order_by(AlertStep.id)
        )
        messages = await session.scalars(
            select(AlertMessage)
            .join(AlertMessageEvent, AlertMessageEvent.message_id == AlertMessage.id)
            .where(AlertMessageEvent.event_id == event_id)
            .order_by(AlertMessage.id)
        )
        return AlertLog(
            event_id=event_id,
            steps=[StepView.model_validate(s, from_attributes=True) for s in steps],
            messages=[MessageView.model_validate(m, from_attributes=True) for m in messages],
        )


@router.get("/api/alerts/health")
async def alerts_health(hub: HubDep, viewer: AlertViewerDep) -> dict[str, Any]:
    """Each channel: ok, failing (with since when and the last error), misconfigured.
    District staff only: channels name schools and their endpoints."""
    if not viewer.district_wide:
        raise not_found("alert channel health")
    channels = await hub.alerts.health_report()
    return {
        "enabled": hub.alerts.enabled,
        "channels": channels,
        "escalated": hub.alerts.escalator.escalated,
        "stream_subscribers": hub.alerts.bus.subscribers,
    }


@router.get("/api/alerts/stream")
async def alerts_stream(hub: HubDep, viewer: AlertViewerDep) -> StreamingResponse:
    """Server-sent events: one `alert` event per message on a console channel."""
    try:
        subscription = hub.alerts.bus.subscribe(
            lambda payload: viewer.may_see_school(payload.get("school_id"))
        )
    except RuntimeError as exc:  # the subscriber cap
        raise ApiError(503, "busy", str(exc), zh="实时告警连接过多，请稍后再试") from exc

    async def events() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT_S):
                        payload = await subscription.get()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = json.dumps(payload, ensure_ascii=False)
                yield f"id: {payload['id']}\nevent: alert\ndata: {data}\n\n"
        finally:
            subscription.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- the one-click link in messages -------------------------------------------------------
# GET shows a confirmation page and POST records it: chat apps open links to preview them,
# and a preview must not acknowledge a rat alert that nobody has seen.


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em">'
        f"<h2>{html.escape(title)}</h2>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def _invalid(exc: Exception) -> HTMLResponse:
    return _page(
        "链接无效或已过期 (link invalid or expired)", f"<p>{html.escape(str(exc))}</p>", 403
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
async def ack_link_page(token: str, hub: HubDep) -> HTMLResponse:
    try:
        claim = hub.alerts.signer.verify(token, now=hub.alerts.clock())
    except InvalidAckToken as exc:
        return _invalid(exc)
    person = hub.alerts.policy.recipient(claim.who)
    name = person.name if person else ""
    form = (
        f'<form method="post" action="/ack/{html.escape(token)}">'
        f'<p><label>确认人 <input name="by" required maxlength="64" value="{html.escape(name)}">'
        '</label></p><p><label>处理说明 <input name="comment" maxlength="500"></label></p>'
        '<p><button type="submit">确认已处理 (acknowledge)</button></p></form>'
    )
    return _page("确认告警", f"<p>事件 {html.escape(claim.event_id)}</p>{form}")


@router.post("/ack/{token}", response_class=HTMLResponse)
async def ack_link_confirm(token: str, request: Request, hub: HubDep) -> HTMLResponse:
    raw = await request.body()
    form = parse_qs(raw[:_MAX_FORM_BYTES].decode(errors="replace"))
    by = (form.get("by") or [""])[0].strip()[:64] or None
    comment = (form.get("comment") or [""])[0].strip()[:500] or None
    try:
        result = await hub.alerts.acknowledge_link(token, by=by, comment=comment)
    except (InvalidAckToken, UnknownEvent) as exc:
        return _invalid(exc)
    shown = result.acknowledged_at.astimezone(hub.alerts.policy.tz).strftime("%Y-%m-%d %H:%M:%S")
    who = html.escape(result.acknowledged_by)
    note = "此前已由" if result.already else "已由"
    return _page("已确认", f"<p>{note} {who} 于 {shown} 确认，升级已停止。</p>")
