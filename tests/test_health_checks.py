"""Each health check on real frames of the sample footage and on synthetic faults of them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest

from camera_adapters.errors import OfflineReason
from hub.config.health import CheckName, HealthConfig, HealthThresholds, KitchenHours
from hub.health import checks
from hub.health.hysteresis import Hysteresis
from hub.health.schedule import KitchenSchedule
from hub.ingest.supervisor import CameraState, CameraStatus
from hub.sampling import TimingSnapshot
from tests.health_frames import clip_keyframes, room

TH = HealthThresholds()
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_brightness_black_overexposed_and_closed() -> None:
    healthy = checks.measure(room())
    black, over, closed = checks.judge_brightness(healthy, TH, open_now=True)
    assert (black.bad, over.bad, closed) == (False, False, False)
    dark = checks.measure((room() * 0.08).astype(np.uint8))
    black, _, closed = checks.judge_brightness(dark, TH, open_now=True)
    assert black.bad and black.reason == "dark_picture" and not closed
    black, _, closed = checks.judge_brightness(dark, TH, open_now=False)
    assert black.bad is False and closed  # a dark, closed kitchen is not "black"
    glare = checks.measure(np.clip(room().astype(np.int16) + 200, 0, 255).astype(np.uint8))
    assert checks.judge_brightness(glare, TH, open_now=True)[1].bad


def test_cover_blur_and_frozen() -> None:
    picture = room()
    stats = checks.measure(picture)
    assert checks.judge_covered(stats, TH).bad is False
    cover = np.full_like(picture, 70) + np.random.default_rng(1).integers(0, 3, picture.shape)
    assert checks.judge_covered(checks.measure(np.asarray(cover, np.uint8)), TH).bad
    blurred = checks.measure(np.asarray(cv2.GaussianBlur(picture, (0, 0), 2.0), np.uint8))
    assert checks.judge_blur(blurred, stats.sharpness, TH).bad
    assert checks.judge_blur(stats, stats.sharpness, TH).bad is False
    assert checks.judge_blur(stats, None, TH).bad is None  # still learning
    frames = clip_keyframes()
    diffs = [checks.frame_difference(a, b) for a, b in itertools.pairwise(frames)]
    assert min(diffs) > TH.frozen_diff  # real footage always changes between samples
    assert checks.judge_frozen(0.0, stats, TH).bad
    assert checks.judge_frozen(min(diffs), stats, TH).bad is False


def test_moved_view_against_a_reference() -> None:
    frames = clip_keyframes()
    reference = checks.ViewReference(every_s=0)
    for n, picture in enumerate(frames[:5]):
        reference.offer(picture, float(n))
    assert reference.features is not None
    for picture in frames:  # people walk through; the view stays
        assert (
            checks.judge_moved(checks.match_view(reference.features, picture), 100, TH).bad is False
        )
    h, w = room().shape
    turned = np.asarray(cv2.resize(room()[h // 5 :, w // 5 :], (w, h)), np.uint8)
    moved = checks.judge_moved(checks.match_view(reference.features, turned), 100, TH)
    assert moved.bad and moved.reason in ("view_shifted", "view_zoomed")
    other = np.ascontiguousarray(np.flipud(room()))
    assert checks.judge_moved(checks.match_view(reference.features, other), 100, TH).bad
    # Where healthy samples match few features, few matches prove nothing.
    assert checks.judge_moved(checks.match_view(reference.features, other), 8, TH).bad is None


def test_stream_checks_against_baselines() -> None:
    assert checks.judge_fps(10, 25, TH).bad and checks.judge_fps(24, 25, TH).bad is False
    assert checks.judge_bitrate(100, 1500, TH).bad
    assert checks.judge_bitrate(900, 1500, TH).bad is False
    assert checks.judge_keyframes((2.0, 2.0, 2.0), 2.0, TH).bad is False
    assert checks.judge_keyframes((2.0, 8.0, 2.0), 2.0, TH).reason == "long_keyframe_interval"
    assert checks.judge_keyframes((1.0, 3.0, 0.5, 3.5), None, TH).reason == "irregular_keyframes"


def test_clock_checks() -> None:
    late = checks.judge_onvif_clock(300.0, TH)
    assert late.bad and "300 s ahead" in late.detail
    assert checks.judge_onvif_clock(-2.0, TH).bad is False
    steady = TimingSnapshot((2.0,), clock_span_s=120, clock_drift_s=0.2, timestamp_jumps=0)
    fast = TimingSnapshot((2.0,), clock_span_s=120, clock_drift_s=6.0, timestamp_jumps=0)
    assert checks.judge_stream_clock(steady, TH).bad is False
    assert checks.judge_stream_clock(fast, TH).bad


def test_offline_keeps_the_reason_of_the_last_failure() -> None:
    connecting = CameraStatus(CameraState.CONNECTING, since=0)
    refused = CameraStatus(CameraState.OFFLINE, 0, OfflineReason.AUTH_FAILED, "401")
    assert checks.judge_offline(refused, None).reason == "auth_failed"
    assert checks.judge_offline(connecting, OfflineReason.AUTH_FAILED).reason == "auth_failed"
    assert checks.judge_offline(CameraStatus(CameraState.ONLINE, 0), None).bad is False


def test_recording_gaps_only_while_online() -> None:
    seg = [(T0 + timedelta(seconds=60 * i), T0 + timedelta(seconds=60 * i + 60)) for i in range(5)]
    now = T0 + timedelta(seconds=320)

    def gaps(segments: list[tuple[datetime, datetime]], since: datetime) -> list[object]:
        found = checks.find_recording_gaps(
            segments, online_since=since, now=now, segment_s=60.0, tolerance_s=10.0
        )
        return list(found)

    assert gaps(seg, T0) == []
    holed = seg[:2] + seg[3:]
    assert gaps(holed, T0) == [(seg[1][1], seg[3][0])]
    assert gaps(holed, seg[3][0]) == []  # an outage explains its hole: only online counts
    late = T0 + timedelta(seconds=300 + 80)
    assert checks.find_recording_gaps(seg, online_since=T0, now=late, segment_s=60, tolerance_s=10)


def test_hub_checks() -> None:
    assert checks.judge_spool(9, 10, TH).bad and checks.judge_spool(1, 10, TH).bad is False
    assert checks.judge_object_store(T0, T0 + timedelta(minutes=5)).bad
    assert checks.judge_detector(None).reason == "not_running"


def test_hysteresis_needs_streaks_and_dates_from_their_start() -> None:
    h = Hysteresis(raise_after=3, clear_after=2)
    assert [h.update(b, t) for t, b in enumerate([True, True, False, True, None, True])] == [
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert h.update(True, 6.0) == (True, 3.0)  # three bad in a row since t=3 (None skipped)
    assert h.update(False, 7.0) is None and h.update(False, 8.0) == (False, 7.0)


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        ("2026-12-01 06:00", True),
        ("2026-12-01 21:00", False),
        ("2026-12-02 01:00", True),
        ("2026-12-06 12:00", False),
    ],
)
def test_kitchen_hours_past_midnight(local: str, is_open: bool) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    hours = KitchenHours.model_validate(
        {
            "school": "s1",
            "open": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "05:30", "end": "20:00"},
                {"days": ["tue"], "start": "23:00", "end": "02:00"},  # a night shift, Tue to Wed
            ],
        }
    )
    schedule = KitchenSchedule((hours,), tz)
    at = datetime.fromisoformat(local).replace(tzinfo=tz)
    assert schedule.open_at("s1", "main", at) is is_open
    assert schedule.open_at("s2", "main", at)  # no hours: always open


def test_config_defaults_and_overrides() -> None:
    cfg = HealthConfig.model_validate(
        {"checks": {"moved": {"raise_after": 9}, "clock": {"enabled": False}}}
    )
    from hub.health.rules import DEFAULT_RULES, rules_from

    rules = rules_from(cfg)
    assert rules[CheckName.MOVED].raise_after == 9
    assert rules[CheckName.MOVED].clear_after == DEFAULT_RULES[CheckName.MOVED].clear_after
    assert CheckName.CLOCK not in rules
