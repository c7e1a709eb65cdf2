"""Requests about a camera another node runs are forwarded to that node.

What only the owning node has: the camera's live picture (live view, the frame a miss is
boxed on, a round's snapshot) and its live viewers. Only the signalling and the small
replies go through this node; a live view's media flows from the owning node to the browser,
since the answer carries that node's candidates. The owning node checks the caller's
credentials again (sessions and tokens live in the shared database) and writes the audit
rows, so a forward adds no trust of its own. Only nodes in the lease bucket are forwarded to:
no open proxy.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from hub.runtime import Hub
from web.errors import ApiError

__all__ = [
    "FORWARDED_BY",
    "NodeUnreachable",
    "RemoteNode",
    "ask_peers",
    "forward",
    "forward_to",
    "forwarded",
    "node_session_path",
    "remote_owner",
]

FORWARDED_BY: Final = "X-Bkhub-Forwarded-By"  # a forwarded request is never forwarded again
_TIMEOUT_S: Final = 30.0  # the owning node gathers its ICE candidates before answering
# What the owning node needs to authenticate and understand the caller, nothing else.
_PASSED_ON: Final = ("authorization", "cookie", "x-csrf-token", "content-type", "accept-language")
_PASSED_BACK: Final = (
    "content-type",
    "retry-after",
    "x-stream",
    "www-authenticate",
    "cache-control",
    "x-frame-id",
    "x-frame-at",
)
_MOVING_RETRY_AFTER_S: Final = "5"  # a handover takes a lease renewal or two
_PEER_TIMEOUT_S: Final = 5.0  # a page that gathers from every node waits on the slowest

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


class NodeUnreachable(Exception):
    """The owning node did not answer."""


@dataclass(frozen=True, slots=True)
class RemoteNode:
    by: str  # this node
    node: str  # the node the request goes to
    url: str  # its console


def node_session_path(node: str, session_id: str) -> str:
    """Where the browser ends a live session that runs on `node`."""
    return f"/api/live/nodes/{node}/sessions/{session_id}"


def forwarded(request: Request) -> bool:
    return FORWARDED_BY in request.headers


def remote_owner(hub: Hub, camera_id: str, request: Request) -> RemoteNode | None:
    """The node running this camera, if not this one; None: it runs here (or no cluster).
    503 while no node runs it (a handover in progress)."""
    cluster = hub.owner
    if cluster is None or camera_id in hub.owned_cameras():
        return None
    node = cluster.owners().get(camera_id)
    url = None if node is None or node == cluster.node else cluster.node_url(node)
    if url is None or node is None or forwarded(request):
        raise ApiError(
            503,
            "camera_moving",
            f"camera {camera_id} is moving to another node",
            zh="摄像头正在切换服务节点，请稍后再试",
            headers={"Retry-After": _MOVING_RETRY_AFTER_S},
        )
    return RemoteNode(cluster.node, node, url)


async def forward(
    request: Request,
    to: RemoteNode,
    *,
    method: str,
    path: str,
    body: bytes = b"",
    timeout_s: float = _TIMEOUT_S,
) -> Response:
    """Send the caller's request to `path` on node `to`; its reply, with a session's Location
    made to point back through whichever node takes the DELETE. NodeUnreachable if none."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in _PASSED_ON}
    headers[FORWARDED_BY] = to.by
    try:
        async with httpx.AsyncClient(base_url=to.url, timeout=timeout_s) as client:
            reply = await client.request(
                method, path, params=request.query_params, content=body, headers=headers
            )
    except httpx.HTTPError as exc:
        raise NodeUnreachable(f"node {to.node} at {to.url}: {exc!r}") from exc
    back = {k: v for k, v in reply.headers.items() if k.lower() in _PASSED_BACK}
    if (location := reply.headers.get("location")) is not None:
        back["Location"] = node_session_path(to.node, location.rsplit("/", 1)[-1])
    return Response(reply.content, status_code=reply.status_code, headers=back)


async def forward_to(request: Request, to: RemoteNode, path: str | None = None) -> Response:
    """The caller's own request (method, query, body; its path unless `path` is given)
    answered by node `to`; 502 if it cannot be reached."""
    body = await request.body()  # FastAPI caches it: a parsed JSON body can still be sent
    path = request.url.path if path is None else path
    try:
        return await forward(request, to, method=request.method, path=path, body=body)
    except NodeUnreachable as exc:
        raise ApiError(
            502,
            "node_unreachable",
            str(exc),
            zh="摄像头所在的服务节点无法连接，请稍后再试",
            headers={"Retry-After": _MOVING_RETRY_AFTER_S},
        ) from None


async def ask_peers(
    request: Request, hub: Hub, path: str, answer: type[T]
) -> tuple[dict[str, T], list[str]]:
    """The caller's GET of `path` answered by every other live node (each applies the
    caller's scope: the credentials go with it): (node -> its answer, nodes that gave none).
    Nothing is asked when there is no cluster or the request was itself forwarded."""
    if hub.owner is None or forwarded(request):
        return {}, []
    peers = [RemoteNode(hub.owner.node, n, u) for n, u in sorted(hub.owner.peer_urls().items())]
    answers = await asyncio.gather(*(_ask(request, p, path, answer) for p in peers))
    found = {p.node: a for p, a in zip(peers, answers, strict=True) if a is not None}
    return found, [p.node for p in peers if p.node not in found]


async def _ask(request: Request, peer: RemoteNode, path: str, answer: type[T]) -> T | None:
    try:
        reply = await forward(request, peer, method="GET", path=path, timeout_s=_PEER_TIMEOUT_S)
    except NodeUnreachable as exc:
        log.warning("%s of node %s left out: %s", path, peer.node, exc)
        return None
    if reply.status_code != 200:
        log.warning("%s of node %s left out: HTTP %d", path, peer.node, reply.status_code)
        return None
    try:
        return answer.model_validate_json(bytes(reply.body))
    except ValidationError as exc:
        log.warning("%s of node %s left out: %s", path, peer.node, exc)
        return None
