"""Request ids: taken from a sane `X-Request-ID` or made up, echoed, and set for the log."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id

REQUEST_ID_HEADER = b"x-request-id"  # as ASGI spells header names: lower-case bytes
_SANE = re.compile(r"[A-Za-z0-9._:@+=-]{1,128}")


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
