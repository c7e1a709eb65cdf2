"""Real labelled sets -> the detector's YOLO dataset: `bkhub dataset build`.

Each source (a folder a user fetched, kept outside the repository) comes with a small mapping
file (`mapping`, shipped ones in `sources/`) saying its format (`yolo` boxes or polygons,
`voc` xml), its folders and roles, and what its labels are in the project's class map. The
build (`build`) reads them (`scan`), drops near-duplicate copies (`dedup`), splits train/val
by photo (`split`), mixes in synthetic scenes (`synthetic`) and writes a standard YOLO set
with a manifest (`writer`); bad files are named and counted, never fatal (`problems`).
"""

from detectors.datasets.build import (
    ACCEPTANCE_DIR,
    MANIFEST,
    SOURCES_DIR,
    BuildError,
    BuildSummary,
    SynthesisRequest,
    build,
    resolve_mapping,
)
from detectors.datasets.mapping import SourceMapping, load_mapping
from detectors.datasets.problems import MappingError, Skip
from detectors.datasets.writer import source_of

__all__ = [
    "ACCEPTANCE_DIR",
    "MANIFEST",
    "SOURCES_DIR",
    "BuildError",
    "BuildSummary",
    "MappingError",
    "Skip",
    "SourceMapping",
    "SynthesisRequest",
    "build",
    "load_mapping",
    "resolve_mapping",
    "source_of",
]
