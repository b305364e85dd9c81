"""Soak test: many clients against real `dnc-api serve` processes sharing one PostgreSQL database,
then an exact reconciliation of the list, the email outbox and what an SMTP server received.

    .venv/bin/python -m bench.soak --clients 16 --minutes 2 --servers 2

Not part of the test suite. It creates its own database (its name must start with `dnc_soak`;
dropped at the end unless --keep), imports organizations through `dnc-api import`, starts an SMTP
sink and K servers, and runs N clients for M minutes while it makes the SMTP server refuse for a
while and kills a server with SIGKILL mid-run. Every request and its answer is recorded; at the
end the database, the outbox and the sink must agree with what the clients were told.
Exit status: 0 PASS, 1 FAIL (any mismatch), 2 could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from bench.mail import SmtpSink
from bench.soak.database import create_database, drop_database
from bench.soak.phones import Numbers
from bench.soak.processes import run_command, server_env
from bench.soak.scenario import soak
from bench.soak.world import build_world

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dnc_soak"
SOAK_DATABASE = re.compile(r"dnc_soak\w*")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--minutes", type=float, default=2.0, help="how long they run (2)")
    parser.add_argument("--servers", type=int, default=2, help="dnc-api serve processes (2)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL database to create; its name must start with dnc_soak "
        f"({DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    parser.add_argument(
        "--no-faults", dest="faults", action="store_false", help="no SMTP refusal, no SIGKILL"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--drain-timeout", type=float, default=300.0, help="seconds to wait for the outbox (300)"
    )
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    name = urlsplit(args.database_url).path.lstrip("/")
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("--database-url must be a postgres:// URL")
    if not SOAK_DATABASE.fullmatch(name):
        parser.error(
            f"the database is dropped and created again: its name must start with "
            f"dnc_soak, not {name!r}"
        )
    if args.clients < 1 or args.servers < 1 or args.minutes <= 0:
        parser.error("--clients, --servers and --minutes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    numbers = Numbers(rng)
    secret = secrets.token_urlsafe(48)
    workdir = Path(tempfile.mkdtemp(prefix="dnc-soak-"))
    sink = SmtpSink(random.Random(args.seed + 3))
    env = server_env(args, secret, sink.port)
    passed = False
    try:
        asyncio.run(create_database(args.database_url))
        print(run_command(["migrate"], env))
        orgs, document = build_world(rng, numbers)
        data_file = workdir / "platform.json"
        data_file.write_text(json.dumps(document, indent=1))
        print(run_command(["import", str(data_file)], env))
        sink.start()
        passed = asyncio.run(soak(args, orgs, numbers, env, sink, workdir, secret))
    except (RuntimeError, OSError, asyncpg.PostgresError) as error:
        print(f"soak could not run: {error}", file=sys.stderr)
        print(f"logs in {workdir}", file=sys.stderr)
        return 2
    finally:
        sink.stop()
        if not args.keep:
            with contextlib.suppress(Exception):
                asyncio.run(drop_database(args.database_url))
        if passed and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir.exists():
            print(f"logs kept in {workdir}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
