"""Frame sampling: each camera's keyframes decoded at a bounded rate, downscaled, and handed
to health (and later the detector) through latest-wins mailboxes.

    sampler = FrameSampler(camera_id, supervisor.fanout, interval_s=4.0)
    mailbox = sampler.subscribe("health")
    sampler.start()            # a thread per camera
    frames = mailbox.drain()   # from any thread or the event loop
    await asyncio.to_thread(sampler.stop)
"""

from .decoder import DecodeError, KeyframeDecoder
from .frames import FrameMailbox, SampledFrame
from .sampler import FrameSampler
from .timing import StreamTiming, TimingSnapshot

__all__ = [
    "DecodeError",
    "FrameMailbox",
    "FrameSampler",
    "KeyframeDecoder",
    "SampledFrame",
    "StreamTiming",
    "TimingSnapshot",
]
