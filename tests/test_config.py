"""hub.config: the shipped demo district, every kind of mistake, env references, secrets."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import hub.config
from hub.config import (
    ConfigError,
    ConfigProblem,
    HubConfig,
    LocalStoreConfig,
    RoomKind,
    SchoolKind,
    load_config,
    resolve_relative_paths,
)

REPO = Path(__file__).resolve().parent.parent
Mutation = Callable[[dict[str, Any]], None]


def _district() -> dict[str, Any]:
    """A small valid district: one town school with two kitchens, one bureau-direct school."""
    return {
        "district": {"id": "t", "name": "测试区教育局"},
        "towns": [{"id": "east", "name": "东城镇中心学校"}],
        "schools": [
            {
                "id": "east-primary",
                "name": "东城小学",
                "town": "east",
                "kind": "primary",
                "kitchens": [{"id": "k1", "name": "一号食堂"}, {"id": "k2", "name": "二号食堂"}],
                "cameras": [
                    {
                        "id": "cam-a",
                        "name": "烹饪区",
                        "kitchen": "k1",
                        "rtsp_url": "rtsp://127.0.0.1:8554/cam-a/main",
                    },
                    {
                        "id": "cam-b",
                        "name": "凉菜间",
                        "kitchen": "k2",
                        "room": "cold_dish",
                        "onvif": {"host": "127.0.0.1", "port": 18081, "password": "pw"},
                    },
                ],
            },
            {
                "id": "direct-kg",
                "name": "第一幼儿园",
                "kind": "kindergarten",
                "kitchens": [{"id": "main", "name": "厨房"}],
                "cameras": [
                    {"id": "cam-c", "name": "烹饪区", "rtsp_url": "rtsp://127.0.0.1/cam-c/main"}
                ],
            },
        ],
    }


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.yaml"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _problems(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, data), env=env or {})
    return list(info.value.problems)


def _load(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> HubConfig:
    return load_config(_write(tmp_path, data), env=env or {})


def _cam(data: dict[str, Any], school: int = 0, camera: int = 0) -> dict[str, Any]:
    cam: dict[str, Any] = data["schools"][school]["cameras"][camera]
    return cam


# -- the shipped demo district ------------------------------------------------------------


def test_shipped_config_loads() -> None:
    config = load_config(REPO / "config.yaml", env={})
    cameras = list(config.iter_cameras())
    assert config.district.id == "demo"
    assert config.district.name == "示范区教育局"
    assert len(config.towns) == 2
    assert len(config.schools) == 6
    assert len(cameras) == 12
    assert [s.id for s in config.schools if s.town is None], "no bureau-direct school"
    assert {s.kind for s in config.schools} >= {
        SchoolKind.PRIMARY,
        SchoolKind.MIDDLE,
        SchoolKind.KINDERGARTEN,
    }
    assert any(s.boarding for s in config.schools)
    for school, camera in cameras:
        assert camera.kitchen in {k.id for k in school.kitchens}
    assert len({c.room for _, c in cameras}) >= 4
    onvif = [c for _, c in cameras if c.onvif is not None]
    assert sorted(c.onvif.port for c in onvif if c.onvif) == [18081, 18082]
    assert {c.onvif.password.get_secret_value() for c in onvif if c.onvif} == {"demo-only"}
    assert config.simulator.enabled
    assert config.simulator.rtsp_port == 8554


def test_shipped_config_takes_camera_password_from_env() -> None:
    config = load_config(REPO / "config.yaml", env={"BKHUB_CAM_PASSWORD": "s3cret"})
    onvif = [c.onvif for _, c in config.iter_cameras() if c.onvif is not None]
    assert {o.password.get_secret_value() for o in onvif} == {"s3cret"}


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    data = _district()
    data["detector"] = {"model_path": "/opt/models/m.onnx"}
    config = _load(tmp_path, data)
    assert config.recording.spool_dir == tmp_path / "data/spool"
    assert isinstance(config.storage.object_store, LocalStoreConfig)
    assert config.storage.object_store.root == tmp_path / "data/objects"
    assert config.database.url == f"sqlite+aiosqlite:///{tmp_path}/data/bkhub.db"
    assert config.detector.model_path == Path("/opt/models/m.onnx")  # absolute: kept


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:///db/x.db?mode=rwc", "sqlite+aiosqlite:////base/db/x.db?mode=rwc"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("postgresql+asyncpg://u:p@db/bk", "postgresql+asyncpg://u:p@db/bk"),
    ],
)
def test_resolve_relative_paths_database_url(url: str, expected: str) -> None:
    config = HubConfig.model_validate({"database": {"url": url}})
    assert resolve_relative_paths(config, "/base").database.url == expected


# -- mistakes: each with its exact path and a fragment of its message ---------------------


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting ``a.b[0].c`` (list indexes as ``[n]``) to ``value``."""
    keys: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        keys.append(int(part) if part.isdigit() else part)

    def mutate(data: dict[str, Any]) -> None:
        node: Any = data
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
        node[keys[-1]] = value

    return mutate


