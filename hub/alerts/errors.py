"""The alerts package's one exception tree.

AlertError
├── ChannelConfigError    a channel's settings cannot work (malformed URL, ...): fatal for that
│                         channel, which stays down and shows in health; the hub runs on
├── DeliveryError         one send failed; `retriable` tells the worker what to do
│   ├── RetriableDeliveryError   network down, timeout, 5xx, rate limited: back off, retry
│   └── FatalDeliveryError       the receiver refused this message for good: mark it failed
└── AckError              an acknowledgement could not be recorded
    ├── InvalidAckToken   a one-click link that is forged, damaged or expired
    └── UnknownEvent      no such event
"""

from __future__ import annotations

__all__ = [
    "AckError",
    "AlertError",
    "ChannelConfigError",
    "DeliveryError",
    "FatalDeliveryError",
    "InvalidAckToken",
    "RetriableDeliveryError",
    "UnknownEvent",
]


class AlertError(Exception):
    """Base of every error raised by hub.alerts."""


class ChannelConfigError(AlertError):
    """A channel's configuration cannot work; the channel is reported misconfigured."""


class DeliveryError(AlertError):
    retriable: bool = True


class RetriableDeliveryError(DeliveryError):
    retriable = True


class FatalDeliveryError(DeliveryError):
    retriable = False


class AckError(AlertError):
    pass


class InvalidAckToken(AckError):
    pass


class UnknownEvent(AckError):
    pass
