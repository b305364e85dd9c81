"""A PostgreSQL wire-protocol relay that counts the statements its clients run.

pg_stat_statements needs a server restart to load, so instead a server under count talks to
PostgreSQL through this relay. Two kinds are counted apart: extended-protocol `Execute`
messages (the queries: asyncpg runs every parameterized statement so, and `executemany`
sends one per row) and simple `Query` messages (BEGIN, COMMIT, and the reset asyncpg's pool
runs each time a connection goes back to it). Bytes are relayed untouched; only message
headers are read.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

_SSL_OR_GSS_REQUEST = (80877103, 80877104)
_EXECUTE, _QUERY = ord("E"), ord("Q")


@dataclass
class _Reader:
    """Walks the client's message stream chunk by chunk, without buffering message bodies."""

    startup: bool = True  # untyped messages until the StartupMessage
    header: bytearray = field(default_factory=bytearray)
    skip: int = 0
    executes: int = 0
    simple: int = 0

    def feed(self, data: bytes) -> None:
        i = 0
        while i < len(data):
            if self.skip:
                taken = min(self.skip, len(data) - i)
                self.skip -= taken
                i += taken
                continue
            size = 8 if self.startup else 5
            taken = min(size - len(self.header), len(data) - i)
            self.header += data[i : i + taken]
            i += taken
            if len(self.header) < size:
                return
            if self.startup:
                length = int.from_bytes(self.header[:4], "big")
                code = int.from_bytes(self.header[4:8], "big")
                self.startup = code in _SSL_OR_GSS_REQUEST
                self.skip = length - 8
            else:
                self.executes += self.header[0] == _EXECUTE
                self.simple += self.header[0] == _QUERY
                self.skip = int.from_bytes(self.header[1:5], "big") - 4
            self.header.clear()


class CountingProxy:
    """Listens on 127.0.0.1:`port`, relays to `upstream`, counts every client's statements."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.readers: list[_Reader] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    def counts(self) -> tuple[int, int]:
        """(queries executed, simple statements) so far."""
        return (
            sum(reader.executes for reader in self.readers),
            sum(reader.simple for reader in self.readers),
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        reader = _Reader()
        self.readers.append(reader)
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(
            _pump(client_in, server_out, reader), _pump(server_in, client_out, None)
        )

    async def wait_quiet(self, seconds: float = 0.15) -> tuple[int, int]:
        """The counts once nothing has run for `seconds` (the last reply has gone out)."""
        while True:
            before = self.counts()
            await asyncio.sleep(seconds)
            if self.counts() == before:
                return before


async def _pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, reader: _Reader | None
) -> None:
    try:
        while data := await source.read(1 << 16):
            if reader is not None:
                reader.feed(data)
            sink.write(data)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        sink.close()