def _drop_cam_source(data: dict[str, Any]) -> None:
    del _cam(data)["rtsp_url"]


def _dup_camera(data: dict[str, Any]) -> None:
    _cam(data, 1)["id"] = "cam-a"


def _add_kitchen(data: dict[str, Any]) -> None:
    data["schools"][0]["kitchens"].append({"id": "k1", "name": "又一个"})


def _omit_kitchen(data: dict[str, Any]) -> None:
    del _cam(data)["kitchen"]


MISTAKES: list[tuple[str, Mutation, str, str]] = [
    (
        "not rtsp",
        _set("schools[0].cameras[0].rtsp_url", "http://127.0.0.1/x"),
        "schools[0].cameras[0].rtsp_url",
        "not an rtsp:// URL",
    ),
    (
        "no host",
        _set("schools[0].cameras[0].rtsp_url", "rtsp:///x"),
        "schools[0].cameras[0].rtsp_url",
        "rtsp:// URL has no host",
    ),
    (
        "credentials in url",
        _set("schools[0].cameras[0].sub_rtsp_url", "rtsp://admin:pw@h/sub"),
        "schools[0].cameras[0].sub_rtsp_url",
        "put credentials in rtsp_username/rtsp_password",
    ),
    (
        "both sources",
        _set("schools[0].cameras[0].onvif", {"host": "10.0.0.9"}),
        "schools[0].cameras[0]",
        "set exactly one of rtsp_url or onvif (both are set)",
    ),
    (
        "no source",
        _drop_cam_source,
        "schools[0].cameras[0]",
        "set exactly one of rtsp_url or onvif (neither is set)",
    ),
    (
        "rtsp extras on onvif",
        _set("schools[0].cameras[1].sub_rtsp_url", "rtsp://h/sub"),
        "schools[0].cameras[1]",
        "sub_rtsp_url only apply to rtsp_url cameras",
    ),
    ("unknown top-level key", _set("colour", "red"), "colour", "unknown key"),
    (
        "unknown nested key",
        _set("schools[0].cameras[1].onvif.pasword", "x"),
        "schools[0].cameras[1].onvif.pasword",
        "unknown key",
    ),
    (
        "duplicate camera id across schools",
        _dup_camera,
        "schools[1].cameras[0].id",
        "duplicate camera id 'cam-a' (also at schools[0].cameras[0])",
    ),
    (
        "duplicate kitchen id",
        _add_kitchen,
        "schools[0].kitchens[2].id",
        "duplicate kitchen id 'k1' (also at schools[0].kitchens[0])",
    ),
    (
        "duplicate school id",
        _set("schools[1].id", "east-primary"),
        "schools[1].id",
        "duplicate school id 'east-primary' (also at schools[0])",
    ),
    (
        "unknown town",
        _set("schools[0].town", "nowhere"),
        "schools[0].town",
        "unknown town 'nowhere'",
    ),
    (
        "unknown kitchen",
        _set("schools[0].cameras[0].kitchen", "k9"),
        "schools[0].cameras[0].kitchen",
        "unknown kitchen 'k9'",
    ),
    (
        "kitchen omitted with two kitchens",
        _omit_kitchen,
        "schools[0].cameras[0].kitchen",
        "required",
    ),
    (
        "port out of range",
        _set("schools[0].cameras[1].onvif.port", 70000),
        "schools[0].cameras[1].onvif.port",
        "must be <= 65535 (got 70000)",
    ),
    ("bad slug", _set("schools[0].id", "East School"), "schools[0].id", "invalid id 'East School'"),
    (
        "string for number",
        _set("ingest.open_timeout_s", "fast"),
        "ingest.open_timeout_s",
        "expected a number, got 'fast'",
    ),
    ("string for int", _set("web.port", "http"), "web.port", "expected an integer, got 'http'"),
    ("list for string", _set("district.name", ["a"]), "district.name", "expected a string"),
    (
        "invalid timezone",
        _set("district.timezone", "Asia/Beijing"),
        "district.timezone",
        "unknown time zone 'Asia/Beijing'",
    ),
    (
        "bad enum",
        _set("schools[1].kind", "college"),
        "schools[1].kind",
        "expected one of 'primary'",
    ),
    (
        "bad room",
        _set("schools[0].cameras[0].room", "kitchen"),
        "schools[0].cameras[0].room",
        "'cold_dish'",
    ),
    (
        "unknown store type",
        _set("storage.object_store", {"type": "ftp"}),
        "storage.object_store",
        "unknown type 'ftp' (expected 'local', 's3')",
    ),
    (
        "bad bucket inside a tagged union",
        _set(
            "storage.object_store",
            {
                "type": "s3",
                "endpoint": "m:9000",
                "bucket": "My_Bucket",
                "access_key": "a",
                "secret_key": "b",
            },
        ),
        "storage.object_store.bucket",
        "invalid bucket name 'My_Bucket'",
    ),
    (
        "missing key inside a tagged union",
        _set("storage.object_store", {"type": "s3", "endpoint": "m:9000", "access_key": "a"}),
        "storage.object_store.secret_key",
        "required",
    ),
    (
        "unsupported database",
        _set("database.url", "mysql://db/x"),
        "database.url",
        "expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL",
    ),
    (
        "input size not a multiple of 32",
        _set("detector.input_size", 333),
        "detector.input_size",
        "must be a multiple of 32",
    ),
    (
        "backoff cap below start",
        _set("ingest", {"backoff_initial_s": 10, "backoff_max_s": 5}),
        "ingest",
        "backoff_max_s must be >= backoff_initial_s",
    ),
    (
        # A malformed URL is not a load error: the channel reports it in health (hub/alerts).
        "alert channel timeout",
        _set("alerts.channels", [{"type": "webhook", "url": "https://x/h", "timeout_s": 0}]),
        "alerts.channels[0].timeout_s",
        "must be > 0.0",
    ),
    (
        "ice server",
        _set("web.ice_servers", ["http://stun.example"]),
        "web.ice_servers[0]",
        "not a stun:/turn: URL",
    ),
    (
        "retention for unknown school",
        _set("retention.school_overrides", {"ghost": {"clips_days": 365}}),
        "retention.school_overrides.ghost",
        "unknown school id 'ghost'",
    ),
    (
        "simulator clip for unknown camera",
        _set("simulator.clips", {"cam-z": "people"}),
        "simulator.clips.cam-z",
        "unknown camera id 'cam-z'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [pytest.param(m, p, f, id=name) for name, m, p, f in MISTAKES],
)
def test_mistake_is_reported_at_its_path(
    tmp_path: Path, mutate: Mutation, path: str, fragment: str
) -> None:
    data = _district()
    mutate(data)
    problems = _problems(tmp_path, data)
    assert [p.path for p in problems] == [path], problems
    assert fragment in problems[0].message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = _district()
    combined = {
        "not rtsp",
        "unknown top-level key",
        "duplicate camera id across schools",
        "unknown town",
        "port out of range",
        "invalid timezone",
    }
    for name, mutate, _, _ in MISTAKES:
        if name in combined:
            mutate(data)
    _cam(data, 0, 1)["onvif"]["password"] = "${BKHUB_MISSING}"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, data), env={})
    lines = str(info.value).splitlines()
    assert sorted(lines) == sorted(
        [
            "schools[0].cameras[1].onvif.password: environment variable BKHUB_MISSING is not set",
            "district.timezone: unknown time zone 'Asia/Beijing'",
            "schools[0].cameras[0].rtsp_url: not an rtsp:// URL",
            "schools[0].cameras[1].onvif.port: must be <= 65535 (got 70000)",
            "colour: unknown key",
            # reference problems still found although fields failed validation
            "schools[0].town: unknown town 'nowhere'",
            "schools[1].cameras[0].id: duplicate camera id 'cam-a' (also at schools[0].cameras[0])",
        ]
    )


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
    (problem,) = _problems(tmp_path, text)
    assert problem.path.endswith("config.yaml")
    assert problem.message.startswith("YAML syntax error at line 4, column ")


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, "web:\n  port: 1\nweb:\n  port: 2\n")
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
    (problem,) = _problems(tmp_path, text)
    assert fragment in problem.message


