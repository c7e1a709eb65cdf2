"""Account tables (users, sessions): owned by web/auth."""

from __future__ import annotations
