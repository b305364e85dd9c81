"""Per-request DataLoaders: nested objects on a page cost one query per type, not per row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models import Batch, CallRecord, DncEntry, User

M = TypeVar("M", bound=Model)


def _loader(
    model: type[M], organization_id: uuid.UUID, scope: str
) -> DataLoader[uuid.UUID, M | None]:
    """Load rows of `model` by id, only within the viewer's organization (`scope` is its path)."""

    async def load(ids: Sequence[uuid.UUID]) -> list[M | None]:
        rows = await model.filter(id__in=list(set(ids)), **{scope: organization_id})
        by_id = {row.pk: row for row in rows}
        return [by_id.get(key) for key in ids]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    organization_id: uuid.UUID
    users: DataLoader[uuid.UUID, User | None] = field(init=False)
    batches: DataLoader[uuid.UUID, Batch | None] = field(init=False)
    call_records: DataLoader[uuid.UUID, CallRecord | None] = field(init=False)
    entries: DataLoader[uuid.UUID, DncEntry | None] = field(init=False)

    def __post_init__(self) -> None:
        self.users = _loader(User, self.organization_id, "organization_id")
        self.batches = _loader(Batch, self.organization_id, "organization_id")
        self.call_records = _loader(CallRecord, self.organization_id, "batch__organization_id")
        self.entries = _loader(DncEntry, self.organization_id, "organization_id")
