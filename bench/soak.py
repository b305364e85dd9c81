"""Soak test: many clients against real `dnc-api serve` processes sharing one PostgreSQL database,
then an exact reconciliation of the list, the email outbox and what an SMTP server received.

    .venv/bin/python bench/soak.py --clients 16 --minutes 2 --servers 2

Not part of the test suite. It creates its own database (its name must start with `dnc_soak`;
dropped at the end unless --keep), imports organizations through `dnc-api import`, starts an SMTP
sink and K servers, and runs N clients for M minutes while it makes the SMTP server refuse for a
while and kills a server with SIGKILL mid-run. Every request and its answer is recorded; at the
end the database, the outbox and the sink must agree with what the clients were told.
Exit status: 0 PASS, 1 FAIL (any mismatch), 2 could not run.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/soak.py`, this folder comes first on sys.path, and a neighbour named like
# a standard module would shadow it for every library imported below (E402).
# The service's code is taken from this checkout, here and in the servers (PYTHONPATH).
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import phonenumbers

from api.auth import issue_token
from api.settings import Settings
from bench.mail import Delivery, SmtpSink

ROOT = HERE.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dnc_soak"
SOAK_DATABASE = re.compile(r"dnc_soak\w*")
NOTE_LIMIT = 2000
MANY_LIMIT = 10_000
REQUEST_TIMEOUT = 60.0
OUTBOX_LEASE_SECONDS = 20

REASONS = ["CUSTOMER_REQUEST", "COMPLAINT", "WRONG_NUMBER", "LEGAL_REQUEST", "OTHER"]
MANY_CHANNELS = ["SMS", "EMAIL", "WEB", "MANUAL", "IMPORT"]
US_AREAS = ["212", "312", "415", "617", "202", "305", "713", "206", "404", "503", "718", "646"]
# Never a valid number, whatever the spelling (the service refuses them with field phoneNumber).
BAD_ADD_NUMBERS = ["", "   ", "12345", "+1 212 555 01ab", "+99912345678", "not a number", "1" * 16]
# Not 8 to 15 digits once separators and a leading + or 00 are dropped: dncCheck's `invalid`.
BAD_CHECK_NUMBERS = [
    "",
    "12345",
    "not a number",
    "+1 212 555 01ab",
    "1" * 16,
    "--",
    "00",
    "1234567",
]
# Readable (8 to 15 digits) but never on any list: an unknown country code.
NEUTRAL_CHECK_NUMBERS = ["+99912345678", "999 1234 5678 9"]
TRICKY_TEXT = [
    'Asked twice <b>politely</b> & then "firmly"',
    "line one\r\nBcc: intruder@evil.example\r\nSubject: injected",
    '=HYPERLINK("http://evil.example")',
    "unicode: ne m'appelez plus \u2014 \u00e7a suffit \U0001f4f5",
]

ADD = """
mutation SoakAdd($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { id phoneNumber status channel } }
    ... on AlreadyOnDncError { code entry { id phoneNumber status } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}"""
ADD_MANY = """
mutation SoakAddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    __typename success statusCode message added alreadyOnDnc invalid code field
    items { phoneNumber status message entry { id phoneNumber status channel } }
  }
}"""
REMOVE = """
mutation SoakRemove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on RemoveFromDncSuccess { entry { id phoneNumber status removalReason } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}"""
ENTRIES = """
query SoakEntries($first: Int, $after: String, $filter: DncEntryFilter) {
  dncEntries(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id phoneNumber createdAt status channel reason batch { id } } }
  }
}"""
ENTRY = """
query SoakEntry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber status }
}"""
CHECK = """
query SoakCheck($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}"""
ME = "query SoakMe { me { id email role } }"

SUCCESS_LABELS = {"AddToDncSuccess", "RemoveFromDncSuccess", "AddManyOk", "ok"}


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def free_port() -> int:
    """aiosmtpd's Controller cannot bind port 0, and servers restart on their own port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------
# Phone numbers: fresh valid ones (each used once in the whole run) and their many spellings.


