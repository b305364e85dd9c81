"""The CSV export: `GET /export/dnc.csv` and `dnc-api export`, on both databases.

What an admin downloads must parse as CSV, carry each entry's effective status, hold nothing of
another organization, never hand a spreadsheet a formula, and stream with flat memory.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import gc
import io
import os
import socket
import subprocess
import sys
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from api.app import create_app
from api.dnc.export import parse_status, write_export
from api.settings import Settings
from api.store import database as db
from api.store.export import csv_chunks
from api.store.pg_copy import CrlfRows
from models import DncChannel, DncEntry, DncEntryStatus, DncReason, User, UserRole
from tests.conftest import TEST_SECRET, _truncate, make_settings
from tests.support.factories import Tenant, make_tenant, make_user, token_for, us_number
from tests.support.smtp import SmtpSink

HEADER = (
    "phone_number,status,reason,channel,note,requested_at,created_at,expires_at,removed_at,"
    "batch_id,request_uuid,added_by_email"
)
EXPORT = "/export/dnc.csv"
CREATED_AT = datetime(2026, 11, 2, 15, 4, 5, 123456, tzinfo=UTC)
FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1"]
MB = 1024 * 1024
# Settings the outer shell may carry; the CLI run states its own.
CONFIG_PREFIXES = ("APP_ENV", "DATABASE_URL", "JWT_", "SMTP_")


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


# --- the file -------------------------------------------------------------------------------


async def test_one_row_per_entry_with_its_values_and_effective_status(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    call = tenant.calls[0]
    now = datetime.now(UTC)
    later = now + timedelta(days=30)
    full = await make_entry(
        tenant,
        0,
        reason=DncReason.COMPLAINT,
        channel=DncChannel.SMS,
        note="Asked twice.",
        batch_id=tenant.batch.id,
        call_record_id=call.id,
        request_uuid=call.request_uuid,
        added_by_id=tenant.admin.id,
        requested_at=datetime(2026, 10, 30, 9, 0, tzinfo=UTC),
        expires_at=later,
    )
    lapsed = await make_entry(tenant, 1, expires_at=now - timedelta(minutes=1))
    removed = await make_entry(
        tenant,
        2,
        status=DncEntryStatus.REMOVED,
        removed_at=now - timedelta(hours=1),
        removed_by_id=tenant.admin.id,
        removal_reason="Consent given.",
    )
    expired = await make_entry(
        tenant, 3, status=DncEntryStatus.EXPIRED, expires_at=now - timedelta(days=2)
    )

    response = await export(http, tenant.admin_token)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] in {
        f'attachment; filename="dnc-all-{day:%Y%m%d}.csv"' for day in (now, datetime.now(UTC))
    }
    assert response.headers["cache-control"] == "no-store"
    assert read_csv(response.text) == [
        {
            "phone_number": full.phone_number,
            "status": "ACTIVE",
            "reason": "COMPLAINT",
            "channel": "SMS",
            "note": "Asked twice.",
            "requested_at": "2026-10-30T09:00:00.000000+00:00",
            "created_at": "2026-11-02T15:04:05.123456+00:00",
            "expires_at": iso(later),
            "removed_at": "",
            "batch_id": str(tenant.batch.id),
            "request_uuid": str(call.request_uuid),
            "added_by_email": tenant.admin.email,
        },
        {
            "phone_number": lapsed.phone_number,
            "status": "EXPIRED",
            "reason": "",
            "channel": "VOICE_CALL",
            "note": "",
            "requested_at": "2026-11-01T15:04:05.123456+00:00",
            "created_at": "2026-11-02T15:04:06.123456+00:00",
            "expires_at": iso(now - timedelta(minutes=1)),
            "removed_at": "",
            "batch_id": "",
            "request_uuid": "",
            "added_by_email": "",
        },
        {
            "phone_number": removed.phone_number,
            "status": "REMOVED",
            "reason": "",
            "channel": "VOICE_CALL",
            "note": "",
            "requested_at": "2026-11-01T15:04:05.123456+00:00",
            "created_at": "2026-11-02T15:04:07.123456+00:00",
            "expires_at": "",
            "removed_at": iso(now - timedelta(hours=1)),
            "batch_id": "",
            "request_uuid": "",
            "added_by_email": "",
        },
        {
            "phone_number": expired.phone_number,
            "status": "EXPIRED",
            "reason": "",
            "channel": "VOICE_CALL",
            "note": "",
            "requested_at": "2026-11-01T15:04:05.123456+00:00",
            "created_at": "2026-11-02T15:04:08.123456+00:00",
            "expires_at": iso(now - timedelta(days=2)),
            "removed_at": "",
            "batch_id": "",
            "request_uuid": "",
            "added_by_email": "",
        },
    ]


async def test_an_empty_list_is_the_header_alone(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)

    response = await export(http, tenant.admin_token)

    assert response.status_code == 200
    assert response.text == HEADER + "\r\n"


async def test_rows_come_oldest_first_across_chunks(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    created = datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC)
    # Three entries per created_at, so the keyset breaks ties on id, one tie straddling the
    # 2,000-row chunk boundary; every other created_at has no fraction of a second at all.
    entries = [
        DncEntry(
            id=uuid.uuid4(),
            organization_id=tenant.organization.id,
            phone_number=f"+1212555{n:04d}",
            created_at=created + timedelta(microseconds=(n // 3) * 500_000),
            requested_at=created,
        )
        for n in range(2_100)
    ]
    await DncEntry.bulk_create(entries[::-1], batch_size=500)

    rows = await exported_rows(http, tenant)

    oldest_first = sorted(entries, key=lambda entry: (entry.created_at, str(entry.id)))
    assert [row["phone_number"] for row in rows] == [e.phone_number for e in oldest_first]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ACTIVE", ["open", "not yet"]),
        ("EXPIRED", ["lapsed", "expired"]),
        ("REMOVED", ["removed"]),
    ],
)
async def test_status_filters_by_effective_status(
    http: httpx.AsyncClient, settings: Settings, status: str, expected: list[str]
) -> None:
    tenant = await make_tenant(settings)
    now = datetime.now(UTC)
    await make_entry(tenant, 0, note="open")
    await make_entry(tenant, 1, note="not yet", expires_at=now + timedelta(minutes=5))
    await make_entry(tenant, 2, note="lapsed", expires_at=now - timedelta(seconds=1))
    await make_entry(tenant, 3, note="expired", status=DncEntryStatus.EXPIRED, expires_at=now)
    await make_entry(tenant, 4, note="removed", status=DncEntryStatus.REMOVED, removed_at=now)

    response = await export(http, tenant.admin_token, status)

    assert response.status_code == 200
    rows = read_csv(response.text)
    assert [row["note"] for row in rows] == expected
    assert {row["status"] for row in rows} == {status}
    assert f'filename="dnc-{status.lower()}-' in response.headers["content-disposition"]


async def test_no_status_exports_every_entry(http: httpx.AsyncClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    await make_entry(tenant, 0, note="open")
    await make_entry(tenant, 1, note="removed", status=DncEntryStatus.REMOVED)
    await make_entry(tenant, 2, note="expired", status=DncEntryStatus.EXPIRED)

    assert [row["note"] for row in await exported_rows(http, tenant, "")] == [
        "open",
        "removed",
        "expired",
    ]


# --- who may export -------------------------------------------------------------------------


async def test_without_a_token_is_401(http: httpx.AsyncClient, settings: Settings) -> None:
    tenant = await make_tenant(settings)
    await make_entry(tenant)

    response = await export(http, None)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "phone_number" not in response.text


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-jwt", "Basic YWRtaW46YWRtaW4=", "Bearer ", "other secret", "inactive admin"],
)
async def test_a_bad_token_is_401(
    http: httpx.AsyncClient, settings: Settings, authorization: str
) -> None:
    tenant = await make_tenant(settings)
    await make_entry(tenant)
    if authorization == "other secret":
        other = dataclasses.replace(settings, jwt_secret="another-secret-that-is-long-enough-0123")
        authorization = f"Bearer {token_for(tenant.admin, other)}"
    elif authorization == "inactive admin":
        authorization = f"Bearer {token_for(tenant.inactive_admin, settings)}"

    response = await http.get(EXPORT, headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "phone_number" not in response.text


@pytest.mark.parametrize("status", [None, "ACTIVE", "NOT-A-STATUS"])
async def test_a_member_is_403(
    http: httpx.AsyncClient, settings: Settings, status: str | None
) -> None:
    tenant = await make_tenant(settings)
    await make_entry(tenant)

    response = await export(http, tenant.member_token, status)

    assert response.status_code == 403
    assert "phone_number" not in response.text


@pytest.mark.parametrize("status", ["DELETED", "active", "ACTIVE,REMOVED", "'; DROP TABLE x;--"])
async def test_a_bad_status_is_400(
    http: httpx.AsyncClient, settings: Settings, status: str
) -> None:
    tenant = await make_tenant(settings)

    response = await export(http, tenant.admin_token, status)

    assert response.status_code == 400
    assert "ACTIVE, EXPIRED, REMOVED" in response.text


async def test_an_organization_exports_only_its_own_entries(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    a = await make_tenant(settings, "Org A")
    b = await make_tenant(settings, "Org B")
    shared = us_number()
    await make_entry(a, 0, phone_number=shared, note="A's shared", added_by_id=a.admin.id)
    await make_entry(a, 1, note="A's own", status=DncEntryStatus.REMOVED)
    await make_entry(b, 2, phone_number=shared, note="B's shared", added_by_id=b.admin.id)
    await make_entry(b, 3, note="B's own")

    rows_a = await exported_rows(http, a)
    rows_b = await exported_rows(http, b)

    assert [(row["note"], row["added_by_email"]) for row in rows_a] == [
        ("A's shared", a.admin.email),
        ("A's own", ""),
    ]
    assert [(row["note"], row["added_by_email"]) for row in rows_b] == [
        ("B's shared", b.admin.email),
        ("B's own", ""),
    ]
    for status in ("ACTIVE", "REMOVED"):
        assert all("B's" in row["note"] for row in await exported_rows(http, b, status))


# --- what a spreadsheet sees ----------------------------------------------------------------


async def test_formula_like_values_are_neutralized_but_not_the_number(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    evil_admin = await make_user(
        tenant.organization, role=UserRole.ADMIN, email="=cmd|'/c calc'!A0@evil.example"
    )
    for seconds, formula in enumerate(FORMULAS):
        await make_entry(tenant, seconds, note=formula, added_by_id=evil_admin.id)
    await make_entry(tenant, 10, note="a=b, call me -maybe @noon", added_by_id=tenant.admin.id)

    rows = await exported_rows(http, tenant)

    assert [row["note"] for row in rows] == [*("'" + f for f in FORMULAS), rows[-1]["note"]]
    assert rows[-1]["note"] == "a=b, call me -maybe @noon"
    assert {row["added_by_email"] for row in rows[:-1]} == {"'=cmd|'/c calc'!A0@evil.example"}
    assert rows[-1]["added_by_email"] == tenant.admin.email
    assert all(row["phone_number"].startswith("+1") for row in rows)


async def test_commas_quotes_and_newlines_round_trip(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    tenant = await make_tenant(settings)
    notes = [
        'He said "stop calling", then: 1,2,3',
        "line one\nline two\r\nline three",
        "Ünïcödé — 名前, ok",
        ",leading comma",
        '"',
    ]
    for seconds, note in enumerate(notes):
        await make_entry(tenant, seconds, note=note)

    rows = await exported_rows(http, tenant)

    assert [row["note"] for row in rows] == notes
    assert [row["channel"] for row in rows] == ["VOICE_CALL"] * len(notes)


# --- the same bytes on both databases -------------------------------------------------------

# Values where PostgreSQL's CSV and the csv module's could part: quotes, separators, line ends
# inside a value, an empty string beside a null, COPY's end-of-data marker, formula starts.
TRICKY_NOTES = [
    'He said "stop calling", then: 1,2,3',
    "line one\nline two\r\nline three\rend",
    "\n",
    '"\n"',
    "",
    None,
    "\\.",
    "before\n\\.\nafter",
    '"',
    ",",
    " padded ",
    "Ünïcödé — 名前, ok",
    *FORMULAS,
    "a=b, call me -maybe @noon",
]
TRICKY_PHONES = ["=1+2", "-12125550100", "\\.", "", "12125550100"]
TRICKY_EMAILS = ["\\.", '"quoted, user"@example.com', "=cmd@evil.example", "-x@example.com"]


def spreadsheet_safe(value: str | None) -> str:
    """What the contract asks of a free-text value: a formula start neutralized, null empty."""
    if value is None:
        return ""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def csv_bytes(rows: list[list[str]], lineterminator: str = "\r\n") -> bytes:
    """`rows` as the csv module writes them."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=lineterminator).writerows(rows)
    return buffer.getvalue().encode()


