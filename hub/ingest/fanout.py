"""Fan one camera's packets out to its consumers through bounded, per-consumer queues.

The reader thread publishes; each consumer (recorder, sampler, live viewers) owns a
`Subscription`. A slow consumer never slows the reader or the other consumers: when its
queue is full it loses its queued packets (policy "flush on overflow"; stream start/stop
markers are kept), gets a `Gap` marker, and the loss is counted. Consumers of encoded
video must restart at the next keyframe after a Gap.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Final

from camera_adapters.errors import OfflineReason
from camera_adapters.packets import EncodedPacket, StreamInfo

DEFAULT_QUEUE_PACKETS: Final = 500  # ~20 s of 25 fps video: rides out a slow disk
# Packets per wake-up for consumers nobody waits on (recorder, pre-roll ring, sampler): ~0.3 s
# of 25 fps video. Waking three threads per packet cost ~0.3 % of a core per camera, as much as
# the demuxing itself (bench/detect.py, "reader" and "recorder" roles).
BATCH_WAKE: Final = 8


@dataclass(frozen=True, slots=True)
class StreamStarted:
    info: StreamInfo


@dataclass(frozen=True, slots=True)
class StreamStopped:
    reason: OfflineReason


@dataclass(frozen=True, slots=True)
class Gap:
    dropped: int


FanoutItem = StreamStarted | StreamStopped | Gap | EncodedPacket


class Subscription:
    """A bounded queue of fan-out items for one consumer, readable from a thread or a task."""

    def __init__(self, name: str, maxsize: int, fanout: PacketFanout, wake_every: int = 1) -> None:
        self.name = name
        self.dropped = 0
        self._maxsize = maxsize
        self._wake_every = wake_every
        self._fanout = fanout
        self._items: deque[FanoutItem] = deque()
        self._cond = threading.Condition()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self.closed = False

    def offer(self, item: FanoutItem) -> None:
        with self._cond:
            if self.closed:
                return
            overflow = len(self._items) >= self._maxsize
            if overflow:
                packets = sum(1 for i in self._items if isinstance(i, EncodedPacket))
                earlier = sum(i.dropped for i in self._items if isinstance(i, Gap))
                # Stream start/stop markers are never dropped: consumers need them to mux.
                controls = [i for i in self._items if isinstance(i, StreamStarted | StreamStopped)]
                self.dropped += packets
                self._items.clear()
                self._items.extend(controls)
                self._items.append(Gap(packets + earlier))
            self._items.append(item)
            if not (overflow or _wakes(item) or len(self._items) >= self._wake_every):
                return  # a later packet, a keyframe or the consumer's poll wakes it
            self._cond.notify()
            waiter = self._waiter
        if waiter is not None:
            loop, event = waiter
            loop.call_soon_threadsafe(event.set)

    def get(self, timeout: float | None = None) -> FanoutItem | None:
        """Blocking read for consumer threads; None on timeout or once closed and drained."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    async def aget(self) -> FanoutItem | None:
        """Read for asyncio consumers; None once closed and drained."""
        event = asyncio.Event()
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if self.closed:
                    return None
                event.clear()
                self._waiter = (loop, event)
            await event.wait()

    def close(self) -> None:
        """Stop receiving; readers drain what is queued and then get None."""
        self._fanout.unsubscribe(self)
        with self._cond:
            self.closed = True
            self._cond.notify_all()
            waiter = self._waiter
        if waiter is not None:
            loop, event = waiter
            loop.call_soon_threadsafe(event.set)

    def __len__(self) -> int:
        return len(self._items)


def _wakes(item: FanoutItem) -> bool:
    """Whether this item wakes a batching consumer at once: a keyframe or a marker."""
    return not isinstance(item, EncodedPacket) or item.is_keyframe


class PacketFanout:
    """One camera stream's subscribers; publish() is called from the reader thread."""

    def __init__(self) -> None:
        self._subs: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()
        self._current: StreamInfo | None = None

    def subscribe(
        self, name: str, maxsize: int = DEFAULT_QUEUE_PACKETS, *, wake_every: int = 1
    ) -> Subscription:
        """A consumer's queue. `wake_every` > 1 wakes its reader only once that many items
        are queued, or at a keyframe or a marker: each thread wake-up costs more than the
        packet it delivers, and consumers that keep no one waiting need not pay it per packet."""
        sub = Subscription(name, maxsize, self, wake_every)
        with self._lock:
            self._subs = (*self._subs, sub)
            # A late subscriber learns the running stream's parameters first.
            if self._current is not None:
                sub.offer(StreamStarted(self._current))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    @property
    def current(self) -> StreamInfo | None:
        """The running stream's parameters; None while the camera is not streaming."""
        return self._current

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def publish(self, item: FanoutItem) -> None:
        if isinstance(item, StreamStarted):
            with self._lock:
                self._current = item.info
        elif isinstance(item, StreamStopped):
            with self._lock:
                self._current = None
        for sub in self._subs:  # a tuple snapshot: subscribe/unsubscribe never race this loop
            sub.offer(item)
