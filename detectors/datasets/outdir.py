"""The output folder of a dataset build or export: outside the repository, and never mixed
with an earlier run's files (which would silently leak old images into training)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = ["OutDirError", "prepare_out"]

_REPO: Final = Path(__file__).resolve().parents[2]


class OutDirError(RuntimeError):
    """The folder cannot take the output; the message says why and what to do."""


def prepare_out(out: Path, outputs: Sequence[str], *, force: bool) -> None:
    """Create `out`; with `force`, remove an earlier run's `outputs` there first, otherwise
    refuse a folder that holds any of them. Other files in `out` are left alone."""
    resolved = out.resolve()
    if resolved == _REPO or _REPO in resolved.parents:
        raise OutDirError(f"{out}: inside the repository; real sets' licences are unclear, so "
                          "built data lives outside it")  # fmt: skip
    present = [name for name in outputs if (out / name).exists()]
    if present and not force:
        raise OutDirError(f"{out}: already holds {', '.join(present)} (--force replaces them)")
    for name in present:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    out.mkdir(parents=True, exist_ok=True)