async def tricky_entries(tenant: Tenant) -> list[tuple[str, list[str]]]:
    """Entries of every status holding the tricky values; each one's status and expected row."""
    now = datetime.now(UTC)
    authors: list[User | None] = [None, tenant.admin]
    for email in TRICKY_EMAILS:
        authors.append(await make_user(tenant.organization, role=UserRole.ADMIN, email=email))
    shapes: list[tuple[str, dict[str, Any]]] = [
        ("ACTIVE", {}),
        ("ACTIVE", {"expires_at": now + timedelta(days=30), "reason": DncReason.COMPLAINT}),
        ("EXPIRED", {"expires_at": now - timedelta(minutes=1)}),  # lapsed, still ACTIVE
        ("EXPIRED", {"status": DncEntryStatus.EXPIRED, "expires_at": now - timedelta(days=2)}),
        ("REMOVED", {"status": DncEntryStatus.REMOVED, "removed_at": now - timedelta(hours=1)}),
    ]
    phones = TRICKY_PHONES + [us_number() for _ in TRICKY_NOTES]
    expected = []
    for n, note in enumerate(TRICKY_NOTES):
        status, fields = shapes[n % len(shapes)]
        author = authors[n % len(authors)]
        call = tenant.calls[n % len(tenant.calls)] if n % 3 else None
        entry = await make_entry(
            tenant,
            n,
            phone_number=phones[n],
            note=note,
            channel=DncChannel.SMS if n % 2 else DncChannel.VOICE_CALL,
            added_by_id=author.id if author else None,
            batch_id=tenant.batch.id if call else None,
            call_record_id=call.id if call else None,
            request_uuid=call.request_uuid if call else None,
            **fields,
        )
        phone = entry.phone_number
        row = [
            phone if phone.startswith("+1") else spreadsheet_safe(phone),
            status,
            entry.reason.value if entry.reason else "",
            entry.channel.value,
            spreadsheet_safe(note),
            iso(entry.requested_at),
            iso(entry.created_at),
            iso(entry.expires_at) if entry.expires_at else "",
            iso(entry.removed_at) if entry.removed_at else "",
            str(tenant.batch.id) if call else "",
            str(call.request_uuid) if call else "",
            spreadsheet_safe(author.email if author else None),
        ]
        expected.append((status, row))
    return expected


