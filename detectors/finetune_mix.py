"""A fine-tune's dataset: the district's verdicts mixed with the project's own scenes.

Verdicts are few (tens to hundreds of frames) and one-sided (false alarms are negatives):
trained on alone, the model forgets what it knew. So the train list holds every verdict image
`repeat` times (hard examples weigh more) plus `scenes` freshly rendered scenes from the shipped
generator (detectors.scenes, with the shipped footage); val holds the held-out verdicts and the
scenes' val side. Ultralytics reads image lists from text files and finds each label by
swapping /images/ for /labels/ in the path, which both layouts follow.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from detectors.datasets.scan import IMAGE_SUFFIXES
from detectors.scenes import load_footage, write_dataset
from detectors.scenes.labels import CLASS_NAMES

__all__ = ["mixed_dataset"]


def _images(root: Path, side: str) -> list[Path]:
    folder = root / "images" / side
    return sorted(p.resolve() for p in folder.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def mixed_dataset(
    verdicts: Path, work: Path, *, scenes: int, repeat: int, imgsz: int, seed: int = 5_000_000
) -> Path:
    """The data.yaml of the mix in `work`; `verdicts` is the data.yaml of a verdict export."""
    root = verdicts.parent
    lists: dict[str, list[Path]] = {
        "train": _images(root, "train") * max(1, repeat),
        "val": _images(root, "val"),
    }
    if scenes > 0:
        rendered = work / "scenes"
        write_dataset(rendered, count=scenes, imgsz=imgsz, seed=seed, footage=load_footage())
        for side, images in lists.items():
            images += _images(rendered, side)
    work.mkdir(parents=True, exist_ok=True)
    spec: dict[str, object] = {"names": dict(enumerate(CLASS_NAMES))}
    for side, images in lists.items():
        listing = work / f"{side}.txt"
        listing.write_text("".join(f"{p}\n" for p in images), encoding="utf-8")
        spec[side] = str(listing.resolve())
    data = work / "data.yaml"
    data.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data
