"""Where the service's admin emails go during the run.

`held` (the default): a relay that accepts connections and never answers. The service's
deliverer claims its first rows, waits SMTP_TIMEOUT on the first one, and keeps waiting, so
delivery stays out of the measurement: the baseline writes the same outbox rows and sends
nothing either. `sink`: a real SMTP server (aiosmtpd's Sink, in its own process) accepts
every message, so the service's numbers include delivering them in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

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