@pytest.mark.parametrize("status", [None, "ACTIVE", "EXPIRED", "REMOVED"])
async def test_the_file_is_byte_for_byte_what_the_csv_module_writes(
    http: httpx.AsyncClient, settings: Settings, status: str | None
) -> None:
    """PostgreSQL's COPY and SQLite's csv module both give these bytes, so each other's."""
    tenant = await make_tenant(settings)
    entries = await tricky_entries(tenant)
    await make_entry(await make_tenant(settings, "Other"), 99, note="not ours")
    rows = [row for effective, row in entries if status in {None, effective}]
    out = io.StringIO(newline="")

    response = await export(http, tenant.admin_token, status)
    written = await write_export(
        organization_id=tenant.organization.id, status=parse_status(status), out=out
    )

    assert response.status_code == 200
    assert response.content == csv_bytes([HEADER.split(","), *rows])
    assert out.getvalue().encode() == response.content
    assert written == len(rows)
    assert len(read_csv(response.text)) == len(rows)


def test_row_ends_become_crlf_wherever_the_pieces_are_cut() -> None:
    # No lone CR: with an LF terminator the csv module would not quote it, PostgreSQL does.
    rows = [
        ['He said "stop calling", then: 1,2,3', "plain"],
        ["line one\nline two\r\nline three", 'a "b"'],
        ["", '"'],
        ['""', "\n"],
        ["\\.", "before\n\\.\nafter"],
        ["Ünïcödé — 名前, ok", "\r\n"],
    ]
    lf = csv_bytes(rows, lineterminator="\n")
    crlf = csv_bytes(rows)

    assert CrlfRows()(lf) == crlf
    for cut in range(len(lf) + 1):
        row_ends = CrlfRows()
        assert row_ends(lf[:cut]) + row_ends(lf[cut:]) == crlf, cut
    byte_by_byte = CrlfRows()
    assert b"".join(byte_by_byte(lf[n : n + 1]) for n in range(len(lf))) == crlf


