"""Where the service's admin emails go: the benchmark's relay, and the soak's recording sink.

`held` (the default): a relay that accepts connections and never answers. The service's
deliverer claims its first rows, waits SMTP_TIMEOUT on the first one, and keeps waiting, so
delivery stays out of the measurement: the baseline writes the same outbox rows and sends
nothing either. `sink`: a real SMTP server (aiosmtpd's Sink, in its own process) accepts
every message, so the service's numbers include delivering them in the background.

The soak (bench/soak/) needs more than a sink that discards: `SmtpSink` keeps what it received,
to be matched against the outbox, and refuses with 4xx while `refusing` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import random
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench import servers

HELD_SMTP_TIMEOUT = "2"  # seconds per attempt: one stalled attempt every 2 s, and a quick stop


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        await reader.read()
    writer.close()


@contextlib.asynccontextmanager
async def relay(mode: str, log_dir: Path) -> AsyncIterator[dict[str, str]]:
    """Run the mail relay; yields the SMTP settings the service gets."""
    if mode == "held":
        held = await asyncio.start_server(_hold, "127.0.0.1", 0)
        port = held.sockets[0].getsockname()[1]
        try:
            yield {
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(port),
                "SMTP_TIMEOUT": HELD_SMTP_TIMEOUT,
            }
        finally:
            held.close()
        return
    port = servers.free_port()
    argv = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    sink = await servers.start(
        "smtp-sink", [*argv, "-c", "aiosmtpd.handlers.Sink"], {}, port, log_dir, http=False
    )
    try:
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    finally:
        servers.stop(sink)


@dataclass(frozen=True)
class Delivery:
    message_id: str
    recipients: tuple[str, ...]
    subject: str
    has_bcc: bool


class SmtpSink:
    """A real SMTP server, in this process, that records every message and can refuse (4xx)
    for a while: what the soak reconciles the outbox against."""

    def __init__(self, rng: random.Random) -> None:
        self.port = servers.free_port()  # aiosmtpd's Controller cannot bind port 0
        self.rng = rng
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.refusing = False
        self.refused = Counter[str]()
        self._controller: Any = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refusing and self.rng.random() < 0.5:
            with self.lock:
                self.refused["RCPT 450"] += 1
            return "450 4.2.1 soak: mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            with self.lock:
                self.refused["DATA 451"] += 1
            return "451 4.3.0 soak: try again later"
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(envelope.content)
        delivery = Delivery(
            message_id=str(headers.get("Message-ID", "")).strip(),
            recipients=tuple(envelope.rcpt_tos),
            subject=" ".join(str(headers.get("Subject", "")).split()),
            has_bcc="Bcc" in headers,
        )
        with self.lock:
            self.deliveries.append(delivery)
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)