class Numbers:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _candidate(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            area = self.rng.choice(US_AREAS)
            return f"+1{area}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
        if roll < 0.85:
            return f"+447{self.rng.randint(400_000_000, 999_999_999)}"
        return f"+336{self.rng.randint(10_000_000, 99_999_999)}"

    def fresh(self) -> str:
        """A valid E.164 number never handed out before in this run."""
        while True:
            candidate = self._candidate()
            if candidate in self.used:
                continue
            parsed = phonenumbers.parse(candidate, None)
            if not phonenumbers.is_valid_number(parsed):
                continue
            if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != (
                candidate
            ):
                continue
            self.used.add(candidate)
            return candidate

    def spell(self, e164: str) -> str:
        """Another way to write `e164` that must be read as the same number."""
        digits = e164[1:]
        prefix = self.rng.choice(["+", "+", "", "00"])
        roll = self.rng.random()
        if roll < 0.35:
            return prefix + digits
        if roll < 0.55 and digits.startswith("1") and len(digits) == 11:
            return f"{prefix}1 ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
        out = []
        for index, digit in enumerate(digits):
            if index and self.rng.random() < 0.25:
                out.append(self.rng.choice(" -."))
            out.append(digit)
        return prefix + "".join(out)


# ---------------------------------------------------------------------------------------------
# The platform data: organizations with admins (one inactive), members, batches and calls.


@dataclass
class UserSpec:
    id: uuid.UUID
    org: str
    email: str
    role: str
    active: bool
    token: str = ""


@dataclass
class BatchSpec:
    id: uuid.UUID
    org: str
    owner_id: uuid.UUID | None
    calls: list[uuid.UUID]


@dataclass
class OrgSpec:
    key: str
    id: uuid.UUID
    name: str
    users: list[UserSpec]
    batches: list[BatchSpec]
    ownerless: BatchSpec

    @property
    def admins(self) -> list[UserSpec]:
        return [u for u in self.users if u.role == "ADMIN" and u.active]

    @property
    def active_users(self) -> list[UserSpec]:
        return [u for u in self.users if u.active]

    @property
    def inactive_admin(self) -> UserSpec:
        return next(u for u in self.users if u.role == "ADMIN" and not u.active)

    @property
    def admin_emails(self) -> list[str]:
        return sorted(u.email for u in self.admins)


# (key, name, active admins, members). Gamma has no active admin: its adds email nobody.
ORG_SPECS = [
    ("acme", 'Acme Calling <&> "Co"', 3, 3),
    ("beta", "Beta Outreach", 2, 2),
    ("gamma", "Gamma Surveys", 0, 2),
]


def build_world(rng: random.Random, numbers: Numbers) -> tuple[dict[str, OrgSpec], dict[str, Any]]:
    """The organizations and the `dnc-api import` document that creates them."""
    document: dict[str, list[dict[str, Any]]] = {
        "organizations": [],
        "users": [],
        "batches": [],
        "callRecords": [],
    }
    orgs: dict[str, OrgSpec] = {}
    for key, name, admins, members in ORG_SPECS:
        org_id = uuid.uuid4()
        users = [
            UserSpec(uuid.uuid4(), key, f"admin{i + 1}@{key}.soak.example", "ADMIN", True)
            for i in range(admins)
        ]
        users.append(UserSpec(uuid.uuid4(), key, f"retired@{key}.soak.example", "ADMIN", False))
        users += [
            UserSpec(uuid.uuid4(), key, f"member{i + 1}@{key}.soak.example", "MEMBER", True)
            for i in range(members)
        ]
        owners = [u for u in users if u.active]
        batches = [BatchSpec(uuid.uuid4(), key, owners[i % len(owners)].id, []) for i in range(2)]
        ownerless = BatchSpec(uuid.uuid4(), key, None, [])
        orgs[key] = OrgSpec(key, org_id, name, users, batches, ownerless)
        document["organizations"].append({"id": str(org_id), "name": name})
        for user in users:
            document["users"].append(
                {
                    "id": str(user.id),
                    "organizationId": str(org_id),
                    "email": user.email,
                    "name": user.email.split("@")[0].title(),
                    "role": user.role,
                    "active": user.active,
                }
            )
        for index, batch in enumerate([*batches, ownerless]):
            document["batches"].append(
                {
                    "id": str(batch.id),
                    "organizationId": str(org_id),
                    "ownerId": str(batch.owner_id) if batch.owner_id else None,
                    "name": f"{name} campaign {index + 1}" if index != 1 else None,
                }
            )
            for call_index in range(8):
                request_uuid = uuid.uuid4()
                batch.calls.append(request_uuid)
                document["callRecords"].append(
                    {
                        "batchId": str(batch.id),
                        "requestUUID": str(request_uuid),
                        "phoneNumber": numbers.fresh(),
                        "recordingUrl": (
                            f"https://recordings.soak.example/{request_uuid}.mp3?a=1&b=<2>"
                            if call_index % 3
                            else None
                        ),
                        "transcription": rng.choice([None, *TRICKY_TEXT]),
                        "calledAt": (
                            iso(now_utc() - timedelta(hours=call_index + 1))
                            if call_index % 4
                            else None
                        ),
                    }
                )
    return orgs, document


# ---------------------------------------------------------------------------------------------
# The servers: K `dnc-api serve` processes on one database; one can be SIGKILLed and restarted.


def dnc_api() -> list[str]:
    script = Path(sys.executable).with_name("dnc-api")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


class ServerPool:
    def __init__(self, count: int, env: dict[str, str], logdir: Path) -> None:
        self.ports = [free_port() for _ in range(count)]
        self.env = env
        self.logs: list[IO[bytes]] = [(logdir / f"server-{i}.log").open("ab") for i in range(count)]
        self.log_paths = [logdir / f"server-{i}.log" for i in range(count)]
        self.procs: list[asyncio.subprocess.Process | None] = [None] * count
        self.up = [False] * count

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    async def start(self, index: int) -> None:
        self.procs[index] = await asyncio.create_subprocess_exec(
            *dnc_api(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports[index]),
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.logs[index],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, index: int, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            proc = self.procs[index]
            if proc is None or proc.returncode is not None:
                raise RuntimeError(f"server {index} exited; see {self.log_paths[index]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.url(index) + "/readyz") as response:
                    if response.status == 200:
                        self.up[index] = True
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"server {index} not ready after 90 s; see {self.log_paths[index]}")

    async def kill(self, index: int) -> None:
        """SIGKILL: no graceful shutdown, whatever it was doing is cut off."""
        self.up[index] = False
        proc = self.procs[index]
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def pick(self, rng: random.Random) -> int:
        while True:
            ready = [i for i, up in enumerate(self.up) if up]
            if ready:
                return rng.choice(ready)
            await asyncio.sleep(0.05)

    def ready(self) -> list[int]:
        return [i for i, up in enumerate(self.up) if up]

    async def stop(self) -> None:
        for index, proc in enumerate(self.procs):
            self.up[index] = False
            if proc is not None and proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            if proc is None:
                continue
            try:
                await asyncio.wait_for(proc.wait(), timeout=45)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for log in self.logs:
            log.close()


# ---------------------------------------------------------------------------------------------
# Requests, their outcomes and their latencies.


@dataclass
class Reply:
    kind: Literal["ok", "unavailable", "ambiguous"]
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    def error_codes(self) -> list[str]:
        return sorted(
            {str((error.get("extensions") or {}).get("code") or "GRAPHQL") for error in self.errors}
        )

    def result(self, root: str) -> Any:
        return (self.data or {}).get(root)


def outcome_label(reply: Reply, root: str) -> str:
    """A short name for what came back: a union member, an error code or a transport failure."""
    if reply.kind != "ok":
        return f"transport:{reply.kind}"
    if reply.errors:
        return "error:" + "+".join(reply.error_codes())
    result = reply.result(root)
    if not isinstance(result, dict):
        return "ok"
    typename = result.get("__typename")
    if typename == "AddManyToDncResult":
        return "AddManyOk" if result.get("success") else f"ValidationError({result.get('field')})"
    if typename == "ValidationError":
        return f"ValidationError({result.get('field')})"
    if typename == "NotFoundError":
        return f"NotFoundError({result.get('code')})"
    return str(typename) if typename else "ok"


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.transport: Counter[str] = Counter()

    def request(self, op: str, seconds: float) -> None:
        self.latencies[op].append(seconds)

    def outcome(self, op: str, label: str) -> None:
        self.outcomes[op][label] += 1


class Api:
    def __init__(
        self, session: aiohttp.ClientSession, pool: ServerPool, stats: Stats, rng: random.Random
    ) -> None:
        self.session = session
        self.pool = pool
        self.stats = stats
        self.rng = rng

    async def call(
        self,
        op: str,
        token: str,
        query: str,
        variables: dict[str, Any],
        *,
        server: int | None = None,
    ) -> Reply:
        index = server if server is not None else await self.pool.pick(self.rng)
        started = time.perf_counter()
        reply: Reply
        try:
            async with self.session.post(
                self.pool.url(index) + "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                raw = await response.read()
                status = response.status
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                reply = Reply(
                    "ok",
                    errors=[{"message": raw[:200].decode(errors="replace"), "extensions": {}}],
                    detail=f"HTTP {status}, not a GraphQL response",
                )
            else:
                reply = Reply("ok", data=body.get("data"), errors=body.get("errors") or [])
        except aiohttp.ClientConnectorError as error:
            # The connection was never made: the request certainly did not reach a server.
            reply = Reply("unavailable", detail=f"{type(error).__name__}: {error}")
        except (aiohttp.ClientError, TimeoutError) as error:
            # Sent, maybe processed, answer lost (a killed server, a timeout): outcome unknown.
            reply = Reply("ambiguous", detail=f"{type(error).__name__}: {error}")
        self.stats.request(op, time.perf_counter() - started)
        if reply.kind != "ok":
            self.stats.transport[f"{reply.kind}: {reply.detail.split(':')[0]}"] += 1
        return reply


# ---------------------------------------------------------------------------------------------
# What the clients were told: the ledger the database, the outbox and the sink must match.


@dataclass(frozen=True)
class Created:
    org: str
    number: str
    user_id: uuid.UUID
    channel: str


@dataclass(frozen=True)
class Removal:
    org: str
    number: str
    user_id: uuid.UUID


@dataclass
class Uncertain:
    """A request whose answer was lost: it may have been carried out, wholly or not at all."""

    kind: Literal["add", "many", "remove"]
    org: str
    user_id: uuid.UUID
    numbers: frozenset[str]
    channel: str
    whole: frozenset[str] = frozenset()  # numbers that must be all written or none
    explained: list[str] = field(default_factory=list)  # entry ids it turned out to write


class Ledger:
    def __init__(self) -> None:
        self.created: dict[str, Created] = {}
        self.removed: dict[str, Removal] = {}
        self.digests: list[tuple[str, frozenset[str]]] = []
        self.uncertain: list[Uncertain] = []
        self.absent: dict[str, str] = {}  # number -> why it must be on no list at all
        self.touched: dict[str, set[str]] = defaultdict(set)
        self.anomalies: list[str] = []
        self.anomaly_count = 0

    def anomaly(self, text: str) -> None:
        self.anomaly_count += 1
        if len(self.anomalies) < 60:
            self.anomalies.append(text)


def short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# One client: a user of one organization doing a mix of operations, checking every answer.


@dataclass
class World:
    orgs: dict[str, OrgSpec]
    numbers: Numbers
    api: Api
    ledger: Ledger
    stats: Stats
    pool: ServerPool
    foreign_token: str  # signed with another secret
    expired_tokens: dict[str, str]


class Client:
    def __init__(self, world: World, index: int, user: UserSpec, seed: int) -> None:
        self.world = world
        self.index = index
        self.user = user
        self.org = world.orgs[user.org]
        self.rng = random.Random(seed)
        self.active: dict[str, str] = {}  # own numbers on the list -> entry id
        self.removed: list[str] = []  # own numbers taken off the list (may be added again)
        self.absent: list[str] = []  # numbers that failed to be added: never on any list
        self.oversized = False

    @property
    def is_admin(self) -> bool:
        return self.user.role == "ADMIN"

    # -- helpers ---------------------------------------------------------------------------

    def fresh(self) -> str:
        number = self.world.numbers.fresh()
        self.world.ledger.touched[self.org.key].add(number)
        return number

    def spell(self, number: str) -> str:
        return self.world.numbers.spell(number)

    def call_of(self, batch: BatchSpec | None = None) -> tuple[BatchSpec, uuid.UUID]:
        batch = batch or self.rng.choice(self.org.batches)
        return batch, self.rng.choice(batch.calls)

    def add_input(self, phone: str, **extra: Any) -> dict[str, Any]:
        batch, call = self.call_of()
        values: dict[str, Any] = {
            "phoneNumber": phone,
            "batchId": str(batch.id),
            "requestUUID": str(call),
        }
        roll = self.rng.random()
        if roll < 0.7:
            values["reason"] = self.rng.choice(REASONS)
        if roll < 0.4:
            values["note"] = self.rng.choice(TRICKY_TEXT)
        elif roll < 0.42:
            values["note"] = "n" * NOTE_LIMIT  # exactly at the bound: accepted
        if self.rng.random() < 0.1:
            values["expiresAt"] = iso(now_utc() + timedelta(days=30))
        values.update(extra)
        return values

    def judge(
        self, op: str, reply: Reply, root: str, expected: Iterable[str], case: str = ""
    ) -> str:
        label = outcome_label(reply, root)
        self.world.stats.outcome(op, label)
        allowed = set(expected)
        if reply.kind == "ok" and label not in allowed:
            self.world.ledger.anomaly(
                f"{op}{' ' + case if case else ''} ({self.user.email}): expected "
                f"{' or '.join(sorted(allowed))}, got {label}: {short(reply.data or reply.errors)}"
            )
        return label

    def never_added(self, number: str, why: str) -> None:
        self.world.ledger.absent[number] = why
        self.absent.append(number)

    def settle_add(
        self, op: str, reply: Reply, label: str, number: str, user: UserSpec, *, may_write: bool
    ) -> None:
        """Record the outcome of an addToDnc of a number this client owns."""
        ledger = self.world.ledger
        result = reply.result("addToDnc")
        if label == "AddToDncSuccess" and isinstance(result, dict):
            entry = result["entry"]
            if entry["phoneNumber"] != number or entry["status"] != "ACTIVE":
                ledger.anomaly(f"{op}: added {number}, answer has {short(entry)}")
            if entry.get("channel") != "VOICE_CALL":
                ledger.anomaly(f"{op}: channel {entry.get('channel')} for addToDnc")
            ledger.created[entry["id"]] = Created(self.org.key, number, user.id, "VOICE_CALL")
            self.active[number] = entry["id"]
        elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
            if may_write:
                ledger.uncertain.append(
                    Uncertain("add", self.org.key, user.id, frozenset({number}), "VOICE_CALL")
                )
            else:
                ledger.absent[number] = f"{op} (answer lost)"
        else:
            self.never_added(number, f"{op}: {label}")

    # -- operations ------------------------------------------------------------------------

    async def add_new(self) -> None:
        number = self.fresh()
        reply = await self.world.api.call(
            "addToDnc:new", self.user.token, ADD, {"input": self.add_input(self.spell(number))}
        )
        label = self.judge("addToDnc:new", reply, "addToDnc", ["AddToDncSuccess"])
        self.settle_add("addToDnc:new", reply, label, number, self.user, may_write=True)

    async def add_again(self) -> None:
        """A number already on the list: AlreadyOnDncError with the existing entry."""
        if not self.active:
            return await self.add_new()
        number = self.rng.choice(list(self.active))
        reply = await self.world.api.call(
            "addToDnc:duplicate",
            self.user.token,
            ADD,
            {"input": self.add_input(self.spell(number))},
        )
        label = self.judge("addToDnc:duplicate", reply, "addToDnc", ["AlreadyOnDncError"])
        result = reply.result("addToDnc")
        if label == "AlreadyOnDncError" and result["entry"]["id"] != self.active[number]:
            self.world.ledger.anomaly(
                f"addToDnc:duplicate {number}: existing entry {self.active[number]}, "
                f"answer names {result['entry']['id']}"
            )
        return None

    async def add_removed(self) -> None:
        """A number that was removed: a new ACTIVE entry, the old one stays REMOVED."""
        if not self.removed:
            return await self.add_new()
        number = self.removed.pop(self.rng.randrange(len(self.removed)))
        reply = await self.world.api.call(
            "addToDnc:readd", self.user.token, ADD, {"input": self.add_input(self.spell(number))}
        )
        label = self.judge("addToDnc:readd", reply, "addToDnc", ["AddToDncSuccess"])
        if label == "AddToDncSuccess" or reply.kind == "ambiguous":
            self.settle_add("addToDnc:readd", reply, label, number, self.user, may_write=True)
        elif reply.kind == "unavailable":
            self.removed.append(number)
        return None

    async def add_invalid(self) -> None:
        """One of the contract's failure cases: its union member, and nothing written."""
        org, rng = self.org, self.rng
        other = self.world.orgs[rng.choice([k for k in self.world.orgs if k != org.key])]
        batch = self.rng.choice(self.org.batches)
        token = self.user.token
        cases = [
            "bad_number",
            "long_note",
            "past_expiry",
            "unknown_batch",
            "batch_not_uuid",
            "other_org_batch",
            "ownerless_batch",
            "unknown_call",
            "call_of_other_batch",
            "bad_number_and_batch",
            "long_note_and_batch",
            "listed_and_batch",
            "listed_and_owner",
            "listed_and_call",
            "request_uuid_not_uuid",
            "inactive_admin",
            "expired_token",
            "foreign_token",
        ]
        case = rng.choice(cases)
        listed = rng.choice(list(self.active)) if self.active else None
        fresh = self.fresh()
        number: str | None = fresh
        values = self.add_input(self.spell(fresh))
        expected = ""
        if case == "bad_number":
            number = None
            values["phoneNumber"] = rng.choice(BAD_ADD_NUMBERS)
            expected = "ValidationError(phoneNumber)"
        elif case == "long_note":
            values["note"] = "x" * (NOTE_LIMIT + 1)
            expected = "ValidationError(note)"
        elif case == "past_expiry":
            values["expiresAt"] = iso(now_utc() - timedelta(hours=1))
            expected = "ValidationError(expiresAt)"
        elif case == "unknown_batch":
            values["batchId"] = str(uuid.uuid4())
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "batch_not_uuid":
            values["batchId"] = "batch-42"
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "other_org_batch":
            foreign = rng.choice(other.batches)
            values["batchId"] = str(foreign.id)
            values["requestUUID"] = str(rng.choice(foreign.calls))
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "ownerless_batch":
            values["batchId"] = str(org.ownerless.id)
            values["requestUUID"] = str(rng.choice(org.ownerless.calls))
            expected = "NotFoundError(USER_NOT_FOUND)"
        elif case == "unknown_call":
            values["requestUUID"] = str(uuid.uuid4())
            expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "call_of_other_batch":
            second = next(b for b in org.batches if b.id != batch.id)
            values["batchId"], values["requestUUID"] = str(batch.id), str(rng.choice(second.calls))
            expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "bad_number_and_batch":
            number = None
            values["phoneNumber"] = rng.choice(BAD_ADD_NUMBERS)
            values["batchId"] = str(uuid.uuid4())
            values["note"] = "x" * (NOTE_LIMIT + 1)
            expected = "ValidationError(phoneNumber)"
        elif case == "long_note_and_batch":
            values["note"] = "x" * (NOTE_LIMIT + 1)
            values["batchId"] = str(uuid.uuid4())
            expected = "ValidationError(note)"
        elif case in {"listed_and_batch", "listed_and_owner", "listed_and_call"} and listed:
            # Already on the list, but an earlier rule applies first.
            number = None
            values["phoneNumber"] = self.spell(listed)
            if case == "listed_and_batch":
                values["batchId"] = str(uuid.uuid4())
                expected = "NotFoundError(BATCH_NOT_FOUND)"
            elif case == "listed_and_owner":
                values["batchId"] = str(org.ownerless.id)
                values["requestUUID"] = str(rng.choice(org.ownerless.calls))
                expected = "NotFoundError(USER_NOT_FOUND)"
            else:
                values["requestUUID"] = str(uuid.uuid4())
                expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "request_uuid_not_uuid":
            values["requestUUID"] = "not-a-uuid"
        elif case == "inactive_admin":
            token = org.inactive_admin.token
            expected = "error:UNAUTHENTICATED"
        elif case == "expired_token":
            token = self.world.expired_tokens[org.key]
            expected = "error:UNAUTHENTICATED"
        elif case == "foreign_token":
            token = self.world.foreign_token
            expected = "error:UNAUTHENTICATED"
        else:  # a "listed_*" case with nothing listed yet
            values["batchId"] = str(uuid.uuid4())
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        op = f"addToDnc:invalid:{case}"
        reply = await self.world.api.call("addToDnc:invalid", token, ADD, {"input": values})
        if case == "request_uuid_not_uuid":
            # A standard GraphQL validation error: any code but a masked one, and no data.
            label = outcome_label(reply, "addToDnc")
            standard = label.startswith("error:") and "INTERNAL_SERVER_ERROR" not in label
            expected = label if standard and reply.data is None else "error:(standard, no data)"
        label = self.judge("addToDnc:invalid", reply, "addToDnc", [expected], case=case)
        if number is not None:
            if label == "AddToDncSuccess":  # already an anomaly; keep the ledger true
                self.settle_add(op, reply, label, number, self.user, may_write=True)
            else:
                self.never_added(number, op)

    async def race(self) -> None:
        """Several users add the same new number at the same instant, through different
        servers (sometimes one of them through addManyToDnc): exactly one wins."""
        org, rng, api, ledger = self.org, self.rng, self.world.api, self.world.ledger
        number = self.fresh()
        racers = rng.sample(org.active_users, min(3, len(org.active_users)))
        while len(racers) < 3:
            racers.append(rng.choice(org.active_users))
        many_by = rng.choice(org.admins) if org.admins and rng.random() < 0.3 else None
        companion = self.fresh() if many_by else None
        many_channel = rng.choice(MANY_CHANNELS)
        servers = self.world.pool.ready() or [0]
        gate = asyncio.Event()

        async def add(position: int, user: UserSpec) -> Reply:
            variables = {"input": self.add_input(self.spell(number))}
            await gate.wait()
            server = servers[position % len(servers)]
            return await api.call("addToDnc:race", user.token, ADD, variables, server=server)

        async def add_many(user: UserSpec, other: str) -> Reply:
            variables = {
                "input": {
                    "channel": many_channel,
                    "entries": [{"phoneNumber": self.spell(number)}, {"phoneNumber": other}],
                }
            }
            await gate.wait()
            server = servers[len(racers) % len(servers)]
            return await api.call(
                "addManyToDnc:race", user.token, ADD_MANY, variables, server=server
            )

        tasks = [asyncio.create_task(add(i, user)) for i, user in enumerate(racers)]
        many_task = (
            asyncio.create_task(add_many(many_by, companion)) if many_by and companion else None
        )
        await asyncio.sleep(0)
        gate.set()
        replies = await asyncio.gather(*tasks)
        many_reply = await many_task if many_task else None

        winners: list[tuple[str, UserSpec, str]] = []  # (entry id, user, channel)
        losers: list[str] = []
        lost_answers: list[UserSpec] = []
        for user, reply in zip(racers, replies, strict=True):
            label = self.judge(
                "addToDnc:race", reply, "addToDnc", ["AddToDncSuccess", "AlreadyOnDncError"]
            )
            result = reply.result("addToDnc")
            if label == "AddToDncSuccess":
                if result["entry"]["phoneNumber"] != number:
                    ledger.anomaly(f"race {number}: answer has {short(result['entry'])}")
                winners.append((result["entry"]["id"], user, "VOICE_CALL"))
            elif label == "AlreadyOnDncError":
                losers.append(result["entry"]["id"])
            elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                lost_answers.append(user)
        many_lost = False
        if many_by and companion and many_reply:
            label = self.judge("addManyToDnc:race", many_reply, "addManyToDnc", ["AddManyOk"])
            result = many_reply.result("addManyToDnc")
            if label == "AddManyOk":
                first, second = result["items"]
                if second["status"] != "ADDED":
                    ledger.anomaly(f"race: companion {companion} not ADDED: {short(second)}")
                elif first["status"] == "ADDED":
                    winners.append((first["entry"]["id"], many_by, many_channel))
                elif first["status"] == "ALREADY_ON_DNC":
                    losers.append(first["entry"]["id"])
                else:
                    ledger.anomaly(f"race: {number} INVALID in addManyToDnc: {short(first)}")
                added = {number} if first["status"] == "ADDED" else set()
                if second["status"] == "ADDED":
                    added.add(companion)
                    ledger.created[second["entry"]["id"]] = Created(
                        org.key, companion, many_by.id, many_channel
                    )
                    self.active[companion] = second["entry"]["id"]
                if added:
                    ledger.digests.append((org.key, frozenset(added)))
            elif many_reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                many_lost = True
            else:
                self.never_added(companion, f"addManyToDnc:race {label}")

        ids = {entry_id for entry_id, _, _ in winners} | set(losers)
        uncertain = bool(lost_answers or many_lost)
        every = [*replies, *([many_reply] if many_reply else [])]
        if all(reply.kind == "unavailable" for reply in every):
            # No racer reached a server (the only one was down): nothing can have been written.
            self.never_added(number, "race: no server reachable")
            return
        if len(winners) > 1 or len(ids) > 1 or (not winners and not uncertain):
            ledger.anomaly(
                f"race for {number}: {len(winners)} successes, entries named {sorted(ids)} "
                f"({len(lost_answers) + many_lost} answers lost)"
            )
        if many_lost and many_by and companion:
            # Its companion is new: written if that call committed, whoever won the race.
            ledger.uncertain.append(
                Uncertain(
                    "many",
                    org.key,
                    many_by.id,
                    frozenset({number, companion}),
                    many_channel,
                    whole=frozenset({companion}),
                )
            )
        if winners:
            entry_id, user, channel = winners[0]
            ledger.created[entry_id] = Created(org.key, number, user.id, channel)
            self.active[number] = entry_id
            return
        # No answer said who won: the number is only checked at the end, against the database.
        for user in lost_answers:
            ledger.uncertain.append(
                Uncertain("add", org.key, user.id, frozenset({number}), "VOICE_CALL")
            )

    async def add_many(self) -> None:
        """A bulk add (ADMIN): new numbers (some twice), numbers already listed, invalid items."""
        rng, ledger = self.rng, self.world.ledger
        if not self.oversized and rng.random() < 0.01:
            self.oversized = True
            return await self.add_many_oversized()
        channel = rng.choice(MANY_CHANNELS)
        fresh = [self.fresh() for _ in range(rng.choice([0, 1, 2, 5, 10, 25, 40]))]
        listed = rng.sample(list(self.active), min(len(self.active), rng.randint(0, 4)))
        entries: list[tuple[dict[str, Any], str, str | None]] = []
        for number in fresh:
            item: dict[str, Any] = {"phoneNumber": self.spell(number)}
            if rng.random() < 0.5:
                item["reason"] = rng.choice(REASONS)
            if rng.random() < 0.3:
                item["note"] = rng.choice(TRICKY_TEXT)
            if rng.random() < 0.2:
                item["requestedAt"] = iso(now_utc() - timedelta(days=rng.randint(0, 30)))
            entries.append((item, "new", number))
        for number in rng.sample(fresh, min(len(fresh), rng.randint(0, 3))):
            entries.append(({"phoneNumber": self.spell(number)}, "new", number))
        for number in listed:
            entries.append(({"phoneNumber": self.spell(number)}, "listed", number))
        doomed: list[str] = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["number", "note", "expiry", "requested"])
            if kind == "number":
                entries.append(({"phoneNumber": rng.choice(BAD_ADD_NUMBERS)}, "invalid", None))
                continue
            number = self.fresh()
            doomed.append(number)
            item = {"phoneNumber": self.spell(number)}
            if kind == "note":
                item["note"] = "y" * (NOTE_LIMIT + 1)
            elif kind == "expiry":
                item["expiresAt"] = iso(now_utc() - timedelta(minutes=5))
            else:
                item["requestedAt"] = iso(now_utc() + timedelta(days=1))
            entries.append((item, "invalid", None))
        rng.shuffle(entries)
        reply = await self.world.api.call(
            "addManyToDnc",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": channel, "entries": [item for item, _, _ in entries]}},
        )
        label = self.judge("addManyToDnc", reply, "addManyToDnc", ["AddManyOk"])
        for number in doomed:
            self.never_added(number, "addManyToDnc invalid item")
        new = set(fresh)
        if reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
            if new:
                ledger.uncertain.append(
                    Uncertain(
                        "many", self.org.key, self.user.id, frozenset(new), channel, frozenset(new)
                    )
                )
            return None
        if label != "AddManyOk":
            for number in new:
                self.never_added(number, f"addManyToDnc {label}")
            return None
        result = reply.result("addManyToDnc")
        counts = (result["added"], result["alreadyOnDnc"], result["invalid"])
        want = (len(new), len(set(listed)), sum(1 for _, kind, _ in entries if kind == "invalid"))
        if counts != want:
            ledger.anomaly(f"addManyToDnc counts {counts}, expected {want}")
        items = result["items"]
        if len(items) != len(entries):
            ledger.anomaly(f"addManyToDnc: {len(items)} items for {len(entries)} entries")
            return None
        ids: dict[str, str] = {}
        for (sent, kind, canonical), item in zip(entries, items, strict=True):
            status = {"new": "ADDED", "listed": "ALREADY_ON_DNC", "invalid": "INVALID"}[kind]
            entry = item.get("entry")
            if item["status"] != status:
                ledger.anomaly(f"addManyToDnc item {sent['phoneNumber']!r}: {short(item)}")
                continue
            if item["phoneNumber"] not in {sent["phoneNumber"], canonical}:
                ledger.anomaly(f"addManyToDnc item echoes {item['phoneNumber']!r}")
            if canonical is None:
                continue
            if not entry or entry["phoneNumber"] != canonical:
                ledger.anomaly(f"addManyToDnc item for {canonical}: {short(item)}")
                continue
            if kind == "listed" and entry["id"] != self.active.get(canonical):
                ledger.anomaly(f"addManyToDnc {canonical}: listed as {self.active.get(canonical)}")
            if kind == "new":
                if ids.setdefault(canonical, entry["id"]) != entry["id"]:
                    ledger.anomaly(f"addManyToDnc: {canonical} twice in the input, two entries")
                if entry["channel"] != channel:
                    ledger.anomaly(f"addManyToDnc {canonical}: channel {entry['channel']}")
        for number, entry_id in ids.items():
            ledger.created[entry_id] = Created(self.org.key, number, self.user.id, channel)
            self.active[number] = entry_id
        if ids:
            ledger.digests.append((self.org.key, frozenset(ids)))
        return None

    async def add_many_oversized(self) -> None:
        """Over 10,000 entries: ValidationError on `entries`, nothing written."""
        numbers = [self.fresh() for _ in range(3)]
        entries = [{"phoneNumber": self.spell(numbers[i % 3])} for i in range(MANY_LIMIT + 1)]
        reply = await self.world.api.call(
            "addManyToDnc:oversized",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": "IMPORT", "entries": entries}},
        )
        self.judge("addManyToDnc:oversized", reply, "addManyToDnc", ["ValidationError(entries)"])
        for number in numbers:
            self.never_added(number, "addManyToDnc over 10,000 entries")

    async def forbidden(self) -> None:
        """A MEMBER calling an ADMIN-only mutation: FORBIDDEN, nothing written."""
        if self.rng.random() < 0.5 and self.active:
            number = self.rng.choice(list(self.active))
            reply = await self.world.api.call(
                "removeFromDnc:member",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": "member tries"}},
            )
            self.judge("removeFromDnc:member", reply, "removeFromDnc", ["error:FORBIDDEN"])
            return
        number = self.fresh()
        reply = await self.world.api.call(
            "addManyToDnc:member",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": "WEB", "entries": [{"phoneNumber": number}]}},
        )
        self.judge("addManyToDnc:member", reply, "addManyToDnc", ["error:FORBIDDEN"])
        self.never_added(number, "addManyToDnc by a MEMBER")

    async def remove(self) -> None:
        """removeFromDnc (ADMIN): mostly own listed numbers; sometimes the error cases."""
        rng, ledger = self.rng, self.world.ledger
        roll = rng.random()
        if roll < 0.75 and self.active:
            number = rng.choice(list(self.active))
            reason = rng.choice(["entered by mistake", *TRICKY_TEXT])
            reply = await self.world.api.call(
                "removeFromDnc",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": reason}},
            )
            label = self.judge("removeFromDnc", reply, "removeFromDnc", ["RemoveFromDncSuccess"])
            entry_id = self.active[number]
            if label == "RemoveFromDncSuccess":
                entry = reply.result("removeFromDnc")["entry"]
                if entry["id"] != entry_id or entry["status"] != "REMOVED":
                    ledger.anomaly(f"removeFromDnc {number} ({entry_id}): {short(entry)}")
                ledger.removed[entry_id] = Removal(self.org.key, number, self.user.id)
                del self.active[number]
                self.removed.append(number)
            elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                ledger.uncertain.append(
                    Uncertain("remove", self.org.key, self.user.id, frozenset({number}), "")
                )
                del self.active[number]
            return
        if roll < 0.85:
            pool = self.absent + self.removed
            number = rng.choice(pool) if pool else self.fresh()
            if not pool:
                self.never_added(number, "only ever removed")
            reply = await self.world.api.call(
                "removeFromDnc:unlisted",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": "not on the list"}},
            )
            self.judge(
                "removeFromDnc:unlisted",
                reply,
                "removeFromDnc",
                ["NotFoundError(ENTRY_NOT_FOUND)"],
            )
            return
        if roll < 0.93 and self.active:
            number = rng.choice(list(self.active))
            variables = {"input": {"phoneNumber": self.spell(number), "reason": "   "}}
            expected = "ValidationError(reason)"
        else:
            variables = {"input": {"phoneNumber": rng.choice(BAD_ADD_NUMBERS), "reason": "typo"}}
            expected = "ValidationError(phoneNumber)"
        reply = await self.world.api.call(
            "removeFromDnc:invalid", self.user.token, REMOVE, variables
        )
        self.judge("removeFromDnc:invalid", reply, "removeFromDnc", [expected])

    async def list_entries(self) -> None:
        """Walk a few pages of dncEntries: newest first, no repeats, every node matches."""
        rng, ledger, api = self.rng, self.world.ledger, self.world.api
        if rng.random() < 0.05:
            bad: dict[str, Any] = rng.choice(
                [{"first": 0}, {"first": 501}, {"after": "bm90LWEtY3Vyc29y"}]
            )
            reply = await api.call("dncEntries:invalid", self.user.token, ENTRIES, bad)
            self.judge("dncEntries:invalid", reply, "dncEntries", ["error:BAD_USER_INPUT"])
            return
        filters: list[dict[str, Any] | None] = [
            None,
            {"status": "REMOVED"},
            {"status": None},
            {"channel": rng.choice(["VOICE_CALL", *MANY_CHANNELS])},
            {"reason": rng.choice(REASONS)},
            {"batchId": str(rng.choice(self.org.batches).id)},
        ]
        mine = rng.choice(list(self.active)) if self.active else None
        if mine:
            filters.append({"phoneNumberContains": mine[1:]})
        where = rng.choice(filters)
        first = rng.choice([None, 1, 7, 20, 50, 100])
        size = first or 50
        after: str | None = None
        seen: set[str] = set()
        last: tuple[datetime, uuid.UUID] | None = None
        found_mine = False
        for _ in range(rng.randint(1, 4)):
            variables: dict[str, Any] = {"first": first, "after": after}
            if where is not None:
                variables["filter"] = where
            reply = await api.call("dncEntries", self.user.token, ENTRIES, variables)
            if self.judge("dncEntries", reply, "dncEntries", ["ok"]) != "ok":
                return
            page = reply.result("dncEntries")
            edges = page["edges"]
            for edge in edges:
                node = edge["node"]
                key = (datetime.fromisoformat(node["createdAt"]), uuid.UUID(node["id"]))
                if node["id"] in seen:
                    ledger.anomaly(f"dncEntries: {node['id']} on two pages")
                if last is not None and not key < last:
                    ledger.anomaly(f"dncEntries: {key} after {last}: not newest first")
                seen.add(node["id"])
                last = key
                if not self.matches(node, where):
                    ledger.anomaly(f"dncEntries filter {where}: node {short(node)}")
                if mine and node["id"] == self.active.get(mine):
                    found_mine = True
            info = page["pageInfo"]
            if len(edges) > size or (info["hasNextPage"] and len(edges) != size):
                ledger.anomaly(f"dncEntries first={first}: {len(edges)} edges, {short(info)}")
            if edges and info["endCursor"] != edges[-1]["cursor"]:
                ledger.anomaly("dncEntries: endCursor is not the last edge's cursor")
            if not info["hasNextPage"]:
                if where and "phoneNumberContains" in where and mine and not found_mine:
                    ledger.anomaly(f"dncEntries: own listed {mine} not found by its digits")
                return
            after = info["endCursor"]

    @staticmethod
    def matches(node: dict[str, Any], where: dict[str, Any] | None) -> bool:
        where = where or {}
        status = where.get("status", "ACTIVE")
        if status is not None and node["status"] != status:
            return False
        if "channel" in where and node["channel"] != where["channel"]:
            return False
        if "reason" in where and node["reason"] != where["reason"]:
            return False
        if "batchId" in where and (node["batch"] or {}).get("id") != where["batchId"]:
            return False
        return not (
            "phoneNumberContains" in where
            and where["phoneNumberContains"] not in node["phoneNumber"]
        )

    async def get_entry(self) -> None:
        """dncEntry: the entry of a listed number in any spelling, null otherwise."""
        rng, ledger = self.rng, self.world.ledger
        roll = rng.random()
        if roll < 0.5 and self.active:
            number = rng.choice(list(self.active))
            reply = await self.world.api.call(
                "dncEntry", self.user.token, ENTRY, {"phoneNumber": self.spell(number)}
            )
            if self.judge("dncEntry", reply, "dncEntry", ["ok"]) == "ok":
                entry = reply.result("dncEntry")
                if not entry or entry["id"] != self.active[number] or entry["status"] != "ACTIVE":
                    ledger.anomaly(f"dncEntry {number}: want {self.active[number]}, {short(entry)}")
            return
        if roll < 0.9:
            pool = self.absent + self.removed + self.foreign_numbers(5)
            if not pool:
                return
            number = rng.choice(pool)
            reply = await self.world.api.call(
                "dncEntry", self.user.token, ENTRY, {"phoneNumber": self.spell(number)}
            )
            if self.judge("dncEntry", reply, "dncEntry", ["ok"]) == "ok" and reply.result(
                "dncEntry"
            ):
                ledger.anomaly(f"dncEntry {number} (not listed here): {short(reply.data)}")
            return
        reply = await self.world.api.call(
            "dncEntry:invalid", self.user.token, ENTRY, {"phoneNumber": "12345"}
        )
        self.judge("dncEntry:invalid", reply, "dncEntry", ["error:BAD_USER_INPUT"])

    def foreign_numbers(self, count: int) -> list[str]:
        """Numbers used by other organizations: never on this one's list."""
        others = [k for k in self.world.orgs if k != self.org.key]
        pool = list(self.world.ledger.touched[self.rng.choice(others)])
        return self.rng.sample(pool, min(count, len(pool)))

    async def check(self) -> None:
        """dncCheck of a mixed list: exactly the own listed numbers are blocked."""
        rng, ledger = self.rng, self.world.ledger
        inputs: list[tuple[str, str]] = []
        listed = rng.sample(list(self.active), min(len(self.active), rng.randint(0, 40)))
        inputs += [(self.spell(n), "blocked") for n in listed]
        unlisted = self.absent + self.removed
        inputs += [(self.spell(n), "free") for n in rng.sample(unlisted, min(len(unlisted), 30))]
        inputs += [(self.spell(n), "free") for n in self.foreign_numbers(20)]
        inputs += [(s, "invalid") for s in rng.sample(BAD_CHECK_NUMBERS, rng.randint(0, 3))]
        inputs += [(s, "free") for s in NEUTRAL_CHECK_NUMBERS]
        if rng.random() < 0.02:
            # A campaign-sized scrub: many numbers that are on no list at all.
            base = rng.randint(10**9, 9 * 10**9)
            inputs += [(f"+999{base + i}", "free") for i in range(20_000)]
        rng.shuffle(inputs)
        op = "dncCheck:large" if len(inputs) > 1000 else "dncCheck"
        reply = await self.world.api.call(
            op, self.user.token, CHECK, {"phoneNumbers": [s for s, _ in inputs]}
        )
        if self.judge(op, reply, "dncCheck", ["ok"]) != "ok":
            return
        result = reply.result("dncCheck")
        want_blocked = [s for s, kind in inputs if kind == "blocked"]
        want_invalid = [s for s, kind in inputs if kind == "invalid"]
        if result["blocked"] != want_blocked:
            missing = set(want_blocked) - set(result["blocked"])
            extra = set(result["blocked"]) - set(want_blocked)
            ledger.anomaly(f"dncCheck blocked: missing {sorted(missing)}, extra {sorted(extra)}")
        if result["invalid"] != want_invalid:
            ledger.anomaly(f"dncCheck invalid {result['invalid']}, expected {want_invalid}")
        if result["checked"] != len(inputs):
            ledger.anomaly(f"dncCheck checked {result['checked']} of {len(inputs)}")

    async def auth(self) -> None:
        """Tokens that must not work: UNAUTHENTICATED (and a good one that must)."""
        rng = self.rng
        token, expected = rng.choice(
            [
                (self.org.inactive_admin.token, "error:UNAUTHENTICATED"),
                (self.world.expired_tokens[self.org.key], "error:UNAUTHENTICATED"),
                (self.world.foreign_token, "error:UNAUTHENTICATED"),
                ("not.a.token", "error:UNAUTHENTICATED"),
                (self.user.token, "ok"),
            ]
        )
        reply = await self.world.api.call("me", token, ME, {})
        self.judge("me", reply, "me", [expected])

    # -- the loop --------------------------------------------------------------------------

    def mix(self) -> list[tuple[Callable[[], Awaitable[None]], int]]:
        ops: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.add_new, 30),
            (self.add_again, 8),
            (self.add_removed, 3),
            (self.add_invalid, 10),
            (self.race, 4),
            (self.list_entries, 8),
            (self.get_entry, 8),
            (self.check, 10),
            (self.auth, 1),
        ]
        if self.is_admin:
            ops += [(self.add_many, 5), (self.remove, 6)]
        else:
            ops += [(self.forbidden, 2)]
        return ops

    async def run(self, deadline: float) -> None:
        ops = self.mix()
        actions = [op for op, _ in ops]
        weights = [weight for _, weight in ops]
        while time.monotonic() < deadline:
            action = self.rng.choices(actions, weights)[0]
            try:
                await action()
            except Exception as error:
                self.world.ledger.anomaly(
                    f"client {self.index} {action.__name__} crashed: {type(error).__name__}: "
                    f"{error}"
                )


