"""The project's synthetic kitchen scenes mixed into a real build at a stated ratio.

`ratio` synthetic images per real image, in train and in val alike (0.5: one synthetic image
for every two real ones). They come from a set `python -m detectors.scenes` or `bkhub train`
rendered before (`from_dir`), or are rendered now as `bkhub train` renders them. Whole scenes
are taken (a scene's whole frame and its crops stay together, on the side its scene was
rendered to), so a count may overshoot by a view or two.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from detectors.datasets.writer import file_name
from detectors.scenes import load_footage, write_dataset
from detectors.scenes.labels import CLASS_NAMES

# The same class-map check bkhub train makes (TrainingError naming the data.yaml).
from detectors.training import _check_dataset as check_dataset

__all__ = ["SOURCE", "SyntheticMix", "mix_synthetic"]

SOURCE: Final = "synthetic"
_SPLITS: Final = ("train", "val")


@dataclass
class SyntheticMix:
    ratio: float
    origin: str  # the folder the scenes came from, or "rendered, seeds a..b"
    images: dict[str, int] = field(default_factory=dict)  # per split
    boxes: dict[str, dict[str, int]] = field(default_factory=dict)  # per split, per class


def _scenes(root: Path, split: str) -> list[list[Path]]:
    """A split's images grouped by scene (scene_<seed>_<view>.jpg), in seed order."""
    by_scene: dict[str, list[Path]] = defaultdict(list)
    for image in sorted((root / "images" / split).glob("*.jpg")):
        by_scene[image.stem.rsplit("_", 1)[0]].append(image)
    return [by_scene[k] for k in sorted(by_scene)]


def _copy(root: Path, out: Path, wanted: Mapping[str, int], mix: SyntheticMix) -> None:
    for split in _SPLITS:
        taken, boxes = 0, dict.fromkeys(CLASS_NAMES, 0)
        for scene in _scenes(root, split):
            if taken >= wanted[split]:
                break
            for image in scene:
                label = root / "labels" / split / f"{image.stem}.txt"
                lines = label.read_text(encoding="utf-8").splitlines() if label.is_file() else []
                for line in lines:
                    boxes[CLASS_NAMES[int(line.split()[0])]] += 1
                name = file_name(SOURCE, image.name)
                shutil.copyfile(image, out / "images" / split / name)
                (out / "labels" / split / f"{Path(name).stem}.txt").write_text(
                    "".join(f"{line}\n" for line in lines), encoding="utf-8")  # fmt: skip
                taken += 1
        mix.images[split], mix.boxes[split] = taken, boxes


def mix_synthetic(out: Path, *, ratio: float, real: Mapping[str, int], from_dir: Path | None,
                  seed: int, imgsz: int = 320, crops: int = 2,
                  say: Callable[[str], None] = print) -> SyntheticMix:  # fmt: skip
    """Adds round(ratio x real[split]) synthetic images (or a little more) to out's splits."""
    wanted = {s: math.ceil(ratio * real.get(s, 0)) for s in _SPLITS}
    if from_dir is not None:
        check_dataset(from_dir / "data.yaml")
        mix = SyntheticMix(ratio, str(from_dir.resolve()))
        _copy(from_dir, out, wanted, mix)
    else:
        # write_dataset sends every 10th scene to val; enough scenes for both splits' counts.
        # write_dataset sends every 10th scene (index 9, 19, ...) to val: enough scenes for
        # both splits' counts, each scene giving 1 + crops images.
        val_scenes = math.ceil(wanted["val"] / (1 + crops))
        train_scenes = math.ceil(wanted["train"] / (1 + crops))
        count = max(10 * val_scenes, math.ceil(train_scenes * 10 / 9), 1)
        say(f"rendering {count} synthetic scenes (seeds {seed}..{seed + count - 1})")
        with tempfile.TemporaryDirectory(dir=out, prefix=".synthetic-") as tmp:
            write_dataset(Path(tmp), count=count, imgsz=imgsz, crops=crops, seed=seed,
                          footage=load_footage())  # fmt: skip
            mix = SyntheticMix(ratio, f"rendered, seeds {seed}..{seed + count - 1}")
            _copy(Path(tmp), out, wanted, mix)
    short = [s for s in _SPLITS if mix.images[s] < wanted[s]]
    if short:
        say(f"synthetic: only {mix.images} images for the {wanted} the ratio asks")
    return mix
