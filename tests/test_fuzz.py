"""Fuzzing the whole GraphQL endpoint over HTTP with valid tokens of an ADMIN and a MEMBER.

What must hold for every request: no 5xx; a GraphQL body (JSON with `data` and/or `errors`,
every error with a message) unless the request itself was refused with a 4xx; no
`INTERNAL_SERVER_ERROR` (the fuzzer must find no unexpected error, masked or not); no message,
extension or refusal text that shows internals (tracebacks, SQL, table names, drivers, Python
exception or class names, file paths) unless the request itself contained those words; no
error logged by the service.

What is fuzzed:
- whole operations generated from `schema.graphql` by hypothesis-graphql, valid ones and ones
  with one schema violation, with the tenant's real ids, numbers and well-formed cursors mixed
  into the generated ID, UUID, DateTime and String values;
- every operation with fuzzed variables: mostly well-typed, sometimes garbage, reaching the
  service's rules (real batches and call records, spellings of listed numbers, instants around
  now and at the ends of the calendar, cursors);
- the HTTP layer: arbitrary bodies and content types, JSON that is not an object, deeply
  nested JSON, GET requests, odd Authorization headers.
What the fuzzer found is kept as fixed cases (`test_found_inputs`, explicit examples), so
they run every time, whatever the random draw.

The short run is part of the suite. The long run (no per-test timeout) is:

    FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py -q

FUZZ_EXAMPLES is the number of examples of each fuzz test (on each database).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import graphql
import httpx
import phonenumbers
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes
from hypothesis_graphql import strategies as gql_st

from api.app import create_app
from api.settings import Settings
from tests.conftest import make_settings
from tests.support.factories import Tenant, make_batch, make_call, make_tenant
from tests.support.smtp import SmtpSink

LONG_RUN = os.environ.get("FUZZ_EXAMPLES")
SCHEMA_SDL = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
SCHEMA_NAMES = frozenset(graphql.build_schema(SCHEMA_SDL).type_map)

pytestmark = [pytest.mark.timeout(0)] if LONG_RUN else []


def fuzz_settings(short_run: int) -> settings:
    """`short_run` examples in the suite, FUZZ_EXAMPLES in a long run."""
    return settings(
        max_examples=int(LONG_RUN) if LONG_RUN else short_run,
        deadline=None,
        # One app and one seeded tenant serve every example of a test: that is the point.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


# The oracle ------------------------------------------------------------------------------------

# Codes that are never the fuzzer's fault: an unexpected error, a hang, a database gone.
FAILURE_CODES = {"INTERNAL_SERVER_ERROR", "TIMEOUT", "SERVICE_UNAVAILABLE"}
ANSWER_WITHIN_SECONDS = 30
LEAKS = [
    re.compile(pattern)
    for pattern in (
        r"Traceback",
        r'File "',
        r"line \d+, in ",
        r"[\w/.-]*\.py\b",
        r"/work/|/usr/|/root/|site-packages",
        r"\b(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|RETURNING|WHERE)\b",
        r"\b(?:dnc_entry|dnc_event|app_user|email_outbox|call_record|aerich)\b",
        r"\b(?:organization|batch|call_record|added_by|removed_by|owner|request)_(?:id|uuid)\b",
        r"(?i)\b(?:asyncpg|aiosqlite|sqlite3?|psycopg2?|postgres(?:ql)?|tortoise|pypika)\b",
        r"(?i)\b(?:strawberry|starlette|uvicorn|graphql-core|python-jose|jose)\b",
        r"(?i)duplicate key|violates|unique constraint|constraint failed|syntax error at",
        r"\b[A-Za-z_][A-Za-z0-9_]*(?:Error|Exception|Warning)\b",
        r"\bNoneType\b|\bbuiltins\.|<[\w.]+ object at 0x|\b(?:datetime\.)?datetime\(|UUID\('",
    )
]


def leaked(text: str, sent: str) -> list[str]:
    """What in `text` looks like the service's internals, unless it only echoes `sent`."""
    echoed = sent.lower()
    found = []
    for pattern in LEAKS:
        for match in pattern.finditer(text):
            word = match.group(0)
            if word in SCHEMA_NAMES or word.lower() in echoed:
                continue
            found.append(word)
    return found


