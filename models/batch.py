from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.organization import Organization
    from models.user import User


class Batch(Model):
    """An outbound calling batch (campaign); its owner may have been deleted."""

    id = fields.UUIDField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="batches", on_delete=fields.RESTRICT
    )
    owner: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name="batches", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: object
    owner_id: object

    class Meta:
        table = "batch"
