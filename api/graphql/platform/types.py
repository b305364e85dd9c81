"""GraphQL types of the platform's users, batches and call records."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import Batch as BatchModel
from models import CallRecord as CallRecordModel
from models import User as UserModel
from models import UserRole

strawberry.enum(UserRole, name="UserRole", description="What a user may do.")


@strawberry.type(description="A user of the calling platform, in one organization.")
class User:
    id: strawberry.ID = strawberry.field(description="The user's id (the token's `sub`).")
    email: str = strawberry.field(description="Where the user's notifications go.")
    name: str | None = strawberry.field(description="Display name, when known.")
    role: UserRole = strawberry.field(description="ADMIN users receive the DNC notifications.")
    active: bool = strawberry.field(description="Inactive users cannot call the API.")

    @classmethod
    def from_model(cls, row: UserModel) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            name=row.name,
            role=UserRole(row.role),
            active=row.active,
        )


@strawberry.type(description="An outbound calling batch (campaign).")
class Batch:
    id: strawberry.ID = strawberry.field(description="The batch's id.")
    name: str | None = strawberry.field(description="The batch's name, when it has one.")

    @classmethod
    def from_model(cls, row: BatchModel) -> Batch:
        return cls(id=strawberry.ID(str(row.id)), name=row.name)


@strawberry.type(description="One call of a batch: its phone log.")
class CallRecord:
    id: strawberry.ID = strawberry.field(description="The call record's id.")
    request_uuid: uuid.UUID = strawberry.field(
        name="requestUUID", description="The call's id, unique within its batch."
    )
    phone_number: str = strawberry.field(
        description="The called number, as the platform logged it."
    )
    recording_url: str | None = strawberry.field(description="The call's recording, if any.")
    transcription: str | None = strawberry.field(description="The call's transcription, if any.")
    called_at: datetime | None = strawberry.field(description="When the call was placed.")

    @classmethod
    def from_model(cls, row: CallRecordModel) -> CallRecord:
        return cls(
            id=strawberry.ID(str(row.id)),
            request_uuid=row.request_uuid,
            phone_number=row.phone_number,
            recording_url=row.recording_url,
            transcription=row.transcription,
            called_at=row.called_at,
        )