# ---------------------------------------------------------------------------------------------
# Faults: SMTP refusing for a while, a server SIGKILLed and started again.


@dataclass
class FaultLog:
    smtp_refusal: tuple[float, float] | None = None
    kills: list[tuple[int, float, float]] = field(default_factory=list)  # server, down, up again


async def inject_faults(
    pool: ServerPool,
    sink: SmtpSink,
    session: aiohttp.ClientSession,
    started: float,
    duration: float,
    rng: random.Random,
    log: FaultLog,
) -> None:
    async def at(fraction: float) -> None:
        await asyncio.sleep(max(0.0, started + fraction * duration - time.monotonic()))

    refuse_for = min(20.0, max(5.0, 0.15 * duration))
    kills = [0.45] + ([0.75] if duration >= 180 else [])
    first = rng.randrange(len(pool.ports))
    try:
        await at(0.2)
        sink.refusing = True
        begin = time.monotonic() - started
        await asyncio.sleep(refuse_for)
        sink.refusing = False
        log.smtp_refusal = (begin, time.monotonic() - started)
        for number, fraction in enumerate(kills):
            await at(fraction)
            index = (first + number) % len(pool.ports)  # another server each time
            down = time.monotonic() - started
            await pool.kill(index)
            await asyncio.sleep(2.0)
            await pool.start(index)
            await pool.wait_ready(index, session)
            log.kills.append((index, down, time.monotonic() - started))
    finally:
        sink.refusing = False


