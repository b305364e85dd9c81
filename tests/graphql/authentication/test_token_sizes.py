"""Huge and deeply nested tokens and Authorization headers: refused before any parsing can
cost the service, without a trace."""

from __future__ import annotations

import json

import pytest
from jose import jwt

from api.auth import MAX_TOKEN_LENGTH
from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.graphql.authentication.refusals import assert_refused_without_a_trace
from tests.support.client import GraphQLClient
from tests.support.factories import make_tenant
from tests.support.operations import ME
from tests.support.tokens import claims_for, sign, signed_raw


async def test_huge_tokens_of_every_shape(gql: GraphQLClient, settings: Settings) -> None:
    """Correctly signed where signing makes sense: only the size can refuse them."""
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    tokens = {
        "header": jwt.encode(claims, TEST_SECRET, "HS256", headers={"kid": "k" * 100_000}),
        "payload": sign({**claims, "padding": ["x" * 100] * 1_000}),
        "many-claims": sign({**claims, **{f"c{n}": n for n in range(10_000)}}),
        "signature": f"{sign(claims)}{'A' * 100_000}",
        "segments": ".".join([sign(claims)] * 300),
        "dots": "." * 100_000,
    }

    for shape, token in tokens.items():
        assert len(token) > 50_000, shape
        await assert_refused_without_a_trace(gql, f"Bearer {token}")


async def test_token_length_limit(gql: GraphQLClient, settings: Settings) -> None:
    """The longest accepted token is 8 KiB; one character more is refused."""
    tenant = await make_tenant(settings)
    claims = claims_for(tenant.admin)
    padding = 4_000
    while len(sign({**claims, "p": "x" * (padding + 1)})) <= MAX_TOKEN_LENGTH:
        padding += 1
    at_limit = sign({**claims, "p": "x" * padding})
    over = sign({**claims, "p": "x" * (padding + 1)})
    assert MAX_TOKEN_LENGTH == 8192
    assert MAX_TOKEN_LENGTH - 1 <= len(at_limit) <= MAX_TOKEN_LENGTH < len(over)

    assert (await gql(ME, token=at_limit)).data["me"]["id"] == str(tenant.admin.id)
    await assert_refused_without_a_trace(gql, f"Bearer {over}")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer " + "a" * 1_048_576, id="bearer-1mb"),
        pytest.param("Bearer " + "a." * 524_288, id="bearer-1mb-of-dots"),
        pytest.param("x" * 1_048_576, id="no-scheme-1mb"),
        pytest.param("Bearer " + " " * 1_048_576 + "a.b.c", id="1mb-of-spaces"),
    ],
)
async def test_one_megabyte_authorization_header(
    gql: GraphQLClient, settings: Settings, authorization: str
) -> None:
    await make_tenant(settings)

    await assert_refused_without_a_trace(gql, authorization)


@pytest.mark.parametrize("part", ["header", "payload", "claim"])
async def test_deeply_nested_json_within_the_size_limit(
    gql: GraphQLClient, settings: Settings, part: str
) -> None:
    """JSON nested deeper than Python's recursion limit, correctly signed, under 8 KiB."""
    tenant = await make_tenant(settings)
    deep = "[" * 2_500 + "1" + "]" * 2_500  # json.dumps itself cannot write this
    header = '{"alg":"HS256","typ":"JWT"}'
    payload = json.dumps(claims_for(tenant.admin))
    if part == "header":
        header = header.replace("}", f',"x":{deep}}}')
    elif part == "payload":
        payload = deep
    else:
        payload = payload.replace("}", f', "x": {deep}}}')
    token = signed_raw(header.encode(), payload.encode())
    assert len(token) <= MAX_TOKEN_LENGTH

    await assert_refused_without_a_trace(gql, f"Bearer {token}")
