"""Per-channel delivery health: what /api/alerts/health and the start-up log report."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

log = logging.getLogger(__name__)

__all__ = ["ChannelHealth", "ChannelState"]


class ChannelState(StrEnum):
    UNKNOWN = "unknown"  # nothing sent or probed yet
    OK = "ok"
    FAILING = "failing"  # `failing_after` consecutive failures; messages wait, nothing is lost
    MISCONFIGURED = "misconfigured"  # cannot be built from its config; messages wait in the outbox
    DISABLED = "disabled"  # `enabled: false` in the config; nothing is routed to it


@dataclass
class ChannelHealth:
    name: str
    type: str
    failing_after: int
    state: ChannelState = ChannelState.UNKNOWN
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None
    sent: int = 0
    failed: int = 0  # messages refused for good
    retries: int = 0
    probe: str | None = field(default=None)  # start-up check result: "ok" or the problem

    def misconfigured(self, reason: str) -> None:
        self.state, self.last_error, self.probe = ChannelState.MISCONFIGURED, reason, reason
        log.error("alert channel %s (%s) is misconfigured: %s", self.name, self.type, reason)

    def success(self, at: datetime) -> None:
        if self.state is ChannelState.FAILING:
            log.warning("alert channel %s recovered after %d failures", self.name, self.retries)
        self.state, self.consecutive_failures, self.failing_since = ChannelState.OK, 0, None
        self.last_success_at = at
        self.sent += 1

    def failure(self, error: str, at: datetime, *, fatal: bool) -> None:
        """A failed send; the first of a run is logged at WARNING, repeats at DEBUG."""
        self.last_error = error
        if fatal:
            self.failed += 1
            log.warning("alert channel %s refused a message for good: %s", self.name, error)
            return
        self.retries += 1
        self.consecutive_failures += 1
        level = logging.WARNING if self.consecutive_failures == 1 else logging.DEBUG
        log.log(level, "alert channel %s: send failed, will retry: %s", self.name, error)
        if self.failing_since is None:
            self.failing_since = at
        if self.consecutive_failures >= self.failing_after:
            self.state = ChannelState.FAILING

    def probed(self, problem: str | None, at: datetime) -> None:
        self.probe = problem or "ok"
        if problem is None:
            if self.state is ChannelState.UNKNOWN:
                self.state = ChannelState.OK
            return
        log.warning("alert channel %s failed its start-up check: %s", self.name, problem)
        self.last_error = problem
        if self.state is not ChannelState.MISCONFIGURED:
            self.state = ChannelState.FAILING
            self.failing_since = self.failing_since or at

    def as_json(self, pending: int) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "state": str(self.state),
            "pending": pending,
            "consecutive_failures": self.consecutive_failures,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "sent": self.sent,
            "failed": self.failed,
            "retries": self.retries,
            "probe": self.probe,
        }
