"""Built-in hysteresis of each check, and how the config overrides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hub.config.health import CheckName, HealthConfig

__all__ = ["DEFAULT_RULES", "Rule", "rules_from"]


@dataclass(frozen=True, slots=True)
class Rule:
    raise_after: int
    clear_after: int
    notify: bool = True


# Picture checks count sampled frames (every sample_every_s, 4 s), the ONVIF clock counts
# readings, recording gaps count recording checks, the rest count ticks (check_every_s, 2 s).
# With the defaults every problem is raised well within a minute of its start.
DEFAULT_RULES: Final[dict[CheckName, Rule]] = {
    CheckName.OFFLINE: Rule(5, 3),
    CheckName.FROZEN: Rule(4, 2),
    CheckName.BLACK: Rule(3, 2),
    CheckName.OVEREXPOSED: Rule(4, 2),
    CheckName.BLURRED: Rule(4, 2),
    CheckName.COVERED: Rule(3, 2),
    CheckName.MOVED: Rule(6, 3),  # someone standing in front of the lens is not a move
    CheckName.LOW_FPS: Rule(15, 5),
    CheckName.LOW_BITRATE: Rule(30, 5),  # a quiet scene lowers a VBR camera's bitrate for a while
    CheckName.KEYFRAMES: Rule(15, 5),
    CheckName.CLOCK: Rule(1, 1),
    CheckName.STREAM_CLOCK: Rule(15, 5),
    CheckName.RECORDING_GAP: Rule(1, 1),
    CheckName.SPOOL: Rule(3, 3),
    CheckName.OBJECT_STORE: Rule(1, 1),
    CheckName.DETECTOR: Rule(15, 5),
}


def rules_from(config: HealthConfig) -> dict[CheckName, Rule]:
    """The enabled checks with their effective rules."""
    rules: dict[CheckName, Rule] = {}
    for check, default in DEFAULT_RULES.items():
        given = config.checks.get(check)
        if given is None:
            rules[check] = default
        elif given.enabled:
            rules[check] = Rule(
                given.raise_after or default.raise_after,
                given.clear_after or default.clear_after,
                given.notify,
            )
    return rules
