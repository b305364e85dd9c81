"""Served `dnc-api` processes on one database, seeded with two organizations by `dnc-api
import`, and the mutations the tests make through them over HTTP."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from api.auth import issue_token
from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.support.client import GraphQLResponse, assert_union
from tests.support.operations import ADD, ADD_MANY, REMOVE
from tests.support.platform import batch_row, call_row, new_id, user_row, write_json
from tests.support.processes import Cli, serving
from tests.support.sockets import Api


@dataclass(frozen=True)
class Org:
    """One imported organization: its admin and member, and a call to add numbers from."""

    organization_id: str
    admin_id: str
    admin_email: str
    admin_token: str
    member_token: str
    batch_id: str
    request_uuid: str


@dataclass(frozen=True)
class Deployment:
    database_url: str
    reader: Api  # where subscribers connect
    writer: Api  # where changes are made; another process on PostgreSQL, the same on SQLite
    a: Org
    b: Org

    @property
    def settings(self) -> Settings:
        return Settings(jwt_secret=TEST_SECRET, database_url=self.database_url)


# --- the seed ------------------------------------------------------------------------------


def platform_rows(slug: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One organization's rows in the `dnc-api import` format, and their ids by kind."""
    ids = {key: new_id() for key in ("organization", "admin", "member", "batch", "call")}
    organization = ids["organization"]
    rows = {
        "organizations": [{"id": organization, "name": slug.title()}],
        "users": [
            user_row(ids["admin"], organization, email=f"admin@{slug}.example", name=None),
            user_row(
                ids["member"],
                organization,
                email=f"member@{slug}.example",
                name=None,
                role="MEMBER",
            ),
        ],
        "batches": [batch_row(ids["batch"], organization, ids["admin"])],
        "callRecords": [
            call_row(
                ids["batch"],
                ids["call"],
                phoneNumber="+12125550100",
                recordingUrl="https://rec.example.com/1.mp3",
                transcription="Please stop calling me.",
                calledAt="2026-11-02T15:04:05Z",
            )
        ],
    }
    return rows, ids


def token_of(
    settings: Settings, user_id: str, organization_id: str, ttl_seconds: int = 3600
) -> str:
    """A token for the user of these ids (the factories' `token_for` takes a User)."""
    return issue_token(
        user_id=uuid.UUID(user_id),
        organization_id=uuid.UUID(organization_id),
        settings=settings,
        ttl_seconds=ttl_seconds,
    )


def org_of(ids: dict[str, str], slug: str, settings: Settings) -> Org:
    return Org(
        organization_id=ids["organization"],
        admin_id=ids["admin"],
        admin_email=f"admin@{slug}.example",
        admin_token=token_of(settings, ids["admin"], ids["organization"]),
        member_token=token_of(settings, ids["member"], ids["organization"]),
        batch_id=ids["batch"],
        request_uuid=ids["call"],
    )


def seed(cli: Cli, folder: Path) -> tuple[Org, Org]:
    """Organizations A and B (an admin, a member, a batch, a call each), by `dnc-api import`."""
    settings = Settings(jwt_secret=TEST_SECRET, database_url=cli.database_url)
    rows_a, ids_a = platform_rows("acme")
    rows_b, ids_b = platform_rows("globex")
    document = {section: rows_a[section] + rows_b[section] for section in rows_a}
    cli.ok("import", str(write_json(folder, document)))
    return org_of(ids_a, "acme", settings), org_of(ids_b, "globex", settings)


@contextlib.contextmanager
def deployed(
    cli: Cli, folder: Path, *, processes: int = 1, **env: str | None
) -> Iterator[Deployment]:
    """`processes` served processes on `cli`'s database (the first one migrates it), then the
    seed; the first is the reader, the last the writer."""
    with contextlib.ExitStack() as stack:
        apis = [
            Api(str(stack.enter_context(serving(cli, **env)).http.base_url).rstrip("/"))
            for _ in range(processes)
        ]
        a, b = seed(cli, folder)
        yield Deployment(cli.database_url, reader=apis[0], writer=apis[-1], a=a, b=b)


# --- changes over HTTP ---------------------------------------------------------------------


async def graphql(api: Api, query: str, variables: dict[str, Any], *, token: str) -> dict[str, Any]:
    """The data of an answer without errors from the served process."""
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10, trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    return GraphQLResponse(response.status_code, response.json(), response.headers).data


async def add_to_dnc(
    api: Api,
    org: Org,
    number: str,
    *,
    reason: str | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The new entry of a successful addToDnc."""
    values: dict[str, Any] = {
        "phoneNumber": number,
        "batchId": org.batch_id,
        "requestUUID": org.request_uuid,
    }
    if reason is not None:
        values["reason"] = reason
    if expires_at is not None:
        values["expiresAt"] = expires_at.isoformat()
    data = await graphql(api, ADD, {"input": values}, token=org.admin_token)
    entry: dict[str, Any] = assert_union(data["addToDnc"], "AddToDncSuccess")["entry"]
    return entry


async def remove_from_dnc(api: Api, org: Org, number: str, reason: str) -> dict[str, Any]:
    """The entry of a successful removeFromDnc."""
    variables = {"input": {"phoneNumber": number, "reason": reason}}
    data = await graphql(api, REMOVE, variables, token=org.admin_token)
    entry: dict[str, Any] = assert_union(data["removeFromDnc"], "RemoveFromDncSuccess")["entry"]
    return entry


async def add_many_to_dnc(api: Api, org: Org, entries: list[dict[str, Any]]) -> dict[str, Any]:
    variables = {"input": {"channel": "MANUAL", "entries": entries}}
    result: dict[str, Any] = (await graphql(api, ADD_MANY, variables, token=org.admin_token))[
        "addManyToDnc"
    ]
    assert result["success"], result
    return result
