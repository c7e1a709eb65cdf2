"""A cheap per-camera motion gate: is inference worth running on this sample, and where?

Each sample is shrunk to a small grey image (or comes as one: the sampler's thumbnail) and
compared with a running average of the camera's previous samples. Changed pixels are grouped
into blobs; each blob becomes a square region of at least the model's input size in full-frame
pixels (the crops the model was trained on), and overlapping squares merge when one crop costs
no more than two. Each sample crops at most `crops_per_sample` of those squares, the parts of
the picture looked at longest ago first, so a busy kitchen costs a bounded number of model
inputs per sample and every moving area still gets its turn within a few samples (the camera
loop keeps what earlier crops found where no crop looks now). With no change the gate still asks
for a run every `recheck_s`, so a still camera is re-checked.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from detectors.runtime.errors import FrameError
from detectors.runtime.preprocess import Region, check_frame, square_around

if TYPE_CHECKING:
    from hub.config.detector import DetectorConfig

__all__ = ["MotionGate", "MotionResult", "regions_around"]

_log = logging.getLogger(__name__)

Grey = npt.NDArray[np.uint8]
# Samples are about a second apart: the background follows the scene within a few samples,
# so a worker who stops moving stops triggering crops.
_BACKGROUND_ALPHA = 0.5
# More than this share of the picture changing is the light or the camera, not an object:
# the whole frame is checked and the background restarts from this sample.
_GLOBAL_CHANGE = 0.4
# Room kept around a blob inside its square (a moving object's box is its two positions).
_MARGIN = 1.25
# Two crops merge into one when the merged square is at most this much larger (objects in it
# shrink by the same factor at the model's input).
_MERGE_GROWTH = 1.25


def _side(region: Region) -> int:
    return max(region.width, region.height)


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The gate's verdict for one sample."""

    changed: bool  # something moved since the previous samples
    regions: tuple[Region, ...]  # squares (full-frame pixels) around what moved; may be empty
    recheck: bool  # the camera is due for its periodic check (runs even without motion)

    @property
    def run(self) -> bool:
        """Whether the sample goes to the detector: whole frame plus a crop per region."""
        return self.changed or self.recheck


