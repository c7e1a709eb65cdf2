"""Adaptive sampling: a still camera's mailbox asks for frames less often, and motion or a
detection brings the full rate back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.config.detector import DetectorConfig
from hub.detection.pace import SamplePace
from hub.sampling import FrameMailbox


def _pace(mailbox: FrameMailbox) -> SamplePace:
    return SamplePace(mailbox, interval_s=1.0, idle_interval_s=2.0, idle_after_s=30.0, now=0.0)


def test_still_camera_slows_down_and_the_first_motion_restores_the_rate() -> None:
    mailbox = FrameMailbox("cam:detector", interval_s=1.0)
    pace = _pace(mailbox)
    for t in range(1, 30):
        pace.observe(float(t), busy=False)
    assert mailbox.interval_s == 1.0  # 29 s still: not yet
    pace.observe(30.0, busy=False)
    assert pace.idle and mailbox.interval_s == 2.0
    mailbox.next_at = 32.0  # what the sampler set after the sample at 30 s
    pace.observe(32.0, busy=False)
    mailbox.next_at = 34.0
    pace.observe(32.5, busy=True)  # something moved
    assert not pace.idle and mailbox.interval_s == 1.0
    assert mailbox.next_at == 33.0  # the next frame comes at the full rate, not in 1.5 s


def test_a_detection_without_motion_keeps_the_full_rate() -> None:
    mailbox = FrameMailbox("cam:detector", interval_s=1.0)
    pace = _pace(mailbox)
    for t in range(1, 120):
        pace.observe(float(t), busy=True)  # e.g. a worker standing still without a hat
    assert not pace.idle and mailbox.interval_s == 1.0


def test_asked_samples_follow_the_pace() -> None:
    mailbox = FrameMailbox("cam:detector", interval_s=1.0)
    pace = _pace(mailbox)
    pace.observe(30.0, busy=False)  # idle from 30 s: 30 samples asked so far
    assert pace.asked(30.0) == pytest.approx(30.0)
    assert pace.asked(50.0) == pytest.approx(40.0)  # 20 s at one every 2 s
    pace.observe(50.0, busy=True)
    assert pace.asked(60.0) == pytest.approx(50.0)


def test_an_idle_interval_shorter_than_the_sample_interval_is_refused() -> None:
    with pytest.raises(ValidationError, match="idle_sample_interval_s"):
        DetectorConfig(sample_interval_s=2.0, idle_sample_interval_s=1.0)
    DetectorConfig(sample_interval_s=2.0, idle_sample_interval_s=2.0)  # never slower: allowed
