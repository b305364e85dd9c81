"""GraphQL types of addManyToDnc."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.dnc.bulk import ItemStatus
from api.dnc.errors import ErrorCode
from api.graphql.dnc.results import MutationResult
from api.graphql.dnc.types import DncEntry
from api.graphql.loaders import Loaders
from models import DncChannel, DncReason
from models import DncEntry as DncEntryModel

strawberry.enum(ItemStatus, name="AddManyStatus", description="What became of one input entry.")


@strawberry.input(description="One number of a bulk opt-out.")
class ManualDncEntryInput:
    phone_number: str = strawberry.field(description="With country code, any spelling.")
    reason: DncReason | None = strawberry.field(
        default=strawberry.UNSET, description="Classification."
    )
    note: str | None = strawberry.field(
        default=strawberry.UNSET, description="Free text, at most 2,000 characters."
    )
    requested_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the person asked (not in the future); default now.",
    )
    expires_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the entry stops blocking (in the future); null: never.",
    )


@strawberry.input(description="Numbers that asked not to be called, all from one channel.")
class AddManyToDncInput:
    channel: DncChannel = strawberry.field(description="How these requests reached you.")
    entries: list[ManualDncEntryInput] = strawberry.field(description="At most 10,000 entries.")


@strawberry.type(description="The outcome for one input entry, in input order.")
class AddManyItem:
    phone_number: str = strawberry.field(description="The number as given.")
    status: ItemStatus = strawberry.field(
        description="ADDED (by this call; repeats of a number in the input share its outcome), "
        "ALREADY_ON_DNC, or INVALID."
    )

    @strawberry.field(description="The entry, unless INVALID.")
    def entry(self) -> DncEntry | None:
        # Built only when asked for: 10,000 of them cost more than the rest of the answer.
        return None if self.row is None else DncEntry.from_model(self.row, self.loaders)

    message: str | None = strawberry.field(description="Why the entry is INVALID.")
    row: strawberry.Private[DncEntryModel | None]
    loaders: strawberry.Private[Loaders]


@strawberry.type(
    description="The outcome of addManyToDnc. Counts are of distinct numbers (duplicates in the "
    "input count once) and of invalid entries. Over 10,000 entries: success false, statusCode "
    '400, code VALIDATION_FAILED, field "entries", nothing written.'
)
class AddManyToDncResult(MutationResult):
    added: int = strawberry.field(description="Numbers added by this call.")
    already_on_dnc: int = strawberry.field(description="Numbers that were already on the list.")
    invalid: int = strawberry.field(description="Entries that could not be added.")
    items: list[AddManyItem] = strawberry.field(description="One per input entry, in input order.")
    code: ErrorCode | None = strawberry.field(
        description="VALIDATION_FAILED when refused as a whole."
    )
    field: str | None = strawberry.field(description='The input field at fault ("entries").')
