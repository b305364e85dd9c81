"""GraphQL inputs of the DNC list's mutations and filters."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import DncChannel, DncEntryStatus, DncReason


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


@strawberry.input(description="A number to take off the list, and why.")
class RemoveFromDncInput:
    phone_number: str = strawberry.field(description="Any spelling of the number.")
    reason: str = strawberry.field(
        description="Why it is removed: required, at most 2,000 characters."
    )
