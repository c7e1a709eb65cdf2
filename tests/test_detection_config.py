"""hub.config detection: rules per room and camera, zones, k of n; mistakes at their path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.config import load_config
from hub.config.detection import DetectionConfig, ViolationType
from hub.config.rooms import RoomKind
from tests.configdata import camera_of, district, load_data, problems_of

REPO = Path(__file__).resolve().parent.parent


def test_defaults_hats_everywhere_masks_and_gloves_in_cold_and_special_rooms() -> None:
    cfg = DetectionConfig()
    strict = {RoomKind.COLD_DISH, RoomKind.SPECIAL}
    for room in RoomKind:
        rules = set(cfg.room_rules(room))
        assert {ViolationType.NO_CHEF_HAT, ViolationType.RAT, ViolationType.COCKROACH} <= rules
        masks = {ViolationType.NO_MASK, ViolationType.NO_GLOVES} <= rules
        assert masks == (room in strict), room
    assert (cfg.k, cfg.n, cfg.pre_roll_s, cfg.post_roll_s) == (3, 5, 10, 10)


def test_camera_block_and_overrides_load(tmp_path: Path) -> None:
    data = district()
    camera_of(data)["detection"] = {
        "rules": ["no_chef_hat", "rat"],
        "zones": [
            {"name": "灶台", "points": [[0.1, 0.2], [0.9, 0.2], [0.9, 1], [0.1, 1]]},
            {"name": "窗", "points": [[0, 0], [0.1, 0], [0.1, 0.3]], "exclude": True},
        ],
        "hours": [],
    }
    data["detection"] = {
        "k": 2,
        "n": 4,
        "types": {"rat": {"k": 1, "n": 2, "min_confidence": 0.6}, "no_gloves": {"k": 1}},
        "rooms": {"prep": ["no_chef_hat", "no_gloves"]},
    }
    config = load_data(tmp_path, data)
    det = config.camera("cam-a").detection
    assert det.rules == (ViolationType.NO_CHEF_HAT, ViolationType.RAT)
    assert [z.exclude for z in det.zones] == [False, True] and det.hours == ()
    assert config.detection.persistence(ViolationType.RAT) == (1, 2)
    assert config.detection.persistence(ViolationType.NO_MASK) == (2, 4)
    # Built-in settings (cockroach, no_gloves: stricter scores) stay where the config is silent.
    roach = config.detection.type_rule(ViolationType.COCKROACH)
    assert roach is not None and roach.min_confidence == 0.5
    gloves = config.detection.type_rule(ViolationType.NO_GLOVES)
    assert gloves is not None and (gloves.k, gloves.min_confidence) == (1, 0.55)
    rat = config.detection.type_rule(ViolationType.RAT)
    assert rat is not None and rat.min_confidence == 0.6
    assert config.detection.type_rule(ViolationType.NO_MASK) is None
    assert config.detection.room_rules(RoomKind.PREP) == (
        ViolationType.NO_CHEF_HAT,
        ViolationType.NO_GLOVES,
    )
    assert config.camera("cam-b").detection.rules is None  # the room decides


ZONE = "schools[0].cameras[0].detection.zones[0]"


@pytest.mark.parametrize(
    ("where", "value", "path", "fragment"),
    [
        ("detection", {"k": 4, "n": 3}, "detection", "k (4) cannot be more than n (3)"),
        ("detection", {"types": {"rat": {"k": 9}}}, "detection", "types.rat: k (9)"),
        ("detection", {"types": {"mouse": {"k": 1}}}, "detection.types.mouse", ""),
        ("camera", {"rules": ["no_hat"]}, "schools[0].cameras[0].detection.rules[0]", ""),
        (
            "camera",
            {"zones": [{"name": "z", "points": [[0, 0], [0.5, 0.5], [1, 1]]}]},
            ZONE,
            "enclose no area",
        ),
        (
            "camera",
            {"zones": [{"name": "z", "points": [[0, 0], [1.5, 0], [1, 1], [0, 1]]}]},
            f"{ZONE}.points[1][0]",
            "",
        ),
        ("camera", {"zones": [{"name": "z", "points": [[0, 0], [1, 0]]}]}, f"{ZONE}.points", ""),
        ("camera", {"sensitivity": 3}, "schools[0].cameras[0].detection.sensitivity", ""),
    ],
)
def test_mistakes_are_reported_at_their_path(
    tmp_path: Path, where: str, value: dict[str, Any], path: str, fragment: str
) -> None:
    data = district()
    if where == "camera":
        camera_of(data)["detection"] = value
    else:
        data["detection"] = value
    problems = problems_of(tmp_path, data)
    assert len(problems) == 1 and problems[0].path.startswith(path), problems
    assert fragment in problems[0].message


def test_shipped_config_example_is_valid(tmp_path: Path) -> None:
    """The commented per-camera example in config.yaml, uncommented, loads."""
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    lines = text.split("#     detection:\n", 1)[1].splitlines()
    block = []
    for line in lines:
        if not line.startswith("#       "):
            break
        block.append(line.removeprefix("#     "))
    example = yaml.safe_load("\n".join(block))
    assert set(example) == {"rules", "hours", "zones"}
    data = district()
    camera_of(data)["detection"] = example
    config = load_data(tmp_path, data)
    assert len(config.camera("cam-a").detection.zones) == 2
    shipped = load_config(REPO / "config.yaml", env={})
    assert shipped.detector.enabled and shipped.detector.model_path.is_file()  # the model ships
    assert shipped.detection.persistence(ViolationType.NO_CHEF_HAT) == (3, 5)
