"""How a refused token is answered, checked: the same GraphQL error for every refusal
(UNAUTHENTICATED, one short message, data null), nothing echoed, nothing written."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.graphql.permissions import IsAuthenticated
from api.settings import Settings
from models import Batch, CallRecord, DncEntry, DncEvent, EmailOutbox, Organization, User
from tests.support.app import serve
from tests.support.client import GraphQLClient, GraphQLResponse
from tests.support.operations import ME

SNAPSHOT_MODELS = (Organization, User, Batch, CallRecord, DncEntry, DncEvent, EmailOutbox)


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The real application for `settings`, on an emptied database, behind a GraphQL client."""
    async with serve(settings, emptied=True) as http:
        yield GraphQLClient(http)


async def call_me(gql: GraphQLClient, authorization: str | None) -> GraphQLResponse:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await gql(ME, headers=headers)


async def assert_token_refused(client: GraphQLClient, authorization: str | None) -> GraphQLResponse:
    """`me`, with this Authorization header, refused as UNAUTHENTICATED."""
    response = await call_me(client, authorization)
    assert_unauthenticated(response)
    return response


def assert_unauthenticated(response: GraphQLResponse) -> None:
    assert response.status == 200, response.body
    assert response.body["data"] is None, response.body
    assert [(e["message"], e.get("extensions")) for e in response.errors] == [
        (IsAuthenticated.message, {"code": "UNAUTHENTICATED"})
    ], response.errors


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row the service keeps, by model, in id order: equal snapshots, nothing written."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in SNAPSHOT_MODELS:
        values = await model.all().values()
        rows[model.__name__] = sorted(values, key=lambda row: str(row["id"]))
    return rows


async def assert_refused_without_a_trace(
    client: GraphQLClient,
    authorization: str,
    *,
    query: str = ME,
    variables: dict[str, Any] | None = None,
    hidden: tuple[str, ...] = (),
) -> None:
    """UNAUTHENTICATED with the one short message, nothing of `hidden` echoed, no row changed."""
    before = await snapshot()

    response = await client(query, variables, headers={"Authorization": authorization})

    assert_unauthenticated(response)
    assert len(IsAuthenticated.message) <= 80
    echoed = json.dumps(response.body)
    assert not [value for value in hidden if value in echoed], echoed
    assert await snapshot() == before
