"""Live view signalling, WHEP style: POST an SDP offer, get the answer and a session URL.

    POST   /api/cameras/{camera_id}/whep?stream=main|sub   (application/sdp offer)
      201  application/sdp answer; Location: /api/live/sessions/{id}; X-Stream: main|sub
    DELETE /api/live/sessions/{id}                          204, the viewer is closed

In a cluster a camera another node runs is watched through that node: the offer is forwarded
to it (web.forward) and the Location names it, /api/live/nodes/{node}/sessions/{id},
so any node can take the DELETE. Between two owners (a handover) the answer is 503.

The answer carries every candidate (no trickle ICE): offer after ICE gathering completes.
These routes take a `LiveWatcher`: a user, or a special supervisor link (web.auth.links) of
the camera's school, whose viewers end when the link expires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from web.auth import CurrentUser, LiveWatcher, WatchableCameraId, audit, visible_camera_ids
from web.auth.deps import link_refused
from web.auth.links import LinkRefusal, is_revoked
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.forward import (
    RemoteNode,
    ask_peers,
    forward_to,
    forwarded,
    remote_owner,
)
from web.live import (
    BadOffer,
    LiveError,
    LiveStopped,
    LiveViewers,
    StreamKind,
    UnknownCamera,
    UnsupportedCodec,
    ViewerLimitReached,
)

router = APIRouter(prefix="/api", tags=["live"], responses=ERROR_RESPONSES)

SDP_TYPE: Final = "application/sdp"
_MAX_OFFER_BYTES: Final = 64 * 1024  # a browser's offer is a few kB
_RETRY_AFTER_S: Final = "10"  # viewers come and go; a full camera frees a slot soon


def get_live(request: Request) -> LiveViewers:
    live: LiveViewers = request.state.live
    return live


LiveDep = Annotated[LiveViewers, Depends(get_live)]

# status, stable code, Chinese message for the console
_ERRORS: Final[dict[type[LiveError], tuple[int, str]]] = {
    UnknownCamera: (404, "摄像头不存在或未启用"),
    UnsupportedCodec: (422, "该摄像头的编码格式不支持网页直播"),
    BadOffer: (400, "浏览器的 WebRTC 请求无效（需要 H.264）"),
    ViewerLimitReached: (503, "观看人数已满，请稍后再试"),
    LiveStopped: (503, "服务正在停止"),
}


def _api_error(exc: LiveError) -> ApiError:
    status, zh = _ERRORS.get(type(exc), (500, "直播出错"))
    headers = {"Retry-After": _RETRY_AFTER_S} if status == 503 else None
    return ApiError(status, exc.code, str(exc), zh=zh, headers=headers)


class LiveSessionView(BaseModel):
    camera_id: str
    node: str | None = Field(None, description="the node that runs the camera (a cluster)")
    stream: StreamKind
    connected: bool
    frames_sent: int


class IceConfig(BaseModel):
    ice_servers: list[str]


class LiveSummary(BaseModel):
    viewers: int
    per_camera: dict[str, int]
    sessions: list[LiveSessionView]
    unreachable_nodes: list[str] = Field(
        default_factory=list, description="nodes whose viewers could not be counted"
    )


@router.post(
    "/cameras/{camera_id}/whep",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {SDP_TYPE: {}}, "description": "SDP answer"}},
)
async def open_live(
    camera_id: WatchableCameraId,
    watcher: LiveWatcher,
    request: Request,
    live: LiveDep,
    hub: HubDep,
    stream: Annotated[StreamKind, Query(description="sub for grid tiles")] = StreamKind.MAIN,
) -> Response:
    """Start watching a camera: the body is the browser's SDP offer (non-trickle)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != SDP_TYPE:
        raise ApiError(415, "unsupported_media_type", f"send the offer as {SDP_TYPE}")
    body = await request.body()
    if len(body) > _MAX_OFFER_BYTES:
        raise ApiError(413, "too_large", "SDP offer too large")
    link = watcher.link
    now = datetime.now(UTC)
    max_age_s = None if link is None else (link.expires_at - now).total_seconds()
    if (remote := remote_owner(hub, camera_id, request)) is not None:
        return await forward_to(request, remote)
    try:
        offer = body.decode("utf-8", errors="replace")
        viewer = await live.open(camera_id, stream, offer, owner=watcher.owner, max_age_s=max_age_s)
    except LiveError as exc:
        raise _api_error(exc) from None
    if link is not None and await is_revoked(hub.db, link.id):
        # Revoked after this request's check and before its viewer existed, so the revocation
        # did not see the viewer to close it: close it here.
        await live.close(viewer.id, reason="revoked")
        raise link_refused(LinkRefusal.REVOKED)
    detail = {"stream": viewer.stream, "session": viewer.id}
    if link is not None:
        detail |= {"link": link.id, "name": link.name}
    async with hub.db.session() as s:  # who watched which camera, when
        audit(
            s, at=now, actor=watcher.actor, action="live_view", camera_id=camera_id, detail=detail
        )
    return Response(
        viewer.answer_sdp,
        status_code=201,
        media_type=SDP_TYPE,
        headers={"Location": f"/api/live/sessions/{viewer.id}", "X-Stream": viewer.stream},
    )


