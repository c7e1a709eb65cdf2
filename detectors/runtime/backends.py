"""Inference backends: the exported YOLO model behind one small interface.

A backend takes a float32 batch N x 3 x S x S (RGB 0..1, letterboxed) and returns the raw
head output N x (4 + classes) x anchors. ONNX Runtime is the default; OpenVINO reads the same
ONNX file; ultralytics (torch) is for GPU hosts only. The heavy imports happen on load, so a
hub that never selects a backend never imports it.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from detectors.detection import CLASS_NAMES
from detectors.runtime.errors import ModelError

__all__ = ["BACKENDS", "Backend", "load_backend", "output_anchors"]

_log = logging.getLogger(__name__)

Batch = npt.NDArray[np.float32]
# YOLO11's detection head samples the input at these strides: one anchor per grid cell.
_STRIDES = (8, 16, 32)


def output_anchors(input_size: int) -> int:
    """Anchors (candidate boxes) the model outputs for a square input of this size."""
    return sum((input_size // s) ** 2 for s in _STRIDES)


class Backend:
    """One loaded model. `infer` is called from one thread at a time (the engine's worker)."""

    name: ClassVar[str] = ""

    def __init__(self, path: Path, input_size: int) -> None:
        self.path = path
        self.input_size = input_size

    def infer(self, batch: Batch) -> npt.NDArray[np.float32]:
        """Raw head output N x (4 + classes) x anchors for a batch N x 3 x S x S."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases the model (the default keeps nothing that needs releasing)."""


def _parse_names(path: Path, raw: object) -> list[str]:
    if raw is None:
        raise ModelError(f"{path}: no class names in the model's metadata (not a YOLO export?)")
    value = raw
    if isinstance(raw, str):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ModelError(f"{path}: unreadable class names {raw[:80]!r}") from exc
    if isinstance(value, Mapping):
        try:
            return [str(value[k]) for k in sorted(value, key=int)]
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{path}: class names {value!r} are not indexed 0..n-1") from exc
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(v) for v in value]
    raise ModelError(f"{path}: class names {value!r} are neither a dict nor a list")


def _check_metadata(path: Path, meta: Mapping[str, object], input_size: int) -> None:
    """The exported model's own labels: its class map and input size must be the hub's."""
    names = _parse_names(path, meta.get("names"))
    if names != list(CLASS_NAMES):
        raise ModelError(
            f"{path}: the model's classes {names} do not match the detector's class map "
            f"{list(CLASS_NAMES)} (retrain or re-export it with detectors.scenes.labels)"
        )
    imgsz = meta.get("imgsz")
    if imgsz is not None:
        try:
            size = ast.literal_eval(str(imgsz))
        except (ValueError, SyntaxError):
            size = None
        sizes = [size, size] if isinstance(size, int) else size
        if isinstance(sizes, list | tuple) and list(sizes) != [input_size, input_size]:
            raise ModelError(
                f"{path}: the model was exported for {sizes[0]}x{sizes[1]} input but "
                f"detector.input_size is {input_size}"
            )


def _check_shapes(
    path: Path, inp: Sequence[object], out: Sequence[object], input_size: int
) -> None:
    """Static dims (ints) must be what the engine feeds and reads; named dims are dynamic."""
    if len(inp) != 4 or inp[1] != 3:
        raise ModelError(f"{path}: input shape {list(inp)} is not N x 3 x H x W")
    for dim in inp[2:]:
        if isinstance(dim, int) and dim > 0 and dim != input_size:
            raise ModelError(
                f"{path}: input shape {list(inp)} does not take {input_size}x{input_size} images"
            )
    want = 4 + len(CLASS_NAMES)
    if len(out) != 3 or (isinstance(out[1], int) and out[1] > 0 and out[1] != want):
        raise ModelError(
            f"{path}: output shape {list(out)} is not N x {want} x anchors "
            "(boxes + one score per class, no NMS inside)"
        )


def _warm_up(backend: Backend) -> None:
    """One real inference at load: a model that loads but cannot run fails here, not later."""
    size = backend.input_size
    try:
        out = backend.infer(np.zeros((1, 3, size, size), np.float32))
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"{backend.path}: the model fails to run: {exc}") from exc
    want = (1, 4 + len(CLASS_NAMES), output_anchors(size))
    if tuple(out.shape) != want:
        raise ModelError(f"{backend.path}: output shape {tuple(out.shape)}, expected {want}")


