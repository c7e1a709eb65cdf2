"""Backoff, fan-out and stream statistics: the pure parts of ingest."""

from __future__ import annotations

import asyncio
import random
import threading
from fractions import Fraction

from camera_adapters.errors import OfflineReason
from camera_adapters.packets import EncodedPacket
from hub.ingest.backoff import Backoff
from hub.ingest.fanout import Gap, PacketFanout, StreamStarted, StreamStopped, Subscription
from hub.ingest.stats import StatsMeter


def _packet(n: int, *, key_every: int = 25, size: int = 1000) -> EncodedPacket:
    return EncodedPacket(
        data=b"x" * size,
        pts=n * 3600,
        dts=n * 3600,
        duration=3600,
        time_base=Fraction(1, 90000),
        is_keyframe=n % key_every == 0,
        wall_time=1000.0 + n * 0.04,
    )


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(initial_s=1, max_s=8, jitter=0, rng=random.Random(1))
    assert [backoff.next_delay() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    backoff.reset()
    assert backoff.next_delay() == 1
    assert backoff.next_delay(longest=True) == 8


def test_backoff_jitter_stays_within_bounds() -> None:
    backoff = Backoff(initial_s=10, max_s=10, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(200)]
    assert all(8 <= d <= 12 for d in delays)
    assert max(delays) - min(delays) > 2  # actually spread, not constant


def test_fanout_delivers_to_every_subscriber_in_order() -> None:
    fanout = PacketFanout()
    a, b = fanout.subscribe("a"), fanout.subscribe("b")
    for n in range(10):
        fanout.publish(_packet(n))
    got_a = [a.get(0) for _ in range(10)]
    got_b = [b.get(0) for _ in range(10)]
    assert [p.pts for p in got_a] == [p.pts for p in got_b] == [n * 3600 for n in range(10)]
    assert a.get(0) is None


def test_slow_subscriber_loses_its_backlog_not_the_others() -> None:
    fanout = PacketFanout()
    slow = fanout.subscribe("slow", maxsize=5)
    fast = fanout.subscribe("fast", maxsize=100)
    for n in range(12):
        fanout.publish(_packet(n))
    assert len(fast) == 12
    items = []
    while (item := slow.get(0)) is not None:
        items.append(item)
    assert isinstance(items[0], Gap) and items[0].dropped == 9
    assert slow.dropped == 9
    assert [p.pts for p in items[1:]] == [9 * 3600, 10 * 3600, 11 * 3600]


def test_late_subscriber_learns_the_running_stream() -> None:
    fanout = PacketFanout()
    info = object()
    fanout.publish(StreamStarted(info))  # type: ignore[arg-type]
    late = fanout.subscribe("late")
    first = late.get(0)
    assert isinstance(first, StreamStarted) and first.info is info
    fanout.publish(StreamStopped(OfflineReason.TIMEOUT))
    assert isinstance(late.get(0), StreamStopped)
    later = fanout.subscribe("later")
    assert later.get(0) is None  # stream stopped: nothing to announce


async def test_async_subscriber_wakes_on_publish_from_a_thread() -> None:
    fanout = PacketFanout()
    sub = fanout.subscribe("async")

    def produce() -> None:
        for n in range(3):
            fanout.publish(_packet(n))
        sub.close()

    threading.Thread(target=produce).start()
    received = []
    while (item := await asyncio.wait_for(sub.aget(), 30)) is not None:
        received.append(item)
    assert len(received) == 3
    assert fanout.subscriber_count == 0


def test_stats_measure_rate_bitrate_and_gop() -> None:
    meter = StatsMeter()
    for n in range(250):  # 10 s of 25 fps, 1000-byte packets, keyframe every second
        meter.add(_packet(n), arrived_at=2000.0 + n * 0.04)
    stats = meter.snapshot()
    assert abs(stats.fps - 25) < 0.5
    assert abs(stats.bitrate_kbps - 200) < 5  # 25 * 1000 B * 8
    assert stats.keyframe_interval_s == 1.0
    assert stats.packets_total == 250
    assert stats.last_packet_at == 2000.0 + 249 * 0.04


def test_overflow_keeps_stream_markers() -> None:
    fanout = PacketFanout()
    sub = fanout.subscribe("slow", maxsize=4)
    info = object()
    fanout.publish(StreamStarted(info))  # type: ignore[arg-type]
    for n in range(6):
        fanout.publish(_packet(n))
    first = sub.get(0)
    assert isinstance(first, StreamStarted) and first.info is info
    assert isinstance(sub.get(0), Gap)


def _blocked_reader(sub: Subscription) -> tuple[threading.Thread, list[object]]:
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(sub.get(timeout=60)), daemon=True)
    reader.start()
    return reader, got


def test_batching_subscriber_wakes_per_batch_keyframe_or_marker() -> None:
    fanout = PacketFanout()
    sub = fanout.subscribe("recorder", wake_every=4)
    reader, got = _blocked_reader(sub)
    for n in range(1, 4):  # three plain packets: below the batch, nobody is woken
        fanout.publish(_packet(n))
    reader.join(0.5)
    assert reader.is_alive() and not got
    fanout.publish(_packet(4))  # the fourth completes the batch
    reader.join(30)
    assert got == [_packet(1)]
    while sub.get(timeout=0) is not None:
        pass

    reader, got = _blocked_reader(sub)
    fanout.publish(_packet(25))  # a keyframe wakes at once
    reader.join(30)
    assert got == [_packet(25)]

    reader, got = _blocked_reader(sub)
    fanout.publish(StreamStopped(OfflineReason.STREAM_ENDED))  # so does a marker
    reader.join(30)
    assert got == [StreamStopped(OfflineReason.STREAM_ENDED)]


def test_unwoken_packets_are_read_at_the_consumers_poll() -> None:
    fanout = PacketFanout()
    sub = fanout.subscribe("recorder", wake_every=8)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(sub.get(timeout=0.5)), daemon=True)
    reader.start()
    fanout.publish(_packet(1))  # not woken for it: the poll's end returns it
    reader.join(30)
    assert got == [_packet(1)]
