"""Test data built through the ORM, and tokens signed like the platform's."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.auth import issue_token
from api.settings import Settings
from models import Batch, CallRecord, Organization, User, UserRole

_numbers = iter(range(1_000_000))


def us_number() -> str:
    """A fresh valid US number in E.164 form."""
    return f"+1212555{next(_numbers) % 10_000:04d}"


async def make_organization(name: str = "Acme Calls") -> Organization:
    return await Organization.create(id=uuid.uuid4(), name=name)


async def make_user(
    organization: Organization,
    *,
    role: UserRole = UserRole.MEMBER,
    active: bool = True,
    email: str | None = None,
) -> User:
    user_id = uuid.uuid4()
    return await User.create(
        id=user_id,
        organization_id=organization.id,
        email=email or f"{role.value.lower()}-{user_id.hex[:8]}@example.com",
        name=f"{role.value.title()} {user_id.hex[:4]}",
        role=role,
        active=active,
    )


async def make_batch(
    organization: Organization, owner: User | None, name: str = "Campaign"
) -> Batch:
    return await Batch.create(
        id=uuid.uuid4(),
        organization_id=organization.id,
        owner_id=owner.id if owner else None,
        name=name,
    )


async def make_call(
    batch: Batch,
    *,
    phone_number: str | None = None,
    recording_url: str | None = "https://rec.example.com/1.mp3",
    transcription: str | None = "Please stop calling me.",
) -> CallRecord:
    return await CallRecord.create(
        id=uuid.uuid4(),
        batch_id=batch.id,
        request_uuid=uuid.uuid4(),
        phone_number=phone_number or us_number(),
        recording_url=recording_url,
        transcription=transcription,
        called_at=datetime(2026, 11, 2, 15, 4, 5, tzinfo=UTC),
    )


def add_input(tenant: Tenant, call: CallRecord | None = None, **changes: Any) -> dict[str, Any]:
    """addToDnc's variables for one of the tenant's calls (its first unless named)."""
    call = call or tenant.calls[0]
    values: dict[str, Any] = {
        "phoneNumber": call.phone_number,
        "batchId": str(tenant.batch.id),
        "requestUUID": str(call.request_uuid),
    }
    values.update(changes)
    return {"input": values}


def token_for(user: User, settings: Settings, *, ttl_seconds: int = 3600) -> str:
    return issue_token(
        user_id=user.id,
        organization_id=uuid.UUID(str(user.organization_id)),
        settings=settings,
        ttl_seconds=ttl_seconds,
    )


@dataclass
class Tenant:
    """One organization with an admin, a member, an inactive admin, a batch and call records."""

    organization: Organization
    admin: User
    member: User
    inactive_admin: User
    batch: Batch
    calls: list[CallRecord] = field(default_factory=list)
    admin_token: str = ""
    member_token: str = ""


async def make_tenant(settings: Settings, name: str = "Acme Calls", calls: int = 3) -> Tenant:
    organization = await make_organization(name)
    admin = await make_user(organization, role=UserRole.ADMIN)
    member = await make_user(organization, role=UserRole.MEMBER)
    inactive_admin = await make_user(organization, role=UserRole.ADMIN, active=False)
    batch = await make_batch(organization, admin)
    tenant = Tenant(organization, admin, member, inactive_admin, batch)
    for _ in range(calls):
        tenant.calls.append(await make_call(batch))
    tenant.admin_token = token_for(admin, settings)
    tenant.member_token = token_for(member, settings)
    return tenant


@contextlib.asynccontextmanager
async def number_held(
    database_url: str, organization_id: uuid.UUID | str, number: str
) -> AsyncIterator[None]:
    """Hold what an add of `number` must wait for, until the block ends: on PostgreSQL an
    uncommitted ACTIVE entry of the number (rolled back), on SQLite the write lock."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite://"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        transaction = pg.transaction()
        await transaction.start()
        await pg.execute(
            "INSERT INTO dnc_entry (id, organization_id, phone_number, channel, status, "
            "requested_at, created_at) VALUES ($1, $2, $3, 'MANUAL', 'ACTIVE', now(), now())",
            uuid.uuid4(),
            uuid.UUID(str(organization_id)),
            number,
        )
        try:
            yield
        finally:
            await transaction.rollback()
    finally:
        await pg.close()
