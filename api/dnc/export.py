"""The CSV export of one organization's list: streamed over HTTP and written by the CLI.

Rows are read in keyset-paginated chunks, one raw query each, so memory stays flat however
long the list is. Every value a spreadsheet could execute is neutralized (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
import logging
import operator
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.auth import AuthenticationFailed, authenticate
from api.db import connection, is_unavailable
from api.errors import UNAVAILABLE_MESSAGE
from api.instants import as_utc, utcnow
from models import DncEntryStatus

log = logging.getLogger(__name__)

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
MEDIA_TYPE = "text/csv; charset=utf-8"

# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

# One `now` is bound as parameter 2 and referenced twice (the status column and the filter);
# numbered placeholders (`$n` on PostgreSQL, `?n` on SQLite) let both dialects share the text.
_SELECT = """
SELECT e.phone_number, e.reason, e.channel, e.note, e.requested_at, e.created_at,
       e.expires_at, e.removed_at, e.batch_id, e.request_uuid, e.id,
       CASE WHEN e.status = 'ACTIVE' AND e.expires_at <= {p2} THEN 'EXPIRED'
            ELSE e.status END AS effective_status,
       u.email AS added_by_email
FROM dnc_entry e LEFT JOIN app_user u ON u.id = e.added_by_id
WHERE e.organization_id = {p1}{status}{after}
ORDER BY e.created_at, e.id
LIMIT {limit}
"""
_STATUS_CONDITIONS = {
    DncEntryStatus.ACTIVE: " AND e.status = 'ACTIVE'"
    " AND (e.expires_at IS NULL OR e.expires_at > {p2})",
    DncEntryStatus.EXPIRED: " AND (e.status = 'EXPIRED'"
    " OR (e.status = 'ACTIVE' AND e.expires_at <= {p2}))",
    DncEntryStatus.REMOVED: " AND e.status = 'REMOVED'",
}
_AFTER = " AND (e.created_at, e.id) > ({p3}, {p4})"


def _pg_neutralized(expression: str) -> str:
    """`neutralize` in PostgreSQL's words (the characters of _FORMULA_STARTS)."""
    starts = "'=', '+', '-', '@', E'\\t', E'\\r'"
    quote = "''''"
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) "
        f"THEN {quote} || {expression} ELSE {expression} END"
    )


def _pg_timestamp(expression: str) -> str:
    """`_timestamp` in PostgreSQL's words."""
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


# On PostgreSQL the database writes every CSV value itself, as `_csv_row` does on SQLite: a
# chunk then goes from the driver to the csv module without a Python call per value.
_PG_COLUMNS = ", ".join(
    (
        "CASE WHEN e.phone_number ~ '^\\+[1-9][0-9]{1,14}$' THEN e.phone_number "
        f"ELSE {_pg_neutralized('e.phone_number')} END",
        "CASE WHEN e.status = 'ACTIVE' AND e.expires_at <= $2 THEN 'EXPIRED' ELSE e.status END",
        "e.reason",
        "e.channel",
        _pg_neutralized("e.note"),
        _pg_timestamp("e.requested_at"),
        _pg_timestamp("e.created_at"),
        _pg_timestamp("e.expires_at"),
        _pg_timestamp("e.removed_at"),
        "e.batch_id::text",
        "e.request_uuid::text",
        _pg_neutralized("u.email"),
        "e.created_at AS cursor_at",
        "e.id AS cursor_id",
    )
)


def parse_status(raw: str | None) -> DncEntryStatus | None:
    """The status filter from user input; None (or empty) exports every entry."""
    if raw is None or raw == "":
        return None
    try:
        return DncEntryStatus(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in DncEntryStatus)
        raise ValueError(f"status must be one of {allowed}, not {raw!r}") from None


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


_CSV_VALUES = operator.itemgetter(*range(len(HEADER)))


