"""Instants as the service stores and compares them: aware, in UTC.

SQLite compares stored timestamps as text, so every bound and stored value must be UTC; a
client's instant without an offset is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime


class OutOfRange(ValueError):
    """The instant cannot be expressed in UTC (year 1 or 9999 with an offset)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"{moment.isoformat()} is out of range") from None


def moment(value: object) -> datetime:
    """A stored instant: PostgreSQL and the ORM give a datetime, raw SQLite its ISO text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def optional_moment(value: object) -> datetime | None:
    return None if value is None else moment(value)
