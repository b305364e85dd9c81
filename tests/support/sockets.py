"""graphql-transport-ws clients: one over a real socket to a served process (`websocket`,
`subscribed`), and `Socket`, which speaks ASGI to the app in the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import ASGIApp, Message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.support.operations import DNC_EVENTS

PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION_ID = "1"
DELIVERY_SECONDS = 1.0  # the promise under test: an event arrives this soon after the commit
QUIET_SECONDS = 1.5  # how long a socket that must receive nothing is watched
REJECTED = {4401, 4403}  # the contract allows either for a refused token


@dataclass(frozen=True)
class Api:
    """One served process."""

    base_url: str

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http") + "/graphql"


def bearer(token: str) -> dict[str, str]:
    """connection_init's payload (or a request's headers) for `token`."""
    return {"Authorization": f"Bearer {token}"}


# --- over a real socket --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def websocket(api: Api) -> AsyncIterator[ClientConnection]:
    async with connect(
        api.ws_url, subprotocols=[PROTOCOL], proxy=None, open_timeout=5, close_timeout=2
    ) as socket:
        assert socket.subprotocol == PROTOCOL
        yield socket


async def send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


async def receive(socket: ClientConnection, within: float) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(socket.recv(), within))
    assert isinstance(message, dict), message
    return message


async def connection_init(socket: ClientConnection, payload: dict[str, Any] | None) -> None:
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await send(socket, message)


async def acknowledged(socket: ClientConnection, token: str) -> None:
    await connection_init(socket, bearer(token))
    reply = await receive(socket, 5)
    assert reply["type"] == "connection_ack", reply


async def subscribe(socket: ClientConnection) -> None:
    await send(
        socket, {"id": SUBSCRIPTION_ID, "type": "subscribe", "payload": {"query": DNC_EVENTS}}
    )


async def close_code(socket: ClientConnection, within: float) -> int | None:
    """The code the server closes the socket with; any message before that fails the test."""
    try:
        message = await asyncio.wait_for(socket.recv(), within)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    pytest.fail(f"expected the server to close the socket, received {message!r}")


@dataclass
class Subscriber:
    """A socket with the dncEvents subscription running."""

    socket: ClientConnection

    async def next_event(self, within: float = DELIVERY_SECONDS) -> dict[str, Any]:
        message = await receive(self.socket, within)
        assert message["type"] == "next", message
        assert message["id"] == SUBSCRIPTION_ID, message
        assert not message["payload"].get("errors"), message
        event: dict[str, Any] = message["payload"]["data"]["dncEvents"]
        return event

    async def events(self, count: int, within: float = DELIVERY_SECONDS) -> list[dict[str, Any]]:
        """The next `count` events, all of them arrived `within` seconds from now."""
        deadline = time.monotonic() + within
        return [await self.next_event(max(deadline - time.monotonic(), 0.01)) for _ in range(count)]

    async def assert_quiet(self, seconds: float = QUIET_SECONDS) -> None:
        try:
            message = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        pytest.fail(f"expected no message for {seconds} s, received {message!r}")


@contextlib.asynccontextmanager
async def subscribed(api: Api, token: str) -> AsyncIterator[Subscriber]:
    async with websocket(api) as socket:
        await acknowledged(socket, token)
        await subscribe(socket)
        yield Subscriber(socket)


# --- in the test's event loop (httpx has no websocket) -------------------------------------


class Socket:
    """A graphql-transport-ws client of the app in this event loop, over ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.texts: list[str] = []
        self.close_code: int | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.arrived = asyncio.Event()

    @staticmethod
    def scope() -> dict[str, Any]:
        return {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"dnc.test"), (b"sec-websocket-protocol", PROTOCOL.encode())],
            "subprotocols": [PROTOCOL],
            "client": ("127.0.0.1", 50000),
            "server": ("dnc.test", 80),
        }

    async def _serve(self) -> None:
        await self.app(self.scope(), self.to_app.get, self.from_app.put)

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def _read(self) -> None:
        while True:
            message = await self.from_app.get()
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
            else:
                self.texts.append(message.get("text") or "")
            self.arrived.set()
            if self.close_code is not None:
                return

    async def until(self, done: Callable[[], bool], within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                while not done():
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            return False
        return True

    async def subscribe(self, token: str | None) -> None:
        """Connect with the token in connection_init; subscribe to dncEvents once acknowledged."""
        self.tasks.append(asyncio.create_task(self._serve()))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        self.tasks.append(asyncio.create_task(self._read()))
        await self.send(
            {"type": "connection_init", "payload": {} if token is None else bearer(token)}
        )
        await self.until(lambda: bool(self.texts) or self.close_code is not None, 5)
        if self.acknowledged:
            payload = {"query": DNC_EVENTS}
            await self.send({"id": SUBSCRIPTION_ID, "type": "subscribe", "payload": payload})

    async def receives(self, number: str, within: float) -> bool:
        """Whether the event of `number` arrives within `within` seconds."""
        return await self.until(lambda: number in self.numbers(), within)

    @property
    def acknowledged(self) -> bool:
        return bool(self.texts) and json.loads(self.texts[0])["type"] == "connection_ack"

    def numbers(self) -> list[str]:
        messages = [json.loads(text) for text in self.texts[1:]]
        return [
            m["payload"]["data"]["dncEvents"]["phoneNumber"]
            for m in messages
            if m["type"] == "next"
        ]

    def replies(self, operation_id: str) -> list[dict[str, Any]]:
        """The messages received for one operation."""
        messages = [json.loads(text) for text in self.texts]
        return [message for message in messages if message.get("id") == operation_id]

    async def close(self) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        async with asyncio.timeout(5):
            await self.tasks[0]
        self.tasks[1].cancel()
