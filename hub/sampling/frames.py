"""Sampled frames and the bounded, latest-wins mailbox each consumer reads them from."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame

__all__ = ["FrameMailbox", "SampledFrame"]

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class SampledFrame:
    """One decoded keyframe of a camera, downscaled; never modified after publication."""

    camera_id: str
    wall_time: float  # UTC epoch seconds of the keyframe, on the hub's clock
    gray: Image  # H x W luma, W = the sampler's width (320 by default)
    color: Image  # h x w x 3 BGR, a smaller thumbnail (160 wide by default)
    source_size: tuple[int, int]  # width, height of the decoded picture
    # The decoded picture at the source size, for mailboxes that ask (or its BGR pixels):
    # converted only when a consumer needs it, since most samples stop at the motion gate.
    picture: VideoFrame | Image | None = None
    keyframe: bool = True  # False: decoded from within a GOP (every-frame fallback)

    def full_bgr(self) -> Image | None:
        """The whole picture in BGR at the source size (~1 ms at 720p: not on the event
        loop), or None when this frame's mailboxes did not ask for it."""
        picture = self.picture
        if picture is None or isinstance(picture, np.ndarray):
            return picture
        return picture.to_ndarray(format="bgr24").astype(np.uint8, copy=False)


class FrameMailbox:
    """A consumer's bounded queue of frames: when full, the oldest frame is dropped.

    Latest-wins is the policy for both health and detection: a late frame is worth less than
    the newest one. Written by the sampler thread, read from any thread or the event loop.
    """

    def __init__(
        self,
        name: str,
        maxsize: int = 4,
        *,
        interval_s: float = 0.0,
        full_color: bool = False,
        every_frame: bool = False,
    ) -> None:
        self.name = name
        # What this consumer asks of the sampler: a frame at most every `interval_s`, the
        # full-resolution picture too, and whether to decode within GOPs to get them.
        self.interval_s = interval_s
        self.full_color = full_color
        self.every_frame = every_frame
        self.next_at = 0.0  # arrival time this consumer wants its next frame; sampler-owned
        # Called (from the sampler thread) after each frame, e.g. to wake an asyncio task.
        self.notify: Callable[[], None] | None = None
        self.dropped = 0
        self._frames: deque[SampledFrame] = deque(maxlen=maxsize)
        self._lock = threading.Lock()

    def offer(self, frame: SampledFrame) -> None:
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.dropped += 1
            self._frames.append(frame)
        notify = self.notify
        if notify is not None:
            notify()

    def drain(self) -> list[SampledFrame]:
        """Every frame waiting, oldest first; empties the mailbox."""
        with self._lock:
            frames = list(self._frames)
            self._frames.clear()
        return frames

    def __len__(self) -> int:
        return len(self._frames)
