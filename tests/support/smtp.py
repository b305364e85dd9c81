"""Real SMTP servers for tests: a sink (aiosmtpd) that collects messages and can refuse them,
hang up in the middle of one, hold its reply, or be stopped; and a server that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port() -> int:
    """aiosmtpd's Controller cannot bind port 0: pick a free port first."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.sink.refused_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.temporary_failure:
            return "451 4.3.0 try again later"
        if self.sink.refuse_data:
            return "554 5.7.1 message refused"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message)
            )
        if self.sink.hold_data_reply:
            # The message is stored, as a real server stores it before answering; only the
            # "250" is held back, so a client that dies now never learns it was delivered.
            self.sink.data_held.set()
            await asyncio.to_thread(self.sink.data_released.wait)  # set from the test's thread
        return "250 Message accepted"


class _SinkSMTP(SMTP):
    def __init__(self, sink: SmtpSink, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sink = sink

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope
        if not self.sink.cut_off_in_data or arg or envelope is None or not envelope.rcpt_tos:
            await super().smtp_DATA(arg)
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")  # the message has started to arrive
        with self.sink.lock:
            self.sink.cut_off += 1
        assert self.transport is not None
        self.transport.close()


class _SinkController(Controller):
    def __init__(self, sink: SmtpSink, port: int) -> None:
        super().__init__(_Handler(sink), hostname="127.0.0.1", port=port)
        self.sink = sink

    def factory(self) -> SMTP:
        return _SinkSMTP(self.sink, self.handler, **self.SMTP_kwargs)


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refused_recipients: set[str] = set()
        self.temporary_failure = False
        self.refuse_data = False
        # Hang up once the message has started to arrive, before its end: nothing is stored.
        self.cut_off_in_data = False
        self.cut_off = 0
        # Store the message but hold the reply to DATA until `data_released` is set.
        self.hold_data_reply = False
        self.data_held = threading.Event()
        self.data_released = threading.Event()
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = _SinkController(self, self.port)
        self._controller.start()

    def stop(self) -> None:
        self.data_released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages arrived; fail after `within` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages())}")


class SilentServer:
    """Accepts TCP connections on `port` and never says a word: an SMTP server that hangs
    before its greeting. Runs on the caller's event loop, as an async context manager."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await self._server.wait_closed()
