"""The CSV export as the tests read it: its header, entries dated in its order, the download,
and the app on a real socket for what only a real server shows (streaming, a client leaving)."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from api.store import database as db
from models import DncEntry
from tests.support.factories import Tenant, us_number

HEADER = (
    "phone_number,status,reason,channel,note,requested_at,created_at,expires_at,removed_at,"
    "batch_id,request_uuid,added_by_email"
)
EXPORT = "/export/dnc.csv"
CREATED_AT = datetime(2026, 11, 2, 15, 4, 5, 123456, tzinfo=UTC)
FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def make_entry(tenant: Tenant, seconds: int = 0, **fields: Any) -> DncEntry:
    """An entry of `tenant` created `seconds` after CREATED_AT (the export's order)."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": tenant.organization.id,
        "phone_number": us_number(),
        "created_at": CREATED_AT + timedelta(seconds=seconds),
        "requested_at": CREATED_AT - timedelta(days=1),
    }
    return await DncEntry.create(**(values | fields))


def read_csv(text: str) -> list[dict[str, str]]:
    """The export's rows by column name, after checking its header."""
    assert text.startswith(HEADER + "\r\n"), text[:200]
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    assert header == HEADER.split(",")
    return [dict(zip(header, row, strict=True)) for row in rows]


async def export(
    http: httpx.AsyncClient, token: str | None, status: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    params = {"status": status} if status is not None else {}
    return await http.get(EXPORT, headers=headers, params=params)


async def exported_rows(
    http: httpx.AsyncClient, tenant: Tenant, status: str | None = None
) -> list[dict[str, str]]:
    response = await export(http, tenant.admin_token, status)
    assert response.status_code == 200, response.text
    return read_csv(response.text)


async def insert_entries(
    tenant: Tenant, count: int, note: str = "Asked not to be called again, politely."
) -> None:
    """`count` entries in one transaction, one short statement per row (asyncpg's caps)."""
    conn = db.connection()
    postgres = conn.schema_generator.DIALECT == "postgres"
    columns = (
        "id, organization_id, phone_number, reason, note, channel, status, created_at,"
        " requested_at, added_by_id"
    )
    marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, 11))
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def value(v: uuid.UUID | datetime) -> object:
        if postgres:
            return v
        return v.isoformat(" ") if isinstance(v, datetime) else str(v)

    await conn.execute_many(
        f"INSERT INTO dnc_entry ({columns}) VALUES ({marks})",  # noqa: S608 (constants)
        [
            [
                value(uuid.uuid4()),
                value(tenant.organization.id),
                f"+1{2_000_000_000 + n}",
                "CUSTOMER_REQUEST",
                note,
                "VOICE_CALL",
                "ACTIVE",
                value(start + timedelta(milliseconds=n)),
                value(start),
                value(tenant.admin.id),
            ]
            for n in range(count)
        ],
    )


@asynccontextmanager
async def on_a_socket(app: object) -> AsyncIterator[str]:
    """The app on a real socket: httpx's ASGI transport buffers whole bodies, a server does not."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        ws="none",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):
            if server.started:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
