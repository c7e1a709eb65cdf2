"""`bkhub dataset build`: real labelled sets (and synthetic scenes) -> one YOLO dataset.

    build([(mapping.yaml, folder), ...], out)   ->   out/images/{train,val}, out/labels/...,
                                                     out/data.yaml, out/manifest.json,
                                                     out/acceptance/ (role: acceptance)

1. each source is read through its mapping (scan): bad files are named, counted, left out;
2. copies of one photo are found across all sources (dedup) and one of each is kept;
3. each photo's group (its copies, and the frames of its recording) goes to train or val by a
   hash of the group (split); a group that holds an acceptance image stays out of both;
4. the images are copied with labels in the project's class map (writer), synthetic scenes
   mixed in at the stated ratio (synthetic), and the manifest says what came from where.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from detectors.datasets.dedup import components, near_pairs
from detectors.datasets.mapping import SourceMapping, load_mapping
from detectors.datasets.outdir import OutDirError, prepare_out
from detectors.datasets.problems import DUPLICATE, LEAKS_ACCEPTANCE, MappingError, Problems
from detectors.datasets.scan import Sample, SourceScan, scan_source
from detectors.datasets.split import side_of
from detectors.datasets.synthetic import SyntheticMix, mix_synthetic
from detectors.datasets.writer import YoloWriter, file_name
from detectors.scenes.labels import CLASS_NAMES
from detectors.training import TrainingError
from detectors.training import _check_dataset as check_dataset

__all__ = [
    "ACCEPTANCE_DIR",
    "MANIFEST",
    "SOURCES_DIR",
    "BuildError",
    "BuildSummary",
    "SynthesisRequest",
    "build",
    "resolve_mapping",
]

SOURCES_DIR: Final = Path(__file__).with_name("sources")
MANIFEST: Final = "manifest.json"
ACCEPTANCE_DIR: Final = "acceptance"
# What a rebuild with --force clears (never the whole folder: it may hold other things).
_OUTPUTS: Final = ("images", "labels", ACCEPTANCE_DIR, "data.yaml", MANIFEST)


class BuildError(RuntimeError):
    """The build cannot start or produced nothing; one line."""


@dataclass
class SynthesisRequest:
    ratio: float = 0.0
    from_dir: Path | None = None
    seed: int = 3_000_000  # far from the training (0..27,799) and held-out (1,000,000..) seeds


@dataclass
class BuildSummary:
    out: Path
    acceptance: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def resolve_mapping(spec: str) -> Path:
    """A mapping file path, or the name of a shipped one (`rat-detection`)."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return SOURCES_DIR / f"{spec}.yaml"


def _prepare(out: Path, force: bool) -> None:
    try:
        prepare_out(out, _OUTPUTS, force=force)
    except OutDirError as err:
        raise BuildError(str(err)) from None


def _namespaced(source: str, key: str | None) -> str | None:
    return None if key is None else f"{source}\0{key}"


@dataclass
class _Plan:
    """Where each sample goes: a split, "acceptance", or a removal reason."""

    placement: list[str]
    removed: dict[int, tuple[str, int]]  # sample index -> (reason, the index it duplicates)


def _plan(samples: Sequence[Sample], keep_all: set[str], val_fraction: float) -> _Plan:
    pairs = near_pairs([s.hash for s in samples])
    photo = [_namespaced(s.source, s.photo_key) for s in samples]
    recording = [_namespaced(s.source, s.recording_key) for s in samples]
    # Sides: copies, frames of a recording, and chains of them stay together (when in doubt,
    # together is the safe side: nothing of a val photo leaks into train).
    sides = components(len(samples), pairs, photo, recording)
    earlier: dict[int, list[int]] = defaultdict(list)
    for i, j in pairs:
        earlier[i].append(j)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(sides):
        members[g].append(i)
    placement = [""] * len(samples)
    removed: dict[int, tuple[str, int]] = {}
    kept: set[int] = set()
    kept_photo: dict[str, int] = {}
    for group in members.values():
        roles = {samples[i].role for i in group}
        referee = next((i for i in group if samples[i].role == "acceptance"), None)
        forced = "val" if "val" in roles else "train" if "train" in roles else None
        # The group's key is its first member's path: stable, and the same for its copies.
        first = samples[group[0]]
        side = forced or side_of(f"{first.source}/{first.rel}", val_fraction)
        for i in group:
            s, key = samples[i], photo[i]
            if s.role == "acceptance":
                placement[i] = "acceptance"  # the referee set is kept whole, copies and all
                continue
            if referee is not None:
                removed[i] = (LEAKS_ACCEPTANCE, referee)
                continue
            # A copy is one close to an image already kept (not to a chain of frames, each
            # a little further from the first: those are kept, all on one side).
            twin = next((j for j in earlier[i] if j in kept), None)
            if twin is None and key is not None:
                twin = kept_photo.get(key)
            if twin is not None and s.source not in keep_all:
                removed[i] = (DUPLICATE, twin)
                continue
            kept.add(i)
            if key is not None:
                kept_photo.setdefault(key, i)
            placement[i] = side
    return _Plan(placement, removed)


