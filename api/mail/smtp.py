"""Sending one outbox row over SMTP with the `emails` package."""

from __future__ import annotations

import logging
import os
import socket

from emails.message import Message

from api.settings import Settings
from models import EmailOutbox

log = logging.getLogger(__name__)

# `emails` looks up the machine's FQDN on every connection, which can hang; say who we are.
LOCAL_HOSTNAME = socket.gethostname() or "localhost"


class DeliveryFailed(Exception):
    """The server did not accept the message; `permanent` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def message_id(row: EmailOutbox) -> str:
    """Stable across retries, so a receiver can drop a duplicate after an at-least-once resend."""
    return f"<{row.id}@dnc-api>"


def _describe(error: object, settings: Settings) -> str:
    """What went wrong, for the row's `last_error` and the log.

    `emails` reports a failed connection (refused, or no greeting within SMTP_TIMEOUT) as an
    OSError built without arguments, whose repr is empty; the reason is in errno and strerror.
    """
    if isinstance(error, OSError) and not error.args and (error.errno or error.strerror):
        reasons = [os.strerror(error.errno) if error.errno else "", error.strerror or ""]
        reason = "; ".join(part for part in reasons if part)
        return f"cannot connect to {settings.smtp_host}:{settings.smtp_port}: {reason}"
    return repr(error)


async def send(row: EmailOutbox, settings: Settings) -> None:
    """Deliver `row` to its recipient, or raise DeliveryFailed; with no SMTP_HOST, log it."""
    if not settings.smtp_host:
        log.info(
            "email (no SMTP_HOST, logged only) to=%s subject=%s\n%s",
            row.recipient,
            row.subject,
            row.body_text,
        )
        return
    message = Message(
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        mail_from=settings.mail_from,
        message_id=message_id(row),
    )
    smtp: dict[str, object] = {
        "host": settings.smtp_host,
        "port": settings.smtp_port,
        "timeout": settings.smtp_timeout,
        "local_hostname": LOCAL_HOSTNAME,
        "ssl": settings.smtp_ssl,
        "tls": settings.smtp_starttls,
    }
    if settings.smtp_username:
        smtp["user"] = settings.smtp_username
        smtp["password"] = settings.smtp_password or ""
    try:
        response = await message.send_async(to=row.recipient, smtp=smtp)
    except Exception as error:  # the backend raises for some network errors despite fail_silently
        raise DeliveryFailed(f"{type(error).__name__}: {error}", permanent=False) from error
    if response is not None and response.success:
        return
    code = getattr(response, "status_code", None)
    cause = getattr(response, "error", None)
    stage = getattr(response, "last_command", None)
    detail = (
        f"SMTP {code} at {stage}: {getattr(response, 'status_text', b'')!r}"
        if code
        else _describe(cause, settings)
    )
    # Only the recipient itself refused for good is permanent; a 5xx at MAIL FROM or DATA is
    # usually our configuration (sender, authentication) and must not lose the message.
    permanent = stage == "rcpt" and code is not None and 500 <= code < 600
    raise DeliveryFailed(detail, permanent=permanent)
