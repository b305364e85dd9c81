"""The tenants the DNC operations are tried on: two organizations, each with its own list."""

from __future__ import annotations

import pytest

from api.settings import Settings
from models import User, UserRole
from tests.support.factories import Tenant, make_tenant, make_user


@pytest.fixture
async def tenant(app: object, settings: Settings) -> Tenant:
    return await make_tenant(settings, "Tenant A")


@pytest.fixture
async def other(app: object, settings: Settings) -> Tenant:
    return await make_tenant(settings, "Tenant B")


@pytest.fixture
async def second_admin(tenant: Tenant) -> User:
    """Another active admin of `tenant`: every admin is told of changes to the list."""
    return await make_user(tenant.organization, role=UserRole.ADMIN)
