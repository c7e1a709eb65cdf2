"""Live view parts without a network: the passthrough track, idle rule, sub-stream leases."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from camera_adapters.errors import OfflineReason
from camera_adapters.packets import EncodedPacket, StreamInfo
from camera_adapters.simulator import MEDIA_DIR
from hub.ingest.fanout import Gap, PacketFanout, StreamStarted, StreamStopped
from hub.ingest.substream import SubStreams
from hub.ingest.supervisor import CameraSource, CameraSupervisor
from tests.hubconfig import load_test_config
from tests.waiting import eventually
from web.live.track import PassthroughTrack, annexb_parameter_sets, has_sps
from web.live.viewers import Viewer, is_idle

SPS_PPS = b"\x00\x00\x00\x01\x67\x42\xc0\x1f\xaa\x00\x00\x00\x01\x68\xce\x3c\x80"
INFO = StreamInfo("h264", 640, 360, Fraction(1, 90000), 25.0, codec_header=b"", extradata=b"")
# The simulator's real sub-stream clip: Annex B, as RTSP delivers it, keyframe every 50.
CLIP = MEDIA_DIR / "people-360p.h264"


def _clip_packets(count: int) -> list[EncodedPacket]:
    with av.open(str(CLIP), format="h264") as container:
        raw = [bytes(p) for p, _ in zip(container.demux(), range(count), strict=False)]
    return [
        EncodedPacket(
            bytes(d), n * 3600, n * 3600, 3600, Fraction(1, 90000), n % 50 == 0, 1e3 + n * 0.04
        )
        for n, d in enumerate(raw)
    ]


def _packet(n: int, *, key: bool) -> EncodedPacket:
    data = b"\x00\x00\x00\x01\x65\x88" if key else b"\x00\x00\x00\x01\x41\x9a"
    return EncodedPacket(data, n * 3600, n * 3600, 3600, Fraction(1, 90000), key, 1e3 + n * 0.04)


def _track() -> tuple[PacketFanout, PassthroughTrack]:
    fanout = PacketFanout()
    return fanout, PassthroughTrack(fanout.subscribe("viewer:t", maxsize=10))


def test_parameter_sets_from_annexb_and_avcc() -> None:
    assert annexb_parameter_sets(SPS_PPS) == SPS_PPS
    sps, pps = b"\x67\x42\xc0\x1f\xaa", b"\x68\xce\x3c\x80"
    avcc = bytes([1, 0x42, 0xC0, 0x1F, 0xFF, 0xE1, 0, len(sps)]) + sps
    avcc += bytes([1, 0, len(pps)]) + pps
    assert annexb_parameter_sets(avcc) == SPS_PPS
    assert annexb_parameter_sets(avcc[:9]) == b""  # truncated: rely on in-band SPS
    assert has_sps(SPS_PPS) and not has_sps(b"\x00\x00\x01\x65\x88")


def test_track_starts_at_a_keyframe_and_passes_bytes_through() -> None:
    _fanout, track = _track()
    assert track.accept(StreamStarted(INFO)) is None
    packets = _clip_packets(80)[3:]
    out = [(p, a) for p in packets if (a := track.accept(p)) is not None]
    assert out[0][0] is packets[47] and out[0][0].is_keyframe  # skipped up to the keyframe
    assert track.stats.skipped == 47 and track.stats.frames_sent == len(out) == 30
    for original, packet in out:
        assert bytes(packet) == original.data  # in-band SPS/PPS: the bytes go out untouched
        assert packet.time_base == Fraction(1, 90000)
        assert packet.pts == round((original.wall_time - out[0][0].wall_time) * 90000)


def test_track_adds_missing_parameter_sets_to_keyframes() -> None:
    _fanout, track = _track()
    track.accept(StreamStarted(replace(INFO, extradata=SPS_PPS)))
    first = track.accept(_packet(0, key=True))
    assert first is not None and bytes(first) == SPS_PPS + b"\x00\x00\x00\x01\x65\x88"
    second = track.accept(_packet(1, key=False))
    assert second is not None and bytes(second) == b"\x00\x00\x00\x01\x41\x9a"


def test_track_waits_for_a_keyframe_after_gaps_and_reconnects() -> None:
    _fanout, track = _track()
    track.accept(StreamStarted(INFO))
    assert track.accept(_packet(0, key=True)) is not None
    assert track.accept(_packet(1, key=False)) is not None
    for marker in (Gap(12), StreamStopped(OfflineReason.STREAM_ENDED)):
        assert track.accept(marker) is None
        assert track.accept(_packet(2, key=False)) is None
        resumed = track.accept(_packet(50, key=True))
        assert resumed is not None and resumed.pts == 50 * 3600  # the wall clock runs on
    assert track.stats.gaps == 1


def test_track_skips_streams_browsers_cannot_take() -> None:
    _fanout, track = _track()
    track.accept(StreamStarted(replace(INFO, codec="hevc")))
    assert track.accept(_packet(0, key=True)) is None


async def test_track_recv_ends_when_the_viewer_stops() -> None:
    fanout, track = _track()
    fanout.publish(StreamStarted(INFO))
    for packet in _clip_packets(3):
        fanout.publish(packet)
    first = await track.recv()
    assert has_sps(bytes(first))
    track.stop()
    assert fanout.subscriber_count == 0
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_idle_clock_starts_with_the_answer_not_the_offer() -> None:
    # A negotiation slower than the idle timeout (ICE gathering on a loaded box) must not be
    # closed under it; an answered viewer that never connects is.
    _fanout, track = _track()
    pc = RTCPeerConnection()
    try:
        viewer = Viewer("v", "cam-1", "main", pc, track, 0.0, 0.0)
        assert not is_idle(viewer, now=100.0, timeout_s=15.0)
        viewer.answer_sdp = "v=0"
        viewer.last_connected_at = 90.0
        assert not is_idle(viewer, now=100.0, timeout_s=15.0)
        assert is_idle(viewer, now=105.0, timeout_s=15.0)
        viewer.connected = True
        assert not is_idle(viewer, now=200.0, timeout_s=15.0)
    finally:
        await pc.close()
        track.stop()


class _FakeSupervisor:
    """Stands in for CameraSupervisor at the SubStreams seam: records start/stop."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.fanout = PacketFanout()
        self.running = False
        self.starts = 0

    def start(self) -> None:
        self.running = True
        self.starts += 1

    async def stop(self) -> None:
        await asyncio.sleep(0)
        self.running = False


