"""Alerts: violations and health problems reach the right people, escalate, and are never lost.

    hub.alerts.raise_event(session, event)   # record an event and its alerts, one transaction
    hub.alerts.acknowledge(event_id, by=..., via="api", comment=...)
    hub.alerts.enqueue_notice(session, target, notice, ...)  # no event: e.g. a duty reminder

Layout: routing/schedule/grouping (pure decisions), outbox (transactional writes), notices
(event-less messages; why, see there), worker (delivery per channel with backoff),
escalation, ack (signed links), channels/ (adapters), render (message text), service
(composition). Errors: see errors.py.
"""

from .ack import AckResult, AckSigner, acknowledge
from .channels import CHANNEL_TYPES, Channel, ConsoleBus, Subscription
from .errors import (
    AckError,
    AlertError,
    ChannelConfigError,
    DeliveryError,
    FatalDeliveryError,
    InvalidAckToken,
    RetriableDeliveryError,
    UnknownEvent,
)
from .health import ChannelHealth, ChannelState
from .model import Clock, EventLine, Outgoing, RecipientRef, utc_now
from .notices import Notice, enqueue_notice, notice_targets
from .outbox import raise_event
from .routing import AlertPolicy
from .service import AlertService

__all__ = [
    "CHANNEL_TYPES",
    "AckError",
    "AckResult",
    "AckSigner",
    "AlertError",
    "AlertPolicy",
    "AlertService",
    "Channel",
    "ChannelConfigError",
    "ChannelHealth",
    "ChannelState",
    "Clock",
    "ConsoleBus",
    "DeliveryError",
    "EventLine",
    "FatalDeliveryError",
    "InvalidAckToken",
    "Notice",
    "Outgoing",
    "RecipientRef",
    "RetriableDeliveryError",
    "Subscription",
    "UnknownEvent",
    "acknowledge",
    "enqueue_notice",
    "notice_targets",
    "raise_event",
    "utc_now",
]
