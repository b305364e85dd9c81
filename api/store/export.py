"""The CSV export's statements: one organization's entries as CSV bytes, on either dialect.

On PostgreSQL one `COPY (SELECT ...) TO STDOUT` writes the whole file, header included: the
SELECT formats and neutralizes every value and `pg_copy` relays the server's CSV with the csv
module's row ends. On SQLite rows are read in keyset-paginated chunks, one raw query each, and
written by the csv module with the same formatting, spelled in Python beside its SQL twin so
the two stay one format. Either way memory stays flat however long the list is. Every value a
spreadsheet could execute is neutralized (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from api.instants import as_utc, utcnow
from api.store.conditions import effective_status, in_organization, with_status
from api.store.database import connection, is_postgres
from api.store.pg_copy import Output, copy_csv, streamed_csv
from models import DncEntryStatus

HEADER = (
    "phone_number",
    "status",
    "reason",
    "channel",
    "note",
    "requested_at",
    "created_at",
    "expires_at",
    "removed_at",
    "batch_id",
    "request_uuid",
    "added_by_email",
)
CHUNK_ROWS = 2000

# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

# One `now` is bound as parameter 2 and referenced twice (the status column and the filter);
# numbered placeholders (`$n` on PostgreSQL, `?n` on SQLite) let both dialects share the text.
_SELECT = """
SELECT e.phone_number, e.reason, e.channel, e.note, e.requested_at, e.created_at,
       e.expires_at, e.removed_at, e.batch_id, e.request_uuid, e.id,
       {effective_status} AS effective_status,
       u.email AS added_by_email
FROM dnc_entry e LEFT JOIN app_user u ON u.id = e.added_by_id
WHERE {organization}{status}{after}
ORDER BY e.created_at, e.id
"""
_AFTER = " AND (e.created_at, e.id) > ({p3}, {p4})"


def _pg_neutralized(expression: str) -> str:
    """`neutralize` in PostgreSQL's words (the characters of _FORMULA_STARTS)."""
    starts = "'=', '+', '-', '@', E'\\t', E'\\r'"
    quote = "''''"
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) "
        f"THEN {quote} || {expression} ELSE {expression} END"
    )


def _pg_text(expression: str) -> str:
    """Free text: COPY writes an empty string as `""` where the csv module writes nothing."""
    return f"NULLIF({expression}, '')"


def _pg_timestamp(expression: str) -> str:
    """`_timestamp` in PostgreSQL's words."""
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


# What `_csv_row` writes, written by PostgreSQL (status, reason, channel and the ids cannot
# start a formula or be empty), each named by HEADER for the header row COPY writes.
_PG_COLUMNS = ", ".join(
    f"{expression} AS {name}"
    for name, expression in zip(
        HEADER,
        (
            _pg_text(
                "CASE WHEN e.phone_number ~ '^\\+[1-9][0-9]{1,14}$' THEN e.phone_number "
                f"ELSE {_pg_neutralized('e.phone_number')} END"
            ),
            effective_status("$2"),
            "e.reason",
            "e.channel",
            _pg_text(_pg_neutralized("e.note")),
            _pg_timestamp("e.requested_at"),
            _pg_timestamp("e.created_at"),
            _pg_timestamp("e.expires_at"),
            _pg_timestamp("e.removed_at"),
            "e.batch_id",
            "e.request_uuid",
            _pg_text(_pg_neutralized("u.email")),
        ),
        strict=True,
    )
)


def neutralize(value: str) -> str:
    """Prefix a quote so a spreadsheet shows the value instead of executing it."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _phone(value: str) -> str:
    # The E.164 `+` is the number itself; anything else in that column is still neutralized.
    return value if _E164.fullmatch(value) else neutralize(value)


def _timestamp(value: object) -> str:
    """ISO 8601 in UTC, fixed width; SQLite hands back the stored text, PostgreSQL a datetime."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return as_utc(moment).isoformat(timespec="microseconds")


