"""`dnc-api` run the way an operator runs it: a command, or `serve` in a process of its own, on
a database of its own; and what such a server answers over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    TEST_SECRET,
    drop_postgres_database,
    new_postgres_database,
    require_postgres,
)
from tests.support.client import GraphQLResponse
from tests.support.smtp import free_port

DIALECTS = ["sqlite", "postgres"]
# Settings the outer shell may carry; each test states its own (GRAPHQL_FAST_PATH passes on).
CONFIG_PREFIXES = (
    "APP_ENV",
    "DATABASE_URL",
    "DB_",
    "FIELD_SUGGESTIONS",
    "GRAPHIQL",
    "INTROSPECTION",
    "JWT_",
    "MAIL_FROM",
    "OUTBOX_",
    "SMTP_",
)
COMMAND_SECONDS = 120
START_SECONDS = 30
STOP_SECONDS = 15


# --- running a command ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cli:
    """`dnc-api` against one database, run in a scratch folder (dev secret, default files)."""

    database_url: str
    cwd: Path

    def env(self, **changes: str | None) -> dict[str, str]:
        """The environment a command runs in; a change to None removes the variable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
        env |= {"DATABASE_URL": self.database_url, "JWT_SECRET": TEST_SECRET}
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "api.cli", *args]

    def _run(self, args: tuple[str, ...], env: dict[str, str | None], *, text: bool) -> Any:
        return subprocess.run(
            self.command(*args),
            cwd=self.cwd,
            env=self.env(**env),
            capture_output=True,
            text=text,
            timeout=COMMAND_SECONDS,
            check=False,
        )

    def run(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = self._run(args, env, text=True)
        return result

    def run_bytes(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[bytes]:
        """`run`, its output as bytes: a CSV's CRLF row ends stay as they were written."""
        result: subprocess.CompletedProcess[bytes] = self._run(args, env, text=False)
        return result

    def ok(self, *args: str, **env: str | None) -> str:
        """Run, expect success, return stdout."""
        result = self.run(*args, **env)
        assert result.returncode == 0, (result.stdout, result.stderr)
        return result.stdout


def assert_refused(result: subprocess.CompletedProcess[str], *mentions: str) -> None:
    """A clear refusal: non-zero exit, each mention on stderr, no crash."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for mention in mentions:
        assert mention in result.stderr, result.stderr


@contextlib.contextmanager
def empty_database(dialect: str, folder: Path, prefix: str = "dnc_cli") -> Iterator[str]:
    """A database no migration has touched: a file in `folder`, or a new PostgreSQL database
    (named from `prefix`) dropped when the block ends."""
    if dialect == "sqlite":
        yield f"sqlite://{folder / 'dnc.sqlite3'}"
        return
    require_postgres()
    url = new_postgres_database(prefix)
    try:
        yield url
    finally:
        drop_postgres_database(url)


# --- a server in its own process -----------------------------------------------------------


@dataclass
class Server:
    http: httpx.Client
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dnc-api serve exited with {process.returncode}:\n{stderr.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"dnc-api serve did not become healthy:\n{stderr.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serving(cli: Cli, **env: str | None) -> Iterator[Server]:
    """`dnc-api serve` on a free port until the block ends."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stdout, stderr = cli.cwd / f"serve-{port}.out", cli.cwd / f"serve-{port}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            cli.command("serve", "--port", str(port)),
            cwd=cli.cwd,
            env=cli.env(**env),
            stdout=out,
            stderr=err,
        )
        try:
            wait_until_healthy(process, base_url, stderr)
            with httpx.Client(base_url=base_url, timeout=10) as http:
                yield Server(http, stdout, stderr)
        finally:
            stop(process)


@dataclass
class Started:
    """A `dnc-api serve` process the test's event loop drives (to signal it, to kill it)."""

    process: asyncio.subprocess.Process
    base_url: str
    log: Path  # stdout and stderr


@contextlib.asynccontextmanager
async def started(cli: Cli, **env: str | None) -> AsyncIterator[Started]:
    """`dnc-api serve` on a free port, healthy when the block starts; stopped when it ends
    unless the test ended it first."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = cli.cwd / f"serve-{port}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *cli.command("serve", "--port", str(port)),
            cwd=cli.cwd,
            env=cli.env(**env),
            stdout=output,
            stderr=output,
        )
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=1, trust_env=False) as http:
            deadline = time.monotonic() + START_SECONDS
            while True:
                assert process.returncode is None, f"serve exited:\n{log.read_text()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"serve did not start:\n{log.read_text()}"
                await asyncio.sleep(0.1)
        yield Started(process, base_url, log)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
        await process.wait()


def graphql(
    http: httpx.Client, query: str, *, token: str, headers: dict[str, str] | None = None
) -> GraphQLResponse:
    """One GraphQL request to a served process, as a client outside it sends it."""
    response = http.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    return GraphQLResponse(response.status_code, response.json(), response.headers)
