"""The servers: K `dnc-api serve` processes on one database; one can be SIGKILLed and restarted.
Also the console commands (`dnc-api migrate`, `import`, `token`) and the servers' environment.

The servers run this checkout's code (their cwd and PYTHONPATH are its root), as the soak itself
does when started from there with `python -m bench.soak`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import aiohttp

from bench.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
OUTBOX_LEASE_SECONDS = 20


def dnc_api() -> list[str]:
    script = Path(sys.executable).with_name("dnc-api")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


class ServerPool:
    def __init__(self, count: int, env: dict[str, str], logdir: Path) -> None:
        self.ports = [free_port() for _ in range(count)]  # a killed server restarts on its own
        self.env = env
        self.logs: list[IO[bytes]] = [(logdir / f"server-{i}.log").open("ab") for i in range(count)]
        self.log_paths = [logdir / f"server-{i}.log" for i in range(count)]
        self.procs: list[asyncio.subprocess.Process | None] = [None] * count
        self.up = [False] * count

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    async def start(self, index: int) -> None:
        self.procs[index] = await asyncio.create_subprocess_exec(
            *dnc_api(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports[index]),
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.logs[index],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, index: int, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            proc = self.procs[index]
            if proc is None or proc.returncode is not None:
                raise RuntimeError(f"server {index} exited; see {self.log_paths[index]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.url(index) + "/readyz") as response:
                    if response.status == 200:
                        self.up[index] = True
                        return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"server {index} not ready after 90 s; see {self.log_paths[index]}")

    async def kill(self, index: int) -> None:
        """SIGKILL: no graceful shutdown, whatever it was doing is cut off."""
        self.up[index] = False
        proc = self.procs[index]
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    async def pick(self, rng: random.Random) -> int:
        while True:
            ready = [i for i, up in enumerate(self.up) if up]
            if ready:
                return rng.choice(ready)
            await asyncio.sleep(0.05)

    def ready(self) -> list[int]:
        return [i for i, up in enumerate(self.up) if up]

    async def stop(self) -> None:
        for index, proc in enumerate(self.procs):
            self.up[index] = False
            if proc is not None and proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            if proc is None:
                continue
            try:
                await asyncio.wait_for(proc.wait(), timeout=45)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for log in self.logs:
            log.close()


def run_command(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603 (our own console script)
        [*dnc_api(), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"dnc-api {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout.strip()


def server_env(args: argparse.Namespace, secret: str, smtp_port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JWT_", "SMTP_", "OUTBOX_", "MAIL_", "DB_", "GRAPHIQL"))
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        DATABASE_URL=args.database_url,
        APP_ENV="production",
        JWT_SECRET=secret,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT="5",
        MAIL_FROM="dnc-soak@soak.example",
        OUTBOX_POLL_SECONDS="1",
        OUTBOX_RETRY_BASE_SECONDS="1",
        OUTBOX_LEASE_SECONDS=str(OUTBOX_LEASE_SECONDS),
        DB_POOL_SIZE="10",
    )
    return env