@router.delete("/live/sessions/{session_id}", status_code=204)
async def close_live(session_id: str, watcher: LiveWatcher, live: LiveDep) -> None:
    """Stop watching (the page calls it when it goes away). Only its opener may."""
    viewer = live.get(session_id)
    if viewer is None or viewer.owner != watcher.owner:
        raise ApiError(404, "not_found", "no such live session", zh="直播会话不存在")
    await live.close(session_id)


@router.delete("/live/nodes/{node}/sessions/{session_id}", status_code=204)
async def close_node_live(
    node: str, session_id: str, watcher: LiveWatcher, live: LiveDep, hub: HubDep, request: Request
) -> Response:
    """Stop watching a camera that `node` runs (the Location of a forwarded offer)."""
    cluster = hub.owner
    if cluster is None or node == cluster.node or forwarded(request):
        await close_live(session_id, watcher, live)
        return Response(status_code=204)
    url = cluster.node_url(node)
    if url is None:  # the node is gone, and its viewers with it
        raise ApiError(404, "not_found", f"no live node {node!r}", zh="直播会话不存在")
    to = RemoteNode(cluster.node, node, url)
    return await forward_to(request, to, f"/api/live/sessions/{session_id}")


@router.get("/live")
async def live_summary(
    user: CurrentUser, live: LiveDep, hub: HubDep, request: Request
) -> LiveSummary:
    """Who is watching what, within the caller's scope (for the health page): in a cluster,
    the viewers on every node."""
    visible = visible_camera_ids(user, hub.config)
    node = None if hub.owner is None else hub.owner.node
    sessions = [
        LiveSessionView(
            camera_id=v.camera_id,
            node=node,
            stream=v.stream,
            connected=v.connected,
            frames_sent=v.track.stats.frames_sent,
        )
        for v in live.sessions()
        if v.camera_id in visible
    ]
    peers, unreachable = await ask_peers(request, hub, "/api/live", LiveSummary)
    for summary in peers.values():
        sessions += summary.sessions
    per_camera: dict[str, int] = {}
    for s in sessions:
        per_camera[s.camera_id] = per_camera.get(s.camera_id, 0) + 1
    return LiveSummary(
        viewers=len(sessions),
        per_camera=per_camera,
        sessions=sessions,
        unreachable_nodes=unreachable,
    )


@router.get("/live/ice")
async def ice_servers(_watcher: LiveWatcher, hub: HubDep) -> IceConfig:
    """The STUN/TURN servers browsers should use (config web.ice_servers; may be empty)."""
    return IceConfig(ice_servers=list(hub.config.web.ice_servers))
