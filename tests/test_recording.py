"""Copy-mode segment recording, finalizing and crash recovery on real H.264."""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import pytest

from camera_adapters.packets import EncodedPacket
from hub.ingest.fanout import PacketFanout, StreamStarted, StreamStopped
from hub.recording.recorder import SegmentRecorder
from storage.keys import segment_key
from storage.mp4 import FragmentedWriter, Mp4Error, finalize
from storage.spool import SegmentMeta, Spool
from tests.media import read_packets

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _probe(path: Path) -> tuple[float, int, str, int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = sum(1 for p in c.demux(s) if p.size)
        return float(s.duration * s.time_base), frames, s.codec_context.name, s.codec_context.width


def test_segment_key_is_readable_local_time() -> None:
    start = datetime(2026, 11, 29, 5, 30, 1, 250000, tzinfo=UTC)
    key = segment_key("sch-1", "cam-1", start, SHANGHAI)
    assert key == "recordings/sch-1/cam-1/2026-11-29/13/20261129T133001.250+0800.mp4"


def test_fragmented_part_finalizes_to_faststart_copy(tmp_path: Path, clip_10s: Path) -> None:
    info, packets = read_packets(clip_10s)
    packets = list(packets)
    writer = FragmentedWriter(tmp_path / "a.part.mp4", info, packets[0])
    for p in packets:
        writer.write(p)
    writer.close()
    done = finalize(tmp_path / "a.part.mp4", tmp_path / "a.mp4")
    duration, frames, codec, width = _probe(done.path)
    assert abs(duration - 10.0) < 0.05
    assert frames == 250 and codec == "h264" and width == 320
    assert abs(done.duration_s - 10.0) < 0.05
    data = done.path.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # faststart: index before the media
    # Copy mode: the very same compressed bytes come back out.
    with av.open(str(done.path)) as c:
        first = next(p for p in c.demux(c.streams.video[0]) if p.size)
        assert bytes(first) == packets[0].data


def test_truncated_part_recovers_whole_fragments(tmp_path: Path, clip_10s: Path) -> None:
    info, packets = read_packets(clip_10s)
    part = tmp_path / "b.part.mp4"
    packets = list(packets)
    writer = FragmentedWriter(part, info, packets[0])
    for p in packets:
        writer.write(p)
    writer.close()
    with part.open("r+b") as f:  # a crash mid-write: cut the file in the 8th second
        f.truncate(int(part.stat().st_size * 0.75))
    done = finalize(part, tmp_path / "b.mp4")
    assert 5.0 <= done.duration_s < 9.0
    assert _probe(done.path)[1] == round(done.duration_s * 25)


def test_part_without_a_fragment_is_an_error(tmp_path: Path) -> None:
    part = tmp_path / "c.part.mp4"
    part.write_bytes(b"\x00\x00\x00\x18ftypiso5")
    with pytest.raises(Mp4Error):
        finalize(part, tmp_path / "c.mp4")
    assert not (tmp_path / "c.mp4").exists()


def _record(spool: Spool, items: list[object], segment_seconds: float) -> list[SegmentMeta]:
    fanout = PacketFanout()
    finished: list[SegmentMeta] = []
    recorder = SegmentRecorder(
        camera_id="cam-1",
        school_id="sch-1",
        subscription=fanout.subscribe("recorder", maxsize=10_000),
        spool=spool,
        segment_seconds=segment_seconds,
        on_segment=finished.append,
    )
    recorder.start()
    for item in items:
        fanout.publish(item)  # type: ignore[arg-type]
    recorder.stop()
    return finished


def test_recorder_cuts_on_keyframes_without_gaps(tmp_path: Path, clip_10s: Path) -> None:
    info, packets = read_packets(clip_10s)
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    metas = _record(spool, [StreamStarted(info), *packets], segment_seconds=3)
    # 10 s cut at the first keyframe at or after 3 s: 3 + 3 + 3 + 1
    assert [round((m.end_at - m.start_at).total_seconds(), 2) for m in metas] == [3, 3, 3, 1]
    for a, b in itertools.pairwise(metas):
        assert b.start_at - a.end_at == timedelta(0)  # back to back
    for meta in metas:
        path = spool.ready_path(meta.object_key)
        assert path.stat().st_size == meta.bytes
        sidecar = json.loads(path.with_name(path.name + ".json").read_text())
        assert sidecar["sha256"] == meta.sha256
    assert not list(spool.parts_dir.rglob("*.mp4"))  # nothing left half-done


def test_recorder_waits_for_a_keyframe_after_a_stream_restart(
    tmp_path: Path, clip_10s: Path
) -> None:
    info, packets = read_packets(clip_10s)
    packets = list(packets)
    later = [
        EncodedPacket(
            p.data, p.pts, p.dts, p.duration, p.time_base, p.is_keyframe, p.wall_time + 100
        )
        for p in packets[10:60]  # starts mid-GOP: frames 10-24 cannot be decoded alone
    ]
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    items = [
        StreamStarted(info),
        *packets[:50],
        StreamStopped("timeout"),
        StreamStarted(info),
        *later,
    ]
    metas = _record(spool, items, segment_seconds=60)
    assert len(metas) == 2
    assert round((metas[0].end_at - metas[0].start_at).total_seconds(), 2) == 2.0
    assert round((metas[1].end_at - metas[1].start_at).total_seconds(), 2) == 1.4  # 25..59


def test_spool_recovers_parts_left_by_a_crash(tmp_path: Path, clip_10s: Path) -> None:
    info, packets = read_packets(clip_10s)
    packets = list(packets)
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    start = datetime.fromtimestamp(packets[0].wall_time, UTC)
    part = spool.new_part("cam-1", "sch-1", start)
    writer = FragmentedWriter(part, info, packets[0])
    for p in packets:
        writer.write(p)
    writer.close()
    shutil.copy(part, tmp_path / "whole.mp4")
    with part.open("r+b") as f:
        f.truncate(part.stat().st_size // 2)
    broken = spool.new_part("cam-2", "sch-1", start)
    broken.write_bytes(b"garbage")

    recovered, damaged = spool.recover_parts()

    assert len(recovered) == 1 and recovered[0].recovered
    assert recovered[0].camera_id == "cam-1" and recovered[0].start_at == start
    assert spool.ready_path(recovered[0].object_key).exists()
    assert [d.name for d in damaged] == [broken.name]
    assert damaged[0].exists() and damaged[0].read_bytes() == b"garbage"
    assert not list(spool.parts_dir.rglob("*.part.*"))
    assert spool.ready_segments() == recovered
