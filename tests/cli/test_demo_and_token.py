"""`dnc-api demo` (a demo organization and a token) and `dnc-api token` (a token for a user)."""

from __future__ import annotations

import time
import uuid

import pytest
from jose import jwt

from tests.cli.database import rows_by_id, snapshot
from tests.cli.demo import Served, me, parse_demo
from tests.support.client import assert_error_code
from tests.support.operations import ME
from tests.support.processes import Cli, assert_refused, graphql

NO_SUCH_USER = str(uuid.UUID(int=1))


# --- demo ----------------------------------------------------------------------------------


def test_demo_prints_ids_and_a_token_and_twice_is_harmless(cli: Cli) -> None:
    first = cli.ok("demo")
    after_first = snapshot(cli.database_url)
    second = cli.ok("demo")

    assert snapshot(cli.database_url) == after_first
    assert {name: len(rows) for name, rows in after_first.items()} == {
        "Organization": 1,
        "User": 2,
        "Batch": 1,
        "CallRecord": 3,
    }
    demo = parse_demo(first)
    assert parse_demo(second).ids == demo.ids
    assert set(demo.ids) == {"organization", "admin", "member", "batch"}
    users = rows_by_id(after_first["User"])
    assert {id_: users[id_]["role"] for id_ in (demo.ids["admin"], demo.ids["member"])} == {
        demo.ids["admin"]: "ADMIN",
        demo.ids["member"]: "MEMBER",
    }
    assert [str(row["id"]) for row in after_first["Organization"]] == [demo.ids["organization"]]
    assert [str(row["id"]) for row in after_first["Batch"]] == [demo.ids["batch"]]
    assert {str(row["request_uuid"]): row["phone_number"] for row in after_first["CallRecord"]} == (
        demo.calls
    )


def test_demo_token_works_against_the_served_app(served: Served) -> None:
    assert me(served.http, served.demo.token) == {
        "email": served.demo.labels["admin"],
        "role": "ADMIN",
    }


# --- token ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["admin", "member"])
def test_token_is_for_that_user(served: Served, kind: str) -> None:
    token = served.cli.ok("token", "--user", served.demo.ids[kind]).strip()
    assert me(served.http, token) == {"email": served.demo.labels[kind], "role": kind.upper()}


def test_token_ttl_is_honoured(served: Served) -> None:
    token = served.cli.ok("token", "--user", served.demo.ids["admin"], "--ttl", "1").strip()
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] == 1
    time.sleep(2.1)
    assert_error_code(graphql(served.http, ME, token=token), "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("user", "mention"),
    [(NO_SUCH_USER, NO_SUCH_USER), ("not-a-uuid", "--user")],
    ids=["unknown", "malformed"],
)
def test_token_for_no_such_user_is_refused(served: Served, user: str, mention: str) -> None:
    result = served.cli.run("token", "--user", user)
    assert_refused(result, mention)
    assert result.stdout == ""
