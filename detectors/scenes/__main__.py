"""`python -m detectors.scenes --out DIR --count N --size 640 --seed S`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detectors.scenes.backgrounds import load_footage
from detectors.scenes.dataset import write_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m detectors.scenes", description="Render a labelled YOLO kitchen dataset."
    )
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    parser.add_argument("--count", type=int, default=1000, help="number of scenes")
    parser.add_argument("--size", type=int, default=1280, help="camera width in px (16:9)")
    parser.add_argument("--imgsz", type=int, default=320, help="model input size in px")
    parser.add_argument("--crops", type=int, default=2, help="square crops per scene")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first scene")
    parser.add_argument(
        "--no-footage", action="store_true", help="skip the real sample-video backgrounds"
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.size < 64 or args.imgsz < 32 or args.crops < 0:
        parser.error("--count must be >= 1, --size >= 64, --imgsz >= 32, --crops >= 0")
    footage = [] if args.no_footage else load_footage()
    summary = write_dataset(args.out, count=args.count, size=args.size, imgsz=args.imgsz,
                            crops=args.crops, seed=args.seed, footage=footage)  # fmt: skip
    print(f"wrote {summary.train} train + {summary.val} val images to {summary.root}")
    for name, n in summary.boxes_per_class.items():
        print(f"  {name:<14} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
