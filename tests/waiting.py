"""Waiting for state that threads and tasks change behind the test's back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

POLL_S = 0.05


async def eventually(
    predicate: Callable[[], bool | Awaitable[bool]], *, within: float, what: str
) -> None:
    """Poll `predicate` until true; fail naming `what` after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL_S)
