"""Alert tables (outbox, deliveries, escalations): owned by hub/alerts."""

from __future__ import annotations
