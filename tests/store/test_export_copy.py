"""The PostgreSQL COPY behind the export stops when its reader leaves: a client that
disconnects mid-download, or a reader of `csv_chunks` that closes it, is cancelled or drops it.
No connection is lost to the pool, none is left in the middle of a COPY."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from api.dnc.export import write_export
from api.settings import Settings
from api.store import database as db
from api.store.export import csv_chunks
from tests.conftest import make_settings
from tests.support.export import EXPORT, HEADER, exported_rows, insert_entries, on_a_socket
from tests.support.factories import Tenant, make_tenant
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

POOL = 2
# Far more than the queue, the socket buffers and the client hold: the COPY is still running
# (held back) when the reader leaves.
LEAVING_ROWS = 40_000
LONG_NOTE = "Asked not to be called again; " * 35
RUNNING_COPIES = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND state <> 'idle' AND query LIKE 'COPY%'
"""


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink) -> Settings:
    """The `app` fixture's, with a pool of POOL connections: one connection lost shows at once."""
    return make_settings(database_url, smtp.port, db_pool_size=POOL)


async def copies_running(database_url: str, expected: int) -> None:
    """Wait until the server runs `expected` COPY statements in this database."""
    server = await asyncpg.connect(database_url)
    try:
        for _ in range(500):
            running = await server.fetchval(RUNNING_COPIES)
            if running == expected:
                return
            await asyncio.sleep(0.02)
    finally:
        await server.close()
    pytest.fail(f"{running} COPY statements running, not {expected}")


async def every_connection_serves() -> None:
    """All POOL connections at once, each answering: none was lost, none is still in a COPY."""
    together = asyncio.Barrier(POOL)

    async def query_and_hold() -> None:
        async with db.connection().acquire_connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
            await together.wait()

    async with asyncio.timeout(10):
        await asyncio.gather(*(query_and_hold() for _ in range(POOL)))


async def full_export_rows(tenant: Tenant) -> int:
    """The entries a whole export still writes."""
    out = io.StringIO(newline="")
    return await write_export(organization_id=tenant.organization.id, status=None, out=out)


async def test_a_client_that_disconnects_stops_the_copy(
    app: object, settings: Settings, database_url: str
) -> None:
    tenant = await make_tenant(settings, calls=0)
    await insert_entries(tenant, LEAVING_ROWS, note=LONG_NOTE)
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}

    async with (
        on_a_socket(app) as base_url,
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        for _ in range(POOL + 1):  # each would keep a connection, were it not given back
            async with client.stream("GET", EXPORT, headers=headers) as response:
                assert response.status_code == 200
                body = response.aiter_bytes()  # held: collected, it would close the connection
                assert (await anext(body)).startswith(HEADER.encode())
                await copies_running(database_url, 1)  # held back by the client's pace
            await copies_running(database_url, 0)
        await every_connection_serves()
        rows = await exported_rows(client, tenant)

    assert len(rows) == LEAVING_ROWS
    assert await full_export_rows(tenant) == LEAVING_ROWS


async def drain(chunks: AsyncIterator[bytes]) -> None:
    async for _ in chunks:
        pass


@pytest.mark.parametrize("leaving", ["closed", "cancelled", "dropped"])
async def test_a_reader_that_stops_early_stops_the_copy(
    app: object, settings: Settings, database_url: str, leaving: str
) -> None:
    tenant = await make_tenant(settings, calls=0)
    await insert_entries(tenant, LEAVING_ROWS, note=LONG_NOTE)

    for _ in range(POOL + 1):
        chunks = csv_chunks(organization_id=tenant.organization.id, status=None)
        if leaving == "cancelled":
            reading = asyncio.create_task(drain(chunks))
            await copies_running(database_url, 1)
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
        else:
            await anext(chunks)
            await copies_running(database_url, 1)
            if leaving == "closed":
                await chunks.aclose()
            else:
                del chunks  # closed when collected, as an abandoned response's would be
        await copies_running(database_url, 0)
    await every_connection_serves()

    assert await full_export_rows(tenant) == LEAVING_ROWS