def _query(status: DncEntryStatus | None, *, after: bool, postgres: bool) -> str:
    """The chunk query: the first one, or the one that continues after a (created_at, id)."""
    mark = "$" if postgres else "?"
    names = {f"p{n}": f"{mark}{n}" for n in range(1, 5)}
    condition = "" if status is None else _STATUS_CONDITIONS[status].format(**names)
    query = _SELECT.format(
        status=condition,
        after=_AFTER.format(**names) if after else "",
        limit=CHUNK_ROWS,
        **names,
    )
    if postgres:
        _, _, rest = query.partition("FROM dnc_entry e")
        query = f"SELECT {_PG_COLUMNS}\nFROM dnc_entry e{rest}"
    return query


async def entry_chunks(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None
) -> AsyncIterator[list[tuple[str, ...]]]:
    """The organization's entries, oldest first, as CSV rows, `CHUNK_ROWS` at a time."""
    db = connection()
    postgres = db.schema_generator.DIALECT == "postgres"
    now = utcnow()
    # SQLite compares the stored ISO text, so the bound is written the way Tortoise writes it.
    params: list[Any] = (
        [organization_id, now] if postgres else [str(organization_id), now.isoformat(" ")]
    )
    first_page = _query(status, after=False, postgres=postgres)
    next_page = _query(status, after=True, postgres=postgres)
    cursor: list[Any] = []
    while True:
        query = next_page if cursor else first_page
        rows: Sequence[Any]
        if postgres:
            _, rows = await db.execute_query(query, params + cursor)
            chunk = [_CSV_VALUES(row) for row in rows]
            keys = ("cursor_at", "cursor_id")
        else:
            rows = await db.execute_query_dict(query, params + cursor)
            chunk = [_csv_row(row) for row in rows]
            keys = ("created_at", "id")
        if not rows:
            return
        yield chunk
        if len(rows) < CHUNK_ROWS:
            return
        # The raw stored values, so the next comparison is exactly the one the index orders by.
        cursor = [rows[-1][keys[0]], rows[-1][keys[1]]]


async def csv_chunks(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None
) -> AsyncIterator[str]:
    """The whole export as CSV text chunks, the header first."""
    yield csv_text([HEADER])
    async for rows in entry_chunks(organization_id=organization_id, status=status):
        yield csv_text(rows)


async def write_export(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None, out: IO[str]
) -> int:
    """Write the export to `out` (the CLI's file or stdout); returns the number of entries."""
    out.write(csv_text([HEADER]))
    written = 0
    async for rows in entry_chunks(organization_id=organization_id, status=status):
        out.write(csv_text(rows))
        written += len(rows)
    return written


def export_filename(status: DncEntryStatus | None, today: datetime) -> str:
    """Dated and named by the filter, so successive downloads do not overwrite each other."""
    return f"dnc-{(status or 'all').lower()}-{today:%Y%m%d}.csv"


async def export_csv(request: Request) -> Response:
    """GET /export/dnc.csv: the caller's organization's list, for its admins only."""
    try:
        viewer = await authenticate(
            request.headers.get("authorization"), request.app.state.settings
        )
    except AuthenticationFailed as refusal:
        log.info("export refused: %s", refusal)
        return PlainTextResponse(
            "Authentication required.", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("export refused, database unavailable: %s", error)
        return PlainTextResponse(UNAVAILABLE_MESSAGE, status_code=503, headers={"Retry-After": "5"})
    if not viewer.is_admin:
        return PlainTextResponse("Only an organization's admins may export its list.", 403)
    try:
        status = parse_status(request.query_params.get("status"))
    except ValueError as error:
        return PlainTextResponse(str(error), status_code=400)
    # An export of the whole list is something an auditor asks about.
    log.info(
        "export of organization %s (status %s) by user %s",
        viewer.organization_id,
        status or "all",
        viewer.user_id,
    )
    filename = export_filename(status, utcnow())
    return StreamingResponse(
        csv_chunks(organization_id=viewer.organization_id, status=status),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
