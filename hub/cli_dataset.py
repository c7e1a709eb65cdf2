"""`bkhub dataset build`: real labelled sets (kept outside the repository) -> one YOLO set.

  bkhub dataset build --out ~/bkhub-data/real \
      --source rat-detection ~/realdata/dpk0811+Rat-Detection \
      --source detectors/datasets/sources/tfm-mask-detect.yaml ~/realdata/tfm-mask-detect \
      [--val 0.1] [--synthetic-ratio 0.5 [--synthetic-from ds5_24800]] [--acceptance-out DIR]

  bkhub dataset export --from 2026-11-01 --to 2026-12-01 --out ~/bkhub-data/verdicts \
      [--school S] [--types no_chef_hat,rat] [--val 0.2] [--force]

`export` writes the inspectors' verdicts (false alarms as negatives, corrected boxes and
misses as positives) with their kept frames as a YOLO set, to fine-tune on (issue 15); its
val side is the held-out verdicts `bkhub evaluate` judges new weights on.

Each --source is a mapping file (or the name of a shipped one in detectors/datasets/sources/)
and the folder the source was fetched to. Problems with single files are printed one per line
and counted in <out>/manifest.json; the build goes on with the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from detectors.datasets import BuildError, BuildSummary, SynthesisRequest, build, resolve_mapping
from detectors.datasets.outdir import OutDirError
from detectors.datasets.split import Side
from hub.cli_storage import parse_time, with_storage
from hub.config import HubConfig
from hub.config.detection import ViolationType
from storage.db.database import DatabaseError
from storage.objectstore import ObjectStoreError
from storage.verdict_dataset import export_verdicts

EXIT_FAILED = 1


def _print_summary(summary: BuildSummary) -> None:
    m = summary.manifest
    header = ("source", "found", "train", "val", "accept", "negative", "copies", "skipped")
    print("{:<26} {:>6} {:>6} {:>6} {:>6} {:>8} {:>6} {:>7}".format(*header))
    for name, r in m["sources"].items():
        kept, neg = r["kept"], sum(r["negatives"].values())
        print(f"{name:<26} {r['images_found']:>6} {kept['train']:>6} {kept['val']:>6} "
              f"{kept['acceptance']:>6} {neg:>8} {sum(r['removed'].values()):>6} "
              f"{sum(r['skipped'].values()):>7}")  # fmt: skip
    if m["synthetic"]:
        s = m["synthetic"]["images"]
        print(f"{'synthetic':<26} {'':>6} {s['train']:>6} {s['val']:>6}")
    for reason, n in sorted(_reasons(m).items()):
        print(f"  skipped, {reason}: {n}")
    print(f"wrote {summary.out / 'data.yaml'} and {summary.out / 'manifest.json'} "
          f"in {summary.seconds:.0f} s")  # fmt: skip
    if summary.acceptance is not None:
        print(f"acceptance set (never train on it): {summary.acceptance}")


def _reasons(manifest: dict[str, object]) -> dict[str, int]:
    totals: dict[str, int] = {}
    sources = manifest["sources"]
    assert isinstance(sources, dict)
    for r in sources.values():
        for reason, n in r["skipped"].items():
            totals[reason] = totals.get(reason, 0) + n
    return totals


def _build(args: argparse.Namespace) -> int:
    sources = [(resolve_mapping(mapping), Path(folder)) for mapping, folder in args.source]
    synthetic = SynthesisRequest(ratio=args.synthetic_ratio, from_dir=args.synthetic_from,
                                 seed=args.synthetic_seed)  # fmt: skip
    try:
        summary = build(sources, args.out, val_fraction=args.val, synthetic=synthetic,
                        acceptance_out=args.acceptance_out, force=args.force)  # fmt: skip
    except BuildError as err:
        print(f"bkhub dataset build: {err}", file=sys.stderr)
        return EXIT_FAILED
    _print_summary(summary)
    return 0


def _types(text: str) -> list[str]:
    """--types no_chef_hat,rat (repeatable): violation types, checked against the known ones."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    known = [str(t) for t in ViolationType]
    unknown = [t for t in names if t not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown violation type {unknown or text!r}: {', '.join(known)}"
        )
    return names


async def _export_verdicts(
    config: HubConfig, args: argparse.Namespace, tz: ZoneInfo
) -> dict[Side, int]:
    start, end = parse_time(args.start, tz), parse_time(args.end, tz)
    types = frozenset(t for group in args.types for t in group) if args.types else None
    return await with_storage(
        config,
        lambda db, store: export_verdicts(db, store, args.out, start=start, end=end, tz=tz,
                                          school=args.school, types=types,
                                          val_fraction=args.val, force=args.force),
    )  # fmt: skip


def _export(load: Callable[[str], HubConfig], args: argparse.Namespace) -> int:
    config = load(args.config)
    tz = ZoneInfo(config.district.timezone)
    try:
        counts = asyncio.run(_export_verdicts(config, args, tz))
    except (argparse.ArgumentTypeError, DatabaseError, ObjectStoreError, OSError,
            OutDirError) as err:  # fmt: skip
        print(f"bkhub dataset export: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {counts['train']} train and {counts['val']} val images with labels, "
          f"{args.out / 'data.yaml'} and manifest.csv")  # fmt: skip
    return 0


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: Callable[[str], HubConfig]
) -> None:
    """`load` reads the --config file or exits with its problems (hub.cli)."""
    dataset = sub.add_parser("dataset", help="real labelled sets -> the detector's YOLO dataset")
    actions = dataset.add_subparsers(dest="dataset_command", required=True)
    b = actions.add_parser("build", help="convert, dedup, split and mix real sources")
    b.add_argument("--source", nargs=2, action="append", required=True,
                   metavar=("MAPPING", "DIR"),
                   help="a mapping file (or a shipped name) and that source's folder")  # fmt: skip
    b.add_argument("--out", type=Path, required=True, help="output folder (outside the repo)")
    b.add_argument("--val", type=float, default=0.1, help="share of photos for val (0.1)")
    b.add_argument("--synthetic-ratio", type=float, default=0.0,
                   help="synthetic images per real image in train and val (0: none)")  # fmt: skip
    b.add_argument("--synthetic-from", type=Path,
                   help="a set python -m detectors.scenes rendered (default: render)")  # fmt: skip
    b.add_argument("--synthetic-seed", type=int, default=3_000_000,
                   help="first scene seed when rendering")  # fmt: skip
    b.add_argument("--acceptance-out", type=Path,
                   help="where acceptance images go (default: OUT/acceptance)")  # fmt: skip
    b.add_argument("--force", action="store_true", help="replace an earlier build in OUT")
    b.set_defaults(run=_build)
    e = actions.add_parser("export", help="inspectors' verdicts -> a YOLO set to fine-tune on")
    e.add_argument("--from", dest="start", required=True, help="verdicts given at or after (ISO)")
    e.add_argument("--to", dest="end", required=True, help="and before (ISO, local if no offset)")
    e.add_argument("--out", type=Path, required=True, help="output folder (outside the repo)")
    e.add_argument("--school", help="one school's verdicts only")
    e.add_argument("--types", "--type", dest="types", action="append", type=_types,
                   help="violation types only, comma-separated, e.g. no_chef_hat,rat")  # fmt: skip
    e.add_argument("--val", type=float, default=0.2,
                   help="share of verdicts held out for evaluation (0.2)")  # fmt: skip
    e.add_argument("--force", action="store_true", help="replace an earlier export in OUT")
    e.set_defaults(run=lambda args: _export(load, args))
