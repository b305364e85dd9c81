"""One definition of "ACTIVE at an instant", spelled three ways: SQL (api/store/conditions.py's
`active_at`, `with_status`, `effective_status`, run through `Statement`), the ORM (`active_q`,
`expiry_due_q`) and Python (`api.dnc.state.status_at`). Rows stored in every status, their
expiry long past, a microsecond before, exactly at, a microsecond after the instant, next year
or null, get the same answer from all three on both databases (SQLite compares stored
instants as text)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from api.dnc.state import status_at
from api.store.conditions import (
    active_at,
    active_q,
    effective_status,
    expiry_due_q,
    in_organization,
    with_status,
)
from api.store.database import connection
from api.store.statement import Statement
from models import DncEntry, DncEntryStatus
from tests.support.entries import make_entry
from tests.support.factories import make_organization

ACTIVE, EXPIRED, REMOVED = DncEntryStatus.ACTIVE, DncEntryStatus.EXPIRED, DncEntryStatus.REMOVED
TICK = timedelta(microseconds=1)
# Whole seconds and a fraction: SQLite's text comparison meets "12:00:00+00:00" and
# "12:00:00.250000+00:00" differently.
INSTANTS = [
    pytest.param(datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC), id="whole-second"),
    pytest.param(datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC), id="fraction"),
]


@dataclass(frozen=True)
class Case:
    """A row to store, and its effective status at the instant."""

    stored: DncEntryStatus
    expiry: str  # "none", "long-past", "a-tick-before", "exactly", "a-tick-after", "next-year"
    expected: DncEntryStatus


EXPIRIES = {
    "none": None,
    "long-past": -timedelta(days=365),
    "a-tick-before": -TICK,
    "exactly": timedelta(0),
    "a-tick-after": TICK,
    "next-year": timedelta(days=365),
}
PASSED = {"long-past", "a-tick-before", "exactly"}


def cases() -> Iterator[Case]:
    for stored in (ACTIVE, EXPIRED, REMOVED):
        for expiry in EXPIRIES:
            expected = EXPIRED if stored is ACTIVE and expiry in PASSED else stored
            yield Case(stored, expiry, expected)


CASES = list(cases())


async def store_cases(now: datetime) -> tuple[uuid.UUID, dict[str, Case]]:
    """Every case as a row of one organization, each its own number; the cases by row id."""
    organization = await make_organization()
    by_id: dict[str, Case] = {}
    for i, case in enumerate(CASES):
        offset = EXPIRIES[case.expiry]
        row = await make_entry(
            organization.id,
            f"+1646555{i:04d}",
            created_at=now - timedelta(days=400),
            expires_at=None if offset is None else now + offset,
            status=case.stored,
        )
        by_id[str(row.id)] = case
    # Another organization's row that would match everything: the conditions stay scoped.
    stranger = await make_organization("Elsewhere")
    await make_entry(stranger.id, "+16465559999", created_at=now - timedelta(days=1))
    return organization.id, by_id


async def sql_ids(organization_id: uuid.UUID, condition: str, sql: Statement) -> set[str]:
    rows = await sql.rows(
        f"SELECT e.id FROM dnc_entry e WHERE {in_organization(sql(organization_id))}"  # noqa: S608
        f" AND {condition}"
    )
    return {str(row["id"]) for row in rows}


def ids_where(by_id: dict[str, Case], status: DncEntryStatus) -> set[str]:
    return {row_id for row_id, case in by_id.items() if case.expected is status}


def test_the_cases_cover_every_status_and_expiry() -> None:
    assert len(CASES) == 18
    assert {case.expected for case in CASES} == {ACTIVE, EXPIRED, REMOVED}
    assert [c.expiry for c in CASES if c.stored is ACTIVE and c.expected is ACTIVE] == [
        "none",
        "a-tick-after",
        "next-year",
    ]


@pytest.mark.parametrize("now", INSTANTS)
async def test_python_reads_each_row_as_expected(app: object, now: datetime) -> None:
    _, by_id = await store_cases(now)
    rows = await DncEntry.filter(id__in=list(by_id))
    assert len(rows) == len(CASES)
    for row in rows:
        case = by_id[str(row.id)]
        assert status_at(row.status, row.expires_at, now) is case.expected, case


@pytest.mark.parametrize("now", INSTANTS)
async def test_sql_active_at_is_the_active_rows(app: object, now: datetime) -> None:
    organization_id, by_id = await store_cases(now)
    sql = Statement(connection())
    assert await sql_ids(organization_id, active_at(sql(now)), sql) == ids_where(by_id, ACTIVE)


@pytest.mark.parametrize("status", [ACTIVE, EXPIRED, REMOVED])
@pytest.mark.parametrize("now", INSTANTS)
async def test_sql_with_status_is_the_rows_of_that_effective_status(
    app: object, now: datetime, status: DncEntryStatus
) -> None:
    organization_id, by_id = await store_cases(now)
    sql = Statement(connection())
    condition = with_status(status, lambda: sql(now))
    assert await sql_ids(organization_id, condition, sql) == ids_where(by_id, status)


@pytest.mark.parametrize("now", INSTANTS)
async def test_sql_effective_status_is_each_rows_status(app: object, now: datetime) -> None:
    organization_id, by_id = await store_cases(now)
    sql = Statement(connection())
    rows = await sql.rows(
        f"SELECT e.id, {effective_status(sql(now))} AS status FROM dnc_entry e"  # noqa: S608
        f" WHERE {in_organization(sql(organization_id))}"
    )
    read = {str(row["id"]): DncEntryStatus(row["status"]) for row in rows}
    assert read == {row_id: case.expected for row_id, case in by_id.items()}


@pytest.mark.parametrize("now", INSTANTS)
async def test_orm_active_q_is_the_active_rows(app: object, now: datetime) -> None:
    organization_id, by_id = await store_cases(now)
    rows = await DncEntry.filter(active_q(now), organization_id=organization_id)
    assert {str(row.id) for row in rows} == ids_where(by_id, ACTIVE)


@pytest.mark.parametrize("now", INSTANTS)
async def test_orm_expiry_due_q_is_the_rows_stored_active_that_read_expired(
    app: object, now: datetime
) -> None:
    organization_id, by_id = await store_cases(now)
    rows = await DncEntry.filter(expiry_due_q(now), organization_id=organization_id)
    due = {row_id for row_id, case in by_id.items() if case.stored is ACTIVE}
    assert {str(row.id) for row in rows} == due & ids_where(by_id, EXPIRED)
    assert len(rows) == len(PASSED)


def test_with_status_asks_for_the_instant_only_when_it_needs_one() -> None:
    """Asking makes a parameter: one the statement then does not use is refused on PostgreSQL
    (asyncpg: "the server expects 1 argument for this query, 2 were passed")."""
    asked: list[str] = []

    def now() -> str:
        asked.append("$1")
        return "$1"

    assert with_status(REMOVED, now) == "e.status = 'REMOVED'"
    assert asked == []
    with_status(ACTIVE, now)
    with_status(EXPIRED, now)
    assert asked == ["$1", "$1"]
