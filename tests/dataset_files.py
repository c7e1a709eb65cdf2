"""Files the dataset and real-data bench tests draw: images and source mapping files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml


def write_image(path: Path, image: np.ndarray, *params: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image, list(params))
    return path


def write_mapping(path: Path, **spec: object) -> Path:
    base: dict[str, object] = {"name": "fixture", "repo": "example/fixture", "commit": "0" * 40,
            "licence": "none stated", "format": "yolo", "names": ["rat", "clutter"],
            "labels": {"rat": "rat", "clutter": "drop"},
            "folders": [{"images": "images", "labels": "labels"}]}  # fmt: skip
    base.update(spec)
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    return path
