"""A covered lens: a nearly uniform picture without structure (but not black)."""

from __future__ import annotations

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding
from .picture import PictureStats

__all__ = ["judge_covered"]


def judge_covered(stats: PictureStats, th: HealthThresholds) -> Finding:
    covered = stats.std < th.covered_std and stats.edges < th.covered_edges
    detail = f"grey spread {stats.std:.1f}, edges {stats.edges:.2%}"
    return Finding(CheckName.COVERED, covered, "lens_covered" if covered else "", detail)
