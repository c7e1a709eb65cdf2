"""INT8 copy of an exported detector for CPUs: ONNX Runtime static quantization (QDQ).

The convolutions of the backbone and neck run in 8 bits (weights per channel, activations
calibrated on sample images letterboxed exactly as the runtime feeds them); the detection head
(the export's last module: box regression, class scores, their decoding) stays in float, as
8-bit box coordinates and scores lose too much. The model's metadata (class map, input size)
is kept, so the runtime checks the copy like the original. Needs `onnx` (the [train] extra);
torch is not involved.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from detectors.runtime.preprocess import check_frame, letterbox_into
from detectors.training import TrainingError

__all__ = ["calibration_images", "quantize_int8"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_MODULE = re.compile(r"^/model\.(\d+)/")  # ultralytics' node names: /model.<layer>/...


def calibration_images(folder: Path, count: int) -> list[Path]:
    """Up to `count` images of `folder` (recursively), spread evenly over its sorted list."""
    if count < 1:
        raise TrainingError(f"asked for {count} calibration images; at least 1 is needed")
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not found:
        raise TrainingError(f"{folder}: no calibration images (.jpg, .png) found")
    step = max(1, len(found) // count)
    return found[::step][:count]


def _head_nodes(names: Sequence[str]) -> list[str]:
    """Of these node names, the last module's (the Detect head of an ultralytics export)."""
    layers = {name: int(m.group(1)) for name in names if (m := _MODULE.match(name))}
    if not layers:
        raise TrainingError("the model's node names are not an ultralytics export's")
    last = max(layers.values())
    return [name for name, layer in layers.items() if layer == last]


def quantize_int8(model: Path, out: Path, images: Sequence[Path], *, input_size: int) -> Path:
    """Writes the INT8 (QDQ) copy of `model` to `out`, calibrated on `images`."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = self._read()

        def _read(self) -> Iterator[dict[str, np.ndarray]]:
            for path in images:
                frame = cv2.imread(str(path))
                if frame is None:
                    raise TrainingError(f"{path}: not a readable image")
                batch = np.empty((1, 3, input_size, input_size), np.float32)
                letterbox_into(check_frame(frame), None, input_size, batch[0])
                yield {"images": batch}

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    try:
        graph = onnx.load(str(model)).graph
    except Exception as exc:  # onnx raises DecodeError and friends
        raise TrainingError(f"{model}: not a readable ONNX model: {exc}") from exc
    head = _head_nodes([node.name for node in graph.node])
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(out),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=head,
        )
    return out
