r"""A source's mapping file: where its images and labels are, and what its labels mean here.

One small YAML per source (shipped ones in `detectors/datasets/sources/`)::

    name: rat-detection                # prefix of its files in a build; [a-z0-9-]
    repo: dpk0811/Rat-Detection        # where it came from
    commit: 9842ca47fbf1c1fc95c3740cd1ca74bf2cfb7026
    licence: none stated               # as the source states it, or "none stated"
    format: yolo                       # yolo (box or polygon per line) | voc
    names: [rat]                       # yolo only: class index -> label name
    labels: {rat: rat}                 # label name -> project class, or drop
    folders:                           # relative to the folder given on the command line
      - {images: yolov7/data/train, labels: yolov7/data/train}       # role: split (default)
      - {images: yolov7/data/val, labels: yolov7/data/val, role: acceptance}
    same_photo: '^(.+)_jpg\.rf\.'      # optional: a stem's match names the photo it copies
    same_recording: '^(.+?)_\d+_jpg'   # optional: ... the video a frame comes from
    keep_duplicates: false             # true: keep every copy of a photo (same side anyway)
    empty_labels: negative             # negative (default: kept, no boxes) | skip
    shown_unboxed: []                  # project classes every image shows, with no boxes

Roles: `split` goes to train or val by photo; `train` / `val` force a side; `acceptance` is a
referee set that never enters train or val (and pushes its near-duplicates and the other frames
of its recordings out of them). Copies of one photo are found by their pixels (see dedup) and,
where a source's augmentations rotate them, by `same_photo`: one of each is kept. Frames of one
`same_recording` are all kept but always land on the same side of the split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import yaml

from detectors.datasets.problems import MappingError
from detectors.scenes.labels import CLASS_NAMES

__all__ = ["DROP", "FORMATS", "ROLES", "Folder", "Role", "SourceMapping", "load_mapping"]

FORMATS: Final = ("voc", "yolo")
DROP: Final = "drop"
Role = Literal["split", "train", "val", "acceptance"]
ROLES: Final[tuple[str, ...]] = get_args(Role)
# A build names its files <source>__<path>: a source name is a plain slug.
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_REQUIRED: Final = ("name", "repo", "commit", "licence", "format", "labels", "folders")
_OPTIONAL: Final = (
    "names",
    "same_photo",
    "same_recording",
    "keep_duplicates",
    "empty_labels",
    "shown_unboxed",
    "notes",
)


@dataclass(frozen=True, slots=True)
class Folder:
    images: str
    labels: str
    role: Role


@dataclass(frozen=True, slots=True)
class SourceMapping:
    path: Path  # the mapping file itself
    name: str
    repo: str
    commit: str
    licence: str
    format: str
    names: tuple[str, ...]
    labels: dict[str, str]  # label name -> project class or DROP
    folders: tuple[Folder, ...]
    same_photo: re.Pattern[str] | None
    same_recording: re.Pattern[str] | None
    keep_duplicates: bool
    empty_labels: Literal["negative", "skip"]
    shown_unboxed: tuple[str, ...]
    notes: str

    def photo_key(self, stem: str) -> str | None:
        """The photo an image copies (its stem's `same_photo` match), None if not said."""
        return _key(self.same_photo, stem)

    def recording_key(self, stem: str) -> str | None:
        return _key(self.same_recording, stem)

    @property
    def boxed_classes(self) -> tuple[str, ...]:
        """Project classes this source draws boxes for (where its boxes are complete)."""
        return tuple(c for c in CLASS_NAMES if c in self.labels.values())


def _key(pattern: re.Pattern[str] | None, stem: str) -> str | None:
    if pattern is None or (m := pattern.match(stem)) is None:
        return None
    return m.group(1) if pattern.groups else m.group(0)


def _pattern(path: Path, spec: dict[str, Any], key: str) -> re.Pattern[str] | None:
    if spec.get(key) is None:
        return None
    try:
        pattern = re.compile(str(spec[key]))
    except re.error as err:
        raise MappingError(f"{path}: {key} is not a regular expression: {err}") from None
    if pattern.groups > 1:
        raise MappingError(f"{path}: {key} may have one group (the name), it has {pattern.groups}")
    return pattern


def _choice(path: Path, spec: dict[str, Any], key: str, allowed: tuple[str, ...],
            default: str) -> str:  # fmt: skip
    value = str(spec.get(key, default))
    if value not in allowed:
        raise MappingError(f"{path}: unknown {key} {value!r} (known: {', '.join(allowed)})")
    return value


def _folders(path: Path, raw: object) -> tuple[Folder, ...]:
    if not isinstance(raw, list) or not raw:
        raise MappingError(f"{path}: folders must be a non-empty list")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not {"images", "labels"} <= item.keys():
            raise MappingError(f"{path}: folders[{i}] needs images: and labels:")
        role = _choice(path, item, "role", ROLES, "split")
        out.append(Folder(str(item["images"]), str(item["labels"]), cast(Role, role)))
    return tuple(out)


def _labels(path: Path, raw: object) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{path}: labels must map label names to project classes or drop")
    labels = {str(k): str(v) for k, v in raw.items()}
    wrong = sorted(v for v in labels.values() if v != DROP and v not in CLASS_NAMES)
    if wrong:
        raise MappingError(f"{path}: {wrong} are neither project classes nor drop "
                           f"(classes: {', '.join(CLASS_NAMES)})")  # fmt: skip
    return labels


def load_mapping(path: Path) -> SourceMapping:
    """The mapping in `path`; MappingError with a one-line reason when it cannot be used."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise MappingError(f"{path}: cannot read the mapping: {err}".splitlines()[0]) from err
    if not isinstance(spec, dict):
        raise MappingError(f"{path}: a mapping (key: value) expected")
    missing = [k for k in _REQUIRED if k not in spec]
    unknown = sorted(set(spec) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        raise MappingError(f"{path}: missing {missing}, unknown {unknown}")
    name = str(spec["name"])
    if not _NAME.match(name):
        raise MappingError(f"{path}: name {name!r} must be lower-case letters, digits and -")
    fmt = _choice(path, spec, "format", FORMATS, "")
    names = tuple(str(n) for n in spec.get("names") or ())
    if fmt == "yolo" and not names:
        raise MappingError(f"{path}: a yolo source needs names: (class index -> label name)")
    labels = _labels(path, spec["labels"])
    shown = tuple(str(c) for c in spec.get("shown_unboxed") or ())
    if stray := sorted(set(shown) - set(CLASS_NAMES)):
        raise MappingError(f"{path}: shown_unboxed {stray} are not project classes")
    return SourceMapping(
        path=path,
        name=name,
        repo=str(spec["repo"]),
        commit=str(spec["commit"]),
        licence=str(spec["licence"]),
        format=fmt,
        names=names,
        labels=labels,
        folders=_folders(path, spec["folders"]),
        same_photo=_pattern(path, spec, "same_photo"),
        same_recording=_pattern(path, spec, "same_recording"),
        keep_duplicates=bool(spec.get("keep_duplicates", False)),
        empty_labels=cast(Literal["negative", "skip"],
                          _choice(path, spec, "empty_labels", ("negative", "skip"), "negative")),
        shown_unboxed=shown,
        notes=str(spec.get("notes", "")),
    )  # fmt: skip
