"""Bounds on what one caller can make the service do: bodies and open sockets."""

from __future__ import annotations

import uuid
from collections import Counter

from cross_web import HTTPException
from starlette.types import Message, Receive


class BodyTooLarge(HTTPException):
    """The request body passed the configured size; it is refused before it is parsed."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit:,} bytes.")


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, when it declares a usable one."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def limited_receive(receive: Receive, limit: int) -> Receive:
    """`receive` that fails once the body passes `limit` bytes, however it is chunked."""
    seen = 0

    async def receive_within_limit() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_within_limit


class TooManyConnections(Exception):
    """The user already holds the configured number of subscription sockets."""


class ConnectionSlots:
    """Open subscription sockets per user, so one token cannot exhaust the process."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: Counter[uuid.UUID] = Counter()

    def take(self, user_id: uuid.UUID) -> None:
        if self._open[user_id] >= self.per_user:
            raise TooManyConnections(f"at most {self.per_user} open connections per user")
        self._open[user_id] += 1

    def give_back(self, user_id: uuid.UUID) -> None:
        self._open[user_id] -= 1
        if self._open[user_id] <= 0:
            del self._open[user_id]
