"""The console's live alert stream: an in-process pub/sub the SSE endpoint reads.

Every subscriber has its own bounded queue; a slow browser loses its OLDEST alerts (counted
in `dropped`), never slows delivery to anyone else. The database keeps every event, so a
console that fell behind reloads the list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from ..model import Outgoing
from .base import Channel

__all__ = ["ConsoleBus", "ConsoleChannel", "Subscription"]

SUBSCRIBER_QUEUE: Final = 100  # alerts one browser may lag behind before the oldest go
MAX_SUBSCRIBERS: Final = 500  # consoles open at once across a district

Payload = dict[str, Any]


class Subscription:
    def __init__(self, bus: ConsoleBus, accept: Callable[[Payload], bool]) -> None:
        self._bus = bus
        self.accept = accept
        self.queue: asyncio.Queue[Payload] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.dropped = 0

    def offer(self, payload: Payload) -> None:
        if not self.accept(payload):
            return
        if self.queue.full():  # drop-oldest: the newest alert matters most
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(payload)

    async def get(self) -> Payload:
        return await self.queue.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class ConsoleBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self.published = 0

    def subscribe(self, accept: Callable[[Payload], bool] = lambda _p: True) -> Subscription:
        """`accept` filters by the viewer's scope (the web layer supplies it)."""
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            raise RuntimeError("too many live alert subscribers")
        sub = Subscription(self, accept)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, payload: Payload) -> None:
        self.published += 1
        for sub in list(self._subscribers):
            sub.offer(payload)


class ConsoleChannel(Channel):
    def __init__(self, config: Any, *, bus: ConsoleBus) -> None:
        super().__init__(config)
        self._bus = bus

    async def send(self, message: Outgoing) -> None:
        self._bus.publish(message.as_json())
