"""Training, evaluation and ONNX export with ultralytics (the optional `[train]` extra).

Nothing here runs in the hub: the runtime detector is torch-free. Everything is offline: the
model is built from its YAML (no pretrained weights), ultralytics' network lookups are switched
off and the fonts its plots want are placed from the machine's own fonts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from detectors.scenes.labels import CLASS_NAMES

__all__ = [
    "DEFAULT_TRAIN_CONFIG",
    "ClassMetrics",
    "TrainingError",
    "evaluate",
    "export_onnx",
    "load_train_config",
    "metrics_json",
    "offline_ultralytics",
    "scratch_config_dir",
    "train",
]

DEFAULT_TRAIN_CONFIG = Path(__file__).with_name("train.yaml")
# Fonts ultralytics would otherwise download for its plots (any TrueType font will do).
_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
_SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


class TrainingError(RuntimeError):
    """A dataset, config or weights problem, said in one line."""


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    name: str
    images: int
    instances: int
    precision: float
    recall: float
    map50: float
    map50_95: float


def offline_ultralytics(config_dir: Path) -> None:
    """Stops every network attempt of ultralytics; call before importing it."""
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ.setdefault("OPENVINO_TELEMETRY_OPT_OUT", "1")
    font_dir = config_dir / "Ultralytics"
    font_dir.mkdir(exist_ok=True)
    source = next((f for f in _SYSTEM_FONTS if f.is_file()), None)
    for name in _FONT_NAMES:
        target = font_dir / name
        if not target.exists() and source is not None:
            shutil.copyfile(source, target)


def scratch_config_dir() -> Path:
    """Ultralytics' settings folder outside the repository (never beside committed weights)."""
    return Path(tempfile.gettempdir()) / f"bkhub-ultralytics-{os.getuid()}"


def load_train_config(path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ultralytics training arguments in `path`, with `overrides` on top."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise TrainingError(f"{path}: cannot read the training config: {err}") from err
    if not isinstance(loaded, dict) or "model" not in loaded:
        raise TrainingError(f"{path}: a mapping with at least `model:` expected")
    args = dict(loaded)
    args.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return args


def _check_dataset(data: Path) -> None:
    try:
        spec = yaml.safe_load(data.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise TrainingError(f"{data}: cannot read the dataset YAML: {err}") from err
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if list(names or []) != list(CLASS_NAMES):
        raise TrainingError(
            f"{data}: classes {names} do not match the detector's class map {list(CLASS_NAMES)}"
        )


def train(
    data: Path, *, config: Path = DEFAULT_TRAIN_CONFIG, project: Path, name: str = "train",
    overrides: Mapping[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Trains on a standard YOLO dataset; returns the best weights (.pt). A config with
    `mix_scenes: N` (and `verdict_repeat: R`) fine-tunes on `data` mixed with N rendered scenes,
    its images R times (detectors.finetune_mix): for a verdict export."""
    _check_dataset(data)
    args = load_train_config(config, overrides)
    scenes, repeat = int(args.pop("mix_scenes", 0)), int(args.pop("verdict_repeat", 1))
    if scenes > 0 or repeat > 1:
        from detectors.finetune_mix import mixed_dataset

        data = mixed_dataset(data, project / "mix", scenes=scenes, repeat=repeat,
                             imgsz=int(args.get("imgsz", 320)))  # fmt: skip
    offline_ultralytics(project / ".ultralytics")
    from ultralytics import YOLO

    model_spec = str(args.pop("model"))
    if not model_spec.endswith(".yaml"):
        weights = Path(model_spec)  # a relative weights path is taken from the config's folder
        weights = weights if weights.is_absolute() else config.parent / weights
        if not weights.is_file():
            raise TrainingError(f"{model_spec}: neither a model YAML nor a weights file on disk")
        model_spec = str(weights)
    model = YOLO(model_spec)
    model.train(data=str(data), project=str(project.resolve()), name=name, exist_ok=True, **args)
    best = project.resolve() / name / "weights" / "best.pt"
    if not best.is_file():
        raise TrainingError(f"training finished without {best}")
    return best


def evaluate(weights: Path, data: Path, *, imgsz: int, split: str = "val") -> list[ClassMetrics]:
    """Per-class precision, recall, mAP50 and mAP50-95 of `weights` on a dataset split."""
    _check_dataset(data)
    offline_ultralytics(scratch_config_dir())
    from ultralytics import YOLO

    result = YOLO(str(weights)).val(data=str(data), imgsz=imgsz, split=split, batch=16,
                                    plots=False, verbose=False, workers=0)  # fmt: skip
    box = result.box
    seen = {int(c): i for i, c in enumerate(box.ap_class_index)}
    per_image = getattr(result, "nt_per_image", None)
    per_class = getattr(result, "nt_per_class", None)
    rows = []
    for cls, name in enumerate(CLASS_NAMES):
        i = seen.get(cls)
        rows.append(ClassMetrics(
            name=name,
            images=int(per_image[cls]) if per_image is not None else 0,
            instances=int(per_class[cls]) if per_class is not None else 0,
            precision=float(box.p[i]) if i is not None else 0.0,
            recall=float(box.r[i]) if i is not None else 0.0,
            map50=float(box.ap50[i]) if i is not None else 0.0,
            map50_95=float(box.ap[i]) if i is not None else 0.0,
        ))  # fmt: skip
    return rows


def metrics_json(rows: list[ClassMetrics]) -> str:
    """The per-class rows as JSON (the model card's source of numbers)."""
    return json.dumps([asdict(row) for row in rows], indent=2)


def export_onnx(weights: Path, out: Path, *, imgsz: int) -> Path:
    """Exports `weights` to ONNX (dynamic batch, opset the runtime reads) at `out`."""
    offline_ultralytics(scratch_config_dir())
    from ultralytics import YOLO

    model = YOLO(str(weights))
    names = [model.names[i] for i in sorted(model.names)]
    if names != list(CLASS_NAMES):
        raise TrainingError(f"{weights}: classes {names} are not {list(CLASS_NAMES)}")
    written = Path(model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=False,
                                opset=17, batch=1))  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    if written.resolve() != out.resolve():
        shutil.move(written, out)
    return out
