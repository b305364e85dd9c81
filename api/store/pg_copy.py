"""PostgreSQL writing CSV itself (`COPY (query) TO STDOUT`), with the csv module's row ends.

The server formats and quotes every value, so no row becomes a Python object on the way. The
COPY runs on a connection of Tortoise's asyncpg pool. For a response, a bounded queue between
the COPY and the reader holds the COPY back while the client is slow, and a reader that leaves
(closes the stream or is cancelled) cancels the COPY's task, which closes its connection: the
server stops the COPY, and the pool opens a fresh connection instead of getting back one that
is still in the middle of a COPY.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence

from api.store.database import connection

Output = Callable[[bytes], Awaitable[None]]

# Pieces waiting for a slow reader; asyncpg hands over at most what one socket read brought.
QUEUE_PIECES = 16

_running: set[asyncio.Task[None]] = set()


class CrlfRows:
    """PostgreSQL ends CSV rows with LF; the csv module, whose bytes the export keeps, with CRLF.

    Quote characters alternate opening and closing quoted values (a doubled quote closes one
    and reopens it), so between two of them every other stretch is inside a value, where a
    newline is data. Whether a piece starts inside a value carries over from the one before.
    """

    def __init__(self) -> None:
        self.quoted = False

    def __call__(self, piece: bytes) -> bytes:
        stretches = piece.split(b'"')
        outside = int(self.quoted)  # the first stretch outside a value
        self.quoted ^= len(stretches) % 2 == 0
        if b"\n" not in b"".join(stretches[1 - outside :: 2]):
            return piece.replace(b"\n", b"\r\n")  # no value spans lines: all C, no loop
        ends = [stretch.replace(b"\n", b"\r\n") for stretch in stretches[outside::2]]
        stretches[outside::2] = ends
        return b'"'.join(stretches)


async def copy_csv(query: str, args: Sequence[object], output: Output) -> int:
    """COPY `query` as CSV with a header row through `output`; returns the number of rows."""
    row_ends = CrlfRows()

    async def convert(piece: bytearray) -> None:
        await output(row_ends(bytes(piece)))  # a response takes bytes, not asyncpg's bytearray

    async with connection().acquire_connection() as conn:
        try:
            status: str = await conn.copy_from_query(
                query, *args, output=convert, format="csv", header=True
            )
        except asyncio.CancelledError:
            # asyncpg's own cancel misses a cancellation that lands just as a piece arrives,
            # and the pool would take the connection back mid-COPY; a closed one it replaces.
            conn.terminate()
            raise
    return int(status.rpartition(" ")[2])  # "COPY 1234"


async def streamed_csv(query: str, args: Sequence[object]) -> AsyncGenerator[bytes, None]:
    """COPY `query` as CSV for a response; leaving early (closed, cancelled) stops the COPY."""
    pieces: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(QUEUE_PIECES)
    copy = asyncio.create_task(_copy_into(pieces, query, args))
    # The loop holds tasks weakly; this one may outlive the reader while its COPY is cancelled.
    _running.add(copy)
    copy.add_done_callback(_running.discard)
    try:
        while (piece := await pieces.get()) is not None:
            if isinstance(piece, Exception):
                raise piece
            yield piece
    finally:
        copy.cancel()


async def _copy_into(
    pieces: asyncio.Queue[bytes | Exception | None], query: str, args: Sequence[object]
) -> None:
    """The COPY's pieces into the queue, then None, or the error that ended it, for the reader.

    A cancellation (the reader left) puts nothing: nobody would take it from a full queue.
    """
    try:
        await copy_csv(query, args, pieces.put)
    except Exception as error:
        await pieces.put(error)
    else:
        await pieces.put(None)
