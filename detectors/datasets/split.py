"""Train or val by photo: a hash of the photo's group key, the same on every machine and run."""

from __future__ import annotations

import hashlib
from typing import Literal

__all__ = ["Side", "side_of"]

Side = Literal["train", "val"]


def side_of(key: str, val_fraction: float) -> Side:
    """`val` for about `val_fraction` of all keys; which ones depends on the key alone, so a
    photo's copies and frames (one key) land together and adding a source moves no other."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"
