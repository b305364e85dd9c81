"""Fuzzing every GraphQL operation over HTTP with valid tokens of an ADMIN and a MEMBER.

- whole operations generated from `schema.graphql` by hypothesis-graphql, valid ones and ones
  with one schema violation, with the tenant's real ids, numbers and well-formed cursors mixed
  into the generated ID, UUID, DateTime and String values;
- every operation with fuzzed variables: mostly well-typed, sometimes garbage, reaching the
  service's rules (real batches and call records, spellings of listed numbers, instants around
  now and at the ends of the calendar, cursors).
What the fuzzer found is kept as fixed cases (`test_found_inputs`, explicit examples), so they
run every time, whatever the random draw. The oracle, and the long run, are in oracle.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis_graphql import Mode
from hypothesis_graphql import strategies as gql_st

from api.app import create_app
from tests.conftest import make_settings
from tests.graphql.fuzz.oracle import LONG_RUN_MARKS, SCHEMA_SDL, Fuzzer, fuzz_settings, outcome
from tests.graphql.fuzz.values import (
    ACTIONS,
    CHANNELS,
    EARLIER,
    FRESH_NUMBERS,
    JUNK,
    LATER,
    ODD_TEXT,
    REASONS,
    STATUSES,
    Seed,
    cursors,
    custom_scalars,
    ids,
    instants,
    mostly,
    phone_numbers,
    uuids,
)
from tests.support.factories import make_tenant
from tests.support.operations import ADD, CHECK, ENTRY, ENTRY_FIELDS, REMOVE
from tests.support.smtp import SmtpSink

pytestmark = LONG_RUN_MARKS


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

# The shared documents where they select everything; the others as wide as the schema goes.
EVENT = "id action phoneNumber at channel reason actor { id email } entry { ...Entry }"
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
OPERATIONS = {
    "addToDnc": ADD,
    "removeFromDnc": REMOVE,
    "addManyToDnc": f"""
mutation AddMany($input: AddManyToDncInput!) {{
  addManyToDnc(input: $input) {{
    success statusCode message added alreadyOnDnc invalid code field
    items {{ phoneNumber status message entry {{ ...Entry }} }}
  }}
}} {ENTRY_FIELDS}""",
    "dncEntries": f"""
query Entries($first: Int, $after: String, $filter: DncEntryFilter) {{
  dncEntries(first: $first, after: $after, filter: $filter) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ ...Entry }} }}
  }}
}} {ENTRY_FIELDS}""",
    "dncAuditLog": f"""
query Audit($first: Int, $after: String, $filter: DncAuditFilter) {{
  dncAuditLog(first: $first, after: $after, filter: $filter) {{
    totalCount {PAGE_INFO} edges {{ cursor node {{ {EVENT} }} }}
  }}
}} {ENTRY_FIELDS}""",
    "dncEntry": ENTRY,
    "dncHistory": f"""
query History($phoneNumber: String!) {{ dncHistory(phoneNumber: $phoneNumber) {{ {EVENT} }} }}
{ENTRY_FIELDS}""",
    "dncCheck": CHECK,
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
