"""Pure health checks: each turns measurements into a Finding (bad, good or unknown)."""

from .brightness import judge_brightness
from .clock import judge_onvif_clock, judge_stream_clock
from .cover import judge_covered
from .frozen import judge_frozen
from .gaps import find_recording_gaps, judge_recording
from .hubchecks import judge_detector, judge_object_store, judge_spool
from .moved import ViewMatch, ViewReference, judge_moved, match_view
from .offline import judge_offline
from .picture import PictureStats, frame_difference, measure
from .sharpness import judge_blur
from .stream import judge_bitrate, judge_fps, judge_keyframes

__all__ = [
    "PictureStats",
    "ViewMatch",
    "ViewReference",
    "find_recording_gaps",
    "frame_difference",
    "judge_bitrate",
    "judge_blur",
    "judge_brightness",
    "judge_covered",
    "judge_detector",
    "judge_fps",
    "judge_frozen",
    "judge_keyframes",
    "judge_moved",
    "judge_object_store",
    "judge_offline",
    "judge_onvif_clock",
    "judge_recording",
    "judge_spool",
    "judge_stream_clock",
    "match_view",
    "measure",
]
