"""Acknowledgement: by a person in the console or API, or through a signed link in a message.

A link token is `{event_id}.{expires}.{who}.{signature}`: HMAC-SHA256 over the first three
parts with the configured key, so a link names its event and (when a message went to one
person) who it was sent to, and cannot be forged or extended. Acknowledging stops escalation
and is recorded as a step with time, person and way (console, api, link).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.models import Event
from storage.db.models_alerts import AlertState, AlertStep, StepAction

from .errors import InvalidAckToken, UnknownEvent

__all__ = ["AckResult", "AckSigner", "acknowledge"]

_TOKEN_RE = re.compile(
    r"^([0-9A-Za-z_-]{1,32})\.([0-9]{1,12})\.([a-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$"
)


@dataclass(frozen=True, slots=True)
class AckClaim:
    event_id: str
    who: str
    expires_at: datetime


class AckSigner:
    def __init__(self, secret: bytes, *, ttl: timedelta) -> None:
        if not secret:
            raise ValueError("empty acknowledgement key")
        self._secret = secret
        self._ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, event_id: str, *, who: str, now: datetime) -> str:
        payload = f"{event_id}.{int((now + self._ttl).timestamp())}.{who}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, *, now: datetime) -> AckClaim:
        match = _TOKEN_RE.match(token)
        if match is None:
            raise InvalidAckToken("malformed acknowledgement link")
        event_id, expires, who, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(f"{event_id}.{expires}.{who}")):
            raise InvalidAckToken("acknowledgement link signature does not match")
        expires_at = datetime.fromtimestamp(int(expires), now.tzinfo)
        if expires_at < now:
            raise InvalidAckToken("acknowledgement link has expired")
        return AckClaim(event_id=event_id, who=who, expires_at=expires_at)


@dataclass(frozen=True, slots=True)
class AckResult:
    event_id: str
    acknowledged_at: datetime
    acknowledged_by: str
    already: bool  # someone had acknowledged it before; nothing changed


async def acknowledge(
    session: AsyncSession,
    event_id: str,
    *,
    by: str,
    via: str,
    comment: str | None,
    now: datetime,
) -> AckResult:
    """Acknowledge an event once; later calls report the first acknowledgement."""
    event = await session.get(Event, event_id, with_for_update=True)
    if event is None:
        raise UnknownEvent(f"no event {event_id!r}")
    if event.acknowledged_at is not None:
        return AckResult(event.id, event.acknowledged_at, event.acknowledged_by or "", True)
    event.acknowledged_at, event.acknowledged_by, event.ack_comment = now, by, comment
    event.updated_at = now
    await session.execute(
        update(AlertState).where(AlertState.event_id == event_id).values(next_escalation_at=None)
    )
    session.add(
        AlertStep(
            event_id=event_id,
            at=now,
            action=StepAction.ACKNOWLEDGED,
            level=None,
            actor=by[:64],
            via=via,
            detail=comment,
        )
    )
    return AckResult(event.id, now, by, False)