class _OnnxRuntime(Backend):
    name = "onnxruntime"

    def __init__(self, path: Path, input_size: int, threads: int) -> None:
        super().__init__(path, input_size)
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle spinning threads would burn the cores the cameras' decoding needs between batches.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped exception classes
            raise ModelError(f"{path}: not a loadable ONNX model: {exc}") from exc
        _check_metadata(path, self._session.get_modelmeta().custom_metadata_map, input_size)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{path}: expected one input and one output, got "
                             f"{len(inputs)} and {len(outputs)}")  # fmt: skip
        _check_shapes(path, inputs[0].shape, outputs[0].shape, input_size)
        self._input = inputs[0].name

    def infer(self, batch: Batch) -> npt.NDArray[np.float32]:
        out = self._session.run(None, {self._input: batch})[0]
        return np.asarray(out, dtype=np.float32)


class _OpenVino(Backend):
    name = "openvino"

    def __init__(self, path: Path, input_size: int, threads: int) -> None:
        super().__init__(path, input_size)
        try:
            import openvino as ov
        except ImportError as exc:
            raise ModelError(
                f"{path}: backend openvino is selected but not installed "
                "(pip install bright-kitchen-hub[openvino])"
            ) from exc
        core = ov.Core()
        try:
            model = core.read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise ModelError(f"{path}: not a model OpenVINO can read: {exc}") from exc
        meta: dict[str, object] = {}
        if model.has_rt_info(["framework"]):  # where OpenVINO keeps ONNX metadata_props
            for key, value in model.get_rt_info(["framework"]).astype(dict).items():
                meta[str(key)] = value.astype(str)
        _check_metadata(path, meta, input_size)
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ModelError(f"{path}: expected one input and one output")
        inp = [d.get_length() if d.is_static else "?" for d in model.inputs[0].get_partial_shape()]
        out = [d.get_length() if d.is_static else "?" for d in model.outputs[0].get_partial_shape()]
        _check_shapes(path, inp, out, input_size)
        config = {
            "INFERENCE_NUM_THREADS": threads,
            # Same numbers as ONNX Runtime: no bf16/f16 shortcuts on CPUs that have them.
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
        }
        try:
            compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:
            raise ModelError(f"{path}: OpenVINO cannot compile the model: {exc}") from exc
        self._request = compiled.create_infer_request()

    def infer(self, batch: Batch) -> npt.NDArray[np.float32]:
        self._request.infer({0: batch})
        return np.array(self._request.get_output_tensor(0).data, dtype=np.float32)


class _Ultralytics(Backend):
    """Torch through ultralytics' AutoBackend: for GPU hosts (any format it loads, e.g. .pt)."""

    name = "ultralytics"

    def __init__(self, path: Path, input_size: int, threads: int) -> None:
        super().__init__(path, input_size)
        # A running hub never installs or downloads anything (ultralytics would try to).
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "False")
        try:
            import torch
            from ultralytics.nn.autobackend import AutoBackend
        except ImportError as exc:
            raise ModelError(
                f"{path}: backend ultralytics is selected but ultralytics/torch are not "
                "installed (pip install bright-kitchen-hub[train])"
            ) from exc
        self._torch: Any = torch
        self._device: Any = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        if self._device.type == "cpu":
            torch.set_num_threads(threads)
            _log.warning("detector backend ultralytics runs on the CPU here: prefer onnxruntime")
        try:
            self._model: Any = AutoBackend(str(path), device=self._device, verbose=False)
        except Exception as exc:  # torch/ultralytics raise many unrelated types on a bad file
            raise ModelError(f"{path}: ultralytics cannot load the model: {exc}") from exc
        _check_metadata(path, {"names": dict(self._model.names)}, input_size)

    def infer(self, batch: Batch) -> npt.NDArray[np.float32]:
        with self._torch.inference_mode():
            out = self._model(self._torch.from_numpy(batch).to(self._device))
        if isinstance(out, list | tuple):
            out = out[0]
        return np.asarray(out.float().cpu().numpy(), dtype=np.float32)


# The plug-in seam: backend name -> constructor(path, input_size, threads).
BACKENDS: dict[str, Callable[[Path, int, int], Backend]] = {
    _OnnxRuntime.name: _OnnxRuntime,
    _OpenVino.name: _OpenVino,
    _Ultralytics.name: _Ultralytics,
}


def load_backend(name: str, path: Path, *, input_size: int = 320, threads: int = 2) -> Backend:
    """Loads and checks the model at `path` with backend `name`, and runs it once.

    Raises ModelError (naming the file) when the backend is unknown or not installed, the
    file is missing or corrupt, or the model's class map, input size or output shape is not
    what the hub expects.
    """
    factory = BACKENDS.get(str(name))
    if factory is None:
        raise ModelError(f"{path}: unknown detector backend {name!r}; one of {sorted(BACKENDS)}")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    backend = factory(path, input_size, threads)
    _warm_up(backend)
    _log.info("detector model %s loaded with %s (%d px input)", path, backend.name, input_size)
    return backend
