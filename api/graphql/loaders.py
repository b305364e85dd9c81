"""Per-request DataLoaders: nested objects on a page cost one query per type, not per row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property
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


class Loaders:
    """The request's loaders, each made when first used (most requests use none)."""

    def __init__(self, organization_id: uuid.UUID) -> None:
        self.organization_id = organization_id

    @cached_property
    def users(self) -> DataLoader[uuid.UUID, User | None]:
        return _loader(User, self.organization_id, "organization_id")

    @cached_property
    def batches(self) -> DataLoader[uuid.UUID, Batch | None]:
        return _loader(Batch, self.organization_id, "organization_id")

    @cached_property
    def call_records(self) -> DataLoader[uuid.UUID, CallRecord | None]:
        return _loader(CallRecord, self.organization_id, "batch__organization_id")

    @cached_property
    def entries(self) -> DataLoader[uuid.UUID, DncEntry | None]:
        return _loader(DncEntry, self.organization_id, "organization_id")
