"""What can be wrong with a real labelled set, said in one line and counted by reason.

A bad file never stops a build: the reader raises `Skip` with one of the reasons below, the
builder names the file in one line, counts the reason in the manifest, and goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "BAD_BOX",
    "BAD_LINE",
    "BAD_POLYGON",
    "BAD_XML",
    "BROKEN_IMAGE",
    "DUPLICATE",
    "EMPTY_LABELS",
    "LEAKS_ACCEPTANCE",
    "NO_LABELS",
    "SIZE_MISMATCH",
    "UNMAPPED_LABEL",
    "MappingError",
    "Problems",
    "Skip",
]

# Short reason keys: the manifest counts these, the printed line adds the detail.
BROKEN_IMAGE: Final = "broken image"
NO_LABELS: Final = "no label file"
EMPTY_LABELS: Final = "empty label file"  # a skip only where the mapping says so
BAD_LINE: Final = "malformed label line"
UNMAPPED_LABEL: Final = "label not in the mapping"
BAD_POLYGON: Final = "polygon under 3 points"
BAD_BOX: Final = "box out of range"
BAD_XML: Final = "unreadable VOC xml"
SIZE_MISMATCH: Final = "VOC size is not the image's"
DUPLICATE: Final = "near-duplicate"
LEAKS_ACCEPTANCE: Final = "same photo as an acceptance image"


class MappingError(ValueError):
    """A mapping file that cannot be used, said in one line naming the file."""


class Skip(Exception):
    """This image is left out; `reason` is one of the keys above, `detail` the specifics."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Problems:
    """Skipped files of one source: counted by reason, each printed once as it happens."""

    say: Callable[[str], None]
    counts: Counter[str] = field(default_factory=Counter)
    files: list[dict[str, str]] = field(default_factory=list)

    def skip(self, path: Path, why: Skip) -> None:
        self.counts[why.reason] += 1
        self.files.append({"file": str(path), "reason": why.reason, "detail": why.detail})
        self.say(f"skip {path}: {why}")
