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


def as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is UTC:
        return instant  # as PostgreSQL's rows come: a page holds hundreds
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        raise OutOfRange(f"{instant.isoformat()} is out of range") from None


def moment(value: object) -> datetime:
    """A stored instant, in UTC: PostgreSQL and the ORM give a datetime, raw SQLite its text."""
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def optional_moment(value: object) -> datetime | None:
    """`moment`, for a column that may be null."""
    return None if value is None else moment(value)
