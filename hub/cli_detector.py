"""`bkhub train`, `evaluate`, `export` and `quantize`: the detector's model life cycle.

These need the optional `[train]` extra (ultralytics + torch; `quantize` only its onnx); the
hub itself never does.

  bkhub train --data my-footage/data.yaml            retrain on any standard YOLO dataset
  bkhub train --scenes 2400 --out runs/detector      render the synthetic set first, then train
  bkhub evaluate --weights best.pt --data ds/data.yaml
  bkhub evaluate --weights new.onnx --verdicts verdicts/     new vs running, held-out verdicts
  bkhub export --weights best.pt --out detectors/models/bkhub-yolo11n.onnx
  bkhub quantize --model detectors/models/bkhub-yolo11n.onnx --images ds/images/val \
      --out detectors/models/bkhub-yolo11n.int8.onnx
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from detectors.training import DEFAULT_TRAIN_CONFIG, TrainingError
from hub.config import HubConfig

EXIT_FAILED = 1


def _train(args: argparse.Namespace) -> int:
    from detectors.training import train

    data: Path | None = args.data
    if data is None:
        from detectors.scenes import load_footage, write_dataset

        summary = write_dataset(args.out / "dataset", count=args.scenes, imgsz=args.imgsz or 320,
                                footage=load_footage())  # fmt: skip
        print(f"rendered {summary.train} train + {summary.val} val images to {summary.root}")
        data = summary.root / "data.yaml"
    overrides = {"epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch}
    best = train(data, config=args.train_config, project=args.out, overrides=overrides)
    print(f"best weights: {best}")
    return 0


def _compare_on_verdicts(load: Callable[[str], HubConfig], args: argparse.Namespace) -> int:
    from hub.verdict_eval import score_verdicts

    running = args.against or load(args.config).detector.model_path
    print(f"held-out verdicts ({args.split}) in {args.verdicts}:")
    print(f"{'model':<48} {'false alarms raised':>20} {'boxes found':>12}")
    for model in (running, args.weights):
        s = asyncio.run(score_verdicts(model, args.verdicts, side=args.split,
                                       confidence=args.confidence))  # fmt: skip
        print(f"{model!s:<48} {f'{s.false_alarms} of {s.negatives}':>20} "
              f"{f'{s.boxes_found} of {s.boxes}':>12}")  # fmt: skip
    return 0


def _evaluate(load: Callable[[str], HubConfig], args: argparse.Namespace) -> int:
    if args.verdicts is not None:
        return _compare_on_verdicts(load, args)
    if args.data is None:
        raise TrainingError("give --data (a YOLO dataset) or --verdicts (a verdict export)")
    from detectors.training import evaluate, metrics_json

    rows = evaluate(args.weights, args.data, imgsz=args.imgsz, split=args.split)
    header = ("class", "images", "boxes", "P", "R", "mAP50", "mAP50-95")
    print("{:<14} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8}".format(*header))
    for r in rows:
        print(f"{r.name:<14} {r.images:>6} {r.instances:>6} {r.precision:>6.3f} {r.recall:>6.3f} "
              f"{r.map50:>6.3f} {r.map50_95:>8.3f}")  # fmt: skip
    if args.json:
        args.json.write_text(metrics_json(rows) + "\n", encoding="utf-8")
    return 0


def _export(args: argparse.Namespace) -> int:
    from detectors.training import export_onnx

    print(export_onnx(args.weights, args.out, imgsz=args.imgsz))
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from detectors.quantize import calibration_images, quantize_int8

    images = calibration_images(args.images, args.count)
    print(quantize_int8(args.model, args.out, images, input_size=args.imgsz))
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return int(args.detector_run(args))
    except TrainingError as err:
        print(f"bkhub {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILED
    except ModuleNotFoundError as err:
        if err.name not in {"ultralytics", "torch", "onnx"}:
            raise
        print(f"bkhub {args.command}: needs the training extra: pip install -e '.[train]'",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: Callable[[str], HubConfig]
) -> None:
    """`load` reads the --config file or exits with its problems (hub.cli)."""
    train = sub.add_parser("train", help="train the detector (needs the [train] extra)")
    train.add_argument("--data", type=Path, help="YOLO dataset YAML (default: render scenes)")
    train.add_argument("--scenes", type=int, default=2400, help="synthetic scenes to render")
    train.add_argument("--out", type=Path, default=Path("runs/detector"), help="output folder")
    train.add_argument("--train-config", type=Path, default=DEFAULT_TRAIN_CONFIG)
    train.add_argument("--epochs", type=int)
    train.add_argument("--imgsz", type=int)
    train.add_argument("--batch", type=int)
    train.set_defaults(run=run, detector_run=_train)

    evaluate = sub.add_parser(
        "evaluate", help="per-class mAP on a dataset, or new weights vs the running on verdicts"
    )
    evaluate.add_argument("--weights", type=Path, required=True)
    evaluate.add_argument("--data", type=Path, help="a YOLO dataset YAML (mAP per class)")
    evaluate.add_argument("--verdicts", type=Path, help="a `bkhub dataset export` folder")
    evaluate.add_argument("--against", type=Path, help="the running model (default: config's)")
    evaluate.add_argument("--confidence", type=float, default=0.5, help="lowest score counted")
    evaluate.add_argument("--split", default="val")
    evaluate.add_argument("--imgsz", type=int, default=320)
    evaluate.add_argument("--json", type=Path, help="also write the metrics as JSON")
    evaluate.set_defaults(run=run, detector_run=lambda args: _evaluate(load, args))

    export = sub.add_parser("export", help="export weights to ONNX for the runtime")
    export.add_argument("--weights", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--imgsz", type=int, default=320)
    export.set_defaults(run=run, detector_run=_export)

    quantize = sub.add_parser("quantize", help="INT8 copy of an ONNX model for CPUs")
    quantize.add_argument("--model", type=Path, required=True, help="the exported ONNX model")
    quantize.add_argument("--images", type=Path, required=True, help="calibration image folder")
    quantize.add_argument("--out", type=Path, required=True)
    quantize.add_argument("--count", type=int, default=100, help="calibration images to use")
    quantize.add_argument("--imgsz", type=int, default=320)
    quantize.set_defaults(run=run, detector_run=_quantize)
