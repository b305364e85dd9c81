"""Rows as the service writes and reads them: new rows built cheaply, ids as read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


def new_row(model: type[M], **values: Any) -> M:
    """A row to insert, built without __init__'s per-field checks; the values come from
    validated input. Its id is ours, as __init__ records.

    The defaults of the fields not given are Tortoise's own (`construct` worked them out once
    for the model): working them out for each row took a third of a second per 10,000.
    """
    blank, generated, fields = _blank(model)
    if not values.keys() <= fields:  # a relation given as an object: Tortoise's full path
        row = model.construct(**values)
    else:
        row = model.__new__(model)
        state = row.__dict__
        state.update(blank)
        state["_await_when_save"] = {}
        for name, make in generated:
            if name not in values:
                state[name] = make()
        state.update(values)
    row._custom_generated_pk = True
    return row


@cache
def _blank(
    model: type[Model],
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...], frozenset[str]]:
    """A model's fresh row as `construct` leaves it, the fields whose default is made anew
    for each row, and the fields that are stored as they are given (no relation objects)."""
    meta = model._meta
    blank = dict(model.construct().__dict__)
    generated = tuple(
        (name, meta.fields_map[name].default)
        for name in meta.fields - meta.fetch_fields
        if callable(meta.fields_map[name].default)
    )
    return blank, generated, frozenset(meta.fields - meta.fetch_fields)


def as_uuid(value: object) -> uuid.UUID:
    """A UUID column's value as read: text on SQLite, asyncpg's own UUID type on PostgreSQL."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