@pytest.mark.parametrize(
    ("text", "sent", "found"),
    [
        ('Traceback (most recent call last):\n  File "/work/main/api/x.py"', "", True),
        ("KeyError: 'phone_number'", "", True),
        ('duplicate key value violates unique constraint "uid_dnc_entry"', "", True),
        ("(sqlite3.OperationalError) near SELECT", "", True),
        ('Cannot query field "ValueError" on type "Query".', "{ ValueError }", False),
        ("Expected type 'AddToDncInput', found 1; ValidationError", "", False),
        ("Phone number is not a valid international number.", "", False),
    ],
)
def test_the_oracle_sees_internals_but_not_echoes(text: str, sent: str, found: bool) -> None:
    assert bool(leaked(text, sent)) is found


@dataclass
class Exchange:
    """One request and what came back, as a reproducer."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int
    content_type: str
    text: str

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        shown = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
        return (
            f"{self.method} {self.url} headers={shown} body={self.body[:2000]!r}\n"
            f"-> {self.status} {self.content_type}: {self.text[:2000]}"
        )


def check_exchange(exchange: Exchange, *, graphql_shaped: bool, valid_token: bool) -> None:
    """The oracle: no 5xx, a well-formed answer, no unexpected error, nothing internal shown."""
    sent = f"{exchange.url}\n{exchange.body.decode('utf-8', 'replace')}"
    with contextlib.suppress(ValueError, RecursionError):
        sent += "\n" + json.dumps(json.loads(exchange.body), ensure_ascii=False)
    assert exchange.status < 500, f"5xx\n{exchange}"
    if not exchange.content_type.startswith("application/json"):
        graphiql = exchange.method == "GET" and exchange.content_type.startswith("text/html")
        assert graphiql or 400 <= exchange.status < 500, f"not a GraphQL answer\n{exchange}"
        assert not leaked(exchange.text, sent), f"leak {leaked(exchange.text, sent)}\n{exchange}"
        return
    body = json.loads(exchange.text)
    if graphql_shaped:
        assert isinstance(body, dict), exchange
        assert {"data", "errors"} & body.keys(), exchange
    if not isinstance(body, dict):
        return
    errors = body.get("errors") or []
    assert isinstance(errors, list), exchange
    for error in errors:
        message = error.get("message")
        assert isinstance(message, str), f"error without a message\n{exchange}"
        assert message.strip(), f"error with an empty message\n{exchange}"
        code = (error.get("extensions") or {}).get("code")
        assert code not in FAILURE_CODES, f"{code}\n{exchange}"
        assert message != "Internal server error.", f"unexpected error\n{exchange}"
        if valid_token:
            assert code != "UNAUTHENTICATED", f"valid token refused\n{exchange}"
        shown = json.dumps(
            {"message": message, "extensions": error.get("extensions")}, ensure_ascii=False
        )
        assert not leaked(shown, sent), f"leak {leaked(shown, sent)}\n{exchange}"


def outcome(body: Any) -> str:
    """How a request ended, for --hypothesis-show-statistics: a union member or an error code."""
    if not isinstance(body, dict):
        return "refused"
    errors = body.get("errors") or []
    if errors:
        code = (errors[0].get("extensions") or {}).get("code")
        return f"error {code or 'without code'}"
    results = (body.get("data") or {}).values()
    kinds = sorted(
        {str(r.get("__typename", "data")) if isinstance(r, dict) else "data" for r in results}
    )
    return ", ".join(kinds) or "data"


class Fuzzer:
    """Sends requests to the real app over HTTP and checks every answer."""

    def __init__(
        self, client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
    ) -> None:
        self.client = client
        self.tenant = tenant
        self.caplog = caplog
        self.tokens = {"ADMIN": tenant.admin_token, "MEMBER": tenant.member_token}

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        graphql_shaped: bool = True,
        valid_token: bool = True,
    ) -> Any:
        """Send, check, and return the parsed JSON body (None when not JSON)."""
        self.caplog.clear()
        sent_headers = dict(headers or {})
        try:
            async with asyncio.timeout(ANSWER_WITHIN_SECONDS):
                response = await self.client.request(
                    method, url, content=body, headers=sent_headers
                )
        except TimeoutError:
            pytest.fail(f"no answer in {ANSWER_WITHIN_SECONDS} s: {method} {url} {body[:2000]!r}")
        exchange = Exchange(
            method=method,
            url=url,
            headers=sent_headers,
            body=body,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            text=response.text,
        )
        check_exchange(exchange, graphql_shaped=graphql_shaped, valid_token=valid_token)
        logged = [
            f"{record.name}: {record.getMessage()}"
            for record in self.caplog.records
            if record.levelno >= logging.ERROR
        ]
        assert not logged, f"the service logged errors {logged}\n{exchange}"
        return json.loads(response.text) if "json" in exchange.content_type else None

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, role: str = "ADMIN"
    ) -> Any:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return await self.request(
            "POST",
            "/graphql",
            body=json.dumps(payload).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.tokens[role]}",
            },
        )


# Seeded data -------------------------------------------------------------------------------


@dataclass
class Seed:
    """The ids and numbers the strategies mix in, so generated requests reach the rules."""

    batch_ids: list[str]
    request_uuids: list[str]
    user_ids: list[str]
    numbers: list[str]
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # batch, requestUUID, number


SEED_ADD = """
mutation Seed($input: AddToDncInput!) { addToDnc(input: $input) { __typename } }
"""
SEED_ADD_MANY = """
mutation SeedMany($input: AddManyToDncInput!) { addManyToDnc(input: $input) { added } }
"""
SEED_REMOVE = """
mutation SeedRemove($input: RemoveFromDncInput!) { removeFromDnc(input: $input) { __typename } }
"""


@pytest.fixture
async def fuzzer(
    app: object, settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Fuzzer]:
    """The app with a tenant whose list has active, removed and soon expired entries.

    App exceptions are answered as a 500 (as a server would), so the oracle reports them.
    """
    tenant = await make_tenant(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
        fuzzer = Fuzzer(client, tenant, caplog)
        first = tenant.calls[0]
        await fuzzer.graphql(
            SEED_ADD,
            {
                "input": {
                    "phoneNumber": first.phone_number,
                    "batchId": str(tenant.batch.id),
                    "requestUUID": str(first.request_uuid),
                    "reason": "COMPLAINT",
                    "note": "Seeded.",
                }
            },
        )
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        await fuzzer.graphql(
            SEED_ADD_MANY,
            {
                "input": {
                    "channel": "SMS",
                    "entries": [
                        {"phoneNumber": "+442079460958", "reason": "OTHER"},
                        {"phoneNumber": "+12125550100", "expiresAt": soon},
                        {"phoneNumber": "+12125550101"},
                    ],
                }
            },
        )
        await fuzzer.graphql(
            SEED_REMOVE, {"input": {"phoneNumber": "+12125550101", "reason": "Seeded."}}
        )
        yield fuzzer


@pytest.fixture
async def seed(fuzzer: Fuzzer, settings: Settings) -> Seed:
    """The tenant's ids, plus an orphaned batch and another organization's batch and call."""
    tenant = fuzzer.tenant
    orphan = await make_batch(tenant.organization, None, name="Orphan")
    orphan_call = await make_call(orphan)
    other = await make_tenant(settings, name="Other Calls", calls=1)
    calls = [(tenant.batch, call) for call in tenant.calls]
    calls += [(orphan, orphan_call), (other.batch, other.calls[0])]
    return Seed(
        batch_ids=[str(tenant.batch.id), str(orphan.id), str(other.batch.id)],
        request_uuids=[str(call.request_uuid) for _, call in calls],
        user_ids=[
            str(user.id)
            for user in (tenant.admin, tenant.member, tenant.inactive_admin, other.admin)
        ],
        numbers=[
            *(call.phone_number for _, call in calls),
            "+442079460958",
            "+12125550100",
            "+12125550101",
        ],
        calls=[(str(batch.id), str(call.request_uuid), call.phone_number) for batch, call in calls],
    )


# Value strategies ------------------------------------------------------------------------------

JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
ODD_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(codec=None), max_size=20),  # lone surrogates included
    st.text(st.sampled_from("\x00\t\n\r\u200b\u202e\ufeff '\"\\%_*;=+-@"), max_size=12),
    st.integers(2001, 2100).map(lambda n: "x" * n),  # just over the bounds of notes and reasons
    st.sampled_from(["", " ", "null", "undefined", "NaN", "'; DROP TABLE dnc_entry; --"]),
)
OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(timezones=st.none() | st.just(UTC) | OFFSETS)
EDGE_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999-14:00",
    "9999-12-31T23:59:59.999999",
    "2024-02-30T00:00:00Z",
    "2024-01-01",
    "2024-01-01T25:00:00",
    "now",
    "",
]
REASONS = ["CUSTOMER_REQUEST", "COMPLAINT", "WRONG_NUMBER", "LEGAL_REQUEST", "OTHER"]
CHANNELS = ["VOICE_CALL", "SMS", "EMAIL", "WEB", "MANUAL", "IMPORT"]
STATUSES = ["ACTIVE", "EXPIRED", "REMOVED"]
ACTIONS = ["ADDED", "REMOVED", "EXPIRED"]
EXAMPLE_NUMBERS = sorted(
    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    if (number := phonenumbers.example_number(region)) is not None
)


def seconds_from_now(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(
        lambda seconds: (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    )


EARLIER = seconds_from_now(-(10**9), -1)
LATER = seconds_from_now(60, 10**9)
# Numbers that are valid and, in a run's first examples, mostly not on the list yet.
FRESH_NUMBERS = st.one_of(
    st.integers(0, 9999).map(lambda n: f"+1 212 555 {n:04d}"),
    st.integers(0, 9999).map(lambda n: f"00 44 20 7946 {n:04d}"),
    st.sampled_from(EXAMPLE_NUMBERS),
)


def mostly(strategy: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = JUNK) -> Any:
    """`strategy` nine times in ten, `junk` (wrong types, nulls, nesting) otherwise."""
    return st.integers(0, 9).flatmap(lambda pick: junk if pick == 0 else strategy)


def instants() -> st.SearchStrategy[str]:
    """DateTime inputs: around now, anywhere in the calendar, at its ends, or not instants."""
    around_now = seconds_from_now(-(10**9), 10**9)
    anywhere = MOMENTS.map(lambda moment: moment.isoformat())
    return st.one_of(around_now, anywhere, st.sampled_from(EDGE_INSTANTS), st.text(max_size=30))


def cursors() -> st.SearchStrategy[str]:
    """`after` values: well-formed cursors at any instant, cursors of odd JSON, and noise."""

    def encode(payload: bytes) -> str:
        return base64.urlsafe_b64encode(payload).decode().rstrip("=")

    position = st.tuples(
        MOMENTS.map(lambda moment: moment.isoformat()) | st.text(max_size=10),
        st.uuids().map(str) | st.text(max_size=10),
    )
    return st.one_of(
        position.map(lambda pair: encode(json.dumps(list(pair)).encode())),
        JUNK.map(lambda value: encode(json.dumps(value).encode())),
        st.binary(max_size=60).map(encode),
        st.text(max_size=40),
    )


def phone_numbers(seed: Seed) -> st.SearchStrategy[str]:
    """Spellings of listed and real numbers, near misses, and text."""

    @st.composite
    def spelled(draw: st.DrawFn) -> str:
        e164 = draw(st.sampled_from(seed.numbers + EXAMPLE_NUMBERS))
        digits = e164.removeprefix("+")
        prefix = draw(st.sampled_from(["+", "", "00", "+ ", "++", "0"]))
        separators = st.sampled_from(["", "", " ", "-", ".", "(", ")", "/", "\t"])
        body = "".join(draw(separators) + digit for digit in digits)
        tail = draw(st.sampled_from(["", "", " ", "1", "x", " ext 12", "\x00"]))
        return prefix + body + tail

    return st.one_of(
        spelled(),
        st.sampled_from(seed.numbers),
        st.text(alphabet="0123456789+ -().", max_size=25),
        st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
        ODD_TEXT,
    )


def ids(seed: Seed) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(seed.batch_ids + seed.user_ids),
        st.uuids().map(str),
        st.sampled_from(seed.batch_ids).map(str.upper),
        st.sampled_from(seed.batch_ids).map(lambda value: value.replace("-", "")),
        st.sampled_from(seed.batch_ids).map(lambda value: f"{{{value}}}"),
        ODD_TEXT,
    )


def uuids(seed: Seed) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(seed.request_uuids),
        st.uuids().map(str),
        st.sampled_from(seed.request_uuids).map(lambda value: f"urn:uuid:{value}"),
        ODD_TEXT,
    )


def custom_scalars(seed: Seed) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """hypothesis-graphql's values for scalars, with the tenant's ids, numbers and cursors."""
    strings = st.one_of(
        phone_numbers(seed), cursors(), st.sampled_from(REASONS), ODD_TEXT, st.text()
    )
    return {
        "String": strings.map(nodes.String),
        "ID": ids(seed).map(nodes.String) | st.integers().map(nodes.Int),
        "UUID": uuids(seed).map(nodes.String) | st.integers().map(nodes.Int),
        "DateTime": instants().map(nodes.String) | st.integers().map(nodes.Int),
    }


# Generated operations --------------------------------------------------------------------------


@given(data=st.data())
@fuzz_settings(150)
async def test_generated_operations(fuzzer: Fuzzer, seed: Seed, data: st.DataObject) -> None:
    """Queries and mutations drawn from the schema, valid and with one violation each."""
    scalars = custom_scalars(seed)
    operations = st.one_of(
        gql_st.from_schema(SCHEMA_SDL, custom_scalars=scalars),
        gql_st.from_schema(SCHEMA_SDL, custom_scalars=scalars, mode=Mode.NEGATIVE),
    )
    query = data.draw(operations, label="query")
    role = data.draw(st.sampled_from(["ADMIN", "MEMBER"]), label="role")

    body = await fuzzer.graphql(query, role=role)

    event(f"{query.split('{')[0].strip() or 'query'}: {outcome(body)}")


# Operations with fuzzed variables --------------------------------------------------------------

ENTRY = """
fragment Entry on DncEntry {
  id phoneNumber reason note createdAt recordingUrl transcription channel requestedAt
  expiresAt status removedAt removalReason
  addedBy { id email name role active }
  removedBy { id email }
  batch { id name }
  callRecord { id requestUUID phoneNumber recordingUrl transcription calledAt }
}
"""
RESULT = """
  __typename
  ... on MutationResult { success statusCode message }
  ... on ValidationError { code field }
  ... on NotFoundError { code }
