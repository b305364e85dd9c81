"""GraphQL types of the DNC list; rows are mapped explicitly, nested objects come from loaders."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping
from datetime import datetime
from enum import Enum
from functools import cache, partial
from typing import Any, Generic, TypeVar, cast

import strawberry

from api.dnc.errors import ErrorCode
from api.dnc.state import status_at
from api.graphql.loaders import Loaders
from api.graphql.platform.types import Batch, CallRecord, User
from api.instants import moment, optional_moment, utcnow
from api.store.entries import ENTRY_COLUMNS
from api.store.rows import as_uuid
from models import DncAction, DncChannel, DncEntryStatus, DncReason
from models import DncEntry as DncEntryModel

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

strawberry.enum(DncReason, name="DncReason", description="Why the number is on the list.")
strawberry.enum(DncChannel, name="DncChannel", description="How the request reached us.")
strawberry.enum(
    DncEntryStatus,
    name="DncEntryStatus",
    description="ACTIVE entries block calls; EXPIRED (expiresAt passed) and REMOVED do not.",
)
strawberry.enum(DncAction, name="DncAction", description="What happened to an entry.")
strawberry.enum(
    ErrorCode, name="ErrorCode", description="Stable codes of the expected mutation errors."
)


@strawberry.type(description="A number on the organization's Do-Not-Call list.")
class DncEntry:
    id: strawberry.ID = strawberry.field(description="The entry's id.")
    phone_number: str = strawberry.field(description='E.164, e.g. "+12125551234".')
    reason: DncReason | None = strawberry.field(description="Classification, when given.")
    note: str | None = strawberry.field(description="Free text given when the number was added.")
    created_at: datetime = strawberry.field(description="When the entry was added.")
    recording_url: str | None = strawberry.field(
        description="The call's recording URL, as it was when the number was added."
    )
    transcription: str | None = strawberry.field(
        description="The call's transcription, as it was when the number was added."
    )
    channel: DncChannel = strawberry.field(description="How the request reached us.")
    requested_at: datetime = strawberry.field(description="When the person asked.")
    expires_at: datetime | None = strawberry.field(
        description="When the entry stops blocking; null: never."
    )
    status: DncEntryStatus = strawberry.field(description="Only ACTIVE entries block calls.")
    removed_at: datetime | None = strawberry.field(description="When the entry was removed.")
    removal_reason: str | None = strawberry.field(description="Why the entry was removed.")
    removed_by: User | Later[User | None] | None = strawberry.field(
        description="Who removed the entry.", graphql_type=User | None
    )
    added_by: User | Later[User | None] | None = strawberry.field(
        description="Who added the number.", graphql_type=User | None
    )
    batch: Batch | Later[Batch | None] | None = strawberry.field(
        description="The batch whose call the request came from.", graphql_type=Batch | None
    )
    call_record: CallRecord | Later[CallRecord | None] | None = strawberry.field(
        description="The call in which the person asked not to be called again.",
        graphql_type=CallRecord | None,
    )

    @classmethod
    def from_model(cls, row: DncEntryModel, loaders: Loaders) -> DncEntry:
        """An entry whose batch, call and author are loaded (batched) only if selected."""
        columns = {name: getattr(row, name) for name in ENTRY_COLUMNS}
        return cls.from_columns(
            columns,
            utcnow(),
            removed_by=later(load_user, loaders, row.removed_by_id),
            added_by=later(load_user, loaders, row.added_by_id),
            batch=later(load_batch, loaders, row.batch_id),
            call_record=later(load_call_record, loaders, row.call_record_id),
        )

    @classmethod
    def from_columns(
        cls,
        row: Mapping[str, Any],
        now: datetime,
        *,
        removed_by: User | Later[User | None] | None,
        added_by: User | Later[User | None] | None,
        batch: Batch | Later[Batch | None] | None,
        call_record: CallRecord | Later[CallRecord | None] | None,
    ) -> DncEntry:
        """An entry from its columns: a model's values, or a raw row (SQLite gives text)."""
        expires_at = optional_moment(row["expires_at"])
        return cls(
            id=strawberry.ID(str(row["id"])),
            phone_number=row["phone_number"],
            reason=member(DncReason, row["reason"]) if row["reason"] else None,
            note=row["note"],
            created_at=moment(row["created_at"]),
            recording_url=row["recording_url"],
            transcription=row["transcription"],
            channel=member(DncChannel, row["channel"]),
            requested_at=moment(row["requested_at"]),
            expires_at=expires_at,
            status=status_at(member(DncEntryStatus, row["status"]), expires_at, now),
            removed_at=optional_moment(row["removed_at"]),
            removal_reason=row["removal_reason"],
            removed_by=removed_by,
            added_by=added_by,
            batch=batch,
            call_record=call_record,
        )


def member(kind: type[E], value: str) -> E:
    """The member of `kind` stored as `value` (a page converts hundreds: calling the enum
    takes twenty times as long)."""
    return cast(E, _members(kind)[value])


@cache
def _members(kind: type[Enum]) -> dict[str, Enum]:
    return {item.value: item for item in kind}


class Later(Generic[T]):
    """A nested object not read with its entry: loaded (batched per request) when selected.

    graphql-core awaits it only if the field is asked for; nothing runs otherwise.
    """

    __slots__ = ("_load",)

    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, T]:
        return self._load().__await__()


def later(
    load: Callable[[Loaders, object], Awaitable[T]], loaders: Loaders, key: object
) -> Later[T] | None:
    return None if key is None else Later(partial(load, loaders, key))


async def load_user(loaders: Loaders, user_id: object) -> User | None:
    row = await loaders.users.load(as_uuid(user_id))
    return User.from_model(row) if row else None


async def load_batch(loaders: Loaders, batch_id: object) -> Batch | None:
    row = await loaders.batches.load(as_uuid(batch_id))
    return Batch.from_model(row) if row else None


async def load_call_record(loaders: Loaders, call_record_id: object) -> CallRecord | None:
    row = await loaders.call_records.load(as_uuid(call_record_id))
    return CallRecord.from_model(row) if row else None


def optional_uuid(value: object) -> uuid.UUID | None:
    return None if value is None else as_uuid(value)


@strawberry.type(description="The result of scrubbing a list of numbers against the DNC list.")
class DncCheckResult:
    blocked: list[str] = strawberry.field(
        description="The inputs, as given, whose number is on the list, in input order."
    )
    invalid: list[str] = strawberry.field(
        description="The inputs, as given, that cannot be read as an international number."
    )
    checked: int = strawberry.field(description="How many inputs were checked.")