async def test_substreams_one_pull_per_camera_while_leased() -> None:
    made: list[_FakeSupervisor] = []

    def make(camera_id: str, source: CameraSource) -> CameraSupervisor:
        made.append(_FakeSupervisor(camera_id))
        return made[-1]  # type: ignore[return-value]

    linger_s = 1.0
    subs = SubStreams({"cam": CameraSource(rtsp_url="rtsp://x/sub")}, make, linger_s=linger_s)
    assert subs.available("cam") and not subs.available("other")
    first, second = subs.acquire("cam"), subs.acquire("cam")
    assert first is second and len(made) == 1 and subs.active() == {"cam": 2}
    subs.release("cam")
    subs.release("cam")
    await asyncio.sleep(0)
    assert made[0].running  # lingering: a quick return reuses the session
    subs.acquire("cam")
    await asyncio.sleep(linger_s * 1.5)  # past the linger that the return called off
    assert made[0].running and len(made) == 1
    subs.release("cam")
    await eventually(lambda: not made[0].running, within=30, what="the linger to end the pull")
    assert subs.active() == {}
    subs.acquire("cam")
    assert len(made) == 2 and made[1].running
    await subs.stop()
    assert not made[1].running
    with pytest.raises(RuntimeError):
        subs.acquire("cam")


def test_substreams_from_config_only_for_rtsp_sub_urls(tmp_path: Path) -> None:
    config = load_test_config(
        tmp_path,
        [
            "{id: a, name: A, rtsp_url: 'rtsp://10.0.0.1/main', sub_rtsp_url: 'rtsp://10.0.0.1/s'}",
            "{id: b, name: B, rtsp_url: 'rtsp://10.0.0.2/main'}",
        ],
    )
    subs = SubStreams.from_config(config)
    assert subs.available("a") and not subs.available("b")


def test_public_surface_of_web_live() -> None:
    import web.live

    assert sorted(web.live.__all__) == [
        "BadOffer",
        "HubStreams",
        "LiveError",
        "LiveLimits",
        "LiveStopped",
        "LiveViewers",
        "PassthroughTrack",
        "StreamKind",
        "StreamLeases",
        "TrackStats",
        "UnknownCamera",
        "UnsupportedCodec",
        "Viewer",
        "ViewerLimitReached",
        "live_viewers_for",
    ]