"""
EVENT = "id action phoneNumber at channel reason actor { id email } entry { ...Entry }"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
OPERATIONS = {
    "addToDnc": f"""
mutation Add($input: AddToDncInput!) {{
  addToDnc(input: $input) {{
    {RESULT}
    ... on AddToDncSuccess {{ entry {{ ...Entry }} }}
    ... on AlreadyOnDncError {{ code entry {{ ...Entry }} }}
  }}
}} {ENTRY}""",
    "removeFromDnc": f"""
mutation Remove($input: RemoveFromDncInput!) {{
  removeFromDnc(input: $input) {{
    {RESULT} ... on RemoveFromDncSuccess {{ entry {{ ...Entry }} }}
  }}
}} {ENTRY}""",
    "addManyToDnc": f"""
mutation AddMany($input: AddManyToDncInput!) {{
  addManyToDnc(input: $input) {{
    success statusCode message added alreadyOnDnc invalid code field
    items {{ phoneNumber status message entry {{ ...Entry }} }}
  }}
}} {ENTRY}""",
    "dncEntries": f"""
query Entries($first: Int, $after: String, $filter: DncEntryFilter) {{
  dncEntries(first: $first, after: $after, filter: $filter) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ ...Entry }} }}
  }}
}} {ENTRY}""",
    "dncAuditLog": f"""
