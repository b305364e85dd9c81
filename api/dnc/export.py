"""The CSV export of one organization's list: what may be asked for, and writing it to a file.

The statements, and the format of every value, are the store's (`api.store.export`).
"""

from __future__ import annotations

import codecs
import uuid
from datetime import datetime
from typing import IO

from api.store.export import write_csv
from models import DncEntryStatus


def parse_status(raw: str | None) -> DncEntryStatus | None:
    """The status filter from user input; None (or empty) exports every entry."""
    if raw is None or raw == "":
        return None
    try:
        return DncEntryStatus(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in DncEntryStatus)
        raise ValueError(f"status must be one of {allowed}, not {raw!r}") from None


def export_filename(status: DncEntryStatus | None, today: datetime) -> str:
    """Dated and named by the filter, so successive downloads do not overwrite each other."""
    return f"dnc-{(status or 'all').lower()}-{today:%Y%m%d}.csv"


async def write_export(
    *, organization_id: uuid.UUID, status: DncEntryStatus | None, out: IO[str]
) -> int:
    """Write the export to `out` (the CLI's file or stdout); returns the number of entries."""
    decoder = codecs.getincrementaldecoder("utf-8")()

    async def write(piece: bytes) -> None:
        out.write(decoder.decode(piece))

    return await write_csv(organization_id=organization_id, status=status, output=write)
