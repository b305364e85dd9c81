"""Graceful shutdown of `dnc-api serve`: on SIGTERM it stops accepting connections, lets the
request in flight finish, and leaves undelivered email in the outbox for the next process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.client import assert_union
from tests.support.deployment import Org, seed
from tests.support.factories import number_held, us_number
from tests.support.operations import ADD_TYPENAME
from tests.support.processes import DIALECTS, Cli, empty_database, serving, started
from tests.support.smtp import SmtpSink

EXIT_SECONDS = 20.0


@pytest.fixture(params=DIALECTS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    with empty_database(request.param, tmp_path, "dnc_shutdown") as url:
        yield Cli(url, tmp_path)


async def outbox_statuses(database_url: str) -> list[str]:
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as conn:
            return sorted(row[0] for row in conn.execute("SELECT status FROM email_outbox"))
    pg = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return sorted(row[0] for row in await pg.fetch("SELECT status FROM email_outbox"))
    finally:
        await pg.close()


async def add(base_url: str, org: Org, number: str) -> dict[str, object]:
    """addToDnc from outside the process, patient enough to wait on a held lock."""
    variables = {
        "input": {"phoneNumber": number, "batchId": org.batch_id, "requestUUID": org.request_uuid}
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={"query": ADD_TYPENAME, "variables": variables},
            headers={"Authorization": f"Bearer {org.admin_token}"},
        )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["data"]["addToDnc"]
    return result


async def test_sigterm_finishes_the_request_in_flight_and_keeps_pending_email(
    cli: Cli,
) -> None:
    smtp = SmtpSink()
    smtp.temporary_failure = True  # nothing can be delivered while the first process runs
    smtp.start()
    try:
        async with started(
            cli, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), OUTBOX_POLL_SECONDS="1"
        ) as served:
            process, base_url = served.process, served.base_url
            a, _ = seed(cli, cli.cwd)
            assert_union(await add(base_url, a, us_number()), "AddToDncSuccess")

            number = us_number()
            async with number_held(cli.database_url, a.organization_id, number):
                in_flight = asyncio.create_task(add(base_url, a, number))
                await asyncio.sleep(1.0)  # the add has arrived and waits on the lock
                assert not in_flight.done()
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.5)
                async with httpx.AsyncClient(trust_env=False) as http:
                    with pytest.raises(httpx.ConnectError):  # no new connections
                        await http.get(f"{base_url}/healthz", timeout=2)
                assert process.returncode is None  # still serving the add
            result = await asyncio.wait_for(in_flight, 30)
            started_at = time.monotonic()
            code = await asyncio.wait_for(process.wait(), EXIT_SECONDS)
        assert_union(result, "AddToDncSuccess")
        # uvicorn re-raises the signal once its shutdown is complete, as a shell expects.
        assert code in {0, -signal.SIGTERM}, served.log.read_text()
        assert "Application shutdown complete." in served.log.read_text()
        assert time.monotonic() - started_at < EXIT_SECONDS
        assert smtp.messages() == []
        assert await outbox_statuses(cli.database_url) == ["PENDING", "PENDING"]

        smtp.temporary_failure = False
        with serving(cli, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port)):
            delivered = await smtp.wait_for(2, within=20)
        assert len({message.message["Message-ID"] for message in delivered}) == 2
    finally:
        smtp.stop()
