"""hub.detection rules as pure logic: tracker, parts on persons, k of n, zones, hours,
cooldown. Samples at 1 Hz on a 1280x720 picture; times are plain seconds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from detectors.detection import Detection
from hub.config import HubConfig
from hub.config.detection import DetectionConfig, ViolationType, Zone
from hub.detection.hours import HygieneHours
from hub.detection.judge import CameraJudge, JudgeSettings
from hub.detection.rules import Closed, Opened, Transition, Updated
from hub.detection.tracker import Tracker
from tests.configdata import district

SIZE = (1280, 720)
HAT, MASK, GLOVES, RAT = (
    ViolationType.NO_CHEF_HAT,
    ViolationType.NO_MASK,
    ViolationType.NO_GLOVES,
    ViolationType.RAT,
)


def judge(*, rules: Iterable[ViolationType] = tuple(ViolationType), **over: Any) -> CameraJudge:
    cfg = DetectionConfig.model_validate({k: v for k, v in over.items() if k != "zones"})
    return CameraJudge(
        JudgeSettings(
            rules=frozenset(rules),
            zones=tuple(over.get("zones", ())),
            persistence=cfg.persistence,
            min_score=lambda t: (r.min_confidence or 0.4) if (r := cfg.types.get(t)) else 0.4,
            cooldown_s=cfg.cooldown_s,
            update_every_s=cfg.update_every_s,
            track_max_age_s=cfg.track_max_age_s,
        )
    )


def worker(x: float, *, bare: bool = True, score: float = 0.8, y: float = 200) -> list[Detection]:
    """A person box 120x360 at x, y with its head (bare or in a hat) at the top."""
    head = "head_bare" if bare else "head_chef_hat"
    return [
        Detection("person", 0.9, x, y, x + 120, y + 360),
        Detection(head, score, x + 35, y + 5, x + 85, y + 60),
    ]


def run(
    j: CameraJudge, frames: Iterable[list[Detection]], *, start: float = 0.0, **kw: Any
) -> list[Transition]:
    out: list[Transition] = []
    for i, dets in enumerate(frames):
        out += j.sample(start + i, dets, SIZE, **kw)
    return out


def kinds(out: list[Transition]) -> list[str]:
    return [type(t).__name__ for t in out]


# -- k of n ------------------------------------------------------------------------------


def test_three_of_five_raises_at_the_third_sighting_and_starts_at_the_first() -> None:
    j = judge()
    frames = [worker(100), worker(100, bare=False), worker(100), worker(100, bare=False)]
    assert run(j, frames) == []  # two sightings in four samples
    out = j.sample(4, worker(100), SIZE)
    assert kinds(out) == ["Opened"]
    opened = out[0]
    assert isinstance(opened, Opened)
    assert (opened.vtype, opened.started_at, opened.at) == (HAT, 0, 4)
    assert opened.track.startswith("person-")
    assert {d.cls for d in opened.evidence} == {"person", "head_bare"}
    assert 0.79 < opened.confidence < 0.81


def test_an_isolated_early_sighting_helps_raise_but_does_not_start_the_event() -> None:
    j = judge()
    frames = [worker(100), worker(100, bare=False), worker(100, bare=False), worker(100)]
    assert run(j, frames) == []
    out = j.sample(4, worker(100), SIZE)  # sightings at 0, 3, 4: three of five
    assert [(t.started_at, t.at) for t in out if isinstance(t, Opened)] == [(3, 4)]


def test_k_and_n_are_configurable_per_type() -> None:
    j = judge(types={"no_chef_hat": {"k": 1, "n": 1}})
    assert kinds(j.sample(0, worker(100), SIZE)) == ["Opened"]
    strict = judge(k=5, n=5)
    assert run(strict, [worker(100)] * 4) == []
    assert kinds(strict.sample(4, worker(100), SIZE)) == ["Opened"]


def test_a_single_false_detection_never_raises() -> None:
    j = judge()
    frames = [worker(100, bare=i in (3, 9)) for i in range(20)]
    assert run(j, frames) == []


def test_low_scores_and_outscored_bare_heads_do_not_count() -> None:
    j = judge(types={"no_chef_hat": {"min_confidence": 0.6}})
    assert run(j, [worker(100, score=0.5)] * 8) == []
    both = [*worker(100, bare=False, score=0.9), Detection("head_bare", 0.7, 136, 206, 184, 258)]
    assert run(judge(), [both] * 8) == []
    # A cap the detector also calls a bare head underneath, about as sure: not evidence.
    cap = Detection("head_chef_hat", 0.44, 135, 146, 189, 261)
    under = Detection("head_bare", 0.51, 133, 211, 187, 269)
    assert run(judge(), [[worker(100)[0], cap, under]] * 8) == []


# -- one worker, ten minutes: one event -------------------------------------------------


def test_ten_minutes_without_a_hat_is_one_event_updated_then_ended() -> None:
    j = judge()
    # 600 s bare (the detector misses every 7th sample and the person every 11th), then hat.
    frames = []
    for i in range(600):
        dets = worker(100 + (i % 40))  # shuffling about
        if i % 7 == 3:
            dets = [dets[0]]
        if i % 11 == 5:
            dets = dets[1:]
        frames.append(dets)
    frames += [worker(100, bare=False)] * 120
    out = run(j, frames)
    opened = [t for t in out if isinstance(t, Opened)]
    closed = [t for t in out if isinstance(t, Closed)]
    updates = [t for t in out if isinstance(t, Updated)]
    assert len(opened) == 1 and len(closed) == 1
    assert opened[0].started_at == 0
    assert closed[0].key == opened[0].key
    assert closed[0].ended_at == 599  # the last sighting, not the end of the cooldown
    assert 50 <= len(updates) <= 61  # about every update_every_s (10 s), not every sample
    assert all(u.key == opened[0].key for u in updates)
    assert not j.rules.open_count


def test_back_within_cooldown_continues_after_cooldown_is_new() -> None:
    j = judge(cooldown_s=30)
    out = run(j, [worker(100)] * 10 + [worker(100, bare=False)] * 20 + [worker(100)] * 10)
    assert kinds(out).count("Opened") == 1 and "Closed" not in kinds(out)
    out = run(j, [worker(100, bare=False)] * 40 + [worker(100)] * 5, start=40)
    assert kinds(out).count("Closed") == 1 and kinds(out).count("Opened") == 1
    closed = next(t for t in out if isinstance(t, Closed))
    assert closed.ended_at == 39


def test_a_worker_lost_and_found_as_a_new_track_continues_the_event() -> None:
    j = judge(track_max_age_s=3)
    out = run(j, [worker(100)] * 10 + [[]] * 8 + [worker(700)] * 10)
    assert kinds(out).count("Opened") == 1
    last = [t for t in out if isinstance(t, Updated)][-1]
    assert len(last.tracks) == 2  # the event knows both tracks
    assert not [t for t in out if isinstance(t, Closed)]


def test_two_workers_without_hats_at_once_are_two_events() -> None:
    j = judge()
    out = run(j, [worker(100) + worker(800)] * 6)
    opened = [t for t in out if isinstance(t, Opened)]
    assert len(opened) == 2 and len({o.track for o in opened}) == 2


def test_a_camera_gone_quiet_still_ends_its_events_after_the_cooldown() -> None:
    j = judge(cooldown_s=30)
    run(j, [worker(100)] * 6)
    assert j.idle(20) == []  # within the cooldown of the last sighting (5)
    assert [(type(t).__name__, getattr(t, "ended_at", None)) for t in j.idle(40)] == [("Closed", 5)]


def test_close_all_ends_open_violations_at_their_last_sighting() -> None:
    j = judge()
    run(j, [worker(100)] * 6)
    closed = j.close_all()
    assert [(c.vtype, c.ended_at) for c in closed] == [(HAT, 5)]


# -- parts on persons, tracking ---------------------------------------------------------


def test_parts_belong_to_the_person_holding_them() -> None:
    # Two overlapping workers; only the right one (x 180..300) is bare-headed.
    left = Detection("person", 0.9, 100, 200, 240, 560)
    right = Detection("person", 0.9, 180, 190, 300, 560)
    hat = Detection("head_chef_hat", 0.9, 145, 205, 195, 260)
    bare = Detection("head_bare", 0.8, 215, 195, 265, 250)
    j = judge()
    out = run(j, [[left, right, hat, bare]] * 5)
    opened = [t for t in out if isinstance(t, Opened)]
    assert len(opened) == 1
    person = next(d for d in opened[0].evidence if d.cls == "person")
    assert person == right


def test_gloves_and_masks_on_a_person() -> None:
    person = Detection("person", 0.9, 100, 200, 300, 600)
    hands = [
        Detection("hand_gloved", 0.8, 110, 400, 140, 430),
        Detection("hand_bare", 0.7, 260, 400, 290, 430),
    ]
    face = Detection("face_bare", 0.8, 180, 240, 220, 270)
    hat = Detection("head_chef_hat", 0.9, 170, 200, 230, 260)
    j = judge()
    out = run(j, [[person, hat, face, *hands]] * 5)
    assert sorted(t.vtype for t in out if isinstance(t, Opened)) == sorted([MASK, GLOVES])
    only_hat = judge(rules=[HAT])  # a hot kitchen: masks and gloves not required
    assert run(only_hat, [[person, hat, face, *hands]] * 5) == []


def test_a_part_the_detector_finds_without_its_person_still_counts() -> None:
    head = Detection("head_bare", 0.8, 500, 100, 550, 160)
    out = run(judge(), [[head]] * 3)
    assert [(t.vtype, t.track.split("-")[0]) for t in out if isinstance(t, Opened)] == [
        (HAT, "head")
    ]
    # ... and a person missed for a sample keeps its parts (its last box holds them).
    j = judge()
    frames = [worker(100), worker(100)[1:], worker(100)]
    out = run(j, frames)
    assert [t.track.split("-")[0] for t in out if isinstance(t, Opened)] == ["person"]


def test_tracker_keeps_ids_of_walkers_and_follows_a_fast_rat() -> None:
    tracker = Tracker(max_age_s=3)
    ids: list[list[str]] = []
    for i in range(10):  # two workers crossing, 40 px a sample each
        a = Detection("person", 0.9, 100 + 40 * i, 200, 220 + 40 * i, 560)
        b = Detection("person", 0.9, 700 - 40 * i, 210, 820 - 40 * i, 570)
        tracker.begin(i)
        ids.append([t.id for t in tracker.update("person", [a, b], i)])
    assert all(row == ids[0] for row in ids)
    rat_ids = set()
    for i in range(6):  # 60 px long, 80 px per sample: no overlap from one sample to the next
        tracker.begin(20 + i)
        rat = Detection("rat", 0.8, 100 + 80 * i, 600, 160 + 80 * i, 630)
        rat_ids.add(tracker.update("rat", [rat], 20 + i)[0].id)
    assert len(rat_ids) == 1
    tracker.begin(40)
    assert tracker.alive("rat") == []  # forgotten after max_age_s


def test_pests_raise_with_their_own_track() -> None:
    j = judge()
    frames = [[Detection("rat", 0.7, 100 + 50 * i, 600, 160 + 50 * i, 630)] for i in range(4)]
    out = run(j, frames)
    assert [(t.vtype, t.started_at) for t in out if isinstance(t, Opened)] == [(RAT, 0)]


def test_pests_are_one_event_per_camera_whatever_the_tracks() -> None:
    """A rat the tracker lost mid-run (a jump too long to follow) and a second rat at the far
    side of the room both continue the open rat event instead of raising their own."""
    j = judge()
    near = [[Detection("rat", 0.7, 100 + 50 * i, 600, 160 + 50 * i, 630)] for i in range(4)]
    far_too = [[*n, Detection("rat", 0.7, 1100, 300, 1160, 330)] for n in near]
    jumped = [[Detection("rat", 0.7, 700 + 40 * i, 650, 760 + 40 * i, 680)] for i in range(4)]
    out = run(j, near + far_too + jumped)
    assert [t.vtype for t in out if isinstance(t, Opened)] == [RAT]
    rat_tracks = {t.id for t in j.tracker.tracks if t.kind == "rat"}
    assert len(rat_tracks) == 3  # three tracks, still one event
    (update,) = [t for t in out if isinstance(t, Updated)][-1:]
    assert set(update.tracks) == rat_tracks


# -- zones and hours --------------------------------------------------------------------


LEFT_HALF = Zone(name="左半", points=((0, 0), (0.5, 0), (0.5, 1), (0, 1)))


def test_include_zone_counts_only_inside_by_the_feet() -> None:
    j = judge(zones=[LEFT_HALF])
    assert run(j, [worker(900)] * 6) == []  # feet at x=960/1280: outside
    assert kinds(run(j, [worker(300)] * 6, start=10)) == ["Opened"]


def test_exclude_zone_and_zone_types() -> None:
    corridor = Zone(name="走廊窗", points=((0.6, 0), (1, 0), (1, 1), (0.6, 1)), exclude=True)
    j = judge(zones=[corridor])
    assert run(j, [worker(1000)] * 6) == []
    assert kinds(run(j, [worker(100)] * 6, start=10)) == ["Opened"]
    hats_left = Zone(name="左", points=LEFT_HALF.points, types=(HAT,))
    j = judge(zones=[hats_left])
    rat = [Detection("rat", 0.8, 1100, 600, 1160, 630)]
    out = run(j, [worker(900) + rat] * 6)
    assert [t.vtype for t in out if isinstance(t, Opened)] == [RAT]  # the zone is hats-only


def test_outside_kitchen_hours_only_pests_count() -> None:
    j = judge()
    rat = [Detection("rat", 0.8, 1100, 600, 1160, 630)]
    out = run(j, [worker(100) + rat] * 6, hygiene_on=False)
    assert [t.vtype for t in out if isinstance(t, Opened)] == [RAT]


def test_hygiene_hours_from_the_kitchen_or_the_camera() -> None:
    data = district()
    data["health"] = {
        "kitchen_hours": [{"school": "east-primary", "open": [{"start": "05:30", "end": "13:30"}]}]
    }
    cameras = data["schools"][0]["cameras"]
    cameras[1]["detection"] = {"hours": [{"start": "20:00", "end": "02:00", "days": ["mon"]}]}
    data["schools"][1]["cameras"][0]["detection"] = {"hours": []}
    config = HubConfig.model_validate(data)
    tz = ZoneInfo("Asia/Shanghai")

    def hours(camera: str) -> HygieneHours:
        school = config.school_of(camera)
        return HygieneHours(config.camera(camera), school.id, config.health.kitchen_hours, tz)

    monday_6am = datetime(2026, 11, 30, 6, 0, tzinfo=tz).astimezone(UTC)
    monday_3pm = datetime(2026, 11, 30, 15, 0, tzinfo=tz)
    tuesday_1am = datetime(2026, 12, 1, 1, 0, tzinfo=tz)
    assert hours("cam-a").open_at(monday_6am) and not hours("cam-a").open_at(monday_3pm)
    assert hours("cam-b").open_at(tuesday_1am) and not hours("cam-b").open_at(monday_6am)
    assert hours("cam-c").open_at(monday_3pm)  # [] = always
