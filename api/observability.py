"""Request ids: taken from a sane `X-Request-ID` or made up, echoed, and put on every log line."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_IDREQUEST_ID_HEADER = b"x-request-id"  # as ASGI spells header names: lower-case bytes
REQUEST_ID_HEADER = b"x-request-id"  # as ASGI spells header names: lower-case bytes
_SANE = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == REQUEST_ID_HEADER), b"")
        given = sent.decode("latin-1")
        rid = given if _SANE.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        echoed = (REQUEST_ID_HEADER, rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", ()) if h[0].lower() != echoed[0]]
                message["headers"] = [*kept, echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def tag_log_records() -> None:
    """Give every log record, whoever logs it, the request id of the task that logs it."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "tags_request_id", False):
        return

    def make_tagged_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make_tagged_record.tags_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_tagged_record)


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines carry the request id, so a masked INTERNAL_SERVER_ERROR can be found."""
    tag_log_records()
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
