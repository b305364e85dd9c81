from tortoise import fields
from tortoise.models import Model


class Organization(Model):
    """A tenant: every other row belongs to exactly one organization."""

    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organization"