def _source_report(scan: SourceScan, placement: Sequence[str], removed: Counter[str],
                   boxes: Mapping[str, Counter[str]]) -> dict[str, Any]:  # fmt: skip
    m: SourceMapping = scan.mapping
    kept = Counter(placement)
    negatives = Counter(p for s, p in zip(scan.samples, placement, strict=True)
                        if p and s.negative)  # fmt: skip
    return {
        "mapping": str(m.path),
        "root": str(scan.root),
        "repo": m.repo,
        "commit": m.commit,
        "licence": m.licence,
        "format": m.format,
        "labels": m.labels,
        "boxed_classes": list(m.boxed_classes),
        "shown_unboxed": list(m.shown_unboxed),
        "notes": m.notes,
        "images_found": scan.found,
        "images_read": len(scan.samples),
        "kept": {k: kept.get(k, 0) for k in ("train", "val", "acceptance")},
        "boxes": {k: dict(boxes.get(k, {})) for k in ("train", "val", "acceptance")},
        "negatives": {k: negatives.get(k, 0) for k in ("train", "val", "acceptance")},
        "removed": dict(removed),
        "skipped": dict(scan.problems.counts),
        "dropped_labels": dict(scan.dropped_labels),
        "labels_without_image": scan.orphan_labels,
        "missing_folders": scan.missing_folders,
    }


