"""Named scenarios: every violation type, day and IR night, one to three workers, and
violation-free clips that a bench loops for ten minutes.

Within one clip, two violations of the same type are at least ``MIN_GAP_S`` apart, also across
the loop seam (last end to first start of the next pass), so a hub that keeps an event open for
a short cooldown still owes one event per violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from detectors.scenes.scenario import Change, PestScript, Scenario, WorkerScript, ground_truth

__all__ = ["CATALOGUE", "MIN_GAP_S", "same_type_gaps"]

MIN_GAP_S = 25.0
QUIET_RUN_S = 600.0  # "nothing happens for 10 minutes": a short clip, looped


def _at(x: float, y: float, **kw: object) -> WorkerScript:
    """A worker standing (and working) at one spot."""
    return WorkerScript(path=((0.0, x, y),), **kw)  # type: ignore[arg-type]


_SCENARIOS = (
    Scenario(
        "hat-off", duration_s=60, seed=11, room="hot_kitchen",
        description="worker 2 takes the hat off at 00:20 for 15 s",
        workers=(
            _at(0.2, 0.82),
            _at(0.5, 0.76, changes=(Change(at_s=20, for_s=15, hat="none"),)),
            _at(0.8, 0.86, hat="cap"),
        ),
    ),
    Scenario(
        "bare-head-walks-in", duration_s=60, seed=12, room="prep",
        description="a worker without a hat walks in from the right at 00:10, out at 00:34",
        workers=(
            _at(0.25, 0.8, mask=False, gloves=False),
            WorkerScript(
                path=((10, 1.2, 0.84), (16, 0.68, 0.84), (34, 0.68, 0.84), (40, 1.2, 0.84)),
                hat="none", mask=False, gloves=False,
            ),
        ),
    ),
    Scenario(
        "rat-crossing", duration_s=60, seed=13, room="hot_kitchen",
        description="a rat crosses the floor at 00:45 for 4 s behind two working cooks",
        workers=(_at(0.3, 0.72, mask=False), _at(0.72, 0.74, hat="cap", gloves=False)),
        pests=(PestScript("rat", at_s=45, for_s=4, start=(0.05, 0.95), end=(0.62, 0.9)),),
    ),
    Scenario(
        "rat-night", duration_s=60, seed=14, room="storage", night=True,
        description="IR night, empty store room: rats at 00:05 for 5 s and 00:36 for 4 s",
        pests=(
            PestScript("rat", at_s=5, for_s=5, start=(0.92, 0.8), end=(0.35, 0.9)),
            PestScript("rat", at_s=36, for_s=4, start=(0.1, 0.93), end=(0.6, 0.78)),
        ),
    ),
    Scenario(
        "cockroach-night", duration_s=40, seed=15, room="hot_kitchen", night=True,
        description="IR night: a cockroach crawls across the floor at 00:12 for 8 s",
        pests=(PestScript("cockroach", at_s=12, for_s=8, start=(0.4, 0.8), end=(0.56, 0.86)),),
    ),
    Scenario(
        "cockroach-day", duration_s=40, seed=16, room="serving",
        description="a cockroach runs across the floor at 00:20 for 6 s near a server",
        workers=(_at(0.3, 0.74, mask=False, gloves=False),),
        pests=(PestScript("cockroach", at_s=20, for_s=6, start=(0.55, 0.92), end=(0.8, 0.84)),),
    ),
    Scenario(
        "mask-off-cold-dish", duration_s=60, seed=17, room="cold_dish",
        description="凉菜间: worker 1 pulls the mask down at 00:15 for 20 s",
        workers=(
            _at(0.3, 0.8, changes=(Change(at_s=15, for_s=20, mask=False),)),
            _at(0.7, 0.76, hat="cap"),
        ),
    ),
    Scenario(
        "gloves-off-special", duration_s=60, seed=18, room="special",
        description="专间: worker 2 takes the gloves off at 00:25 for 15 s",
        workers=(
            _at(0.28, 0.78, hat="cap"),
            _at(0.7, 0.84, changes=(Change(at_s=25, for_s=15, gloves=False),)),
        ),
    ),
    Scenario(
        "cold-dish-shift", duration_s=90, seed=19, room="cold_dish",
        description="凉菜间, three workers: hat off 00:10 for 12 s, gloves off 00:35 for 15 s, "
        "mask off 01:00 for 15 s",
        workers=(
            _at(0.18, 0.8, changes=(Change(at_s=10, for_s=12, hat="none"),)),
            _at(0.5, 0.74, hat="cap", changes=(Change(at_s=35, for_s=15, gloves=False),)),
            _at(0.82, 0.84, changes=(Change(at_s=60, for_s=15, mask=False),)),
        ),
    ),
    Scenario(
        "hot-kitchen-no-masks", duration_s=30, seed=20, room="hot_kitchen",
        description="烹饪区: hats on, no masks or gloves, which this room does not require",
        workers=(_at(0.25, 0.8, mask=False, gloves=False), _at(0.7, 0.78, mask=False)),
    ),
    Scenario(
        "quiet-day", duration_s=20, seed=21, room="hot_kitchen", run_s=QUIET_RUN_S,
        description="nothing happens for 10 minutes: three cooks in order, one walking about",
        workers=(
            _at(0.15, 0.8),
            WorkerScript(path=((0, 0.35, 0.74), (10, 0.65, 0.76), (20, 0.35, 0.74)), hat="cap"),
            _at(0.85, 0.84, mask=False),
        ),
    ),
    Scenario(
        "quiet-night", duration_s=20, seed=22, room="storage", night=True, run_s=QUIET_RUN_S,
        description="nothing happens for 10 minutes: an empty store room in IR",
    ),
    Scenario(
        "quiet-cold-dish", duration_s=20, seed=23, room="cold_dish", run_s=QUIET_RUN_S,
        description="nothing happens for 10 minutes: 凉菜间, two workers fully dressed",
        workers=(_at(0.3, 0.78), _at(0.68, 0.82, hat="cap")),
    ),
)  # fmt: skip

CATALOGUE: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in _SCENARIOS})


def same_type_gaps(scenario: Scenario) -> list[float]:
    """Seconds between consecutive violations of one type in the looping clip (seam included)."""
    gaps: list[float] = []
    truth = ground_truth(scenario)
    for vtype in {v.type for v in truth}:
        spans = sorted((v.start_s, v.end_s) for v in truth if v.type == vtype)
        for (_, end), (start, _) in zip(spans, spans[1:] + spans[:1], strict=True):
            gaps.append((start - end) % scenario.duration_s)
    return gaps