query Audit($first: Int, $after: String, $filter: DncAuditFilter) {{
  dncAuditLog(first: $first, after: $after, filter: $filter) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ {EVENT} }} }}
  }}
}} {ENTRY}""",
    "dncEntry": f"""
query Entry($phoneNumber: String!) {{ dncEntry(phoneNumber: $phoneNumber) {{ ...Entry }} }}
{ENTRY}""",
    "dncHistory": f"""
query History($phoneNumber: String!) {{ dncHistory(phoneNumber: $phoneNumber) {{ {EVENT} }} }}
{ENTRY}""",
    "dncCheck": """
query Check($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}""",
    "me": "query Me { me { id email name role active } }",
}


# The mutations and the pages have the most rules to reach.
WEIGHTED_OPERATIONS = [*OPERATIONS, "addToDnc", "addToDnc", "addManyToDnc", "removeFromDnc"]
WEIGHTED_OPERATIONS += ["dncEntries", "dncAuditLog"]


def optional(**fields: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    return {name: mostly(strategy) for name, strategy in fields.items()}


def variables_for(operation: str, seed: Seed) -> st.SearchStrategy[dict[str, Any]]:
    """Variables for one of OPERATIONS: mostly well-typed, reaching the service's rules."""
    phone = phone_numbers(seed)
    real_call = st.sampled_from(seed.calls)
    # Numbers on the list (the seeded ones and, as the run goes on, those the fuzzer added).
    listed = st.sampled_from(seed.numbers) | FRESH_NUMBERS
    notes = st.one_of(st.none(), st.text(), ODD_TEXT)

    @st.composite
    def fuzzy_add_input(draw: st.DrawFn) -> dict[str, Any]:
        batch, request_uuid, number = draw(real_call)
        return draw(
            st.fixed_dictionaries(
                {
                    "phoneNumber": mostly(st.one_of(st.just(number), phone)),
                    "batchId": mostly(st.one_of(st.just(batch), ids(seed))),
                    "requestUUID": mostly(st.one_of(st.just(request_uuid), uuids(seed))),
                },
                optional=optional(
                    reason=st.sampled_from([*REASONS, None, "complaint"]),
                    note=notes,
                    expiresAt=st.none() | instants(),
                ),
            )
        )

    @st.composite
    def sound_add_input(draw: st.DrawFn) -> dict[str, Any]:
        """A real call and a number likely not on the list yet: the add goes through."""
        batch, request_uuid, _ = draw(real_call)
        values = {"phoneNumber": draw(FRESH_NUMBERS), "batchId": batch, "requestUUID": request_uuid}
        return values | draw(sound_extras)

    sound_extras = st.fixed_dictionaries(
        {},
        optional={
            "reason": st.sampled_from([*REASONS, None]),
            "note": st.none() | st.text(max_size=100),
            "expiresAt": st.none() | LATER,
        },
    )
    manual_entry = st.one_of(
        st.fixed_dictionaries(
            {"phoneNumber": mostly(phone)},
            optional=optional(
                reason=st.sampled_from([*REASONS, None]),
                note=notes,
                requestedAt=st.none() | instants(),
                expiresAt=st.none() | instants(),
            ),
        ),
        st.fixed_dictionaries(
            {"phoneNumber": FRESH_NUMBERS | st.sampled_from(seed.numbers)},
            optional={
                "reason": st.sampled_from([*REASONS, None]),
                "note": st.none() | st.text(max_size=100),
                "requestedAt": st.none() | EARLIER,
                "expiresAt": st.none() | LATER,
            },
        ),
    )
    page = {
        "first": mostly(st.none() | st.integers(-1, 502) | st.sampled_from([2**31 - 1, 2**31])),
        "after": mostly(st.none() | cursors()),
    }
    entry_filter = st.fixed_dictionaries(
        {},
        optional=optional(
            status=st.sampled_from([*STATUSES, None]),
            channel=st.sampled_from([*CHANNELS, None]),
            reason=st.sampled_from([*REASONS, None]),
            batchId=st.none() | ids(seed),
            createdAfter=st.none() | instants(),
            createdBefore=st.none() | instants(),
            phoneNumberContains=st.none() | phone,
        ),
    )
    audit_filter = st.fixed_dictionaries(
        {},
        optional=optional(
            action=st.sampled_from([*ACTIONS, None]),
            actorId=st.none() | ids(seed),
            since=st.none() | instants(),
            until=st.none() | instants(),
        ),
    )
    strategies: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "addToDnc": st.fixed_dictionaries({"input": fuzzy_add_input() | sound_add_input()}),
        "removeFromDnc": st.fixed_dictionaries(
            {
                "input": mostly(
                    st.fixed_dictionaries(
                        {
                            "phoneNumber": mostly(phone | listed),
                            "reason": mostly(st.text(min_size=1, max_size=80) | ODD_TEXT),
                        }
                    )
                )
            }
        ),
        "addManyToDnc": st.fixed_dictionaries(
            {
                "input": mostly(
                    st.fixed_dictionaries(
                        {
                            "channel": mostly(st.sampled_from(CHANNELS)),
                            "entries": mostly(st.lists(manual_entry, max_size=6)),
                        }
                    )
                )
            }
        ),
        "dncEntries": st.fixed_dictionaries(
            {}, optional={**page, "filter": mostly(st.none() | entry_filter)}
        ),
        "dncAuditLog": st.fixed_dictionaries(
            {}, optional={**page, "filter": mostly(st.none() | audit_filter)}
        ),
        "dncEntry": st.fixed_dictionaries({"phoneNumber": mostly(phone | listed)}),
        "dncHistory": st.fixed_dictionaries({"phoneNumber": mostly(phone | listed)}),
        "dncCheck": st.fixed_dictionaries({"phoneNumbers": mostly(st.lists(phone | listed))}),
        "me": st.just({}),
    }
    return mostly(strategies[operation], junk=st.dictionaries(st.text(max_size=12), JUNK))


