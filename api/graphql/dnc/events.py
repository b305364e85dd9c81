"""GraphQL types of the event log: history, audit log and live events."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from api.graphql.context import Info
from api.graphql.dnc.pages import PageInfo
from api.graphql.dnc.types import DncEntry, optional_uuid
from api.graphql.platform.types import User
from api.store.rows import as_uuid
from models import DncAction, DncChannel
from models import DncEvent as DncEventModel


@strawberry.type(description="One change of the list: a number added, removed or expired.")
class DncEvent:
    id: strawberry.ID = strawberry.field(description="The event's id.")
    action: DncAction = strawberry.field(description="What happened.")
    phone_number: str = strawberry.field(description="The number, E.164.")
    at: datetime = strawberry.field(description="When it happened.")
    channel: DncChannel | None = strawberry.field(
        description="How the request reached us (additions and removals)."
    )
    reason: str | None = strawberry.field(
        description="The classification of an addition, or the reason given for a removal."
    )
    actor_id: strawberry.Private[uuid.UUID | None]
    entry_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who did it; null for an expiry.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        row = await (await info.context.loaders()).users.load(self.actor_id)
        return User.from_model(row) if row else None

    @strawberry.field(description="The entry the event belongs to.")
    async def entry(self, info: Info) -> DncEntry | None:
        loaders = await info.context.loaders()
        row = await loaders.entries.load(self.entry_id)
        return DncEntry.from_model(row, loaders) if row else None

    @classmethod
    def from_model(cls, row: DncEventModel) -> DncEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            action=DncAction(row.action),
            phone_number=row.phone_number,
            at=row.at,
            channel=DncChannel(row.channel) if row.channel else None,
            reason=row.reason,
            actor_id=optional_uuid(row.actor_id),
            entry_id=as_uuid(row.entry_id),
        )


@strawberry.input(description="Narrows dncAuditLog; all given conditions must hold.")
class DncAuditFilter:
    action: DncAction | None = strawberry.field(
        default=strawberry.UNSET, description="Only this action."
    )
    actor_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Only what this user did."
    )
    since: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Only events at or after this instant."
    )
    until: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Only events strictly before this instant."
    )


@strawberry.type(description="One event of a page, with its cursor.")
class DncEventEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this event.")
    node: DncEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of events, newest first.")
class DncEventConnection:
    edges: list[DncEventEdge] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many events match the filter in all.")
    async def total_count(self) -> int:
        # Counting a list of a million entries costs more than the page: only when asked.
        return await self.count()
