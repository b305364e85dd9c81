"""Tokens against a real `dnc-api serve` configured for RS256: connection_init on the socket goes
through the same checks as a request, and a 1 MB header is no 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from models import UserRole
from tests.graphql.authentication.refusals import assert_unauthenticated
from tests.support.client import GraphQLResponse
from tests.support.factories import make_organization, make_user
from tests.support.operations import ME
from tests.support.processes import Cli, serving
from tests.support.sockets import (
    REJECTED,
    Api,
    acknowledged,
    bearer,
    close_code,
    connection_init,
    websocket,
)
from tests.support.tokens import claims_for, hmac_by_hand, public_key_forms, sign


@pytest.fixture(scope="module")
def rs256_server(
    database_url: str, rsa_keys: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    cli = Cli(database_url, tmp_path_factory.mktemp("tokens-rs256"))
    environment = {"JWT_SECRET": None, "JWT_PUBLIC_KEY": rsa_keys[1], "JWT_ALGORITHMS": "RS256"}
    with serving(cli, **environment) as server:
        yield Api(str(server.http.base_url).rstrip("/"))


async def test_websocket_refuses_alg_confusion(
    app: object, rs256_server: Api, rsa_keys: tuple[str, str]
) -> None:
    organization = await make_organization()
    user = await make_user(organization, role=UserRole.ADMIN)
    forms = public_key_forms(rsa_keys[1])
    confused = [
        hmac_by_hand(claims_for(user), forms["pem"], "HS256"),
        hmac_by_hand(claims_for(user), forms["der"], "HS512"),
        hmac_by_hand(claims_for(user), forms["pem-without-newlines"], "HS384"),
    ]

    async with websocket(rs256_server) as socket:
        await acknowledged(socket, sign(claims_for(user), rsa_keys[0], "RS256"))
    for token in confused:
        async with websocket(rs256_server) as socket:
            await connection_init(socket, bearer(token))
            assert await close_code(socket, 5) in REJECTED


async def test_one_megabyte_authorization_header_over_a_real_server(
    app: object, rs256_server: Api
) -> None:
    """The server may refuse the header itself, or answer UNAUTHENTICATED; never a 500."""
    async with httpx.AsyncClient(
        base_url=rs256_server.base_url, timeout=30, trust_env=False
    ) as http:
        response = await http.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": "Bearer " + "a" * 1_048_576},
        )

    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert_unauthenticated(GraphQLResponse(200, response.json(), response.headers))
