from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.organization import Organization


class UserRole(StrEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class User(Model):
    """A platform user; admins receive the DNC notifications of their organization."""

    id = fields.UUIDField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="users", on_delete=fields.RESTRICT
    )
    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=200, null=True)
    role = fields.CharEnumField(UserRole, max_length=16, default=UserRole.MEMBER)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: object

    class Meta:
        table = "app_user"
        indexes = (("organization_id", "role", "active"),)
