from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.dnc_entry import DncChannel

if TYPE_CHECKING:
    from models.dnc_entry import DncEntry
    from models.organization import Organization
    from models.user import User


class DncAction(StrEnum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    EXPIRED = "EXPIRED"


class DncEvent(Model):
    """One change of one organization's list: the append-only audit trail.

    Written in the transaction of the change it records; never updated or deleted.
    """

    id = fields.UUIDField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="dnc_events", on_delete=fields.RESTRICT
    )
    entry: fields.ForeignKeyRelation["DncEntry"] = fields.ForeignKeyField(
        "models.DncEntry", related_name="events", on_delete=fields.RESTRICT
    )
    phone_number = fields.CharField(max_length=16)
    action = fields.CharEnumField(DncAction, max_length=16)
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="dnc_events", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharEnumField(DncChannel, max_length=16, null=True)
    reason = fields.TextField(null=True)

    organization_id: object
    entry_id: object
    actor_id: object

    class Meta:
        table = "dnc_event"
        indexes = (
            ("organization_id", "at", "id"),
            ("organization_id", "phone_number", "at"),
            ("organization_id", "actor_id", "at"),
        )