@given(data=st.data())
@fuzz_settings(200)
async def test_operations_with_fuzzed_variables(
    fuzzer: Fuzzer, seed: Seed, data: st.DataObject
) -> None:
    """Every operation, with variables that mostly pass the schema and reach the rules."""
    operation = data.draw(st.sampled_from(WEIGHTED_OPERATIONS), label="operation")
    variables = data.draw(variables_for(operation, seed), label="variables")
    role = data.draw(st.sampled_from(["ADMIN", "MEMBER"]), label="role")

    body = await fuzzer.graphql(OPERATIONS[operation], variables, role=role)

    event(f"{operation} as {role}: {outcome(body)}")


# Inputs the fuzzer found, kept as fixed cases ------------------------------------------------


def cursor_at(moment: str) -> str:
    payload = json.dumps([moment, "00000000-0000-0000-0000-000000000000"]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(
            OPERATIONS["dncEntries"],
            {"after": cursor_at("0001-01-01T00:00:00+05:00")},
            id="entries-cursor-before-year-1-in-utc",
        ),
        pytest.param(
            OPERATIONS["dncAuditLog"],
            {"after": cursor_at("9999-12-31T23:59:59-05:00")},
            id="audit-cursor-after-year-9999-in-utc",
        ),
        pytest.param("subscription Live { dncEvents { id } }", None, id="subscription-over-post"),
    ],
)
async def test_found_inputs(fuzzer: Fuzzer, query: str, variables: dict[str, Any] | None) -> None:
    await fuzzer.graphql(query, variables)


