"""Who may do what to whose data: every root field and the CSV export, for every kind of caller,
against a resource of organization A and one of organization B, on both databases.

The expected outcome of each cell is written down once, in MATRIX. One test runs every cell and
reports every wrong cell at once; a root field or data route without rows fails the other test.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

from api.app import create_app
from api.auth import issue_token
from api.graphql import graphiql
from api.graphql.schema import build_schema
from api.settings import Settings
from models import (
    Batch,
    CallRecord,
    DncEntry,
    DncEntryStatus,
    DncEvent,
    EmailOutbox,
    User,
    UserRole,
)
from tests.conftest import make_settings
from tests.support.client import GraphQLClient, assert_union
from tests.support.factories import Tenant, add_input, make_call, make_tenant, token_for, us_number


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

# What each resource is: for the reads, a number on that organization's list (added from one of
# its calls, so it has an ADDED event); for addToDnc, one of its batches and a fresh call of it;
# for removeFromDnc and addManyToDnc, a fresh number on its list; for dncEvents, the event of
# adding such a number; for the export, its row.
# fmt: off
MATRIX: dict[tuple[str, Resource], tuple[Outcome, ...]] = {
    #                                 no     member admin  member admin  inactive unknown  B as
    #                                 token  of A   of A   of B   of B   admin A  user     A
    ("me", Resource.CALLER):         (UN,    OK,    OK,    OK,    OK,    UN,      UN,      UN),
    ("dncEntries", Resource.A):      (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEntries", Resource.B):      (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncEntry", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEntry", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncCheck", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncCheck", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncHistory", Resource.A):      (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncHistory", Resource.B):      (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncAuditLog", Resource.A):     (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("dncAuditLog", Resource.B):     (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("dncEvents", Resource.A):       (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEvents", Resource.B):       (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    (EXPORT, Resource.A):            (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    (EXPORT, Resource.B):            (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("addToDnc", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("addToDnc", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("removeFromDnc", Resource.A):   (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("removeFromDnc", Resource.B):   (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("addManyToDnc", Resource.A):    (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("addManyToDnc", Resource.B):    (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
}
# fmt: on


@dataclass(frozen=True)
class Cell:
    field: str
    actor: Actor
    resource: Resource

    def __str__(self) -> str:
        return f"{self.field} | {self.actor} | {self.resource}"


def cells() -> Iterator[tuple[Cell, Outcome]]:
    for (name, resource), outcomes in MATRIX.items():
        for actor, outcome in zip(ACTORS, outcomes, strict=True):
            yield Cell(name, actor, resource), outcome


# --- GraphQL documents ---------------------------------------------------------------------------

ME = "query Me { me { id email role } }"
ENTRIES = """
query Entries {
  dncEntries(first: 500) {
    totalCount
    edges { node { id phoneNumber addedBy { id email } batch { id } callRecord { id } } }
  }
}
"""
ENTRY = """
query Entry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber status addedBy { id email } }
}
"""
CHECK = """
query Check($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}
"""
HISTORY = """
query History($phoneNumber: String!) {
  dncHistory(phoneNumber: $phoneNumber) { id action phoneNumber actor { id email } entry { id } }
}
"""
AUDIT_LOG = """
query AuditLog {
  dncAuditLog(first: 500) {
    totalCount
    edges { node { id action phoneNumber actor { id email } entry { id } } }
  }
}
"""
ADD = """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { id phoneNumber addedBy { id } } }
    ... on AlreadyOnDncError { code entry { id } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
REMOVE = """
mutation Remove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on RemoveFromDncSuccess { entry { id phoneNumber status removedBy { id } } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
ADD_MANY = """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    success statusCode message added alreadyOnDnc invalid
    items { phoneNumber status message entry { id } }
  }
}
"""
DNC_EVENTS = "subscription { dncEvents { id action phoneNumber actor { id email } entry { id } } }"
ROOT_FIELDS = """
{ __schema {
    queryType { fields { name } }
    mutationType { fields { name } }
    subscriptionType { fields { name } }
} }
"""

# --- the two organizations and the callers ---------------------------------------------------


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


# --- observing one cell ----------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")


@dataclass(frozen=True)
class Observation:
    outcome: Outcome | str  # a str describes a reply outside the vocabulary
    fingerprint: str  # the reply with the caller's own values, ids and instants masked
    reply: str  # the raw reply, searched for the other organization's data
    sent: str  # what the caller sent: its own values may come back


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a variables document, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")


def observe(outcome: Outcome | str, reply: str, variables: dict[str, Any]) -> Observation:
    masked = reply
    for path, value in sorted(leaves(variables), key=lambda leaf: -len(leaf[1])):
        masked = masked.replace(value, f"<{path}>")
    masked = _INSTANT.sub("<instant>", _UUID.sub("<id>", masked))
    return Observation(outcome, masked, reply, json.dumps(variables))


# A reply's data (after any refusal) -> the outcome; the caller is the user behind the token.
Judge = Callable[[Any, Target, User | None], Outcome | str]


def refusal(body: dict[str, Any], name: str) -> Outcome | str | None:
    """UNAUTHENTICATED or FORBIDDEN when that is the reply's only error and nothing came back."""
    errors = body.get("errors") or []
    if not errors:
        return None
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if codes in (["UNAUTHENTICATED"], ["FORBIDDEN"]) and not (body.get("data") or {}).get(name):
        return Outcome(codes[0])
    return f"errors {codes}"


