"""Errors of the camera simulator."""

from __future__ import annotations

__all__ = ["SimulatorError"]


class SimulatorError(RuntimeError):
    """The simulator could not start, or refused a command (the message says why)."""
