"""Adaptive sampling: a camera whose picture stays still is sampled less often.

Most canteen cameras show an empty kitchen most of the day and all night, and every sample
costs a keyframe decode (~4.5 ms at 720p) whether or not the motion gate then stops it. After
`idle_after_s` without motion or detections, the camera's detector mailbox asks for a frame
every `idle_interval_s` instead of every `interval_s`; the first sample that moves (or shows
anything) brings the full rate back, so an event's persistence is counted at the full rate.
What it costs: something that appears in a still kitchen waits up to `idle_interval_s`, not
`interval_s`, for its first sample.
"""

from __future__ import annotations

from hub.sampling import FrameMailbox

__all__ = ["SamplePace"]


class SamplePace:
    def __init__(
        self, mailbox: FrameMailbox, *, interval_s: float, idle_interval_s: float,
        idle_after_s: float, now: float,
    ) -> None:  # fmt: skip
        self._mailbox = mailbox
        self._fast, self._slow = interval_s, max(interval_s, idle_interval_s)
        self._idle_after = idle_after_s
        self._busy_at = now
        self._since = now  # when the current interval was set
        self._asked = 0.0  # samples asked for before `_since`

    @property
    def idle(self) -> bool:
        return self._mailbox.interval_s > self._fast

    def observe(self, at: float, *, busy: bool) -> None:
        """After each judged sample (`at`: its time): `busy` if it moved or showed anything."""
        if busy:
            self._busy_at = at
            if self.idle:
                self._set(self._fast, at)
        elif not self.idle and at - self._busy_at >= self._idle_after:
            self._set(self._slow, at)

    def asked(self, now: float) -> float:
        """Samples the camera's pace asked for since it started (what 'keeping up' means)."""
        return self._asked + max(0.0, now - self._since) / self._mailbox.interval_s

    def _set(self, interval_s: float, at: float) -> None:
        mailbox = self._mailbox
        self._asked = self.asked(at)
        self._since = at
        # The sampler set the next frame's time at the old pace; a faster pace pulls it in.
        # (A race with the sampler thread costs at most one frame at the old pace.)
        mailbox.next_at += min(0.0, interval_s - mailbox.interval_s)
        mailbox.interval_s = interval_s
