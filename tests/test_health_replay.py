"""No false alarm: 10 minutes of real footage through the camera monitor, faster than real
time. The real mp4 (139 s, sampled every 2 s) and the simulator's footage (its keyframes, as
the sampler decodes them) loop until 10 minutes of video have passed; the GIFs are short."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from camera_adapters.simulator import SAMPLE_VIDEOS
from hub.config.health import HealthConfig
from hub.health import CameraMonitor
from hub.health.rules import rules_from
from hub.sampling import SampledFrame
from tests.health_frames import clip_keyframes, video_samples

TEN_MINUTES_S = 600.0
# The e2e test's quick settings, and the shipped defaults.
QUICK = {"reference_every_s": 1, "thresholds": {"baseline_samples": 5}}
CONFIGS = {"defaults": HealthConfig(), "quick": HealthConfig.model_validate(QUICK)}


def _frames(pictures: Iterator[tuple[float, np.ndarray]]) -> Iterator[SampledFrame]:
    for t, gray in pictures:
        yield SampledFrame("cam", 1.8e9 + t, gray, np.zeros((2, 2, 3), np.uint8), (0, 0))


def _mp4_ten_minutes() -> Iterator[tuple[float, np.ndarray]]:
    samples = list(video_samples(SAMPLE_VIDEOS / "one-by-one-person-detection.mp4", 2.0))
    loop_s = samples[-1][0] + 2.0
    for n in itertools.count():
        for t, gray in samples:
            if n * loop_s + t >= TEN_MINUTES_S:
                return
            yield n * loop_s + t, gray


def _clip_ten_minutes() -> Iterator[tuple[float, np.ndarray]]:
    keyframes = clip_keyframes()
    for n in range(round(TEN_MINUTES_S / 2)):
        yield 2.0 * n, keyframes[n % len(keyframes)]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("source", [_mp4_ten_minutes, _clip_ten_minutes])
def test_ten_minutes_of_real_footage_raise_nothing(config: HealthConfig, source: object) -> None:
    assert callable(source)
    monitor = CameraMonitor("cam", config, rules_from(config))
    frames = list(_frames(source()))
    assert frames[-1].wall_time - frames[0].wall_time >= TEN_MINUTES_S - 4
    changes = monitor.apply(monitor.analyse(frames, open_now=True))
    assert changes == []
    assert monitor.learned


def test_gifs_raise_nothing_either() -> None:
    # Each GIF is another scene: a fresh monitor per scene, as for a new camera.
    for scene in (
        "worker-zone-detection.gif",
        "classroom.gif",
        "fruit-and-vegetable-detection.gif",
    ):
        config = CONFIGS["quick"]
        monitor = CameraMonitor("cam", config, rules_from(config))
        frames = list(_frames(video_samples(SAMPLE_VIDEOS / scene, 0.5)))
        assert monitor.apply(monitor.analyse(frames, open_now=True)) == [], scene
