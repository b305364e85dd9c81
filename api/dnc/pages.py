"""Pages of the list and of its log: their size, and where a page starts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from api.dnc.errors import InvalidArgument
from api.instants import OutOfRange, as_utc

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Position:
    """A row's place in a list ordered newest first: its time, then its id."""

    at: datetime
    id: uuid.UUID


def bound(moment: datetime, name: str) -> datetime:
    """A filter's instant in UTC; one that has none is refused."""
    try:
        return as_utc(moment)
    except OutOfRange:
        raise InvalidArgument(f"`filter.{name}` is out of range.") from None


def page_size(first: int | None) -> int:
    """`first`, checked: null means the default, anything outside 1..500 is refused."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    return first
