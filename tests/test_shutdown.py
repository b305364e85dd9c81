"""Graceful shutdown of `dnc-api serve`: on SIGTERM it stops accepting connections, lets the
request in flight finish, and leaves undelivered email in the outbox for the next process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import drop_postgres_database, new_postgres_database, require_postgres
from tests.support.client import assert_union
from tests.support.factories import number_held, us_number
from tests.support.smtp import SmtpSink, free_port
from tests.test_cli import Cli, serving
from tests.test_subscriptions import ADD, Org, seed

EXIT_SECONDS = 20.0


@pytest.fixture(params=["sqlite", "postgres"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "sqlite":
        yield Cli(f"sqlite://{tmp_path / 'dnc.sqlite3'}", tmp_path)
        return
    require_postgres()
    url = new_postgres_database("dnc_shutdown")
    try:
        yield Cli(url, tmp_path)
    finally:
        drop_postgres_database(url)


async def outbox_statuses(database_url: str) -> list[str]:
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as conn:
            return sorted(row[0] for row in conn.execute("SELECT status FROM email_outbox"))
    pg = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return sorted(row[0] for row in await pg.fetch("SELECT status FROM email_outbox"))
    finally:
        await pg.close()


async def healthy(process: asyncio.subprocess.Process, base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=1, trust_env=False) as http:
        for _ in range(300):
            assert process.returncode is None, "dnc-api serve exited"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    pytest.fail("dnc-api serve did not become healthy")


async def add(base_url: str, org: Org, number: str) -> dict[str, object]:
    variables = {
        "input": {"phoneNumber": number, "batchId": org.batch_id, "requestUUID": org.request_uuid}
    }
    async with httpx.AsyncClient(base_url=base_url, timeout=60, trust_env=False) as http:
        response = await http.post(
            "/graphql",
            json={"query": ADD, "variables": variables},
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
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = cli.env(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), OUTBOX_POLL_SECONDS="1")
    stderr = cli.cwd / "serve.err"
    try:
        with stderr.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                *cli.command("serve", "--port", str(port)),
                cwd=cli.cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                await healthy(process, base_url)
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
                started = time.monotonic()
                code = await asyncio.wait_for(process.wait(), EXIT_SECONDS)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        assert_union(result, "AddToDncSuccess")
        # uvicorn re-raises the signal once its shutdown is complete, as a shell expects.
        assert code in {0, -signal.SIGTERM}, stderr.read_text()
        assert "Application shutdown complete." in stderr.read_text()
        assert time.monotonic() - started < EXIT_SECONDS
        assert smtp.messages() == []
        assert await outbox_statuses(cli.database_url) == ["PENDING", "PENDING"]

        smtp.temporary_failure = False
        with serving(cli, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port)):
            delivered = await smtp.wait_for(2, within=20)
        assert len({message.message["Message-ID"] for message in delivered}) == 2
    finally:
        smtp.stop()