# --- the command ----------------------------------------------------------------------------


def cli_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    return env | {"DATABASE_URL": database_url, "JWT_SECRET": TEST_SECRET}


def files_in(folder: Path) -> list[str]:
    """What the command left behind (a cut-short export must leave nothing)."""
    return sorted(path.name for path in folder.iterdir())


async def run_export_command(
    database_url: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """`dnc-api export ...` as an operator runs it; the bytes, so CRLF stays CRLF."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "api.cli", "export", *args],
        cwd=cwd,
        env=cli_env(database_url),
        capture_output=True,
        timeout=120,
        check=False,
    )


async def test_the_command_writes_the_same_csv(
    http: httpx.AsyncClient, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(settings)
    other = await make_tenant(settings, "Other")
    now = datetime.now(UTC)
    await make_entry(tenant, 0, note='=1+1, "quoted"\nnext', added_by_id=tenant.admin.id)
    await make_entry(tenant, 1, status=DncEntryStatus.REMOVED, removed_at=now)
    await make_entry(tenant, 2, expires_at=now - timedelta(days=1), reason=DncReason.OTHER)
    await make_entry(other, 3, note="not ours")
    org = str(tenant.organization.id)
    out = tmp_path / "export.csv"

    written = await run_export_command(database_url, tmp_path, "--org", org, "--out", str(out))
    removed = await run_export_command(database_url, tmp_path, "--org", org, "--status", "removed")

    assert written.returncode == 0, written.stderr
    assert b"exported 3 entries" in written.stdout
    assert out.read_bytes().decode() == (await export(http, tenant.admin_token)).text
    assert files_in(tmp_path) == ["export.csv"]
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.decode() == (await export(http, tenant.admin_token, "REMOVED")).text
    assert len(read_csv(removed.stdout.decode())) == 1


async def test_the_command_refuses_an_unknown_organization_or_status(
    http: httpx.AsyncClient, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(settings)
    out = tmp_path / "export.csv"

    unknown = await run_export_command(
        database_url, tmp_path, "--org", str(uuid.uuid4()), "--out", str(out)
    )
    not_an_id = await run_export_command(database_url, tmp_path, "--org", "acme")
    bad_status = await run_export_command(
        database_url, tmp_path, "--org", str(tenant.organization.id), "--status", "DELETED"
    )

    for result, mention in [
        (unknown, b"no organization"),
        (not_an_id, b"--org"),
        (bad_status, b"--status"),
    ]:
        assert result.returncode == 2, result.stderr
        assert mention in result.stderr
        assert b"Traceback" not in result.stderr
        assert result.stdout == b""
    assert files_in(tmp_path) == []


# --- a long list ----------------------------------------------------------------------------


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
async def served(app: object) -> AsyncIterator[str]:
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


async def streamed(client: httpx.AsyncClient, tenant: Tenant) -> tuple[int, int]:
    """(rows, peak traced memory during the export), reading chunk by chunk, keeping none."""
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    lines = 0
    tail = b""
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}
    async with client.stream("GET", EXPORT, headers=headers) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            lines += chunk.count(b"\n")  # a chunk may end between CR and LF
            tail = (tail + chunk)[-2:]
    _, peak = tracemalloc.get_traced_memory()
    assert tail == b"\r\n"
    return lines - 1, peak - before


async def test_a_long_list_streams_with_flat_memory(app: object, settings: Settings) -> None:
    small = await make_tenant(settings, "Small", calls=0)
    large = await make_tenant(settings, "Large", calls=0)
    await insert_entries(small, 20_000)
    await insert_entries(large, 200_000)
    if db.connection().schema_generator.DIALECT == "postgres":
        # As autovacuum would have by then: with no statistics the planner takes the fresh
        # table for a few rows and sorts all of an organization's rows for every chunk.
        await db.connection().execute_script("ANALYZE dnc_entry")

    async with served(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        await streamed(client, small)  # imports, caches, prepared statements: not the export's
        tracemalloc.start()
        try:
            small_rows, small_peak = await streamed(client, small)
            large_rows, large_peak = await streamed(client, large)
        finally:
            tracemalloc.stop()

    assert (small_rows, large_rows) == (20_000, 200_000)
    assert large_peak < 2 * small_peak + 2 * MB, (small_peak, large_peak)
    assert large_peak < 50 * MB, large_peak


# --- a reader that leaves -------------------------------------------------------------------

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
async def small_pool_app(database_url: str, smtp: SmtpSink) -> AsyncIterator[object]:
    """The app with a pool of POOL connections, so that one connection lost shows at once."""
    application = create_app(make_settings(database_url, smtp.port, db_pool_size=POOL))
    async with application.router.lifespan_context(application):
        await _truncate()
        yield application


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


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_client_that_disconnects_stops_the_copy(
    small_pool_app: object, settings: Settings, database_url: str
) -> None:
    tenant = await make_tenant(settings, calls=0)
    await insert_entries(tenant, LEAVING_ROWS, note=LONG_NOTE)
    headers = {"Authorization": f"Bearer {tenant.admin_token}"}

    async with served(small_pool_app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
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


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("leaving", ["closed", "cancelled", "dropped"])
async def test_a_reader_that_stops_early_stops_the_copy(
    small_pool_app: object, settings: Settings, database_url: str, leaving: str
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