# ---------------------------------------------------------------------------------------------
# The end: drain the outbox, then reconcile the database, the outbox, the sink and the API.


@dataclass
class Drain:
    done: bool
    seconds: float
    backlog: int  # emails not yet sent when the clients stopped
    counts: dict[str, int]


async def wait_drained(database_url: str, within: float) -> Drain:
    """Until no email is PENDING or SENDING (FAILED is final, and a mismatch)."""
    started = time.monotonic()
    backlog = -1
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            rows = await conn.fetch("SELECT status, count(*) AS n FROM email_outbox GROUP BY 1")
            counts = {str(row["status"]): int(row["n"]) for row in rows}
            waiting = sum(n for status, n in counts.items() if status in {"PENDING", "SENDING"})
            backlog = waiting if backlog < 0 else backlog
            elapsed = time.monotonic() - started
            if not waiting or elapsed > within:
                return Drain(not waiting, elapsed, backlog, counts)
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


@dataclass
class Snapshot:
    entries: list[asyncpg.Record]
    outbox: list[asyncpg.Record]
    events: list[asyncpg.Record]
    users: list[asyncpg.Record]


async def read_database(database_url: str) -> Snapshot:
    conn = await asyncpg.connect(database_url)
    try:
        return Snapshot(
            entries=await conn.fetch(
                "SELECT id::text, organization_id, phone_number, status, channel, added_by_id,"
                " removed_by_id, created_at FROM dnc_entry"
            ),
            outbox=await conn.fetch(
                "SELECT id::text, organization_id, dnc_entry_id::text, recipient, subject,"
                " body_text, status, attempts FROM email_outbox"
            ),
            events=await conn.fetch(
                "SELECT entry_id::text, organization_id, phone_number, action FROM dnc_event"
            ),
            users=await conn.fetch("SELECT id, organization_id, email, role, active FROM app_user"),
        )
    finally:
        await conn.close()


