"""Live views of cameras another node runs: the WHEP exchange is forwarded to that node.

Only the signalling goes through this node (one offer, one answer, one DELETE); the media
flows from the owning node to the browser, since the answer carries that node's candidates.
The owning node checks the caller's credentials again (sessions and tokens live in the
shared database) and writes the audit row, so a forward adds no trust of its own.
"""

from __future__ import annotations

from typing import Final

import httpx
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["FORWARDED_BY", "NodeUnreachable", "forward", "node_session_path"]

FORWARDED_BY: Final = "X-Bkhub-Forwarded-By"  # a forwarded request is never forwarded again
_TIMEOUT_S: Final = 30.0  # the owning node gathers its ICE candidates before answering
# What the owning node needs to authenticate and understand the caller, nothing else.
_PASSED_ON: Final = ("authorization", "cookie", "x-csrf-token", "content-type", "accept-language")
_PASSED_BACK: Final = ("content-type", "retry-after", "x-stream", "www-authenticate")


class NodeUnreachable(Exception):
    """The owning node did not answer."""


def node_session_path(node: str, session_id: str) -> str:
    """Where the browser ends a live session that runs on `node`."""
    return f"/api/live/nodes/{node}/sessions/{session_id}"


async def forward(
    request: Request, *, by: str, node: str, url: str, method: str, path: str, body: bytes = b""
) -> Response:
    """Send the caller's request, taken by node `by`, to `url` + `path` on `node`; its reply,
    with a session's Location made to point back through whichever node takes the DELETE."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in _PASSED_ON}
    headers[FORWARDED_BY] = by
    try:
        async with httpx.AsyncClient(base_url=url, timeout=_TIMEOUT_S) as client:
            reply = await client.request(
                method, path, params=request.query_params, content=body, headers=headers
            )
    except httpx.HTTPError as exc:
        raise NodeUnreachable(f"node {node} at {url}: {exc!r}") from exc
    back = {k: v for k, v in reply.headers.items() if k.lower() in _PASSED_BACK}
    if (location := reply.headers.get("location")) is not None:
        back["Location"] = node_session_path(node, location.rsplit("/", 1)[-1])
    return Response(reply.content, status_code=reply.status_code, headers=back)
