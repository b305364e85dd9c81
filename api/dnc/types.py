"""GraphQL types of the DNC list; rows are mapped explicitly, nested objects come from loaders."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from api.context import Info
from api.db import as_uuid
from api.dnc.errors import ErrorCode
from api.dnc.state import effective_status
from api.instants import utcnow
from api.platform.types import Batch, CallRecord, User
from models import DncAction, DncChannel, DncEntryStatus, DncReason
from models import DncEntry as DncEntryModel

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
    added_by_id: strawberry.Private[uuid.UUID | None]
    batch_id: strawberry.Private[uuid.UUID | None]
    call_record_id: strawberry.Private[uuid.UUID | None]
    removed_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Who removed the entry.")
    async def removed_by(self, info: Info) -> User | None:
        if self.removed_by_id is None:
            return None
        row = await (await info.context.loaders()).users.load(self.removed_by_id)
        return User.from_model(row) if row else None

    @strawberry.field(description="Who added the number.")
    async def added_by(self, info: Info) -> User | None:
        if self.added_by_id is None:
            return None
        row = await (await info.context.loaders()).users.load(self.added_by_id)
        return User.from_model(row) if row else None

    @strawberry.field(description="The batch whose call the request came from.")
    async def batch(self, info: Info) -> Batch | None:
        if self.batch_id is None:
            return None
        row = await (await info.context.loaders()).batches.load(self.batch_id)
        return Batch.from_model(row) if row else None

    @strawberry.field(description="The call in which the person asked not to be called again.")
    async def call_record(self, info: Info) -> CallRecord | None:
        if self.call_record_id is None:
            return None
        row = await (await info.context.loaders()).call_records.load(self.call_record_id)
        return CallRecord.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: DncEntryModel) -> DncEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            phone_number=row.phone_number,
            reason=DncReason(row.reason) if row.reason else None,
            note=row.note,
            created_at=row.created_at,
            recording_url=row.recording_url,
            transcription=row.transcription,
            channel=DncChannel(row.channel),
            requested_at=row.requested_at,
            expires_at=row.expires_at,
            status=effective_status(row, utcnow()),
            removed_at=row.removed_at,
            removal_reason=row.removal_reason,
            added_by_id=optional_uuid(row.added_by_id),
            batch_id=optional_uuid(row.batch_id),
            call_record_id=optional_uuid(row.call_record_id),
            removed_by_id=optional_uuid(row.removed_by_id),
        )


def optional_uuid(value: object) -> uuid.UUID | None:
    return None if value is None else as_uuid(value)


@strawberry.interface(description="What every mutation answers: clients switch on __typename.")
class MutationResult:
    success: bool = strawberry.field(description="True only for the success member.")
    status_code: int = strawberry.field(description="The HTTP-style status of the outcome.")
    message: str = strawberry.field(description="A short human-readable explanation.")


@strawberry.type(description="The number was added; the organization's admins are emailed.")
class AddToDncSuccess(MutationResult):
    entry: DncEntry = strawberry.field(description="The new entry.")


@strawberry.type(description="An input was refused; `field` names it.")
class ValidationError(MutationResult):
    code: ErrorCode = strawberry.field(description="VALIDATION_FAILED.")
    field: str = strawberry.field(description='The input field at fault, e.g. "phoneNumber".')


@strawberry.type(description="The number is already on the organization's list.")
class AlreadyOnDncError(MutationResult):
    code: ErrorCode = strawberry.field(description="ALREADY_ON_DNC.")
    entry: DncEntry = strawberry.field(description="The existing entry.")


@strawberry.type(description="Something the input refers to does not exist for the caller.")
class NotFoundError(MutationResult):
    code: ErrorCode = strawberry.field(description="Which thing was not found.")


AddToDncResult = Annotated[
    AddToDncSuccess | ValidationError | AlreadyOnDncError | NotFoundError,
    strawberry.union("AddToDncResult", description="The outcome of addToDnc."),
]


@strawberry.input(description="A number to put on the list, from a call of one of your batches.")
class AddToDncInput:
    phone_number: str = strawberry.field(
        description='With country code; "+" optional: "12125551234", "+1 212-555-1234".'
    )
    batch_id: strawberry.ID = strawberry.field(description="The batch the call belongs to.")
    request_uuid: uuid.UUID = strawberry.field(
        name="requestUUID", description="The call record in that batch's phone logs."
    )
    reason: DncReason | None = strawberry.field(
        default=strawberry.UNSET, description="Classification, optional."
    )
    note: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text, at most 2,000 characters."
    )
    expires_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the entry stops blocking (must be in the future); null: never.",
    )


@strawberry.input(description="Narrows dncEntries; all given conditions must hold.")
class DncEntryFilter:
    status: DncEntryStatus | None = strawberry.field(
        default=DncEntryStatus.ACTIVE,
        description="Only entries in this state (ACTIVE unless said); null: every state.",
    )
    channel: DncChannel | None = strawberry.field(
        default=strawberry.UNSET, description="Only entries that came through this channel."
    )
    reason: DncReason | None = strawberry.field(
        default=strawberry.UNSET, description="Only this reason."
    )
    batch_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Only entries that came from this batch."
    )
    created_after: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Only entries added strictly after this instant."
    )
    created_before: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Only entries added strictly before this instant."
    )
    phone_number_contains: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Only numbers whose E.164 digits contain these digits.",
    )


@strawberry.type(description="One entry of a page, with its cursor.")
class DncEntryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: DncEntry = strawberry.field(description="The entry.")


@strawberry.type(description="Where a page stands in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More entries follow this page.")
    has_previous_page: bool = strawberry.field(
        description="The page was asked for with a cursor, so entries precede it."
    )
    start_cursor: str | None = strawberry.field(description="The cursor of the first entry.")
    end_cursor: str | None = strawberry.field(
        description="The cursor of the last entry: pass it as `after` for the next page."
    )


First = Annotated[
    int | None, strawberry.argument(description="Page size, 1 to 500; null means 50.")
]
After = Annotated[
    str | None, strawberry.argument(description="The endCursor of the previous page.")
]


def page_info(cursors: list[str], *, has_next_page: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type(description="A page of entries, newest first.")
class DncEntryConnection:
    edges: list[DncEntryEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many entries match the filter in all.")
    async def total_count(self) -> int:
        # Counting a list of a million entries costs more than the page: only when asked.
        return await self.count()


@strawberry.type(description="The result of scrubbing a list of numbers against the DNC list.")
class DncCheckResult:
    blocked: list[str] = strawberry.field(
        description="The inputs, as given, whose number is on the list, in input order."
    )
    invalid: list[str] = strawberry.field(
        description="The inputs, as given, that cannot be read as an international number."
    )
    checked: int = strawberry.field(description="How many inputs were checked.")


@strawberry.type(description="The number was removed; the organization's admins are emailed.")
class RemoveFromDncSuccess(MutationResult):
    entry: DncEntry = strawberry.field(description="The entry, now REMOVED.")


RemoveFromDncResult = Annotated[
    RemoveFromDncSuccess | ValidationError | NotFoundError,
    strawberry.union("RemoveFromDncResult", description="The outcome of removeFromDnc."),
]


@strawberry.input(description="A number to take off the list, and why.")
class RemoveFromDncInput:
    phone_number: str = strawberry.field(description="Any spelling of the number.")
    reason: str = strawberry.field(
        description="Why it is removed: required, at most 2,000 characters."
    )
