from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.dnc_entry import DncEntry
    from models.organization import Organization


class OutboxStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its next attempt (new, or after a transient failure)
    SENDING = "SENDING"  # claimed by a deliverer until `locked_until`
    SENT = "SENT"
    FAILED = "FAILED"  # refused permanently by the SMTP server; needs an operator


class EmailOutbox(Model):
    """One notification to one recipient, written in the transaction that caused it."""

    id = fields.UUIDField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="emails", on_delete=fields.RESTRICT
    )
    dnc_entry: fields.ForeignKeyNullableRelation["DncEntry"] = fields.ForeignKeyField(
        "models.DncEntry", related_name="emails", null=True, on_delete=fields.RESTRICT
    )
    recipient = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=255)
    body_text = fields.TextField()
    body_html = fields.TextField()
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    organization_id: object
    dnc_entry_id: object

    class Meta:
        table = "email_outbox"
        indexes = (("status", "next_attempt_at"),)
