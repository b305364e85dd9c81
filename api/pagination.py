"""Keyset pages and their opaque cursors: positions in lists ordered newest first by (time, id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model

from api.errors import BadUserInput
from api.instants import OutOfRange, as_utc

M = TypeVar("M", bound=Model)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Position:
    at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]  # every matching row: run only when asked for


async def keyset_page(
    model: type[M], condition: Q, *, time_field: str, first: int, after: Position | None
) -> Page[M]:
    """Rows matching `condition`, newest first by (`time_field`, id), after `after`.

    Keyset, not OFFSET: a deep page costs what the first one does, and rows added meanwhile
    never shift a page.
    """
    query = model.filter(condition)
    if after is not None:
        at = as_utc(after.at)
        before: dict[str, Any] = {f"{time_field}__lt": at}
        tied: dict[str, Any] = {time_field: at, "id__lt": after.id}
        # The redundant `<=` bound is what lets the index start at the position: with only
        # the OR, PostgreSQL scans (and filters out) every newer row, an OFFSET in disguise.
        bound_: dict[str, Any] = {f"{time_field}__lte": at}
        query = query.filter(Q(**bound_), Q(**before) | Q(**tied))
    rows = list(await query.order_by(f"-{time_field}", "-id").limit(first + 1))
    count = model.filter(condition).count
    return Page(rows=rows[:first], has_next_page=len(rows) > first, count=count)


def bound(moment: datetime, name: str) -> datetime:
    """A filter's instant in UTC; one that has none is BAD_USER_INPUT."""
    try:
        return as_utc(moment)
    except OutOfRange:
        raise BadUserInput(f"`filter.{name}` is out of range.") from None


def page_size(first: int | None) -> int:
    """`first`, checked: null means the default, anything outside 1..500 is refused."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}.")
    return first


def encode_cursor(position: Position) -> str:
    # The JSON array `["<ISO time>","<UUID>"]`, written out: neither needs escaping, and a
    # page encodes one cursor per row.
    payload = f'["{position.at.isoformat()}","{position.id}"]'
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor stands for; any cursor we did not issue is BAD_USER_INPUT."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, entry_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:
            raise ValueError("naive datetime")
        position = Position(as_utc(at), uuid.UUID(entry_id))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OutOfRange):
        raise BadUserInput("`after` is not a valid cursor.") from None
    return position
