"""Keyset pages through the ORM: positions in lists ordered newest first by (time, id)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model

from api.instants import as_utc

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]  # every matching row: run only when asked for


async def keyset_page(
    model: type[M],
    condition: Q,
    *,
    time_field: str,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Page[M]:
    """Rows matching `condition`, newest first by (`time_field`, id), after `after`.

    Keyset, not OFFSET: a deep page costs what the first one does, and rows added meanwhile
    never shift a page.
    """
    query = model.filter(condition)
    if after is not None:
        at = as_utc(after[0])
        before: dict[str, Any] = {f"{time_field}__lt": at}
        tied: dict[str, Any] = {time_field: at, "id__lt": after[1]}
        # The redundant `<=` bound is what lets the index start at the position: with only
        # the OR, PostgreSQL scans (and filters out) every newer row, an OFFSET in disguise.
        bound_: dict[str, Any] = {f"{time_field}__lte": at}
        query = query.filter(Q(**bound_), Q(**before) | Q(**tied))
    rows = list(await query.order_by(f"-{time_field}", "-id").limit(first + 1))
    count = model.filter(condition).count
    return Page(rows=rows[:first], has_next_page=len(rows) > first, count=count)