def _text(value: object) -> str:
    """Any other column: empty for null, neutralized otherwise (emails and notes are free text)."""
    return "" if value is None else neutralize(str(value))


def _csv_row(row: dict[str, Any]) -> tuple[str, ...]:
    """One entry in HEADER's order."""
    return (
        _phone(str(row["phone_number"])),
        _text(row["effective_status"]),
        _text(row["reason"]),
        _text(row["channel"]),
        _text(row["note"]),
        _timestamp(row["requested_at"]),
        _timestamp(row["created_at"]),
        _timestamp(row["expires_at"]),
        _timestamp(row["removed_at"]),
        _text(row["batch_id"]),
        _text(row["request_uuid"]),
        _text(row["added_by_email"]),
    )


def csv_text(rows: Iterable[Sequence[str]]) -> str:
    """Rows as CSV text (RFC 4180 quoting), one buffer per chunk."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _select(status: DncEntryStatus | None, *, mark: str, after: bool) -> str:
    """The export's SELECT in `mark`'s placeholders, from the start or after a (created_at, id)."""
    names = {f"p{n}": f"{mark}{n}" for n in range(1, 5)}
    now = names["p2"]
    return _SELECT.format(
        effective_status=effective_status(now),
        organization=in_organization(names["p1"]),
        status="" if status is None else f" AND {with_status(status, lambda: now)}",
        after=_AFTER.format(**names) if after else "",
    )


def _copy_statement(
    organization_id: uuid.UUID, status: DncEntryStatus | None
) -> tuple[str, list[object]]:
    """PostgreSQL's one query for the whole list, every value as the CSV shows it; its args."""
    _, _, rest = _select(status, mark="$", after=False).partition("FROM dnc_entry e")
    return f"SELECT {_PG_COLUMNS}\nFROM dnc_entry e{rest}", [organization_id, utcnow()]


async def entry_chunks(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None
) -> AsyncIterator[list[tuple[str, ...]]]:
    """On SQLite, the organization's entries, oldest first, as CSV rows, `CHUNK_ROWS` at a time."""
    db = connection()
    # SQLite compares the stored ISO text, so the bound is written the way Tortoise writes it.
    params: list[Any] = [str(organization_id), utcnow().isoformat(" ")]
    first_page, next_page = (
        _select(status, mark="?", after=after) + f"LIMIT {CHUNK_ROWS}" for after in (False, True)
    )
    cursor: list[Any] = []
    while True:
        rows = await db.execute_query_dict(next_page if cursor else first_page, params + cursor)
        if not rows:
            return
        yield [_csv_row(row) for row in rows]
        if len(rows) < CHUNK_ROWS:
            return
        # The raw stored values, so the next comparison is exactly the one the index orders by.
        cursor = [rows[-1]["created_at"], rows[-1]["id"]]


async def _sqlite_csv_chunks(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None
) -> AsyncGenerator[bytes, None]:
    """SQLite's export, the csv module writing each chunk of rows."""
    yield csv_text([HEADER]).encode()
    async for rows in entry_chunks(organization_id=organization_id, status=status):
        yield csv_text(rows).encode()


def csv_chunks(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None
) -> AsyncGenerator[bytes, None]:
    """The whole export as CSV bytes, the header first; closing it early stops the reading."""
    if is_postgres(connection()):
        return streamed_csv(*_copy_statement(organization_id, status))
    return _sqlite_csv_chunks(organization_id=organization_id, status=status)


async def write_csv(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None, output: Output
) -> int:
    """The whole export through `output`, the header first; returns the number of entries."""
    if is_postgres(connection()):
        return await copy_csv(*_copy_statement(organization_id, status), output)
    await output(csv_text([HEADER]).encode())
    written = 0
    async for rows in entry_chunks(organization_id=organization_id, status=status):
        await output(csv_text(rows).encode())
        written += len(rows)
    return written