# -- environment references ---------------------------------------------------------------


def test_missing_env_var_names_the_path(tmp_path: Path) -> None:
    data = _district()
    _cam(data, 0, 1)["onvif"]["password"] = "${BKHUB_CAM_PASSWORD}"
    data["web"] = {"port": "${BKHUB_PORT}"}
    problems = _problems(tmp_path, data)
    # Only the env problem for web.port: no second "expected an integer" for the same value.
    assert [str(p) for p in problems] == [
        "schools[0].cameras[1].onvif.password: environment variable BKHUB_CAM_PASSWORD is not set",
        "web.port: environment variable BKHUB_PORT is not set",
    ]


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BKHUB_HOST", "from-os-environ")
    monkeypatch.setenv("CAM_HOST", "10.9.9.9")
    data = _district()
    data["web"] = {"port": "${BKHUB_PORT:-9000}", "host": "${BKHUB_HOST:-0.0.0.0}"}
    _cam(data)["rtsp_url"] = "rtsp://${CAM_HOST}:${CAM_PORT:-554}/live"
    _cam(data)["rtsp_password"] = "p$${x}-${EMPTY:-fallback}"
    config = _load(tmp_path, data, env={"CAM_HOST": "10.1.2.3", "EMPTY": ""})
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
    data = _district()
    data["district"]["name"] = value
    (problem,) = _problems(tmp_path, data)
    assert problem.path == "district.name"
    assert fragment in problem.message