DIGEST_LINE = re.compile(r"\+[0-9]{8,15}")


@dataclass
class Reconciliation:
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    active: dict[str, dict[str, str]] = field(default_factory=dict)  # org -> number -> id
    removed: dict[str, set[str]] = field(default_factory=dict)  # org -> entry ids

    def fail(self, text: str) -> None:
        if len(self.failures) < 80:
            self.failures.append(text)
        self.figures["failure_count"] = self.figures.get("failure_count", 0) + 1


def reconcile_database(
    orgs: dict[str, OrgSpec], ledger: Ledger, snapshot: Snapshot
) -> Reconciliation:
    """Every entry, event and email row is explained by an answer a client got, exactly."""
    out = Reconciliation()
    org_key = {org.id: key for key, org in orgs.items()}
    entries = {row["id"]: row for row in snapshot.entries}
    made: dict[str, Created] = {}  # every entry that exists, with how it came to be

    for entry_id, created in ledger.created.items():
        row = entries.get(entry_id)
        if row is None:
            out.fail(f"entry {entry_id} ({created.number}) was answered as added but is missing")
            continue
        if (org_key.get(row["organization_id"]), row["phone_number"], row["added_by_id"]) != (
            created.org,
            created.number,
            created.user_id,
        ) or row["channel"] != created.channel:
            out.fail(f"entry {entry_id}: {dict(row)} does not match what was answered {created}")
        made[entry_id] = created

    resolved = Counter[str]()
    for entry_id, row in entries.items():
        if entry_id in made:
            continue
        key = org_key.get(row["organization_id"], "?")
        number = row["phone_number"]
        for candidate in ledger.uncertain:
            if (
                candidate.kind in {"add", "many"}
                and candidate.org == key
                and candidate.user_id == row["added_by_id"]
                and candidate.channel == row["channel"]
                and number in candidate.numbers
                and (candidate.kind == "many" or not candidate.explained)
                and not any(entries[e]["phone_number"] == number for e in candidate.explained)
            ):
                candidate.explained.append(entry_id)
                made[entry_id] = Created(key, number, row["added_by_id"], row["channel"])
                resolved[candidate.kind] += 1
                break
        else:
            out.fail(
                f"entry {entry_id} ({key} {number} {row['status']}) was never answered as added"
            )
    for candidate in ledger.uncertain:
        if candidate.kind != "many" or not candidate.explained:
            continue
        numbers = {entries[e]["phone_number"] for e in candidate.explained}
        moments = {entries[e]["created_at"] for e in candidate.explained}
        if not candidate.whole <= numbers or len(moments) != 1:
            out.fail(f"a lost addManyToDnc wrote only part of its numbers: {sorted(numbers)}")
        ledger.digests.append((candidate.org, frozenset(numbers)))

    removed_by_uncertain = 0
    for entry_id, row in entries.items():
        key = org_key.get(row["organization_id"], "?")
        out.active.setdefault(key, {})
        out.removed.setdefault(key, set())
        removal = ledger.removed.get(entry_id)
        if row["status"] == "ACTIVE":
            if removal is not None:
                out.fail(f"entry {entry_id} ({row['phone_number']}) was removed but is ACTIVE")
            if row["phone_number"] in out.active[key]:
                out.fail(f"{key} {row['phone_number']} has two ACTIVE entries")
            out.active[key][row["phone_number"]] = entry_id
        elif row["status"] == "REMOVED":
            out.removed[key].add(entry_id)
            if removal is not None:
                if row["removed_by_id"] != removal.user_id:
                    out.fail(f"entry {entry_id} removed by {row['removed_by_id']}, not {removal}")
                continue
            for candidate in ledger.uncertain:
                if (
                    candidate.kind == "remove"
                    and candidate.org == key
                    and row["phone_number"] in candidate.numbers
                    and candidate.user_id == row["removed_by_id"]
                    and not candidate.explained
                ):
                    candidate.explained.append(entry_id)
                    removed_by_uncertain += 1
                    break
            else:
                out.fail(f"entry {entry_id} ({row['phone_number']}) is REMOVED; no removal was")
        else:
            out.fail(f"entry {entry_id} is {row['status']}; nothing here expires")

    for number, why in ledger.absent.items():
        holders = [e for e, row in entries.items() if row["phone_number"] == number]
        if holders:
            out.fail(f"{number} failed to be added ({why}) but has entries {holders}")

    for row in snapshot.outbox:
        for number in DIGEST_LINE.findall(str(row["body_text"])):
            if number in ledger.absent:
                out.fail(f"email {row['id']} names {number}, whose add failed")

    events = Counter[tuple[str | None, str]]()
    for event in snapshot.events:
        events[(event["entry_id"], str(event["action"]))] += 1
        row = entries.get(event["entry_id"])
        if row is None or row["phone_number"] != event["phone_number"]:
            out.fail(f"event {dict(event)} does not match its entry")
    want_events = Counter[tuple[str | None, str]]()
    for entry_id, row in entries.items():
        want_events[(entry_id, "ADDED")] += 1
        if row["status"] == "REMOVED":
            want_events[(entry_id, "REMOVED")] += 1
    if events != want_events:
        diff = (events - want_events) + (want_events - events)
        out.fail(f"events differ from one ADDED per entry and one REMOVED per removal: {diff}")

    # The outbox: one row per active admin for each addToDnc, each removal, each bulk digest.
    want = Counter[tuple[str, ...]]()
    for entry_id, created in made.items():
        if created.channel == "VOICE_CALL":
            want[("added", created.org, entry_id)] += 1
        if entries[entry_id]["status"] == "REMOVED":
            want[("removed", created.org, entry_id)] += 1
    for key, digest in ledger.digests:
        want[("digest", key, *sorted(digest))] += 1
    groups: dict[tuple[str, ...], list[asyncpg.Record]] = defaultdict(list)
    for row in snapshot.outbox:
        key = org_key.get(row["organization_id"], "?")
        entry_id = row["dnc_entry_id"]
        subject = str(row["subject"])
        if entry_id is None:
            lines = (line.strip() for line in str(row["body_text"]).splitlines())
            group = ("digest", key, *sorted(n for n in lines if DIGEST_LINE.fullmatch(n)))
        elif subject.endswith("added to the list"):
            group = ("added", key, entry_id)
            if entries.get(entry_id) and entries[entry_id]["phone_number"] not in subject:
                out.fail(f"email {row['id']} subject {subject!r} names another number")
        elif subject.endswith("removed from the list"):
            group = ("removed", key, entry_id)
        else:
            group = ("unknown", key, subject)
        groups[group].append(row)
    emails_expected = 0
    for group, count in want.items():
        admins = orgs[group[1]].admin_emails
        emails_expected += len(admins) * count
        rows = groups.get(group, [])
        recipients = sorted(str(row["recipient"]) for row in rows)
        if recipients != sorted(admins * count):
            out.fail(f"outbox for {group[:3]}: recipients {recipients}, expected {admins * count}")
    for group, rows in groups.items():
        if group not in want:
            out.fail(f"outbox has {len(rows)} rows nobody caused: {group[:3]}")
    statuses = Counter(str(row["status"]) for row in snapshot.outbox)
    if set(statuses) - {"SENT"}:
        out.fail(f"outbox not all SENT: {dict(statuses)}")
    retried = sum(1 for row in snapshot.outbox if row["attempts"] > 1)

    emails_to = {str(u["email"]) for u in snapshot.users if u["role"] == "ADMIN" and u["active"]}
    for row in snapshot.outbox:
        if row["recipient"] not in emails_to:
            out.fail(f"email {row['id']} to {row['recipient']}: not an active admin")

    out.figures.update(
        entries=len(entries),
        entries_active=sum(len(v) for v in out.active.values()),
        entries_removed=sum(len(v) for v in out.removed.values()),
        events=len(snapshot.events),
        outbox_rows=len(snapshot.outbox),
        outbox_expected=emails_expected,
        outbox_status=dict(statuses),
        outbox_retried=retried,
        outbox_max_attempts=max((row["attempts"] for row in snapshot.outbox), default=0),
        uncertain_requests=len(ledger.uncertain),
        uncertain_written=sum(resolved.values()) + removed_by_uncertain,
        absent_numbers=len(ledger.absent),
    )
    return out