# dncAuditLog's error nulls `data`, so graphql-core cancels dncHistory, which may be inside
# its transaction (writing due expiries) at that moment.
HISTORY_BESIDE_A_FAILING_FIELD = """
{ dncHistory(phoneNumber: "+12125550000") { id } dncAuditLog(first: 0) { totalCount } }
"""


async def test_cancelled_sibling_fields_leave_the_service_usable(
    database_url: str, smtp: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzzer: such queries wedged SQLite and used up PostgreSQL's pool."""
    settings = make_settings(database_url, smtp.port, db_pool_size=2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        tenant = await make_tenant(settings)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://dnc.test") as client:
            fuzzer = Fuzzer(client, tenant, caplog)
            for _ in range(20):  # the cancellation lands mid-transaction only some of the time
                await fuzzer.graphql(HISTORY_BESIDE_A_FAILING_FIELD)

            body = await fuzzer.graphql("{ me { id } }")

    assert body["data"]["me"]["id"] == str(tenant.admin.id)


# The HTTP layer --------------------------------------------------------------------------------


class RawRequest:
    """A request to /graphql; its repr stays short, so a 100 kB body can be reported."""

    def __init__(
        self,
        method: str,
        content_type: str | None,
        body: bytes = b"",
        *,
        query_string: str = "",
        authorization: str = "ADMIN",
    ) -> None:
        self.method = method
        self.content_type = content_type
        self.body = body
        self.query_string = query_string
        self.authorization = authorization

    def __repr__(self) -> str:
        def short(value: str | bytes) -> str:
            return f"{value[:200]!r}{f'... ({len(value)} long)' if len(value) > 200 else ''}"

        return (
            f"RawRequest({self.method!r}, {self.content_type!r}, {short(self.body)}, "
            f"query_string={short(self.query_string)}, authorization={self.authorization!r})"
        )


CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=latin-1",
    "application/graphql",
    "application/graphql-response+json",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "*/*",
]
DOCUMENT = "query($n: [String!]!) { dncCheck(phoneNumbers: $n) { checked } }"


def nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


def deep_variables(depth: int, kind: str) -> bytes:
    """A dncCheck request whose variable is nested `depth` deep."""
    return (
        f'{{"query": {json.dumps(DOCUMENT)}, "variables": {{"n": {nested(depth, kind)}}}}}'.encode()
    )


def json_bodies() -> st.SearchStrategy[bytes]:
    """JSON that is not a GraphQL request object, or one with odd members or deep nesting."""
    odd_request = st.fixed_dictionaries(
        {},
        optional={
            "query": mostly(st.sampled_from([DOCUMENT, "{ me { id } }"]) | st.text()),
            "variables": JUNK,
            "operationName": JUNK,
            "extensions": JUNK,
        },
    ).map(lambda value: json.dumps(value).encode())
    deep_variables_bodies = st.tuples(
        st.integers(1, 200_000), st.sampled_from(["list", "object"])
    ).map(lambda args: deep_variables(*args))
    deep_body = st.tuples(st.integers(1, 200_000), st.sampled_from(["list", "object"])).map(
        lambda args: nested(*args).encode()
    )
    return st.one_of(
        JUNK.map(lambda value: json.dumps(value).encode()),
        odd_request,
        deep_variables_bodies,
        deep_body,
    )


# Authorization headers by name: the seeded users' tokens, none, and odd ones.
AUTHORIZATIONS = {
    "none": None,
    "scheme only": "Bearer",
    "basic": "Basic eA==",
    "9,000 characters": "Bearer " + "x" * 9000,
}


@st.composite
def raw_requests(draw: st.DrawFn) -> RawRequest:
    authorization = draw(st.sampled_from(["ADMIN", "MEMBER", *AUTHORIZATIONS]))
    if draw(st.booleans()):
        params = st.dictionaries(
            st.sampled_from(["query", "variables", "operationName", "extensions"]),
            st.text(max_size=60) | st.sampled_from([DOCUMENT, nested(2000, "list")]),
        )
        query_string = str(httpx.QueryParams(draw(params)))
        return RawRequest("GET", None, query_string=query_string, authorization=authorization)
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            json_bodies(),
            st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        )
    )
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    return RawRequest("POST", content_type, body, authorization=authorization)


@given(request=raw_requests())
@example(RawRequest("POST", "application/json", b"1"))
@example(RawRequest("POST", "application/json", b"null"))
@example(RawRequest("POST", "application/json", b'"{ me { id } }"'))
@example(RawRequest("POST", "application/json", nested(100_000, "list").encode()))
@example(RawRequest("POST", "application/json", deep_variables(100_000, "list")))
@example(
    RawRequest("GET", None, query_string=str(httpx.QueryParams(variables=nested(2000, "list"))))
)
@fuzz_settings(150)
async def test_http_layer(fuzzer: Fuzzer, request: RawRequest) -> None:
    """Whatever arrives at /graphql, the answer is never a 5xx and never shows internals."""
    headers = {}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    role_token = fuzzer.tokens.get(request.authorization)
    authorization = f"Bearer {role_token}" if role_token else AUTHORIZATIONS[request.authorization]
    if authorization is not None:
        headers["Authorization"] = authorization
    url = f"/graphql?{request.query_string}" if request.query_string else "/graphql"

    await fuzzer.request(
        request.method,
        url,
        body=request.body,
        headers=headers,
        graphql_shaped=False,
        valid_token=role_token is not None,
    )
