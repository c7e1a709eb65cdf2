"""The model pipeline a user retrains with: render -> `bkhub train` -> evaluate -> export -> ONNX.

A tiny dataset and one epoch at 64 px: this proves the commands work end to end offline (in a
network namespace with only `lo`, so any download attempt would fail), not that the model is
good; the committed model's metrics are in detectors/models/README.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml

from detectors.runtime import load_backend
from detectors.scenes import CLASS_NAMES, write_dataset

REPO = Path(__file__).resolve().parents[1]
BKHUB = [sys.executable, "-m", "hub.cli"]

pytest.importorskip("ultralytics", reason="the [train] extra is not installed")


def _offline(cmd: list[str]) -> list[str]:
    """`cmd` inside a network namespace without any interface up, when the machine allows it."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"]).returncode == 0:
        return ["unshare", "-n", "--", *cmd]
    return cmd


def _bkhub(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_offline([*BKHUB, *args]), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    write_dataset(root / "ds", count=10, size=320, imgsz=64, crops=1, seed=42)
    return root / "ds" / "data.yaml"


def test_train_evaluate_export_offline(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    trained = _bkhub("train", "--data", str(tiny_dataset), "--out", str(out), "--epochs", "1",
                     "--imgsz", "64", "--batch", "4")  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    best = out / "train" / "weights" / "best.pt"
    assert best.is_file() and f"best weights: {best}" in trained.stdout

    metrics = tmp_path / "metrics.json"
    evaluated = _bkhub("evaluate", "--weights", str(best), "--data", str(tiny_dataset),
                       "--imgsz", "64", "--json", str(metrics))  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    rows = json.loads(metrics.read_text())
    assert [r["name"] for r in rows] == list(CLASS_NAMES)
    assert all(0.0 <= r["map50"] <= 1.0 and r["map50_95"] <= r["map50"] + 1e-9 for r in rows)
    assert "cockroach" in evaluated.stdout

    onnx_path = tmp_path / "model.onnx"
    exported = _bkhub("export", "--weights", str(best), "--out", str(onnx_path), "--imgsz", "64")
    assert exported.returncode == 0, exported.stderr[-3000:]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = session.get_modelmeta().custom_metadata_map["names"]
    assert all(f"'{name}'" in names for name in CLASS_NAMES)
    batch = np.zeros((2, 3, 64, 64), np.float32)  # dynamic batch: two images at once
    (output,) = session.run(None, {session.get_inputs()[0].name: batch})
    assert output.shape[:2] == (2, 4 + len(CLASS_NAMES))

    int8 = tmp_path / "model.int8.onnx"
    images = tiny_dataset.parent / "images"
    quantized = _bkhub("quantize", "--model", str(onnx_path), "--images", str(images),
                       "--out", str(int8), "--count", "4", "--imgsz", "64")  # fmt: skip
    assert quantized.returncode == 0, quantized.stderr[-3000:]
    ops = Counter(node.op_type for node in onnx.load(str(int8)).graph.node)
    assert ops["QuantizeLinear"] > 0 and ops["Conv"] > 0  # 8-bit convolutions, float head
    backend = load_backend("onnxruntime", int8, input_size=64, threads=1)  # its metadata kept
    assert backend.infer(batch).shape == output.shape
    bad = _bkhub("quantize", "--model", str(onnx_path), "--images", str(tmp_path / "none"),
                 "--out", str(tmp_path / "x.onnx"))  # fmt: skip
    assert bad.returncode == 1 and "no calibration images" in bad.stderr


def test_dataset_with_other_classes_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    spec = yaml.safe_load(tiny_dataset.read_text())
    spec["names"] = {0: "person", 1: "helmet"}
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(spec))
    done = _bkhub("train", "--data", str(other), "--out", str(tmp_path / "run"), "--epochs", "1")
    assert done.returncode == 1
    assert "do not match the detector's class map" in done.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_unreadable_training_config_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    bad = tmp_path / "train.yaml"
    bad.write_text("epochs: [1,\n")
    done = _bkhub("train", "--data", str(tiny_dataset), "--train-config", str(bad),
                  "--out", str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 1 and "cannot read the training config" in done.stderr


def test_calibration_images_are_spread_and_counted(tiny_dataset: Path, tmp_path: Path) -> None:
    from detectors.quantize import calibration_images
    from detectors.training import TrainingError

    folder = tiny_dataset.parent / "images"
    everything = sorted(folder.rglob("*.jpg"))
    images = calibration_images(folder, 4)
    picked = [everything.index(p) for p in images]
    assert len(set(picked)) == 4 and picked[-1] - picked[0] >= len(everything) // 2  # spread
    with pytest.raises(TrainingError, match="at least 1"):
        calibration_images(tiny_dataset.parent / "images", 0)
    with pytest.raises(TrainingError, match="no calibration images"):
        calibration_images(tmp_path, 4)
