"""`dnc-api demo`'s output as the tests read it, and the server the CLI tests share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.operations import ME
from tests.support.processes import Cli, Server, graphql

PERSON_LINE = re.compile(r"^(organization|admin|member|batch): ([0-9a-f-]{36}) \((.+)\)$", re.M)
CALL_LINE = re.compile(r"^call record: requestUUID ([0-9a-f-]{36}) number (\+\d+)$", re.M)
TOKEN_LINE = re.compile(r"^token: ([\w-]+\.[\w-]+\.[\w-]+)$", re.M)
# Who a token is for, in the words `me` answers with.
EMAIL_AND_ROLE = ("email", "role")


@dataclass(frozen=True)
class Demo:
    ids: dict[str, str]  # "organization", "admin", "member", "batch" -> id
    labels: dict[str, str]  # the same keys -> name or email
    calls: dict[str, str]  # requestUUID -> phone number
    token: str


def parse_demo(stdout: str) -> Demo:
    people = PERSON_LINE.findall(stdout)
    tokens = TOKEN_LINE.findall(stdout)
    assert len(tokens) == 1, stdout
    return Demo(
        ids={kind: id_ for kind, id_, _ in people},
        labels={kind: label for kind, _, label in people},
        calls=dict(CALL_LINE.findall(stdout)),
        token=tokens[0],
    )


@dataclass(frozen=True)
class Served:
    """`dnc-api serve` on a database where `dnc-api demo` was then loaded."""

    cli: Cli
    server: Server
    demo: Demo

    @property
    def http(self) -> httpx.Client:
        return self.server.http


def me(http: httpx.Client, token: str) -> dict[str, Any]:
    """The email and role of the token's user, as the served process knows them."""
    user: dict[str, Any] = graphql(http, ME, token=token).data["me"]
    return {key: user[key] for key in EMAIL_AND_ROLE}
