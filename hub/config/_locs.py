"""Render locations as config paths: ('schools', 3, 'rtsp_url') -> schools[3].rtsp_url."""

from __future__ import annotations

import re
from collections.abc import Sequence

Loc = tuple[str | int, ...]

_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for seg in loc:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _PLAIN_KEY_RE.match(seg):
            out += f".{seg}" if out else seg
        else:  # a map key with odd characters, e.g. a mistyped school id
            out += f"[{seg!r}]"
    return out
