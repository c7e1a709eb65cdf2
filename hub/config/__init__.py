"""Bright Kitchen Hub configuration: strict, frozen pydantic models loaded from config.yaml.

Use ``load_config(path)``; it raises ``ConfigError`` listing every problem in the file.
"""

from .alerts import AlertChannel, AlertsConfig, EscalationConfig, WebhookChannel
from .camera import Camera, OnvifEndpoint, RoomKind
from .cluster import ClusterConfig, advertised_url, node_name
from .database import DatabaseConfig
from .detector import DetectorBackend, DetectorConfig
from .district import CanteenGrade, DistrictInfo, Kitchen, School, SchoolKind, Town
from .errors import ConfigError, ConfigProblem
from .ingest import IngestConfig, RtspTransport
from .loader import load_config
from .paths import resolve_relative_paths
from .recording import RecordingConfig
from .retention import RetentionConfig, RetentionOverride
from .root import HubConfig, with_node
from .simulator import SimulatorConfig
from .storage import LocalStoreConfig, ObjectStoreConfig, S3StoreConfig, StorageConfig
from .supervision import Duty, DutyPeriod, DutyRole, DutyRule, SupervisionConfig
from .web import WebConfig

__all__ = [
    "AlertChannel",
    "AlertsConfig",
    "Camera",
    "CanteenGrade",
    "ClusterConfig",
    "ConfigError",
    "ConfigProblem",
    "DatabaseConfig",
    "DetectorBackend",
    "DetectorConfig",
    "DistrictInfo",
    "Duty",
    "DutyPeriod",
    "DutyRole",
    "DutyRule",
    "EscalationConfig",
    "HubConfig",
    "IngestConfig",
    "Kitchen",
    "LocalStoreConfig",
    "ObjectStoreConfig",
    "OnvifEndpoint",
    "RecordingConfig",
    "RetentionConfig",
    "RetentionOverride",
    "RoomKind",
    "RtspTransport",
    "S3StoreConfig",
    "School",
    "SchoolKind",
    "SimulatorConfig",
    "StorageConfig",
    "SupervisionConfig",
    "Town",
    "WebConfig",
    "WebhookChannel",
    "advertised_url",
    "load_config",
    "node_name",
    "resolve_relative_paths",
    "with_node",
]