def reconcile_sink(
    out: Reconciliation,
    orgs: dict[str, OrgSpec],
    snapshot: Snapshot,
    deliveries: list[Delivery],
    killed: bool,
) -> None:
    """What the SMTP server received is exactly the outbox, matched by Message-ID."""
    rows = {f"<{row['id']}@dnc-api>": row for row in snapshot.outbox}
    received = Counter(d.message_id for d in deliveries)
    for delivery in deliveries:
        row = rows.get(delivery.message_id)
        if row is None:
            out.fail(f"received {delivery.message_id} ({delivery.subject!r}): no such outbox row")
            continue
        if list(delivery.recipients) != [row["recipient"]]:
            out.fail(
                f"{delivery.message_id} delivered to {delivery.recipients}, row says "
                f"{row['recipient']}"
            )
        if delivery.subject != " ".join(str(row["subject"]).split()):
            out.fail(f"{delivery.message_id} subject {delivery.subject!r} != {row['subject']!r}")
        if delivery.has_bcc:
            out.fail(f"{delivery.message_id} carries a Bcc header (header injection)")
    for message_id, row in rows.items():
        if row["status"] == "SENT" and not received[message_id]:
            out.fail(f"outbox row {row['id']} is SENT but the SMTP server never received it")
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    if duplicates and not killed:
        out.fail(f"{duplicates} duplicate deliveries, and no server was killed")
    nobody = {u.email for org in orgs.values() for u in org.users if u not in org.admins}
    strays = [d for d in deliveries if set(d.recipients) & nobody]
    if strays:
        out.fail(f"{len(strays)} emails went to inactive admins or members")
    out.figures.update(
        smtp_received=len(deliveries),
        smtp_unique=len(received),
        smtp_duplicates=duplicates,
    )


