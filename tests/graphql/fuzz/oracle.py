"""What every answer to a fuzzed request must satisfy, and the client that checks each one.

What must hold for every request: no 5xx; a GraphQL body (JSON with `data` and/or `errors`,
every error with a message) unless the request itself was refused with a 4xx; no
`INTERNAL_SERVER_ERROR` (the fuzzer must find no unexpected error, masked or not); no message,
extension or refusal text that shows internals (tracebacks, SQL, table names, drivers, Python
exception or class names, file paths) unless the request itself contained those words; no
error logged by the service.

The short run is part of the suite. The long run (no per-test timeout) is:

    FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/graphql/fuzz -q

FUZZ_EXAMPLES is the number of examples of each fuzz test (on each database).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, settings

from tests.support.factories import Tenant

LONG_RUN = os.environ.get("FUZZ_EXAMPLES")
# Each fuzz test module's `pytestmark`: the long run has no per-test timeout.
LONG_RUN_MARKS = [pytest.mark.timeout(0)] if LONG_RUN else []
SCHEMA_SDL = (Path(__file__).resolve().parents[3] / "schema.graphql").read_text()
SCHEMA_NAMES = frozenset(graphql.build_schema(SCHEMA_SDL).type_map)


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
