"""The sampler's detection side: one decode per keyframe serves health and the detector;
full-resolution BGR only for the mailbox that asks; every-frame decoding only when the
detector wants frames more often than the stream has keyframes."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.ingest.fanout import PacketFanout, StreamStarted
from hub.sampling import FrameSampler, SampledFrame
from tests.media import make_h264_mp4, read_packets

START = 1_700_000_000.0


def _run(
    path: Path, *, every_frame: bool, late: Callable[[int], float] = lambda k: 0.0
) -> tuple[FrameSampler, list[SampledFrame], list[SampledFrame]]:
    """`late(k)`: seconds the k-th keyframe reaches the sampler after its time."""
    info, packets = read_packets(path, start_wall=START)
    clock = [START]
    keyframes = itertools.count()
    sampler = FrameSampler("cam", PacketFanout(), interval_s=4.0, now=lambda: clock[0])
    health = sampler.subscribe("health", maxsize=1000)
    detector = sampler.subscribe(
        "detector", maxsize=1000, interval_s=1.0, full_color=True, every_frame=every_frame
    )
    # Driven on this thread (the sampler's thread would do exactly this per item).
    sampler._start_stream(StreamStarted(info))
    for packet in packets:
        clock[0] = packet.wall_time + (late(next(keyframes)) if packet.is_keyframe else 0.0)
        sampler._packet(packet)
    return sampler, health.drain(), detector.drain()


@pytest.fixture(scope="module")
def gop2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of 320x240 25 fps, a keyframe every 2 s."""
    return make_h264_mp4(tmp_path_factory.mktemp("m") / "gop2.mp4", seconds=12, gop=50)


@pytest.fixture(scope="module")
def gop1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_h264_mp4(tmp_path_factory.mktemp("m") / "gop1.mp4", seconds=12, gop=25)


def test_keyframes_only_when_the_gop_is_short_enough(gop1: Path) -> None:
    sampler, health, detector = _run(gop1, every_frame=True)
    assert not sampler.every_frame
    assert all(f.keyframe for f in detector) and len(detector) >= 11  # 1 Hz from 1 s GOPs
    assert sampler.decoded == len(detector)  # health's frames are the detector's, not extra
    assert {id(f) for f in health} <= {id(f) for f in detector}
    assert 3 <= len(health) <= 4
    full = detector[0].full_bgr()
    assert full is not None and full.shape == (240, 320, 3)
    assert health[0].picture is None or health[0] in detector  # nobody decodes twice


def test_every_frame_fallback_when_keyframes_are_too_far_apart(gop2: Path) -> None:
    sampler, _health, detector = _run(gop2, every_frame=True)
    assert sampler.every_frame
    times = [f.wall_time - START for f in detector]
    assert len(detector) >= 10  # ~1 Hz although keyframes come every 2 s
    assert any(not f.keyframe for f in detector)
    gaps = [b - a for a, b in itertools.pairwise(times[2:])]
    assert max(gaps) <= 1.1, times
    assert sampler.pictures < 0.6 * 12 * 25  # each GOP only as far as its second sample
    # The picture decoded mid-GOP is the right one (the moving block shows the frame number).
    # Converted only now, after the decoder went on: the picture held is still this one.
    middle = next(f for f in detector if not f.keyframe)
    pixels = middle.full_bgr()
    assert pixels is not None and pixels.mean() > 10


def test_a_late_keyframe_does_not_cost_the_next_sample(gop1: Path) -> None:
    # Every other keyframe reaches the sampler 0.4 s late (a loaded box): every keyframe is
    # still a sample, as the rate is kept on the mailbox's grid, not from each arrival.
    _s, _h, detector = _run(gop1, every_frame=False, late=lambda k: 0.4 if k % 2 else 0.0)
    assert len(detector) >= 11  # 12 keyframes, 1 Hz asked


def test_without_the_fallback_only_keyframes(gop2: Path) -> None:
    sampler, _health, detector = _run(gop2, every_frame=False)
    assert not sampler.every_frame
    assert all(f.keyframe for f in detector) and 5 <= len(detector) <= 6