async def final_api_checks(
    out: Reconciliation, world: World, spellings: Numbers, rng: random.Random
) -> None:
    """Through the API, at rest: dncEntries lists exactly the ACTIVE entries (and REMOVED ones),
    and dncCheck of every number any client used blocks exactly this organization's."""
    api = world.api
    everything = sorted({n for numbers in world.ledger.touched.values() for n in numbers})
    for key, org in world.orgs.items():
        token = org.active_users[0].token
        for status, want in (
            ("ACTIVE", set(out.active.get(key, {}).values())),
            ("REMOVED", out.removed.get(key, set())),
        ):
            got: list[str] = []
            after: str | None = None
            total = -1
            while True:
                reply = await api.call(
                    "final:dncEntries",
                    token,
                    ENTRIES,
                    {"first": 500, "after": after, "filter": {"status": status}},
                )
                world.stats.outcome("final:dncEntries", outcome_label(reply, "dncEntries"))
                if reply.kind != "ok" or reply.errors:
                    out.fail(f"final dncEntries {key} {status}: {reply.detail or reply.errors}")
                    break
                page = reply.result("dncEntries")
                total = page["totalCount"]
                got += [edge["node"]["id"] for edge in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            if set(got) != want or len(got) != len(want) or total != len(want):
                out.fail(
                    f"final dncEntries {key} {status}: {len(got)} listed (totalCount {total}), "
                    f"{len(want)} in the database; {len(set(got) ^ want)} differ"
                )
        inputs = [spellings.spell(n) for n in everything]
        invalid = rng.sample(BAD_CHECK_NUMBERS, 3)
        inputs += invalid
        reply = await api.call("final:dncCheck", token, CHECK, {"phoneNumbers": inputs})
        world.stats.outcome("final:dncCheck", outcome_label(reply, "dncCheck"))
        if reply.kind != "ok" or reply.errors:
            out.fail(f"final dncCheck {key}: {reply.detail or reply.errors}")
            continue
        result = reply.result("dncCheck")
        active = out.active.get(key, {})
        want_blocked = [s for s, n in zip(inputs, everything, strict=False) if n in active]
        if result["blocked"] != want_blocked or result["invalid"] != invalid:
            out.fail(
                f"final dncCheck {key}: {len(result['blocked'])} blocked, {len(want_blocked)} "
                f"ACTIVE; invalid {result['invalid']} vs {invalid}"
            )
        out.figures.setdefault("final_check_numbers", len(inputs))


# ---------------------------------------------------------------------------------------------
# The report.


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def print_report(
    args: argparse.Namespace,
    stats: Stats,
    ledger: Ledger,
    faults: FaultLog,
    sink: SmtpSink,
    out: Reconciliation,
    run_seconds: float,
    drain: Drain,
    log_errors: Counter[str],
) -> bool:
    line = "-" * 100
    print(line)
    print(
        f"DNC soak: {args.clients} clients, {args.minutes:g} min, {args.servers} servers, "
        f"PostgreSQL {urlsplit(args.database_url).path.lstrip('/')}, seed {args.seed}"
    )
    if faults.smtp_refusal:
        begin, end = faults.smtp_refusal
        refusals = ", ".join(f"{n} x {code}" for code, n in sorted(sink.refused.items()))
        print(f"fault: SMTP refused (4xx) from {begin:.1f}s to {end:.1f}s: {refusals or 'none'}")
    for index, down, up in faults.kills:
        print(f"fault: server {index} SIGKILLed at {down:.1f}s, ready again at {up:.1f}s")
    if not args.faults:
        print("faults: off (--no-faults)")
    ops = sorted(stats.latencies)
    total = sum(len(stats.latencies[op]) for op in ops if not op.startswith("final:"))
    print(line)
    print(f"{'operation':34} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}  outcomes")
    for op in ops:
        values = stats.latencies[op]
        outcomes = ", ".join(f"{label} {n}" for label, n in stats.outcomes[op].most_common(4))
        print(
            f"{op:34} {len(values):>9,} {percentile(values, 0.5) * 1000:>8.1f} "
            f"{percentile(values, 0.99) * 1000:>8.1f}  {outcomes}"
        )
    everything = [v for op in ops if not op.startswith("final:") for v in stats.latencies[op]]
    print(
        f"{'all (during the run)':34} {total:>9,} {percentile(everything, 0.5) * 1000:>8.1f} "
        f"{percentile(everything, 0.99) * 1000:>8.1f}  "
        f"{total / run_seconds:.1f} requests/s over {run_seconds:.1f}s"
    )
    print(line)
    kinds = Counter[str]()
    for op, labels in stats.outcomes.items():
        for label, n in labels.items():
            if label not in SUCCESS_LABELS:
                kinds[f"{op.split(':')[0]}: {label}"] += n
    print("errors by kind (expected ones included):")
    for kind, n in kinds.most_common():
        print(f"  {n:>8,}  {kind}")
    for kind, n in stats.transport.most_common():
        print(f"  {n:>8,}  transport {kind}")
    print(line)
    figures = out.figures
    print(
        f"entries: {figures.get('entries', 0):,} ({figures.get('entries_active', 0):,} ACTIVE, "
        f"{figures.get('entries_removed', 0):,} REMOVED); events {figures.get('events', 0):,}; "
        f"numbers that must be on no list: {figures.get('absent_numbers', 0):,}"
    )
    print(
        f"outbox: {figures.get('outbox_rows', 0):,} rows (expected "
        f"{figures.get('outbox_expected', 0):,}), {figures.get('outbox_status')}, "
        f"{figures.get('outbox_retried', 0):,} needed retries (max attempts "
        f"{figures.get('outbox_max_attempts', 0)}); {drain.backlog:,} still unsent when the "
        f"clients stopped, drained {'in' if drain.done else 'NOT within'} {drain.seconds:.1f}s"
        f"{'' if drain.done else f' {drain.counts}'}"
    )
    rows = figures.get("outbox_rows", 0)
    print(
        f"email rates: {rows / run_seconds:.1f}/s written during the run, "
        f"{(rows - drain.backlog) / run_seconds:.1f}/s delivered during the run, "
        f"{drain.backlog / max(drain.seconds, 0.001):.1f}/s while draining"
    )
    print(
        f"SMTP: {figures.get('smtp_received', 0):,} messages received, "
        f"{figures.get('smtp_unique', 0):,} distinct Message-IDs, "
        f"{figures.get('smtp_duplicates', 0):,} duplicates (allowed only after a SIGKILL)"
    )
    lost = sum(n for kind, n in stats.transport.items() if kind.startswith("ambiguous"))
    print(
        f"answers lost in transit: {lost} requests; {figures.get('uncertain_requests', 0)} of "
        f"them could have written (the others could not: a duplicate, a decided race, a refusal); "
        f"the database shows {figures.get('uncertain_written', 0)} entries/removals from them"
    )
    if log_errors:
        print("server log ERROR lines (by message):")
        for message, n in log_errors.most_common(8):
            print(f"  {n:>6}  {message}")
    print(line)
    problems = [f"in-run: {a}" for a in ledger.anomalies] + out.failures
    count = ledger.anomaly_count + figures.get("failure_count", 0)
    if not drain.done:
        problems.append(f"outbox not drained within {args.drain_timeout}s: {drain.counts}")
        count += 1
    for problem in problems[:80]:
        print(f"MISMATCH {problem}")
    if count > len(problems[:80]):
        print(f"... and {count - len(problems[:80])} more")
    print("PASS" if not count else f"FAIL ({count} mismatches)")
    return not count


def server_log_errors(paths: Iterable[Path]) -> Counter[str]:
    counts = Counter[str]()
    pattern = re.compile(r" (ERROR|CRITICAL) \[[^\]]*\] (.*)")
    for path in paths:
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                match = pattern.search(line)
                if match:
                    counts[re.sub(r"[0-9a-f-]{36}|\d+", "#", match.group(2))[:120]] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Setting up and running it.


def admin_url(database_url: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres"))


async def create_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url(database_url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(admin_url(database_url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run_command(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 (our own console script)
        [*dnc_api(), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"dnc-api {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout.strip()


def server_env(args: argparse.Namespace, secret: str, smtp_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JWT_", "SMTP_", "OUTBOX_", "MAIL_", "DB_", "GRAPHIQL"))
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        DATABASE_URL=args.database_url,
        APP_ENV="production",
        JWT_SECRET=secret,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT="5",
        MAIL_FROM="dnc-soak@soak.example",
        OUTBOX_POLL_SECONDS="1",
        OUTBOX_RETRY_BASE_SECONDS="1",
        OUTBOX_LEASE_SECONDS=str(OUTBOX_LEASE_SECONDS),
        DB_POOL_SIZE="10",
    )
    return env


def client_users(orgs: dict[str, OrgSpec], count: int) -> list[UserSpec]:
    """Users taken in turn from each organization, admins and members alternating."""
    queues = []
    for org in orgs.values():
        admins, members = org.admins, [u for u in org.active_users if u.role == "MEMBER"]
        mixed = [u for pair in zip(admins, members, strict=False) for u in pair]
        mixed += admins[len(members) :] + members[len(admins) :]
        queues.append(mixed)
    order = [q[i % len(q)] for i in range(max(len(q) for q in queues)) for q in queues]
    return [order[i % len(order)] for i in range(count)]


async def soak(
    args: argparse.Namespace,
    orgs: dict[str, OrgSpec],
    numbers: Numbers,
    env: dict[str, str],
    sink: SmtpSink,
    workdir: Path,
    secret: str,
) -> bool:
    rng = random.Random(args.seed + 1)
    stats, ledger, faults = Stats(), Ledger(), FaultLog()
    pool = ServerPool(args.servers, env, workdir)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    ttl = int(args.minutes * 60) + 3600
    settings = Settings(jwt_secret=secret)
    for org in orgs.values():
        for user in org.users:
            user.token = issue_token(
                user_id=user.id, organization_id=org.id, settings=settings, ttl_seconds=ttl
            )
    # One token through the console command, as an operator would make it.
    first = next(iter(orgs.values())).admins[0]
    first.token = run_command(["token", "--user", str(first.id), "--ttl", str(ttl)], env)
    expired = {
        key: issue_token(
            user_id=org.active_users[0].id,
            organization_id=org.id,
            settings=settings,
            ttl_seconds=-60,
        )
        for key, org in orgs.items()
    }
    foreign = issue_token(
        user_id=first.id,
        organization_id=orgs[first.org].id,
        settings=Settings(jwt_secret=secrets.token_urlsafe(48)),
        ttl_seconds=ttl,
    )
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            for index in range(args.servers):
                await pool.start(index)
            for index in range(args.servers):
                await pool.wait_ready(index, session)
            api = Api(session, pool, stats, rng)
            world = World(orgs, numbers, api, ledger, stats, pool, foreign, expired)
            for org in orgs.values():
                for user in org.users:
                    reply = await api.call("setup:me", user.token, ME, {})
                    stats.outcome("setup:me", outcome_label(reply, "me"))
                    me = reply.result("me")
                    if user.active and (not me or me["email"] != user.email):
                        raise RuntimeError(f"token of {user.email} does not work: {reply}")
                    if not user.active and reply.error_codes() != ["UNAUTHENTICATED"]:
                        raise RuntimeError(f"inactive {user.email} is let in: {reply}")
            users = client_users(orgs, args.clients)
            clients = [Client(world, i, user, args.seed * 1000 + i) for i, user in enumerate(users)]
            print(
                f"running {args.clients} clients for {args.minutes:g} min against "
                f"{args.servers} servers (logs in {workdir}) ...",
                flush=True,
            )
            started = time.monotonic()
            deadline = started + args.minutes * 60
            fault_task = (
                asyncio.create_task(
                    inject_faults(pool, sink, session, started, args.minutes * 60, rng, faults)
                )
                if args.faults
                else None
            )
            await asyncio.gather(*(client.run(deadline) for client in clients))
            run_seconds = time.monotonic() - started
            if fault_task is not None:
                if not fault_task.done():
                    # Whatever fault is under way is finished (the server restarted) first.
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait_for(asyncio.shield(fault_task), timeout=120)
                fault_task.result()
            for index, up in enumerate(pool.up):
                if not up:
                    await pool.start(index)
                    await pool.wait_ready(index, session)
            print(f"run over after {run_seconds:.1f}s; draining the outbox ...", flush=True)
            drain = await wait_drained(args.database_url, args.drain_timeout)
            snapshot = await read_database(args.database_url)
            out = reconcile_database(orgs, ledger, snapshot)
            await final_api_checks(out, world, Numbers(random.Random(args.seed + 2)), rng)
    finally:
        await pool.stop()
    reconcile_sink(out, orgs, snapshot, sink.received(), killed=bool(faults.kills))
    return print_report(
        args,
        stats,
        ledger,
        faults,
        sink,
        out,
        run_seconds,
        drain,
        server_log_errors(pool.log_paths),
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/soak.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--minutes", type=float, default=2.0, help="how long they run (2)")
    parser.add_argument("--servers", type=int, default=2, help="dnc-api serve processes (2)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to create; its name must start with dnc_soak "
        f"({DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    parser.add_argument(
        "--no-faults", dest="faults", action="store_false", help="no SMTP refusal, no SIGKILL"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="seconds to wait for the outbox (300)"
    )
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    name = urlsplit(args.database_url).path.lstrip("/")
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("--database-url must be a postgres:// URL")
    if not SOAK_DATABASE.fullmatch(name):
        parser.error(
            f"the database is dropped and created again: its name must start with "
            f"dnc_soak, not {name!r}"
        )
    if args.clients < 1 or args.servers < 1 or args.minutes <= 0:
        parser.error("--clients, --servers and --minutes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    numbers = Numbers(rng)
    secret = secrets.token_urlsafe(48)
    workdir = Path(tempfile.mkdtemp(prefix="dnc-soak-"))
    sink = SmtpSink(random.Random(args.seed + 3))
    env = server_env(args, secret, sink.port)
    passed = False
    try:
        asyncio.run(create_database(args.database_url))
        print(run_command(["migrate"], env))
        orgs, document = build_world(rng, numbers)
        data_file = workdir / "platform.json"
        data_file.write_text(json.dumps(document, indent=1))
        print(run_command(["import", str(data_file)], env))
        sink.start()
        passed = asyncio.run(soak(args, orgs, numbers, env, sink, workdir, secret))
    except (RuntimeError, OSError, asyncpg.PostgresError) as error:
        print(f"soak could not run: {error}", file=sys.stderr)
        print(f"logs in {workdir}", file=sys.stderr)
        return 2
    finally:
        sink.stop()
        if not args.keep:
            with contextlib.suppress(Exception):
                asyncio.run(drop_database(args.database_url))
        if passed and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir.exists():
            print(f"logs kept in {workdir}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
