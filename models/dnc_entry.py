from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.batch import Batch
    from models.call_record import CallRecord
    from models.organization import Organization
    from models.user import User


class DncReason(StrEnum):
    CUSTOMER_REQUEST = "CUSTOMER_REQUEST"
    COMPLAINT = "COMPLAINT"
    WRONG_NUMBER = "WRONG_NUMBER"
    LEGAL_REQUEST = "LEGAL_REQUEST"
    OTHER = "OTHER"


class DncChannel(StrEnum):
    VOICE_CALL = "VOICE_CALL"
    SMS = "SMS"
    EMAIL = "EMAIL"
    WEB = "WEB"
    MANUAL = "MANUAL"
    IMPORT = "IMPORT"


class DncEntryStatus(StrEnum):
    """Stored state; an ACTIVE row whose `expires_at` has passed reads as EXPIRED."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REMOVED = "REMOVED"


class DncEntry(Model):
    """One number on one organization's list, with a snapshot of the call that put it there.

    The call's recording URL, transcription and request UUID are copied, not referenced:
    call logs may be purged, the DNC evidence must not be.

    Entries are never deleted: a removal or an expiry changes `status`, and re-adding the
    number creates a new entry. At most one ACTIVE entry per organization and number: the
    partial unique index `uq_dnc_entry_active_number` enforces it. Tortoise cannot declare a
    unique or partial index, so the migrations create it.
    """

    id = fields.UUIDField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="dnc_entries", on_delete=fields.RESTRICT
    )
    phone_number = fields.CharField(max_length=16, description="E.164")
    reason = fields.CharEnumField(DncReason, max_length=32, null=True)
    note = fields.TextField(null=True)
    batch: fields.ForeignKeyNullableRelation["Batch"] = fields.ForeignKeyField(
        "models.Batch", related_name="dnc_entries", null=True, on_delete=fields.SET_NULL
    )
    call_record: fields.ForeignKeyNullableRelation["CallRecord"] = fields.ForeignKeyField(
        "models.CallRecord", related_name="dnc_entries", null=True, on_delete=fields.SET_NULL
    )
    request_uuid = fields.UUIDField(null=True)
    recording_url = fields.TextField(null=True)
    transcription = fields.TextField(null=True)
    added_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="dnc_entries", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    channel = fields.CharEnumField(DncChannel, max_length=16, default=DncChannel.VOICE_CALL)
    requested_at = fields.DatetimeField(description="When the person asked not to be called")
    expires_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(DncEntryStatus, max_length=16, default=DncEntryStatus.ACTIVE)
    removed_at = fields.DatetimeField(null=True)
    removed_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="removed_dnc_entries", null=True, on_delete=fields.SET_NULL
    )
    removal_reason = fields.TextField(null=True)

    organization_id: object
    batch_id: object
    call_record_id: object
    added_by_id: object
    removed_by_id: object

    class Meta:
        table = "dnc_entry"
        indexes = (
            ("organization_id", "created_at", "id"),
            ("organization_id", "phone_number"),
            ("status", "expires_at"),
        )
