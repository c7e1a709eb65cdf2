"""AlertService: builds the alert components from the config and owns their lifecycle.

The hub constructs it after the database and starts it after `db.start()`; everything the
rest of the hub needs goes through it: `raise_event` (detector, health monitor),
`acknowledge` / `acknowledge_link` (web), `health_report` and `bus` (web).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import HubConfig
from storage.db.database import Database
from storage.db.models import Event

from .ack import AckResult, AckSigner, acknowledge
from .channels import Channel, ConsoleBus, build_channel
from .errors import ChannelConfigError, DeliveryError
from .escalation import Escalator
from .health import ChannelHealth, ChannelState
from .model import Clock, utc_now
from .outbox import raise_event
from .render import Renderer
from .routing import AlertPolicy
from .worker import DeliveryWorker, SnapshotSource

log = logging.getLogger(__name__)

__all__ = ["AlertService"]

PROBE_TIMEOUT_S: Final = 10.0  # a start-up check that hangs is reported, never waited for


class AlertService:
    def __init__(
        self,
        config: HubConfig,
        db: Database,
        *,
        snapshots: SnapshotSource | None = None,
        clock: Clock = utc_now,
    ) -> None:
        alerts = config.alerts
        self.enabled = alerts.enabled
        self.clock = clock
        self._db = db
        self.policy = AlertPolicy(config)
        key = alerts.ack_secret.get_secret_value().encode()
        self._random_key = not key
        self.signer = AckSigner(
            key or secrets.token_bytes(32), ttl=timedelta(hours=alerts.ack_link_ttl_h)
        )
        self.bus = ConsoleBus()
        self.health: dict[str, ChannelHealth] = {}
        self.channels: dict[str, Channel] = {}
        for cfg in alerts.channels:
            health = ChannelHealth(cfg.name, cfg.type, alerts.delivery.failing_after)
            self.health[cfg.name] = health
            if not cfg.enabled:
                health.state = ChannelState.DISABLED
                continue
            try:
                self.channels[cfg.name] = build_channel(cfg, self.bus)
            except ChannelConfigError as exc:
                if self.enabled:
                    health.misconfigured(str(exc))  # logged now: at start-up
                else:
                    health.state, health.last_error = ChannelState.MISCONFIGURED, str(exc)
        self.worker = DeliveryWorker(
            db,
            policy=self.policy,
            renderer=Renderer(self.policy, self.signer),
            channels=self.channels,
            health=self.health,
            delivery=alerts.delivery,
            clock=clock,
            snapshots=snapshots,
        )
        self.escalator = Escalator(db, policy=self.policy, clock=clock, on_enqueued=self.wake)
        self._started: list[Channel] = []
        self._probes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if not self.enabled:
            log.info("alerts disabled: events are recorded, nothing is sent")
            return
        if self._random_key:
            log.warning("alerts.ack_secret is empty: acknowledgement links die with a restart")
        for channel in self.channels.values():
            await channel.start()
            self._started.append(channel)
            task = asyncio.create_task(self._probe(channel), name=f"alerts:probe:{channel.name}")
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)
        self.worker.start()
        self.escalator.start()

    async def stop(self) -> None:
        await self.escalator.stop()
        await self.worker.stop()
        probes = list(self._probes)
        for task in probes:
            task.cancel()
        for task in probes:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        started, self._started = self._started, []
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("alerts: channel %s did not close cleanly", channel.name)

    async def _probe(self, channel: Channel) -> None:
        problem: str | None = None
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await channel.probe()
        except DeliveryError as exc:
            problem = str(exc)
        except TimeoutError:
            problem = f"no answer within {PROBE_TIMEOUT_S:.0f} s"
        self.health[channel.name].probed(problem, self.clock())

    def wake(self) -> None:
        self.worker.wake()

    async def raise_event(
        self, session: AsyncSession, event: Event, *, now: datetime | None = None
    ) -> Event:
        """Record `event` and its alerts in the caller's transaction (see outbox.raise_event)."""
        return await raise_event(
            session, event, policy=self.policy, now=now or self.clock(), on_commit=self.wake
        )

    async def acknowledge(
        self, event_id: str, *, by: str, via: str, comment: str | None = None
    ) -> AckResult:
        async with self._db.session() as session:
            return await acknowledge(
                session, event_id, by=by, via=via, comment=comment, now=self.clock()
            )

    async def acknowledge_link(
        self, token: str, *, by: str | None = None, comment: str | None = None
    ) -> AckResult:
        """Acknowledge through a signed link; `by` defaults to whom the link was sent."""
        claim = self.signer.verify(token, now=self.clock())
        who = by or claim.who
        return await self.acknowledge(claim.event_id, by=who, via="link", comment=comment)

    async def health_report(self) -> list[dict[str, Any]]:
        try:
            pending = await self.worker.pending()
        except Exception:
            log.exception("alerts: cannot count pending messages")
            pending = {}
        return [h.as_json(pending.get(name, 0)) for name, h in self.health.items()]
