"""The users every request and every notification reads: the caller, the admins."""

from __future__ import annotations

import uuid

from api.store.database import connection
from api.store.entries import Row
from api.store.statement import Statement
from models import UserRole


async def active_user_row(*, user_id: uuid.UUID, organization_id: uuid.UUID) -> Row | None:
    """The role and email of an active user of the organization (every request asks)."""
    sql = Statement(connection())
    rows = await sql.rows(
        f"SELECT role, email FROM app_user WHERE id = {sql(user_id)}"  # noqa: S608
        f" AND organization_id = {sql(organization_id)} AND active = {sql(True)}"
    )
    return rows[0] if rows else None


def admin_emails(sql: Statement, organization: str) -> str:
    """SQL: the distinct emails of the organization's active admins."""
    return (
        f"SELECT DISTINCT email FROM app_user WHERE organization_id = {organization}"  # noqa: S608
        f" AND role = {sql(UserRole.ADMIN.value)} AND active = {sql(True)}"
    )
