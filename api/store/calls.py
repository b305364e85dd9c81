"""What an addition reads about its call: the call record, its batch and organization, and
whether the number already has an entry stored ACTIVE, in one statement."""

from __future__ import annotations

import uuid

from api.store.database import connection
from api.store.entries import Row
from api.store.statement import Statement
from models import DncEntryStatus


async def call_row(
    *, organization_id: uuid.UUID, batch_id: uuid.UUID, request_uuid: uuid.UUID, number: str
) -> Row | None:
    """The call record of the organization's batch whose owner is one of its users, with the
    batch's name, the organization's name and the number's entry stored ACTIVE (`listed_id`,
    `listed_until`: perhaps past its expiry); None when any of them is missing."""
    sql = Statement(connection())
    organization = sql(organization_id)
    rows = await sql.rows(
        "SELECT c.id, c.request_uuid, c.recording_url, c.transcription, c.called_at,"  # noqa: S608
        " b.name AS batch_name, o.name AS organization_name,"
        " e.id AS listed_id, e.expires_at AS listed_until"
        " FROM call_record c JOIN batch b ON b.id = c.batch_id"
        " JOIN organization o ON o.id = b.organization_id"
        " JOIN app_user u ON u.id = b.owner_id"
        " LEFT JOIN dnc_entry e ON e.organization_id = b.organization_id"
        f" AND e.phone_number = {sql(number)} AND e.status = {sql(DncEntryStatus.ACTIVE.value)}"
        f" WHERE c.batch_id = {sql(batch_id)} AND c.request_uuid = {sql(request_uuid)}"
        f" AND b.organization_id = {organization} AND u.organization_id = {organization}"
        " LIMIT 1"
    )
    return rows[0] if rows else None
