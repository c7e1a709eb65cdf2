"""hub.config: file-level problems, env references, secrets, immutability and lookups."""

from __future__ import annotations

import copy
import pickle
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import hub.config
from hub.config import (
    ConfigError,
    ConfigProblem,
    HubConfig,
    RoomKind,
    advertised_url,
    load_config,
    node_name,
    with_node,
)
from tests.configdata import camera_of, district, load_data, problems_of

REPO = Path(__file__).resolve().parent.parent
Mutation = Callable[[dict[str, Any]], None]


# -- file-level problems ------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: file not found"


def test_config_error_survives_pickling() -> None:
    err = ConfigError([ConfigProblem("web.port", "required"), ConfigProblem("colour", "x")])
    again = pickle.loads(pickle.dumps(err))
    assert again.problems == err.problems
    assert str(again) == "web.port: required\ncolour: x"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    text = "district:\n  id: demo\n  name: [unclosed\nschools: []\n"
    (problem,) = problems_of(tmp_path, text)
    assert problem.path.endswith("config.yaml")
    assert problem.message.startswith("YAML syntax error at line 4, column ")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "web:\n  port: 1\nweb:\n  port: 2\n")
    assert problem.message == (
        "YAML syntax error at line 3, column 1: duplicate key 'web' (first at line 1)"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "file is empty"),
        ("# only a comment\n", "file is empty"),
        ("- a\n- b\n", "top level must be a mapping of sections, not a list"),
        ("just text\n", "top level must be a mapping of sections, not a str"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, fragment: str) -> None:
    (problem,) = problems_of(tmp_path, text)
    assert fragment in problem.message


# -- environment references ---------------------------------------------------------------


def test_missing_env_var_names_the_path(tmp_path: Path) -> None:
    data = district()
    camera_of(data, 0, 1)["onvif"]["password"] = "${BKHUB_CAM_PASSWORD}"
    data["web"] = {"port": "${BKHUB_PORT}"}
    problems = problems_of(tmp_path, data)
    # Only the env problem for web.port: no second "expected an integer" for the same value.
    assert [str(p) for p in problems] == [
        "schools[0].cameras[1].onvif.password: environment variable BKHUB_CAM_PASSWORD is not set",
        "web.port: environment variable BKHUB_PORT is not set",
    ]


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BKHUB_HOST", "from-os-environ")
    monkeypatch.setenv("CAM_HOST", "10.9.9.9")
    data = district()
    data["web"] = {"port": "${BKHUB_PORT:-9000}", "host": "${BKHUB_HOST:-0.0.0.0}"}
    camera_of(data)["rtsp_url"] = "rtsp://${CAM_HOST}:${CAM_PORT:-554}/live"
    camera_of(data)["rtsp_password"] = "p$${x}-${EMPTY:-fallback}"
    config = load_data(tmp_path, data, env={"CAM_HOST": "10.1.2.3", "EMPTY": ""})
    camera = config.camera("cam-a")
    assert config.web.port == 9000  # a default is still validated and coerced
    assert config.web.host == "0.0.0.0"  # an explicit env mapping replaces os.environ
    assert camera.rtsp_url == "rtsp://10.1.2.3:554/live"
    assert camera.rtsp_password is not None
    assert camera.rtsp_password.get_secret_value() == "p${x}-fallback"

    config = load_config(tmp_path / "config.yaml")  # env defaults to os.environ
    assert config.web.host == "from-os-environ"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("${UNCLOSED", "unterminated ${"), ("${1BAD}", "invalid environment reference ${1BAD}")],
)
def test_malformed_env_reference(tmp_path: Path, value: str, fragment: str) -> None:
    data = district()
    data["district"]["name"] = value
    (problem,) = problems_of(tmp_path, data)
    assert problem.path == "district.name"
    assert fragment in problem.message


# -- secrets, immutability, lookups -------------------------------------------------------


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    data = district()
    camera_of(data)["rtsp_password"] = "${PW}"
    data["database"] = {"url": "postgresql+asyncpg://bk:${PW}@db:5432/bk"}
    data["storage"] = {
        "object_store": {
            "type": "s3",
            "endpoint": "minio:9000",
            "access_key": "${PW}",
            "secret_key": "${PW}",
        }
    }
    data["alerts"] = {
        "channels": [{"type": "webhook", "url": "https://x/hook?token=${PW}", "secret": "${PW}"}]
    }
    config = load_data(tmp_path, data, env={"PW": "hunter2-very-secret"})
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)
    assert "hunter2" in config.database.url  # still usable by the code that needs it


