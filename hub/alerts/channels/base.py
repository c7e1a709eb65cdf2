"""The channel seam: one tiny base class; each kind is a module, listed in a plain dict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..model import Outgoing

__all__ = ["Channel"]


class Channel(ABC):
    """Sends rendered messages to one destination kind.

    `send` raises RetriableDeliveryError (try again later) or FatalDeliveryError (this message
    can never be delivered); the constructor raises ChannelConfigError for settings that
    cannot work. `probe` is a cheap start-up check (connect, no message); it raises the same
    errors as `send`.
    """

    wants_snapshot: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        self.name: str = config.name
        self.type: str = config.type
        self.timeout_s: float = config.timeout_s

    async def start(self) -> None:
        """Open clients; must not fail on an unreachable receiver."""
        return None

    async def stop(self) -> None:
        """Close clients."""
        return None

    async def probe(self) -> None:
        """Check the receiver can be reached; default: nothing to check."""
        return None

    @abstractmethod
    async def send(self, message: Outgoing) -> None: ...
