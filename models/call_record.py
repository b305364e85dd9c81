from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.batch import Batch


class CallRecord(Model):
    """One call of a batch (its phone log), identified within the batch by `request_uuid`."""

    id = fields.UUIDField(primary_key=True)
    batch: fields.ForeignKeyRelation["Batch"] = fields.ForeignKeyField(
        "models.Batch", related_name="call_records", on_delete=fields.CASCADE
    )
    request_uuid = fields.UUIDField()
    phone_number = fields.CharField(max_length=32)
    recording_url = fields.TextField(null=True)
    transcription = fields.TextField(null=True)
    called_at = fields.DatetimeField(null=True)

    batch_id: object

    class Meta:
        table = "call_record"
        unique_together = (("batch_id", "request_uuid"),)