def test_config_is_frozen() -> None:
    config = HubConfig.model_validate(district())
    with pytest.raises(ValidationError):
        config.web = config.web  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.schools[0].cameras[0].enabled = False  # type: ignore[misc]
    assert isinstance(config.schools, tuple)


def test_lookup_helpers() -> None:
    config = HubConfig.model_validate(district())
    assert config.camera("cam-b").room is RoomKind.COLD_DISH
    assert config.school_of("cam-c").id == "direct-kg"
    assert config.school("direct-kg").town is None
    assert config.town("east").name == "东城镇中心学校"
    assert [(s.id, c.id) for s, c in config.iter_cameras()] == [
        ("east-primary", "cam-a"),
        ("east-primary", "cam-b"),
        ("direct-kg", "cam-c"),
    ]
    with pytest.raises(KeyError, match="unknown camera id 'nope'"):
        config.camera("nope")


def test_single_kitchen_is_the_default() -> None:
    config = HubConfig.model_validate(district())
    assert config.camera("cam-c").kitchen == "main"


def test_defaults_make_an_empty_district() -> None:
    config = HubConfig()
    assert config.district.timezone == "Asia/Shanghai"
    assert config.database.url == "sqlite+aiosqlite:///data/bkhub.db"
    assert config.ingest.rtsp_transport == "tcp"
    assert not config.detector.enabled
    assert list(config.iter_cameras()) == []


def test_models_check_references_without_the_loader() -> None:
    data = copy.deepcopy(district())
    data["schools"][0]["town"] = "west"
    with pytest.raises(ValidationError, match="unknown town 'west'"):
        HubConfig.model_validate(data)


def test_public_api_is_pinned() -> None:
    assert sorted(hub.config.__all__) == sorted(
        [
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
    )
    for name in hub.config.__all__:
        assert getattr(hub.config, name) is not None


def test_cluster_is_off_by_default_and_checks_its_timings() -> None:
    assert not HubConfig().cluster.enabled
    on = HubConfig.model_validate({"cluster": {"nats_url": "nats://10.0.0.5:4222", "node": "n1"}})
    assert on.cluster.enabled
    assert "10.0.0.5" not in repr(on.cluster)  # the URL may carry a password
    with pytest.raises(ValidationError, match="at most a third of lease_ttl_s"):
        HubConfig.model_validate({"cluster": {"lease_ttl_s": 6, "renew_every_s": 3}})
    with pytest.raises(ValidationError, match="not a nats:// URL"):
        HubConfig.model_validate({"cluster": {"nats_url": "http://10.0.0.5"}})
    with pytest.raises(ValidationError, match="invalid id"):
        HubConfig.model_validate({"cluster": {"node": "Node 1"}})
    named = with_node(HubConfig.model_validate(district() | {"cluster": {"node": "n1"}}), "n2")
    assert named.cluster.node == node_name(named.cluster) == "n2"
    assert named.camera("cam-b").room is RoomKind.COLD_DISH  # lookups survive the copy
    with pytest.raises(ValidationError, match="invalid id"):
        with_node(on, "bad name")


def test_a_node_advertises_its_console_where_the_others_reach_it() -> None:
    def url(cfg: dict[str, Any]) -> str:
        config = HubConfig.model_validate(cfg)
        return advertised_url(config.cluster, config.web)

    assert url({"web": {"port": 8100}}) == "http://127.0.0.1:8100"
    assert url({"web": {"host": "0.0.0.0", "port": 80}}) == f"http://{socket.gethostname()}:80"
    assert url({"web": {"host": "::1"}}) == "http://[::1]:8000"
    assert url({"cluster": {"advertise_url": "https://hub-2.edu.cn/"}}) == "https://hub-2.edu.cn"
    with pytest.raises(ValidationError, match="advertise_url"):
        HubConfig.model_validate({"cluster": {"advertise_url": "hub-2:8000"}})
