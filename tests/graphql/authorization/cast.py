"""The matrix's vocabulary and its world: the outcomes, the callers (actors), the resources of
organizations A and B, and the two seeded organizations with a token for every caller."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from api.auth import issue_token
from api.settings import Settings
from models import User
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import Tenant, add_input, make_call, make_tenant, token_for, us_number
from tests.support.operations import ADD


class Outcome(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"  # refused exactly as a request without a token is
    FORBIDDEN = "FORBIDDEN"  # refused for the caller's role, whatever the resource
    OK = "OK"  # the caller sees the resource, or acts on it
    # Exactly what the caller gets for a resource that does not exist: the same union member,
    # code and message (compared with a run on a nonexistent one); absent from lists and feeds.
    NOT_FOUND = "NOT_FOUND"


class Actor(StrEnum):
    ANONYMOUS = "no token"
    MEMBER_A = "member of A"
    ADMIN_A = "admin of A"
    MEMBER_B = "member of B"
    ADMIN_B = "admin of B"
    INACTIVE_A = "inactive admin of A"
    UNKNOWN_USER = "signed token, unknown user"
    WRONG_ORG = "admin of B, token claiming A"


class Resource(StrEnum):
    CALLER = "the caller"  # me: the caller's own user
    A = "A's"
    B = "B's"
    NOWHERE = "nonexistent"  # the control a NOT_FOUND cell is compared with; not a column


ACTORS = tuple(Actor)
ORGS = (Resource.A, Resource.B)
HOME = {
    Actor.MEMBER_A: Resource.A,
    Actor.ADMIN_A: Resource.A,
    Actor.MEMBER_B: Resource.B,
    Actor.ADMIN_B: Resource.B,
}
EXPORT = "GET /export/dnc.csv"

UN, FB, OK, NF = Outcome.UNAUTHENTICATED, Outcome.FORBIDDEN, Outcome.OK, Outcome.NOT_FOUND


@dataclass(frozen=True)
class Cell:
    field: str
    actor: Actor
    resource: Resource

    def __str__(self) -> str:
        return f"{self.field} | {self.actor} | {self.resource}"


@dataclass(frozen=True)
class Target:
    """What one cell asks about: a number, and for addToDnc the batch and call it came from."""

    number: str = ""
    batch_id: str = ""
    request_uuid: str = ""


@dataclass
class World:
    gql: GraphQLClient
    http: httpx.AsyncClient
    tenants: dict[Resource, Tenant]
    tokens: dict[Actor, str | None]
    users: dict[Actor, User]
    seeded: dict[Resource, Target] = field(default_factory=dict)

    async def add(self, org: Resource) -> str:
        """A fresh number on `org`'s list, added by its admin from a fresh call."""
        tenant = self.tenants[org]
        call = await make_call(tenant.batch)
        response = await self.gql(ADD, add_input(tenant, call), token=tenant.admin_token)
        assert_union(response.data["addToDnc"], "AddToDncSuccess")
        return call.phone_number

    async def seeded_number(self, resource: Resource) -> Target:
        if resource is Resource.NOWHERE:
            return Target(number=us_number())
        return self.seeded.get(resource, Target())

    async def fresh_call(self, resource: Resource) -> Target:
        if resource is Resource.NOWHERE:
            return Target(us_number(), str(uuid.uuid4()), str(uuid.uuid4()))
        call = await make_call(self.tenants[resource].batch)
        return Target(call.phone_number, str(call.batch_id), str(call.request_uuid))

    async def fresh_entry(self, resource: Resource) -> Target:
        if resource is Resource.NOWHERE:
            return Target(number=us_number())
        return Target(number=await self.add(resource))


async def build_world(gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings) -> World:
    a = await make_tenant(settings, "Org A", calls=1)
    b = await make_tenant(settings, "Org B", calls=1)

    def signed(user_id: uuid.UUID, org: Tenant) -> str:
        return issue_token(
            user_id=user_id, organization_id=org.organization.id, settings=settings, ttl_seconds=600
        )

    return World(
        gql=gql,
        http=http,
        tenants={Resource.A: a, Resource.B: b},
        tokens={
            Actor.ANONYMOUS: None,
            Actor.MEMBER_A: a.member_token,
            Actor.ADMIN_A: a.admin_token,
            Actor.MEMBER_B: b.member_token,
            Actor.ADMIN_B: b.admin_token,
            Actor.INACTIVE_A: token_for(a.inactive_admin, settings),
            Actor.UNKNOWN_USER: signed(uuid.uuid4(), a),
            Actor.WRONG_ORG: signed(b.admin.id, a),
        },
        users={
            Actor.MEMBER_A: a.member,
            Actor.ADMIN_A: a.admin,
            Actor.MEMBER_B: b.member,
            Actor.ADMIN_B: b.admin,
        },
    )