def build(
    sources: Sequence[tuple[Path, Path]],
    out: Path,
    *,
    val_fraction: float = 0.1,
    synthetic: SynthesisRequest | None = None,
    acceptance_out: Path | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> BuildSummary:
    """Builds `out` from (mapping file, source folder) pairs; see the module docstring."""
    started = time.monotonic()
    if not 0 <= val_fraction < 1:
        raise BuildError(f"val fraction {val_fraction} is not in [0, 1)")
    if synthetic is not None and synthetic.ratio < 0:
        raise BuildError(f"synthetic ratio {synthetic.ratio} is negative")
    if synthetic is not None and synthetic.ratio > 0 and synthetic.from_dir is not None:
        try:  # before hours of reading: a wrong scene folder is said at once
            check_dataset(synthetic.from_dir / "data.yaml")
        except TrainingError as err:
            raise BuildError(f"--synthetic-from: {err}") from None
    _prepare(out, force)
    accept_root = acceptance_out or out / ACCEPTANCE_DIR
    if acceptance_out is not None:
        _prepare(acceptance_out, force)
    skipped_sources: list[dict[str, str]] = []
    scans: list[SourceScan] = []
    for mapping_path, root in sources:
        try:
            mapping = load_mapping(mapping_path)
        except MappingError as err:
            say(f"skip source {root}: {err}")
            skipped_sources.append({"mapping": str(mapping_path), "root": str(root),
                                    "reason": str(err)})  # fmt: skip
            continue
        if any(s.mapping.name == mapping.name for s in scans):
            say(f"skip source {root}: {mapping.name} is given twice")
            skipped_sources.append({"mapping": str(mapping_path), "root": str(root),
                                    "reason": f"{mapping.name} given twice"})  # fmt: skip
            continue
        t0 = time.monotonic()
        scan = scan_source(mapping, root, Problems(say))
        scans.append(scan)
        say(
            f"{mapping.name}: {scan.found} images, {len(scan.samples)} usable, "
            f"{sum(scan.problems.counts.values())} skipped ({time.monotonic() - t0:.0f} s)"
        )

    samples = [s for scan in scans for s in scan.samples]
    keep_all = {scan.mapping.name for scan in scans if scan.mapping.keep_duplicates}
    plan = _plan(samples, keep_all, val_fraction)

    writer = YoloWriter(out, ("train", "val"))
    referee = YoloWriter(accept_root, ("",)) if "acceptance" in plan.placement else None
    removed_files = []
    source_boxes: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for i, (s, where) in enumerate(zip(samples, plan.placement, strict=True)):
        if i in plan.removed:
            reason, twin = plan.removed[i]
            removed_files.append({"file": str(s.path), "reason": reason,
                                  "same_as": str(samples[twin].path)})  # fmt: skip
            continue
        target, split = (referee, "") if where == "acceptance" else (writer, where)
        assert target is not None
        name = file_name(s.source, s.rel)
        written = target.add(split, name, s.path, s.boxes, s.width, s.height)
        source_boxes[s.source][where].update(written)

    real = dict(writer.images)
    mix: SyntheticMix | None = None
    if synthetic is not None and synthetic.ratio > 0:
        mix = mix_synthetic(out, ratio=synthetic.ratio, real=real, from_dir=synthetic.from_dir,
                            seed=synthetic.seed, say=say)  # fmt: skip
    writer.write_data_yaml("images/train", "images/val")

    offset = 0
    reports: dict[str, Any] = {}
    for scan in scans:
        n = len(scan.samples)
        placement = plan.placement[offset : offset + n]
        removed = Counter(plan.removed[i][0] for i in range(offset, offset + n)
                          if i in plan.removed)  # fmt: skip
        name = scan.mapping.name
        reports[name] = _source_report(scan, placement, removed, source_boxes[name])
        offset += n
    boxes = {split: dict(writer.boxes[split]) for split in writer.splits}
    manifest: dict[str, Any] = {
        "created_by": "bkhub dataset build",
        "classes": list(CLASS_NAMES),
        "val_fraction": val_fraction,
        "split": "by photo: sha256 of the first path of each group of copies and recording "
        "frames; groups holding an acceptance image are left out of train and val",
        "images": {"train": real.get("train", 0), "val": real.get("val", 0)},
        "boxes": boxes,
        "boxes_under_2px_not_written": writer.tiny + (referee.tiny if referee else 0),
        "synthetic": asdict(mix) if mix else None,
        "acceptance": str(accept_root) if referee else None,
        "sources": reports,
        "skipped_sources": skipped_sources,
        "skipped_files": [f for scan in scans for f in scan.problems.files],
        "removed_files": removed_files,
    }
    manifest["seconds"] = round(time.monotonic() - started, 1)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")  # fmt: skip
    if referee is not None:
        _write_acceptance(referee, manifest)
    if not real and referee is None and not (mix and sum(mix.images.values())):
        raise BuildError(f"{out}: no usable image in any source (see the lines above)")
    return BuildSummary(out, accept_root if referee else None, manifest,
                        time.monotonic() - started)  # fmt: skip


def _write_acceptance(referee: YoloWriter, manifest: dict[str, Any]) -> None:
    """The acceptance set: a flat YOLO set (train and val both name it, for evaluate)."""
    referee.write_data_yaml("images", "images")
    drop = ("kept", "negatives", "removed", "boxes")
    sources = {name: {k: v for k, v in r.items() if k not in drop}
               | {"images": r["kept"]["acceptance"], "negatives": r["negatives"]["acceptance"],
                  "boxes": r["boxes"]["acceptance"]}
               for name, r in manifest["sources"].items() if r["kept"]["acceptance"]}  # fmt: skip
    own = {
        "created_by": "bkhub dataset build (acceptance: never train, tune or pick thresholds "
        "on it)",
        "classes": list(CLASS_NAMES),
        "images": referee.images[""],
        "boxes": dict(referee.boxes[""]),
        "sources": sources,
    }
    (referee.root / MANIFEST).write_text(json.dumps(own, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")  # fmt: skip
