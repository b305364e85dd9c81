"""`GET /export/dnc.csv`: an admin downloads their organization's list as CSV, each entry with
its effective status, filtered by status if asked, streamed with flat memory. Anyone else gets
nothing of it.

How values are written (the same bytes on both databases, nothing a spreadsheet would run) is
tested in tests/store/test_export.py; the command in tests/cli/test_export_command.py.
"""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.settings import Settings
from api.store import database as db
from models import DncChannel, DncEntry, DncEntryStatus, DncReason
from tests.support.export import (
    EXPORT,
    HEADER,
    export,
    exported_rows,
    insert_entries,
    iso,
    make_entry,
    on_a_socket,
    read_csv,
)
from tests.support.factories import Tenant, make_tenant, token_for, us_number

MB = 1024 * 1024


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


# --- a long list ----------------------------------------------------------------------------


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

    async with (
        on_a_socket(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=120) as client,
    ):
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
