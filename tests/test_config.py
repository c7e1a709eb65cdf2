"""hub.config: the shipped demo district and every kind of mistake, with its exact path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import (
    CanteenGrade,
    ConfigError,
    HubConfig,
    LocalStoreConfig,
    SchoolKind,
    SupervisionConfig,
    load_config,
    resolve_relative_paths,
)
from tests.configdata import camera_of, district, load_data, problems_of, write_yaml

REPO = Path(__file__).resolve().parent.parent
Mutation = Callable[[dict[str, Any]], None]


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
    # The shipped duties spell out the work plan's, which are also the built-in default.
    assert config.supervision == SupervisionConfig()
    assert config.supervision.items[0] == "环境卫生" and len(config.supervision.items) == 9
    assert {s.grade for s in config.schools} == {CanteenGrade.A, CanteenGrade.B, None}


def test_shipped_config_takes_camera_password_from_env() -> None:
    config = load_config(REPO / "config.yaml", env={"BKHUB_CAM_PASSWORD": "s3cret"})
    onvif = [c.onvif for _, c in config.iter_cameras() if c.onvif is not None]
    assert {o.password.get_secret_value() for o in onvif} == {"s3cret"}


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    data = district()
    data["detector"] = {"model_path": "/opt/models/m.onnx"}
    config = load_data(tmp_path, data)
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
    del camera_of(data)["rtsp_url"]


def _dup_camera(data: dict[str, Any]) -> None:
    camera_of(data, 1)["id"] = "cam-a"


def _add_kitchen(data: dict[str, Any]) -> None:
    data["schools"][0]["kitchens"].append({"id": "k1", "name": "又一个"})


def _omit_kitchen(data: dict[str, Any]) -> None:
    del camera_of(data)["kitchen"]


_DUTY = {
    "id": "meal",
    "name": "陪餐",
    "duty": "accompany_meal",
    "roles": ["school_principal"],
    "times": 1,
    "per": "week",
}

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
        "duty period",
        _set("supervision.duties", [{**_DUTY, "per": "year"}]),
        "supervision.duties[0].per",
        "expected one of 'day', 'week' or 'month', got 'year'",
    ),
    (
        "duty role",
        _set("supervision.duties", [{**_DUTY, "roles": ["cook"]}]),
        "supervision.duties[0].roles[0]",
        "expected one of 'district_staff'",
    ),
    (
        "duty times",
        _set("supervision.duties", [{**_DUTY, "times": 0}]),
        "supervision.duties[0].times",
        "must be >= 1 (got 0)",
    ),
    (
        "duty school filter",
        _set("supervision.duties", [{**_DUTY, "applies_to": [{"kind": "primary"}]}]),
        "supervision.duties[0].applies_to[0].kind",
        "unknown key",
    ),
    (
        "duplicate duty id",
        _set("supervision.duties", [_DUTY, _DUTY]),
        "supervision.duties",
        "duplicate duty id 'meal'",
    ),
    (
        "duplicate checklist item",
        _set("supervision.items", ["留样", "消毒", "留样"]),
        "supervision.items",
        "duplicate checklist item '留样'",
    ),
    ("empty checklist", _set("supervision.items", []), "supervision.items", "at least one"),
    ("bad grade", _set("schools[0].grade", "C"), "schools[0].grade", "expected one of 'A' or 'B'"),
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
    data = district()
    mutate(data)
    problems = problems_of(tmp_path, data)
    assert [p.path for p in problems] == [path], problems
    assert fragment in problems[0].message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = district()
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
    camera_of(data, 0, 1)["onvif"]["password"] = "${BKHUB_MISSING}"
    with pytest.raises(ConfigError) as info:
        load_config(write_yaml(tmp_path, data), env={})
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
