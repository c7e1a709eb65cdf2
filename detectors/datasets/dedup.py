"""Near-duplicate photos: a small difference hash per image, grouped by Hamming distance.

Copies of one photo (re-encoded, noised, brightened, mirrored) keep the sign of the
brightness step between neighbouring cells of a 16 x 16 thumbnail; other photos differ in
about half of those 256 bits. A bit is set only for a clear step up: in a flat area (a white
product background, a grey wall) noise would flip the sign of a zero step at random. A
mirrored copy is matched through the hash of the mirrored thumbnail. Rotated copies are not,
nor are frames of one video: a source's mapping names those by their file names
(`same_photo`, `same_recording`), and `components` joins both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["HASH_SIDE", "MAX_DISTANCE", "Hash", "components", "difference_hash", "near_pairs"]

HASH_SIDE: Final = 16
# Bits (of 256) two copies of one photo may differ by. On the rat set copies differ by 0-4;
# the next frame of a video with a little motion by ~10, other photos by 40 and more.
MAX_DISTANCE: Final = 8
Hash = npt.NDArray[np.uint64]  # HASH_SIDE**2 / 64 words
# Grey levels between the means of two neighbouring cells that count as a step. Noise of
# +-8 levels averages to ~0.4 over a cell of a small photo; a real edge is tens of levels.
_STEP: Final = 2.0


def _bits(thumb: npt.NDArray[np.float32]) -> Hash:
    return np.packbits(thumb[:, 1:] - thumb[:, :-1] > _STEP).view(np.uint64)


def difference_hash(grey: npt.NDArray[np.uint8]) -> tuple[Hash, Hash]:
    """The image's hash and its mirror image's hash."""
    small = cv2.resize(grey, (HASH_SIDE + 1, HASH_SIDE), interpolation=cv2.INTER_AREA)
    thumb = np.asarray(small, np.float32)
    return _bits(thumb), _bits(np.ascontiguousarray(thumb[:, ::-1]))


def near_pairs(hashes: Sequence[tuple[Hash, Hash]],
               max_distance: int = MAX_DISTANCE) -> list[tuple[int, int]]:  # fmt: skip
    """(i, j), j < i, for every two images at most `max_distance` bits apart (or mirrored)."""
    if not hashes:
        return []
    plain = np.stack([h for h, _ in hashes])
    mirrored = np.stack([m for _, m in hashes])
    pairs = []
    for i in range(1, len(hashes)):
        # Each image against all earlier ones: n^2 / 2 popcounts, vectorised per row.
        d = np.bitwise_count(plain[:i] ^ plain[i]).sum(axis=1, dtype=np.int64)
        dm = np.bitwise_count(mirrored[:i] ^ plain[i]).sum(axis=1, dtype=np.int64)
        pairs += [(i, int(j)) for j in np.flatnonzero(np.minimum(d, dm) <= max_distance)]
    return pairs


def components(n: int, pairs: Sequence[tuple[int, int]],
               *keys: Sequence[str | None]) -> list[int]:  # fmt: skip
    """A group number (its lowest member) per item: joined by `pairs` and by equal keys
    (None joins nothing) in each of `keys`."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    for i, j in pairs:
        join(i, j)
    for column in keys:
        first: dict[str, int] = {}
        for i, key in enumerate(column):
            if key is not None:
                join(i, first.setdefault(key, i))
    return [root(i) for i in range(n)]
