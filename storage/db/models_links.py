"""Special supervisor links (特别监督员, 家校共治), owned by web/auth/links and its routes.

A link lets one named outside supervisor (a parents' representative, say) watch one school's
live views until it expires or is revoked. Like API tokens, only the SHA-256 of the secret is
kept; revoked links stay (revoked_at set) so the list and the audit log can still name them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.db.models import Base, UTCDateTime


class SupervisorLink(Base):
    __tablename__ = "supervisor_links"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    name: Mapped[str] = mapped_column(String(100))  # who it is for: 家长代表 张女士
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))  # the user name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
