"""The export's CSV as api.store.export writes it: nothing a spreadsheet would run, values that
round-trip, and on both databases the very bytes the csv module writes, PostgreSQL's COPY
included (its LF row ends relayed as CRLF by api.store.pg_copy.CrlfRows)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.dnc.export import parse_status, write_export
from api.settings import Settings
from api.store.pg_copy import CrlfRows
from models import DncChannel, DncEntryStatus, DncReason, User, UserRole
from tests.support.export import (
    FORMULAS,
    HEADER,
    export,
    exported_rows,
    iso,
    make_entry,
    read_csv,
)
from tests.support.factories import Tenant, make_tenant, make_user, us_number

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
