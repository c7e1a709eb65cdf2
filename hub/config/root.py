"""HubConfig: the whole configuration, with id lookups for the rest of the hub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ._base import Section
from .alerts import AlertsConfig
from .camera import Camera
from .cluster import ClusterConfig
from .database import DatabaseConfig
from .detection import DetectionConfig
from .detector import DetectorConfig
from .district import DistrictInfo, School, Town
from .health import HealthConfig
from .ingest import IngestConfig
from .recording import RecordingConfig
from .references import find_reference_problems
from .retention import RetentionConfig
from .simulator import SimulatorConfig
from .storage import StorageConfig
from .supervision import SupervisionConfig
from .web import WebConfig

__all__ = ["REFERENCE_ERROR_TYPE", "HubConfig", "with_node"]

# pydantic error type of cross-reference problems; the loader uses it to tell whether the
# reference check already ran (it only runs once every field is valid).
REFERENCE_ERROR_TYPE = "reference"

_T = TypeVar("_T")


class HubConfig(Section):
    """The hub's configuration, as loaded from config.yaml. Frozen; look ids up with helpers."""

    district: DistrictInfo = Field(default_factory=DistrictInfo, description="The bureau.")
    towns: tuple[Town, ...] = Field(default=(), description="Towns (镇/街道办).")
    schools: tuple[School, ...] = Field(default=(), description="Schools and kindergartens.")
    ingest: IngestConfig = Field(default_factory=IngestConfig, description="Stream pulling.")
    recording: RecordingConfig = Field(
        default_factory=RecordingConfig, description="Continuous recording."
    )
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Object store.")
    database: DatabaseConfig = Field(
        default_factory=DatabaseConfig, description="Metadata database."
    )
    detector: DetectorConfig = Field(
        default_factory=DetectorConfig, description="Violation detection."
    )
    detection: DetectionConfig = Field(
        default_factory=DetectionConfig, description="Violation rules and event media."
    )
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alert delivery.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Health checks.")
    web: WebConfig = Field(default_factory=WebConfig, description="Console and API server.")
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long video is kept."
    )
    simulator: SimulatorConfig = Field(
        default_factory=SimulatorConfig, description="Simulated cameras for demos and tests."
    )
    supervision: SupervisionConfig = Field(
        default_factory=SupervisionConfig, description="Inspection and accompany-meal duties."
    )
    cluster: ClusterConfig = Field(
        default_factory=ClusterConfig, description="Several hub nodes on NATS (off: one node)."
    )

    # Indexes built once after validation; the model is frozen so they never go stale.
    _towns: dict[str, Town] = PrivateAttr(default_factory=dict)
    _schools: dict[str, School] = PrivateAttr(default_factory=dict)
    _cameras: dict[str, tuple[School, Camera]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._towns = {t.id: t for t in self.towns}
        self._schools = {s.id: s for s in self.schools}
        self._cameras = {c.id: (s, c) for s in self.schools for c in s.cameras}

    @model_validator(mode="after")
    def _check_references(self) -> HubConfig:
        problems = find_reference_problems(self)
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(REFERENCE_ERROR_TYPE, message),
                        loc=loc,
                        input=None,
                    )
                    for loc, message in problems
                ],
            )
        return self

    def iter_cameras(self) -> Iterator[tuple[School, Camera]]:
        """Every camera with its school, in file order (disabled cameras included)."""
        for school in self.schools:
            for camera in school.cameras:
                yield school, camera

    def camera(self, camera_id: str) -> Camera:
        """The camera with this id; KeyError if there is none."""
        return self._lookup(self._cameras, camera_id, "camera")[1]

    def school_of(self, camera_id: str) -> School:
        """The school a camera belongs to; KeyError if there is no such camera."""
        return self._lookup(self._cameras, camera_id, "camera")[0]

    def school(self, school_id: str) -> School:
        """The school with this id; KeyError if there is none."""
        return self._lookup(self._schools, school_id, "school")

    def town(self, town_id: str) -> Town:
        """The town with this id; KeyError if there is none."""
        return self._lookup(self._towns, town_id, "town")

    @staticmethod
    def _lookup(index: dict[str, _T], key: str, kind: str) -> _T:
        try:
            return index[key]
        except KeyError:
            raise KeyError(f"unknown {kind} id {key!r}") from None


def with_node(config: HubConfig, node: str) -> HubConfig:
    """`config` with cluster.node set (`bkhub serve --node`); ValidationError on a bad name."""
    cluster = ClusterConfig.model_validate(config.cluster.model_dump() | {"node": node})
    return config.model_copy(update={"cluster": cluster})