class MotionGate:
    """One camera's motion gate. Not thread-safe: one caller (the camera's sampler) per gate."""

    def __init__(
        self,
        camera_id: str = "",
        *,
        input_size: int = 320,
        height: int = 180,
        threshold: int = 20,
        min_area: int = 4,
        recheck_s: float = 10.0,
        max_regions: int = 4,
        crops_per_sample: int = 2,
    ) -> None:
        self.camera_id = camera_id
        self._input_size = input_size
        self._height = height
        self._threshold = threshold
        self._min_area = min_area
        self._recheck_s = recheck_s
        self._max_regions = max_regions
        self._crops_per_sample = crops_per_sample
        # When each cell (input_size squares of the frame) was last inside a crop.
        self._looked: dict[tuple[int, int], float] = {}
        self._shape: tuple[int, int] | None = None
        self._background: npt.NDArray[np.float32] | None = None
        self._last_run: float | None = None

    @classmethod
    def from_config(cls, camera_id: str, config: DetectorConfig) -> MotionGate:
        """A gate with the motion settings of the config's `detector` section."""
        return cls(
            camera_id,
            input_size=config.input_size,
            height=config.motion_height,
            threshold=config.motion_threshold,
            min_area=config.motion_min_area,
            recheck_s=config.recheck_s,
            max_regions=config.max_regions,
            crops_per_sample=config.crops_per_sample,
        )

    def reset(self) -> None:
        """Forgets the background: the next sample is compared with nothing and checked whole."""
        self._shape = None
        self._background = None
        self._last_run = None
        self._looked.clear()

    def _grey(self, frame: npt.NDArray[np.uint8]) -> Grey:
        """The sample as the gate compares it: grey, at most `height` rows, slightly blurred.
        A grey sample (the sampler's thumbnail) needs no colour conversion."""
        h, w = frame.shape[:2]
        small: npt.NDArray[np.integer[Any] | np.floating[Any]] = frame
        if h > self._height:
            small_w = max(1, round(w * self._height / h))
            small = cv2.resize(frame, (small_w, self._height), interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return np.asarray(cv2.GaussianBlur(small, (3, 3), 0), np.uint8)

    def update(
        self, frame: npt.NDArray[np.uint8], now: float, *, full_size: tuple[int, int] | None = None
    ) -> MotionResult:
        """Compares the sample taken at `now` (seconds, any monotonic clock) with the past ones.

        `frame` is the picture in BGR, or a smaller grey copy of it with `full_size` (width,
        height) the size of the picture the regions are for: the sampler's grey thumbnail
        spares shrinking and converting the full picture of every sample. Raises FrameError
        for an unusable frame. A picture of a new size resets the gate.
        """
        frame = check_frame(frame, grey=full_size is not None)
        w, h = full_size or (frame.shape[1], frame.shape[0])
        if w < 2 or h < 2:
            raise FrameError(f"picture is {w}x{h} pixels: empty")
        if self._shape is not None and self._shape != (h, w):
            _log.warning("camera %s: resolution changed from %dx%d to %dx%d; motion gate reset",
                         self.camera_id, self._shape[1], self._shape[0], w, h)  # fmt: skip
            self.reset()
        grey = self._grey(frame)
        due = self._last_run is None or now - self._last_run >= self._recheck_s
        if self._background is None:
            self._shape = (h, w)
            self._background = grey.astype(np.float32)
            return self._result(False, (), due, now)
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        cv2.accumulateWeighted(grey, self._background, _BACKGROUND_ALPHA)
        mask = (diff > self._threshold).astype(np.uint8)
        changed_share = float(mask.mean())
        if changed_share == 0.0:
            return self._result(False, (), due, now)
        if changed_share > _GLOBAL_CHANGE:
            self._background = grey.astype(np.float32)
            return self._result(True, (), due, now)
        blobs = self._blobs(mask, scale_x=w / grey.shape[1], scale_y=h / grey.shape[0])
        if not blobs:
            return self._result(False, (), due, now)
        regions = regions_around(
            blobs, width=w, height=h, min_side=self._input_size, max_regions=self._max_regions
        )
        return self._result(True, self._take_turns(regions, now), due, now)

    def _cells(self, region: Region) -> list[tuple[int, int]]:
        s = self._input_size
        return list(itertools.product(range(region.x0 // s, (region.x1 - 1) // s + 1),
                                      range(region.y0 // s, (region.y1 - 1) // s + 1)))  # fmt: skip

    def _take_turns(self, regions: tuple[Region, ...], now: float) -> tuple[Region, ...]:
        """The regions to crop now: the budget's worth whose least recently seen cell waited
        longest (never seen first); the others wait their turn."""

        def waited_since(region: Region) -> float:
            return min(self._looked.get(cell, -np.inf) for cell in self._cells(region))

        chosen = sorted(regions, key=waited_since)[: self._crops_per_sample]
        for region in chosen:
            self._looked.update(dict.fromkeys(self._cells(region), now))
        return tuple(sorted(chosen, key=lambda r: (r.y0, r.x0)))

    def _result(self, changed: bool, regions: tuple[Region, ...], due: bool,
                now: float) -> MotionResult:  # fmt: skip
        result = MotionResult(changed, regions, due)
        if result.run:
            self._last_run = now
        return result

    def _blobs(self, mask: Grey, *, scale_x: float, scale_y: float) -> list[Region]:
        """Bounding boxes (full-frame pixels) of groups of changed pixels large enough to count."""
        joined = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=2)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        # Area counts the changed pixels themselves, not the dilation around them.
        area = np.bincount(labels[mask > 0], minlength=count)
        blobs = []
        for i in range(1, count):
            if area[i] < self._min_area:
                continue
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            blobs.append(Region(int(x * scale_x), int(y * scale_y),
                                int(np.ceil((x + bw) * scale_x)),
                                int(np.ceil((y + bh) * scale_y))))  # fmt: skip
        return blobs


def regions_around(
    boxes: Sequence[Region], *, width: int, height: int, min_side: int, max_regions: int
) -> tuple[Region, ...]:
    """Square crops (side >= min_side, inside the frame) holding `boxes`, at most max_regions.

    Each box gets a square with some margin; two squares merge into the square around both
    boxes when that is at most _MERGE_GROWTH larger, and beyond the budget the pair that
    grows least merges anyway.
    """
    if max_regions == 0 or not boxes:
        return ()

    def square(box: Region) -> Region:
        grown_w, grown_h = round(box.width * _MARGIN), round(box.height * _MARGIN)
        x0, y0 = (box.x0 + box.x1 - grown_w) // 2, (box.y0 + box.y1 - grown_h) // 2
        return square_around(Region(x0, y0, x0 + grown_w, y0 + grown_h), min_side, width, height)

    # Each square remembers the boxes it must hold, so a merge squares their union.
    groups = [(square(b), b) for b in boxes]
    while len(groups) > 1:
        best: tuple[int, int, Region, Region] | None = None
        best_growth = 0.0
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                (a, a_box), (b, b_box) = groups[i], groups[j]
                content = a_box.union(b_box)
                merged = square(content)
                growth = _side(merged) / max(_side(a), _side(b))
                if best is None or growth < best_growth:
                    best, best_growth = (i, j, merged, content), growth
        # Every crop costs one batch slot whatever its size: two crops become one when that
        # shrinks what they show only a little, or when there are more than the budget.
        if best is None or (best_growth > _MERGE_GROWTH and len(groups) <= max_regions):
            break
        i, j, merged, content = best
        groups = [g for k, g in enumerate(groups) if k not in (i, j)] + [(merged, content)]
    return tuple(sorted((g[0] for g in groups), key=lambda r: (r.y0, r.x0)))
