"""The same operations spelled for each side: GraphQL documents for the service, plain JSON
routes for the baseline. Both ask for the same fields and get the same data back."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from bench.load import Call

ENTRY_FIELDS = "id phoneNumber reason note createdAt status recordingUrl"
ADD = (
    "mutation Add($input: AddToDncInput!) { addToDnc(input: $input) { __typename"
    " ... on MutationResult { success statusCode message }"
    " ... on AddToDncSuccess { entry { id phoneNumber createdAt status } } } }"
)
PAGE = (
    "query Page($after: String, $filter: DncEntryFilter) {"
    " dncEntries(first: 50, after: $after, filter: $filter) { edges { cursor node {"
    f" {ENTRY_FIELDS} batch {{ id name }} callRecord {{ id requestUUID phoneNumber }}"
    " addedBy { id email role } } } pageInfo { hasNextPage endCursor }%s } }"
)
ONE = (
    "query One($phoneNumber: String!) { dncEntry(phoneNumber: $phoneNumber) {"
    f" {ENTRY_FIELDS} transcription }} }}"
)
CHECK = (
    "query Check($phoneNumbers: [String!]!) {"
    " dncCheck(phoneNumbers: $phoneNumbers) { checked blocked invalid } }"
)
ADD_MANY = (
    "mutation Many($input: AddManyToDncInput!) { addManyToDnc(input: $input) {"
    " success added alreadyOnDnc invalid items { phoneNumber status } } }"
)
EXPORT = Call("GET", "/export/dnc.csv")


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def graphql(query: str, variables: dict[str, Any]) -> Call:
    return Call("POST", "/graphql", _json({"query": query, "variables": variables}))


def add(service: bool, number: str, batch_id: uuid.UUID, request_uuid: uuid.UUID) -> Call:
    data = {
        "phoneNumber": number,
        "batchId": str(batch_id),
        "requestUUID": str(request_uuid),
        "reason": "CUSTOMER_REQUEST",
        "note": "Asked not to be called again.",
    }
    return graphql(ADD, {"input": data}) if service else Call("POST", "/add", _json(data))


def page(service: bool, after: str | None, reason: str | None, total: bool) -> Call:
    if service:
        document = PAGE % (" totalCount" if total else "")
        return graphql(document, {"after": after, "filter": {"reason": reason} if reason else None})
    query = {"first": "50"}
    if after:
        query["after"] = after
    if reason:
        query["reason"] = reason
    if total:
        query["totalCount"] = "1"
    return Call("GET", f"/entries?{urlencode(query)}")


def one(service: bool, number: str) -> Call:
    if service:
        return graphql(ONE, {"phoneNumber": number})
    return Call("GET", f"/entry?{urlencode({'phoneNumber': number})}")


def check(service: bool, numbers: list[str]) -> Call:
    if service:
        return graphql(CHECK, {"phoneNumbers": numbers})
    return Call("POST", "/check", _json({"phoneNumbers": numbers}))


def add_many(service: bool, numbers: list[str]) -> Call:
    data = {
        "channel": "IMPORT",
        "entries": [{"phoneNumber": n, "reason": "CUSTOMER_REQUEST"} for n in numbers],
    }
    return graphql(ADD_MANY, {"input": data}) if service else Call("POST", "/add-many", _json(data))


def unwrap(body: object, field: str) -> Any:
    """The operation's result: the service's `data.<field>`, or the baseline's whole body."""
    assert isinstance(body, bytes)
    data = json.loads(body)
    if "data" in data or "errors" in data:
        if data.get("errors"):
            raise ValueError(f"GraphQL errors: {data['errors']}"[:300])
        return data["data"][field]
    return data