# -- secrets, immutability, lookups -------------------------------------------------------


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    data = _district()
    _cam(data)["rtsp_password"] = "${PW}"
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
    config = _load(tmp_path, data, env={"PW": "hunter2-very-secret"})
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)
    assert "hunter2" in config.database.url  # still usable by the code that needs it


def test_config_is_frozen() -> None:
    config = HubConfig.model_validate(_district())
    with pytest.raises(ValidationError):
        config.web = config.web  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.schools[0].cameras[0].enabled = False  # type: ignore[misc]
    assert isinstance(config.schools, tuple)


def test_lookup_helpers() -> None:
    config = HubConfig.model_validate(_district())
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
    config = HubConfig.model_validate(_district())
    assert config.camera("cam-c").kitchen == "main"


def test_defaults_make_an_empty_district() -> None:
    config = HubConfig()
    assert config.district.timezone == "Asia/Shanghai"
    assert config.database.url == "sqlite+aiosqlite:///data/bkhub.db"
    assert config.ingest.rtsp_transport == "tcp"
    assert not config.detector.enabled
    assert list(config.iter_cameras()) == []


def test_models_check_references_without_the_loader() -> None:
    data = copy.deepcopy(_district())
    data["schools"][0]["town"] = "west"
    with pytest.raises(ValidationError, match="unknown town 'west'"):
        HubConfig.model_validate(data)


def test_public_api_is_pinned() -> None:
    assert sorted(hub.config.__all__) == sorted(
        [
            "AlertChannel",
            "AlertsConfig",
            "Camera",
            "ConfigError",
            "ConfigProblem",
            "DatabaseConfig",
            "DetectorBackend",
            "DetectorConfig",
            "DistrictInfo",
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
            "Town",
            "WebConfig",
            "WebhookChannel",
            "load_config",
            "resolve_relative_paths",
        ]
    )
    for name in hub.config.__all__:
        assert getattr(hub.config, name) is not None
