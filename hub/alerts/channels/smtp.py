"""E-mail over SMTP (stdlib smtplib in a worker thread), the snapshot attached.

Message-ID is derived from the idempotency key, so a mail sent again after a crash has the
same Message-ID and mail clients show it once. 4xx answers and connection problems are
retried; a 5xx refusal of the recipient or the message is final for that message.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from hub.config.alerts import SmtpChannel as SmtpConfig
from hub.config.alerts import SmtpSecurity

from ..errors import ChannelConfigError, FatalDeliveryError, RetriableDeliveryError
from ..model import Outgoing
from .base import Channel

__all__ = ["SmtpChannel"]


class SmtpChannel(Channel):
    wants_snapshot = True

    def __init__(self, config: SmtpConfig) -> None:
        super().__init__(config)
        if any(c.isspace() or c in "/@" for c in config.host):
            raise ChannelConfigError(f"channel {config.name}: invalid SMTP host {config.host!r}")
        self._config = config

    def _connect(self) -> smtplib.SMTP:
        cfg = self._config
        if cfg.security is SmtpSecurity.TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout_s)
        try:
            smtp.ehlo()
            if cfg.security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, cfg.password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self._config.sender
        mail["To"] = message.address
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.key}@bkhub>"
        mail["X-BKHub-Idempotency-Key"] = message.key
        mail.set_content(message.text)
        if message.snapshot:
            mail.add_attachment(
                message.snapshot,
                maintype="image",
                subtype="jpeg",
                filename=message.snapshot_name or "snapshot.jpg",
            )
        return mail

    def _send_blocking(self, mail: EmailMessage) -> None:
        with self._connect() as smtp:
            smtp.send_message(mail)

    def _probe_blocking(self) -> None:
        with self._connect() as smtp:
            smtp.noop()

    async def _run(self, job: object, *args: object) -> None:
        try:
            await asyncio.to_thread(job, *args)  # type: ignore[arg-type]
        except smtplib.SMTPRecipientsRefused as exc:
            raise FatalDeliveryError(f"recipient refused: {list(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise FatalDeliveryError(text) from exc
            raise RetriableDeliveryError(text) from exc
        except (OSError, smtplib.SMTPException) as exc:
            where = f"{self._config.host}:{self._config.port}"
            raise RetriableDeliveryError(f"SMTP {where}: {type(exc).__name__}: {exc}") from exc

    async def probe(self) -> None:
        await self._run(self._probe_blocking)

    async def send(self, message: Outgoing) -> None:
        if not message.address:
            raise FatalDeliveryError("no e-mail address for this message")
        await self._run(self._send_blocking, self._build(message))