async def ask(
    world: World,
    actor: Actor,
    name: str,
    query: str,
    variables: dict[str, Any],
    target: Target,
    judge: Judge,
) -> Observation:
    response = await world.gql(query, variables, token=world.tokens[actor])
    outcome = refusal(response.body, name)
    if outcome is None:
        outcome = judge(response.body["data"][name], target, world.users.get(actor))
    return observe(outcome, json.dumps(response.body), variables)


def listed(numbers: list[str], total: int, target: Target) -> Outcome | str:
    """A page holding everything: the target is on it or not, and the count is the page's."""
    if total != len(numbers):
        return f"totalCount {total} for {len(numbers)} rows"
    return OK if target.number in numbers else NF


def judge_me(me: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    if caller and (me["id"], me["email"], me["role"]) == (
        str(caller.id),
        caller.email,
        caller.role,
    ):
        return OK
    return f"me is {me}"


def judge_entries(page: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    numbers = [edge["node"]["phoneNumber"] for edge in page["edges"]]
    return listed(numbers, page["totalCount"], target)


def judge_entry(entry: dict[str, Any] | None, target: Target, caller: User | None) -> Outcome | str:
    if entry is None:
        return NF
    shape = (entry["phoneNumber"], entry["status"])
    return OK if shape == (target.number, "ACTIVE") else f"dncEntry {shape}"


def judge_check(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    shape = (tuple(result["blocked"]), tuple(result["invalid"]), result["checked"])
    return {((target.number,), (), 1): OK, ((), (), 1): NF}.get(shape, f"dncCheck {shape}")


def judge_history(
    events: list[dict[str, Any]], target: Target, caller: User | None
) -> Outcome | str:
    if not events:
        return NF
    seen = [(event["action"], event["phoneNumber"]) for event in events]
    return OK if seen == [("ADDED", target.number)] else f"history {seen}"


def judge_audit_log(page: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    numbers = [edge["node"]["phoneNumber"] for edge in page["edges"]]
    return listed(numbers, page["totalCount"], target)


def judge_add(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    kind = result["__typename"]
    if kind == "AddToDncSuccess":
        entry = result["entry"]
        by = (entry["addedBy"] or {}).get("id")
        if (entry["phoneNumber"], by) == (target.number, str(caller and caller.id)):
            return OK
    if kind == "NotFoundError" and result["code"] == "BATCH_NOT_FOUND":
        return NF
    return f"{kind} {result.get('code')}"


def judge_remove(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    kind = result["__typename"]
    if kind == "RemoveFromDncSuccess":
        entry = result["entry"]
        by = (entry["removedBy"] or {}).get("id")
        if (entry["phoneNumber"], entry["status"], by) == (
            target.number,
            "REMOVED",
            str(caller and caller.id),
        ):
            return OK
    if kind == "NotFoundError" and result["code"] == "ENTRY_NOT_FOUND":
        return NF
    return f"{kind} {result.get('code')}"


def judge_add_many(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    # The number is on the list: reported as such. Not on the caller's list: simply added.
    statuses = [item["status"] for item in result["items"]]
    return {"ALREADY_ON_DNC": OK, "ADDED": NF}.get(statuses[0] if statuses else "", f"{statuses}")


def graphql_run(
    name: str,
    query: str,
    variables: Callable[[Target], dict[str, Any]],
    judge: Judge,
) -> Callable[[World, Actor, Target], Awaitable[Observation]]:
    async def run(world: World, actor: Actor, target: Target) -> Observation:
        return await ask(world, actor, name, query, variables(target), target, judge)

    return run


async def run_export(world: World, actor: Actor, target: Target) -> Observation:
    token = world.tokens[actor]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await world.http.get("/export/dnc.csv", headers=headers)
    outcome: Outcome | str = {401: UN, 403: FB}.get(
        response.status_code, f"HTTP {response.status_code}"
    )
    if response.status_code == 200:
        rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
        outcome = OK if target.number in [row["phone_number"] for row in rows] else NF
    return observe(outcome, f"{response.status_code} {response.text}", {})


@dataclass(frozen=True)
class Probe:
    """How the cells of one field (or route) are set up and observed."""

    name: str
    resources: tuple[Resource, ...]
    prepare: Callable[[World, Resource], Awaitable[Target]]
    run: Callable[[World, Actor, Target], Awaitable[Observation]] | None
    controlled: bool = False  # NOT_FOUND is compared with a run on a nonexistent resource
    changes_home_on: frozenset[Outcome] = frozenset()  # after which the caller's list changed


async def no_target(world: World, resource: Resource) -> Target:
    return Target()


def add_variables(target: Target) -> dict[str, Any]:
    return {
        "input": {
            "phoneNumber": target.number,
            "batchId": target.batch_id,
            "requestUUID": target.request_uuid,
        }
    }


BOTH = (Resource.A, Resource.B)
# Reads first (they share the seeded numbers), then the writes (each on a fresh resource).
FIELDS = (
    Probe("me", (Resource.CALLER,), no_target, graphql_run("me", ME, lambda t: {}, judge_me)),
    Probe(
        "dncEntries",
        BOTH,
        World.seeded_number,
        graphql_run("dncEntries", ENTRIES, lambda t: {}, judge_entries),
    ),
    Probe(
        "dncEntry",
        BOTH,
        World.seeded_number,
        graphql_run("dncEntry", ENTRY, lambda t: {"phoneNumber": t.number}, judge_entry),
        controlled=True,
    ),
    Probe(
        "dncCheck",
        BOTH,
        World.seeded_number,
        graphql_run("dncCheck", CHECK, lambda t: {"phoneNumbers": [t.number]}, judge_check),
        controlled=True,
    ),
    Probe(
        "dncHistory",
        BOTH,
        World.seeded_number,
        graphql_run("dncHistory", HISTORY, lambda t: {"phoneNumber": t.number}, judge_history),
        controlled=True,
    ),
    Probe(
        "dncAuditLog",
        BOTH,
        World.seeded_number,
        graphql_run("dncAuditLog", AUDIT_LOG, lambda t: {}, judge_audit_log),
    ),
    Probe("dncEvents", BOTH, World.seeded_number, None),  # observed over one socket per caller
    Probe(EXPORT, BOTH, World.seeded_number, run_export),
    Probe(
        "addToDnc",
        BOTH,
        World.fresh_call,
        graphql_run("addToDnc", ADD, add_variables, judge_add),
        controlled=True,
        changes_home_on=frozenset({OK}),
    ),
    Probe(
        "removeFromDnc",
        BOTH,
        World.fresh_entry,
        graphql_run(
            "removeFromDnc",
            REMOVE,
            lambda t: {"input": {"phoneNumber": t.number, "reason": "Asked by the matrix."}},
            judge_remove,
        ),
        controlled=True,
        changes_home_on=frozenset({OK}),
    ),
    Probe(
        "addManyToDnc",
        BOTH,
        World.fresh_entry,
        graphql_run(
            "addManyToDnc",
            ADD_MANY,
            lambda t: {"input": {"channel": "MANUAL", "entries": [{"phoneNumber": t.number}]}},
            judge_add_many,
        ),
        controlled=True,
        changes_home_on=frozenset({NF}),
    ),
)

# --- dncEvents: graphql-transport-ws against the in-process app ------------------------------

PROTOCOL = "graphql-transport-ws"
REFUSED_SOCKET = {4401, 4403}  # the contract allows either for a refused token


class Socket:
    """A graphql-transport-ws client of the app in this event loop (httpx has no websocket)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.texts: list[str] = []
        self.close_code: int | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.arrived = asyncio.Event()

    @staticmethod
    def scope() -> dict[str, Any]:
        return {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"dnc.test"), (b"sec-websocket-protocol", PROTOCOL.encode())],
            "subprotocols": [PROTOCOL],
            "client": ("127.0.0.1", 50000),
            "server": ("dnc.test", 80),
        }

    async def _serve(self) -> None:
        await self.app(self.scope(), self.to_app.get, self.from_app.put)

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def _read(self) -> None:
        while True:
            message = await self.from_app.get()
            if message["type"] == "websocket.close":
                self.close_code = message.get("code", 1000)
            else:
                self.texts.append(message.get("text") or "")
            self.arrived.set()
            if self.close_code is not None:
                return

    async def until(self, done: Callable[[], bool], within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                while not done():
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            return False
        return True

    async def subscribe(self, token: str | None) -> None:
        """Connect with the token in connection_init; subscribe to dncEvents once acknowledged."""
        self.tasks.append(asyncio.create_task(self._serve()))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        self.tasks.append(asyncio.create_task(self._read()))
        await self.send(
            {
                "type": "connection_init",
                "payload": {} if token is None else {"Authorization": f"Bearer {token}"},
            }
        )
        await self.until(lambda: bool(self.texts) or self.close_code is not None, 5)
        if self.acknowledged:
            await self.send({"id": "1", "type": "subscribe", "payload": {"query": DNC_EVENTS}})

    async def receives(self, number: str, within: float) -> bool:
        """Whether the event of `number` arrives within `within` seconds."""
        return await self.until(lambda: number in self.numbers(), within)

    @property
    def acknowledged(self) -> bool:
        return bool(self.texts) and json.loads(self.texts[0])["type"] == "connection_ack"

    def numbers(self) -> list[str]:
        messages = [json.loads(text) for text in self.texts[1:]]
        return [
            m["payload"]["data"]["dncEvents"]["phoneNumber"]
            for m in messages
            if m["type"] == "next"
        ]

    async def close(self) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        async with asyncio.timeout(5):
            await self.tasks[0]
        self.tasks[1].cancel()

    def observation(self, target: Target) -> Observation:
        if self.close_code is not None and not self.acknowledged:
            outcome: Outcome | str = (
                UN if self.close_code in REFUSED_SOCKET else f"closed {self.close_code}"
            )
            return observe(outcome, f"closed {self.close_code}", {})
        kinds = {json.loads(text)["type"] for text in self.texts}
        if kinds - {"connection_ack", "next"}:
            return observe(f"messages {kinds}", "\n".join(self.texts), {})
        return observe(OK if target.number in self.numbers() else NF, "\n".join(self.texts), {})


async def watch_dnc_events(
    world: World, app: Any, mismatches: list[str]
) -> dict[Cell, Observation]:
    """Every caller subscribes; each organization's seeded number is added, then a fence.

    The fence (one more change of the caller's own organization) arrives after everything that
    was committed before it, so a socket holding its fence has received all it ever will.
    """
    await app.state.broker.wait_listening()
    sockets = {actor: Socket(app) for actor in ACTORS}
    for actor, socket in sockets.items():
        await socket.subscribe(world.tokens[actor])
    live = {actor: s for actor, s in sockets.items() if s.acknowledged and actor in HOME}
    # The protocol has no reply to `subscribe`: a change that arrives proves it is running.
    waiting = dict(live)
    for _ in range(20):
        if not waiting:
            break
        added = {org: await world.add(org) for org in ORGS}
        for actor, socket in list(waiting.items()):
            if await socket.receives(added[HOME[actor]], 0.25):
                del waiting[actor]
    for actor in waiting:
        mismatches.append(f"dncEvents | {actor}: the subscription never went live")
    for org in ORGS:
        world.seeded[org] = Target(number=await world.add(org))
    fences = {org: await world.add(org) for org in ORGS}
    for actor, socket in live.items():
        if not await socket.receives(fences[HOME[actor]], 5):
            mismatches.append(f"dncEvents | {actor}: its organization's fence never arrived")
    for socket in sockets.values():
        await socket.close()
    return {
        Cell("dncEvents", actor, org): sockets[actor].observation(world.seeded[org])
        for actor in ACTORS
        for org in ORGS
    }


# --- what changed where ----------------------------------------------------------------------


def names(orgs: set[Resource]) -> str:
    return "{" + ", ".join(sorted(org.name for org in orgs)) + "}"


async def snapshot(world: World) -> dict[Resource, tuple[int, ...]]:
    """Per organization: entries, ACTIVE entries, events, emails."""
    counts: dict[Resource, tuple[int, ...]] = {}
    for org, tenant in world.tenants.items():
        mine = {"organization_id": tenant.organization.id}
        counts[org] = (
            await DncEntry.filter(**mine).count(),
            await DncEntry.filter(**mine, status=DncEntryStatus.ACTIVE).count(),
            await DncEvent.filter(**mine).count(),
            await EmailOutbox.filter(**mine).count(),
        )
    return counts


async def identifiers(world: World) -> dict[Resource, set[str]]:
    """Every id, email and number of each organization that the other has none of."""
    found: dict[Resource, set[str]] = {}
    for org, tenant in world.tenants.items():
        oid = tenant.organization.id
        values = {str(oid)}
        for row in await User.filter(organization_id=oid).values_list("id", "email"):
            values.update(map(str, row))
        values.update(
            map(str, await Batch.filter(organization_id=oid).values_list("id", flat=True))
        )
        for row in await CallRecord.filter(batch__organization_id=oid).values_list(
            "id", "request_uuid", "phone_number"
        ):
            values.update(map(str, row))
        for row in await DncEntry.filter(organization_id=oid).values_list("id", "phone_number"):
            values.update(map(str, row))
        values.update(
            map(str, await DncEvent.filter(organization_id=oid).values_list("id", flat=True))
        )
        found[org] = values
    shared = found[Resource.A] & found[Resource.B]  # a number both lists hold, legitimately
    return {org: values - shared for org, values in found.items()}


async def misdirected_emails(world: World, owned: dict[Resource, set[str]]) -> list[str]:
    """Each notification goes to an active admin of its own organization, about its own list."""
    found = []
    for org, tenant in world.tenants.items():
        mine = {"organization_id": tenant.organization.id}
        admins = set(
            await User.filter(**mine, role=UserRole.ADMIN, active=True).values_list(
                "email", flat=True
            )
        )
        rows = await EmailOutbox.filter(**mine).values_list(
            "recipient", "subject", "body_text", "body_html"
        )
        for recipient, *texts in rows:
            if recipient not in admins:
                found.append(f"an email of {org.name} went to {recipient}")
            other = owned[Resource.B if org is Resource.A else Resource.A]
            if leaked := {value for value in other if any(value in text for text in texts)}:
                found.append(f"an email of {org.name} holds the other's data {sorted(leaked)}")
    return found


# --- the tests -------------------------------------------------------------------------------


@dataclass
class Results:
    expected: dict[Cell, Outcome]
    observed: dict[Cell, Observation] = field(default_factory=dict)
    controls: dict[Cell, Observation] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    async def run(self, world: World, spec: Probe) -> None:
        """Every cell of one field; a write's cell also checks which organization changed."""
        assert spec.run is not None
        for actor in ACTORS:
            for resource in spec.resources:
                cell = Cell(spec.name, actor, resource)
                target = await spec.prepare(world, resource)
                before = await snapshot(world) if spec.changes_home_on else None
                self.observed[cell] = seen = await spec.run(world, actor, target)
                if before is not None:
                    after = await snapshot(world)
                    changed = {org for org in ORGS if before[org] != after[org]}
                    home = {HOME[actor]} if actor in HOME else set()
                    should = home if seen.outcome in spec.changes_home_on else set()
                    if changed != should:
                        self.mismatches.append(
                            f"{cell}: changed {names(changed)}, expected {names(should)}"
                            f" ({before} -> {after})"
                        )
                if spec.controlled and self.expected[cell] is NF:
                    control = await spec.prepare(world, Resource.NOWHERE)
                    self.controls[cell] = await spec.run(world, actor, control)

    def judge(self) -> None:
        """Each cell against the matrix, a NOT_FOUND against its control."""
        for cell, outcome in self.expected.items():
            seen = self.observed[cell]
            if seen.outcome != outcome:
                self.mismatches.append(
                    f"{cell}: expected {outcome}, got {seen.outcome}: {seen.reply[:300]}"
                )
            control = self.controls.get(cell)
            if control and control.fingerprint != seen.fingerprint:
                self.mismatches.append(
                    f"{cell}: differs from a nonexistent resource:\n"
                    f"    {seen.fingerprint}\n    {control.fingerprint}"
                )

    def judge_refusals(self) -> None:
        """A refusal says nothing of the caller, its role or the resource: one reply per field."""
        for spec in FIELDS:
            for kind in (UN, FB):
                replies = {
                    self.observed[cell].fingerprint
                    for cell, outcome in self.expected.items()
                    if cell.field == spec.name and outcome is kind
                }
                if len(replies) > 1:
                    self.mismatches.append(f"{spec.name}: {len(replies)} {kind} replies: {replies}")

    def judge_leaks(self, owned: dict[Resource, set[str]]) -> None:
        """Nothing of another organization in any reply, unless the caller sent it itself."""
        for cell, seen in [*self.observed.items(), *self.controls.items()]:
            for org in ORGS:
                if org is HOME.get(cell.actor):
                    continue
                leaked = {v for v in owned[org] if v in seen.reply and v not in seen.sent}
                if leaked:
                    self.mismatches.append(f"{cell}: the reply holds {org} data {sorted(leaked)}")


async def test_every_cell_of_the_matrix(
    app: Any, gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings
) -> None:
    world = await build_world(gql, http, settings)
    results = Results(dict(cells()))
    results.observed.update(await watch_dnc_events(world, app, results.mismatches))
    before = await snapshot(world)
    for spec in FIELDS:
        if spec.run is not None and not spec.changes_home_on:
            await results.run(world, spec)
    if (after := await snapshot(world)) != before:
        results.mismatches.append(f"the reads changed the lists: {before} -> {after}")
    for spec in FIELDS:
        if spec.changes_home_on:
            await results.run(world, spec)

    results.judge()
    results.judge_refusals()
    owned = await identifiers(world)
    results.judge_leaks(owned)
    results.mismatches.extend(await misdirected_emails(world, owned))
    mismatches = results.mismatches
    assert not mismatches, f"{len(mismatches)} wrong cells:\n" + "\n".join(mismatches)


async def test_every_field_and_data_route_has_its_rows() -> None:
    result = await build_schema().execute(ROOT_FIELDS)
    assert result.errors is None, result.errors
    assert result.data is not None
    root_fields = {
        entry["name"] for kind in result.data["__schema"].values() for entry in kind["fields"]
    }
    app = create_app(make_settings("sqlite://:memory:", None))
    paths = {getattr(route, "path", repr(route)) for route in app.routes}
    # Routes that serve no organization's data; the GraphQL fields are rows of their own.
    public = {"/graphql", f"{graphiql.ASSETS_PATH}/{{name}}", "/healthz", "/readyz", "/metrics"}
    data_routes = {f"GET {path}" for path in paths - public}

    assert {name for name, _ in MATRIX} == root_fields | data_routes
    assert [spec.name for spec in FIELDS] == list(dict.fromkeys(name for name, _ in MATRIX))
    assert set(MATRIX) == {(spec.name, resource) for spec in FIELDS for resource in spec.resources}
    assert all(len(outcomes) == len(ACTORS) for outcomes in MATRIX.values())
