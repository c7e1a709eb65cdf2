"""Scenario clips: script and ground truth, rendering, serving through the simulator, scoring."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import av
import numpy as np
import pytest

from camera_adapters.simulator import CameraSimulator
from camera_adapters.simulator.make_media import check_clip
from camera_adapters.simulator.simulator import ClipAnchor
from detectors.scenes import (
    CATALOGUE,
    Change,
    PestScript,
    Scenario,
    Violation,
    WorkerScript,
    footage_clip,
    ground_truth,
    render_scenario,
)
from detectors.scenes.catalogue import MIN_GAP_S, same_type_gaps
from detectors.scenes.scenario import VIOLATION_TYPES
from detectors.scenes.scoring import HubEvent, TruthSpan, score, wall_spans
from detectors.scenes.video import FPS, GOP_FRAMES, iter_frames
from tests.media import make_h264_mp4

OPTIONS = {
    "rtsp_transport": "tcp",
    "probesize": "32",
    "analyzeduration": "0",
    "timeout": "30000000",
}

# Three seconds, two workers and a rat: worker 1 drops hat and mask at 1 s for 1 s.
SHORT = Scenario(
    "short", duration_s=3, seed=5, room="cold_dish",
    workers=(
        WorkerScript(path=((0, 0.3, 0.8),)),
        WorkerScript(path=((0, 0.7, 0.8),), changes=(Change(1, 1, hat="none", mask=False),)),
    ),
    pests=(PestScript("rat", at_s=2, for_s=1, start=(0.1, 0.95), end=(0.4, 0.93)),),
)  # fmt: skip


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_scenario(SHORT, tmp_path_factory.mktemp("cache")).path


# -- the script ------------------------------------------------------------------------------


def test_script_round_trips_and_keys() -> None:
    for scenario in [SHORT, *CATALOGUE.values()]:
        assert Scenario.from_dict(scenario.to_dict()) == scenario
    assert SHORT.key() != Scenario.from_dict({**SHORT.to_dict(), "seed": 6}).key()
    assert SHORT.key(1) != SHORT.key(2)  # the renderer's version is part of the cache key
    with pytest.raises(ValueError, match="room"):
        Scenario("x", duration_s=3, seed=1, room="garage")
    with pytest.raises(ValueError, match="pest 0"):
        Scenario("x", duration_s=3, seed=1, pests=(PestScript("rat", 2, 4, (0, 0), (1, 1)),))


def test_ground_truth_follows_the_script_and_the_room() -> None:
    assert ground_truth(SHORT) == [
        Violation("no_chef_hat", 1.0, 2.0, worker=1),
        Violation("no_mask", 1.0, 2.0, worker=1),
        Violation("rat", 2.0, 3.0, pest=0),
    ]
    hot = Scenario.from_dict({**SHORT.to_dict(), "room": "hot_kitchen"})
    assert [v.type for v in ground_truth(hot)] == ["no_chef_hat", "rat"]  # masks not required
    # Walking in bare-headed: the violation starts once the head is in view.
    walk = Scenario("walk", duration_s=10, seed=1, workers=(
        WorkerScript(path=((0, 1.3, 0.8), (5, 0.5, 0.8)), hat="none"),
    ))  # fmt: skip
    (v,) = ground_truth(walk)
    assert v.type == "no_chef_hat" and 2.0 < v.start_s < 2.6 and v.end_s == 10.0
    walker = walk.workers[0]
    assert walker.in_view(v.start_s, head_only=True)
    assert not walker.in_view(v.start_s - 0.04, head_only=True)
    assert not walker.in_view(v.start_s)  # the arms are not in the picture yet


def test_catalogue_covers_the_issue() -> None:
    truths = {name: ground_truth(s) for name, s in CATALOGUE.items()}
    assert {v.type for t in truths.values() for v in t} == set(VIOLATION_TYPES)
    night = [s for s in CATALOGUE.values() if s.night]
    assert any(p.kind == "rat" for s in night for p in s.pests)  # rats at night, in IR
    assert any(len(s.workers) >= 3 and truths[s.name] for s in CATALOGUE.values())
    quiet = [s for s in CATALOGUE.values() if not truths[s.name]]
    assert any(s.watch_s >= 600 and s.night for s in quiet)
    assert any(s.watch_s >= 600 and not s.night and s.workers for s in quiet)
    hat_off = truths["hat-off"]  # "worker 2 takes the hat off at 00:20 for 15 s"
    assert hat_off == [Violation("no_chef_hat", 20.0, 35.0, worker=1)]
    assert truths["rat-crossing"] == [Violation("rat", 45.0, 49.0, pest=0)]
    for scenario in CATALOGUE.values():  # one event per violation, even across the loop seam
        assert all(gap >= MIN_GAP_S for gap in same_type_gaps(scenario)), scenario.name


# -- rendering -------------------------------------------------------------------------------


def test_clip_is_deterministic_cached_and_in_the_simulators_format(
    short_clip: Path, tmp_path: Path
) -> None:
    again = render_scenario(SHORT, tmp_path)
    assert again.path.read_bytes() == short_clip.read_bytes()
    assert check_clip(again.path, gop=GOP_FRAMES) == 3 * FPS  # 1 s closed GOPs, SPS/PPS in band
    with av.open(str(again.path), format="h264") as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.width, ctx.height, ctx.profile) == (1280, 720, "Main")
    assert again.truth == tuple(ground_truth(SHORT))
    assert len(again.boxes_path.read_text().splitlines()) == 3 * FPS
    written = again.path.stat().st_mtime_ns
    assert render_scenario(SHORT, tmp_path) == again
    assert again.path.stat().st_mtime_ns == written  # from the cache, not rendered again


def test_a_changed_script_replaces_its_cached_clip(tmp_path: Path) -> None:
    first = render_scenario(Scenario("p", duration_s=1, seed=1), tmp_path)
    # A name that extends the first one's is another scenario: its clip stays.
    other = render_scenario(Scenario("p-2", duration_s=1, seed=1), tmp_path)
    changed = render_scenario(Scenario("p", duration_s=1, seed=2), tmp_path)
    assert len(list(tmp_path.iterdir())) == 6  # clip, boxes and record of each
    assert changed.path.is_file() and other.path.is_file() and not first.path.exists()
    assert not first.boxes_path.exists()


def test_frames_show_what_the_script_says() -> None:
    frames = list(iter_frames(SHORT))
    classes = [{b.cls for b in boxes} for _, boxes in frames]
    assert "head_bare" not in classes[FPS - 1] and "head_bare" in classes[FPS]
    assert "face_bare" in classes[FPS] and "head_bare" not in classes[2 * FPS]
    assert "rat" not in classes[2 * FPS - 1] and "rat" in classes[2 * FPS]
    people = [sum(b.cls == "person" for b in boxes) for _, boxes in frames]
    assert set(people) == {2}
    # The same kitchen throughout, the workers moving a little, fresh noise in every frame.
    a, b = frames[0][0].astype(int), frames[12][0].astype(int)
    assert 0 < np.abs(a - b).mean() < 8
    night = Scenario("n", duration_s=1, seed=3, room="storage", night=True)
    planes, _ = next(iter_frames(night))
    assert (planes[720:] == 128).all()  # IR: no colour at all


def test_footage_becomes_a_clip_at_its_own_size(tmp_path: Path) -> None:
    source = make_h264_mp4(tmp_path / "src.mp4", seconds=2.5, fps=10, size=(320, 240))
    clip = footage_clip(source, tmp_path / "cache")
    assert check_clip(clip, gop=GOP_FRAMES) == 2 * FPS  # whole seconds at 25 fps
    with av.open(str(clip), format="h264") as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (320, 240)
    assert footage_clip(source, tmp_path / "cache") == clip


# -- served by the simulator -----------------------------------------------------------------


def test_simulator_serves_the_clip_and_tells_when_each_pass_began(short_clip: Path) -> None:
    with CameraSimulator() as sim:
        url = sim.add_camera("scenario", clip=short_clip, sub_stream=False)
        assert sim.timeline("scenario") == []  # nothing plays before a client does
        opened = time.time()
        with av.open(url, options=OPTIONS) as container:
            returned = time.time()
            packets, sizes = [], set()
            for packet in container.demux(video=0):
                if packet.size:
                    packets.append(packet)
                    # From the pictures: with so small a probe the stream's own parameters
                    # may still be unset when a loaded box opens it.
                    sizes |= {(f.width, f.height) for f in packet.decode()}
                if len(packets) >= 2 * 3 * FPS + 10:  # into the third pass
                    break
        anchors = sim.timeline("scenario")
    assert sizes == {(1280, 720)}
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert {b - a for a, b in itertools.pairwise(keys)} == {GOP_FRAMES}
    assert [a.frame for a in anchors] == [0, 0, 0] and len({a.feeder for a in anchors}) == 1
    assert opened - 0.5 < anchors[0].wall_s < returned + 0.5  # it began while we opened it
    steps = [b.wall_s - a.wall_s for a, b in itertools.pairwise(anchors)]
    assert steps == pytest.approx([3.0, 3.0], abs=0.01)  # one pass per clip length


# -- scoring (pure) --------------------------------------------------------------------------


def _anchor(wall: float, frame: int = 0, feeder: int = 1) -> ClipAnchor:
    return ClipAnchor(wall, frame, feeder)


def test_wall_spans_follow_passes_jumps_and_new_pipelines() -> None:
    hat = [Violation("no_chef_hat", 2.0, 4.0, worker=1)]
    anchors = [_anchor(1000.0), _anchor(1010.0), _anchor(1020.0)]
    spans = wall_spans("cam", hat, anchors, fps=25, frames=250)
    assert [(s.start, s.end) for s in spans] == [(1002, 1004), (1012, 1014), (1022, 1024)]
    assert spans[0] == TruthSpan("cam", "no_chef_hat", 1002.0, 1004.0, "worker 1", clip_s=2.0)
    # A stalled simulator skips timestamps: frames after the jump play later.
    late = [Violation("rat", 5.0, 6.0, pest=0)]
    jumped = wall_spans("cam", late, [_anchor(0.0), _anchor(6.5, 100)], fps=25, frames=250)
    assert [(s.start, s.end) for s in jumped] == [(6.5 + 1.0, 6.5 + 2.0)]
    # The mount was prepared again (pipeline 2 from frame 0): pipeline 1 stopped then.
    restarted = [_anchor(0.0), _anchor(10.0), _anchor(13.0, feeder=2)]
    spans = wall_spans("cam", late, restarted, fps=25, frames=250)
    assert [s.start for s in spans] == [5.0, 18.0]  # not 15.0: pipeline 1 was gone by then
    # A violation over the loop seam is one interval, not two.
    seam = [Violation("no_mask", 8.0, 10.0, worker=0), Violation("no_mask", 0.0, 2.0, worker=0)]
    spans = wall_spans("cam", seam, [_anchor(100.0), _anchor(110.0)], fps=25, frames=250)
    assert [(s.start, s.end) for s in spans] == [(100.0, 102.0), (108.0, 112.0), (118.0, 120.0)]


def _span(start: float, end: float, vtype: str = "rat", camera: str = "cam") -> TruthSpan:
    return TruthSpan(camera, vtype, start, end)


def _event(start: float, vtype: str = "rat", camera: str = "cam", n: int = 0) -> HubEvent:
    return HubEvent(f"e{start}-{n}", camera, vtype, start, seen=start + 0.5)


def test_score_matches_duplicates_and_false_positives() -> None:
    spans = [_span(10, 14), _span(40, 44), _span(70, 75, "no_mask"), _span(200, 210)]
    events = [
        _event(12.0),  # true, 2 s late
        _event(13.5, n=1),  # a second event for the same rat: duplicate
        _event(48.0),  # 4 s after the end: still within the tolerance, 8 s latency
        _event(72.0, "no_mask", camera="other"),  # another camera: matches nothing
        _event(100.0),  # nothing happened then
        _event(69.5, "no_mask"),  # 0.5 s early: within the clock tolerance
    ]
    result = score(events, spans, until=120.0)
    assert (result.events, result.true_positives) == (6, 3)
    assert (result.duplicates, result.unmatched) == (1, 2)
    assert result.precision == pytest.approx(0.5)
    assert len(result.due) == 3 and result.recall == 1.0  # the 200 s rat is not due yet
    assert sorted(result.latencies) == [-0.5, 2.0, 8.0]
    assert result.latency(50) == 2.0 and result.latency(95) == pytest.approx(7.4)
    assert result.latency(50, seen=True) == 2.5
    missed = score([_event(12.0)], spans, until=300.0)
    assert missed.recall == 0.25 and missed.missed == (spans[1], spans[2], spans[3])
    assert score([], [], until=1.0).precision is None
    assert score([_event(3.0)], [_span(10, 14)], until=30.0).true_positives == 0  # 7 s early
