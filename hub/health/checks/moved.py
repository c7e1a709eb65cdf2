"""View moved: the scene no longer matches the camera's reference view.

ORB features of the sample are matched to those of the reference (the pixel median of a few
healthy samples, so passers-by vanish from it), and a similarity transform is fitted with
RANSAC: people moving are outliers; a turned or zoomed camera shows as shift, scale or
rotation, and a scene that no longer matches at all leaves too few matches.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding
from .picture import Gray

__all__ = ["ViewMatch", "ViewReference", "judge_moved", "match_view"]

_FEATURES: Final = 300
_RANSAC_PX: Final = 3.0
_CANDIDATES: Final = 5  # reference = median of this many samples, taken apart in time
_MIN_CANDIDATES: Final = 3
_FEATURELESS: Final = 4  # a reference with fewer than this many times the minimum matches


def _orb() -> Any:
    return cv2.ORB.create(nfeatures=_FEATURES, fastThreshold=10, edgeThreshold=15, patchSize=15)


@dataclass(frozen=True, slots=True)
class Features:
    points: Any  # N x 2 float32 keypoint positions
    descriptors: Any  # N x 32 uint8, or None when the picture has no features


def features(gray: Gray) -> Features:
    keypoints, descriptors = _orb().detectAndCompute(gray, None)
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return Features(points, descriptors)


@dataclass(frozen=True, slots=True)
class ViewMatch:
    matches: int  # RANSAC inliers
    reference_points: int  # features of the reference: few means it cannot be judged
    shift: float  # translation, share of the width
    scale: float  # 1.0: same zoom
    rotation_deg: float


def match_view(reference: Features, gray: Gray) -> ViewMatch:
    current = features(gray)
    known = len(reference.points)
    if reference.descriptors is None or current.descriptors is None:
        return ViewMatch(0, known, 0.0, 1.0, 0.0)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(
        reference.descriptors, current.descriptors
    )
    if len(pairs) < 4:
        return ViewMatch(len(pairs), known, 0.0, 1.0, 0.0)
    src = reference.points[[p.queryIdx for p in pairs]]
    dst = current.points[[p.trainIdx for p in pairs]]
    transform, inliers = cv2.estimateAffinePartial2D(src, dst, ransacReprojThreshold=_RANSAC_PX)
    if transform is None:
        return ViewMatch(0, known, 0.0, 1.0, 0.0)
    a, b = float(transform[0, 0]), float(transform[1, 0])
    shift = math.hypot(float(transform[0, 2]), float(transform[1, 2])) / gray.shape[1]
    return ViewMatch(
        matches=int(inliers.sum()),
        reference_points=known,
        shift=shift,
        scale=math.hypot(a, b),
        rotation_deg=math.degrees(math.atan2(b, a)),
    )


def judge_moved(
    match: ViewMatch | None, usual_matches: float | None, th: HealthThresholds
) -> Finding:
    """`usual_matches`: how many features healthy samples of this camera match (None: not
    known yet). Few matches mean "another scene" only where many are usual."""
    if match is None:
        return Finding(CheckName.MOVED, None, "learning")
    few = th.moved_min_matches
    if match.reference_points < _FEATURELESS * few or (
        usual_matches is not None and usual_matches < 2 * few
    ):
        # A bare wall or an empty counter: too little structure to tell a move from noise.
        return Finding(CheckName.MOVED, None, "featureless_view")
    if match.matches < few:
        if usual_matches is None:
            return Finding(CheckName.MOVED, None, "learning")
        detail = f"{match.matches} features match the reference view (usually {usual_matches:.0f})"
        return Finding(CheckName.MOVED, True, "scene_changed", detail)
    detail = f"shift {match.shift:.1%}, zoom {match.scale:.2f}x, rotation {match.rotation_deg:.1f}°"
    if match.shift > th.moved_shift:
        return Finding(CheckName.MOVED, True, "view_shifted", detail)
    if abs(match.scale - 1) > th.moved_scale:
        return Finding(CheckName.MOVED, True, "view_zoomed", detail)
    if abs(match.rotation_deg) > th.moved_rotation_deg:
        return Finding(CheckName.MOVED, True, "view_rotated", detail)
    return Finding(CheckName.MOVED, False, "", detail)


class ViewReference:
    """The reference view of one camera, refreshed from healthy, unmoved samples."""

    def __init__(self, every_s: float) -> None:
        self._every_s = every_s
        self._candidates: deque[Gray] = deque(maxlen=_CANDIDATES)
        self._last_at: float | None = None
        self.features: Features | None = None

    def offer(self, gray: Gray, at: float) -> None:
        """A healthy sample that matched (or, while learning, any healthy sample)."""
        if self._last_at is not None and at - self._last_at < self._every_s:
            return
        if self._candidates and self._candidates[-1].shape != gray.shape:
            self._candidates.clear()  # the stream's resolution changed: start again
        self._last_at = at
        self._candidates.append(gray)
        if len(self._candidates) >= _MIN_CANDIDATES:
            median = np.median(np.stack(self._candidates), axis=0).astype(np.uint8)
            self.features = features(median)

    def reset(self) -> None:
        self._candidates.clear()
        self._last_at = None
        self.features = None
