"""The run itself: tokens, servers, clients and faults, then the drain and the reconciliation."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import time
from pathlib import Path

import aiohttp

from api.auth import issue_token
from api.settings import Settings
from bench.mail import SmtpSink
from bench.soak.clients import Client, World
from bench.soak.contract import ME
from bench.soak.database import read_database, wait_drained
from bench.soak.faults import FaultLog, inject_faults
from bench.soak.ledger import Ledger
from bench.soak.phones import Numbers
from bench.soak.processes import ServerPool, run_command
from bench.soak.reconcile import final_api_checks, reconcile_database, reconcile_sink
from bench.soak.report import print_report, server_log_errors
from bench.soak.transport import REQUEST_TIMEOUT, Api, Stats, outcome_label
from bench.soak.world import OrgSpec, client_users


async def soak(
    args: argparse.Namespace,
    orgs: dict[str, OrgSpec],
    numbers: Numbers,
    env: dict[str, str],
    sink: SmtpSink,
    workdir: Path,
    secret: str,
) -> bool:
    rng = random.Random(args.seed + 1)
    stats, ledger, faults = Stats(), Ledger(), FaultLog()
    pool = ServerPool(args.servers, env, workdir)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    ttl = int(args.minutes * 60) + 3600
    settings = Settings(jwt_secret=secret)
    for org in orgs.values():
        for user in org.users:
            user.token = issue_token(
                user_id=user.id, organization_id=org.id, settings=settings, ttl_seconds=ttl
            )
    # One token through the console command, as an operator would make it.
    first = next(iter(orgs.values())).admins[0]
    first.token = run_command(["token", "--user", str(first.id), "--ttl", str(ttl)], env)
    expired = {
        key: issue_token(
            user_id=org.active_users[0].id,
            organization_id=org.id,
            settings=settings,
            ttl_seconds=-60,
        )
        for key, org in orgs.items()
    }
    foreign = issue_token(
        user_id=first.id,
        organization_id=orgs[first.org].id,
        settings=Settings(jwt_secret=secrets.token_urlsafe(48)),
        ttl_seconds=ttl,
    )
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            for index in range(args.servers):
                await pool.start(index)
            for index in range(args.servers):
                await pool.wait_ready(index, session)
            api = Api(session, pool, stats, rng)
            world = World(orgs, numbers, api, ledger, stats, pool, foreign, expired)
            for org in orgs.values():
                for user in org.users:
                    reply = await api.call("setup:me", user.token, ME, {})
                    stats.outcome("setup:me", outcome_label(reply, "me"))
                    me = reply.result("me")
                    if user.active and (not me or me["email"] != user.email):
                        raise RuntimeError(f"token of {user.email} does not work: {reply}")
                    if not user.active and reply.error_codes() != ["UNAUTHENTICATED"]:
                        raise RuntimeError(f"inactive {user.email} is let in: {reply}")
            users = client_users(orgs, args.clients)
            clients = [Client(world, i, user, args.seed * 1000 + i) for i, user in enumerate(users)]
            print(
                f"running {args.clients} clients for {args.minutes:g} min against "
                f"{args.servers} servers (logs in {workdir}) ...",
                flush=True,
            )
            started = time.monotonic()
            deadline = started + args.minutes * 60
            fault_task = (
                asyncio.create_task(
                    inject_faults(pool, sink, session, started, args.minutes * 60, rng, faults)
                )
                if args.faults
                else None
            )
            await asyncio.gather(*(client.run(deadline) for client in clients))
            run_seconds = time.monotonic() - started
            if fault_task is not None:
                if not fault_task.done():
                    # Whatever fault is under way is finished (the server restarted) first.
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait_for(asyncio.shield(fault_task), timeout=120)
                fault_task.result()
            for index, up in enumerate(pool.up):
                if not up:
                    await pool.start(index)
                    await pool.wait_ready(index, session)
            print(f"run over after {run_seconds:.1f}s; draining the outbox ...", flush=True)
            drain = await wait_drained(args.database_url, args.drain_timeout)
            snapshot = await read_database(args.database_url)
            out = reconcile_database(orgs, ledger, snapshot)
            await final_api_checks(out, world, Numbers(random.Random(args.seed + 2)), rng)
    finally:
        await pool.stop()
    reconcile_sink(out, orgs, snapshot, sink.received(), killed=bool(faults.kills))
    return print_report(
        args,
        stats,
        ledger,
        faults,
        sink,
        out,
        run_seconds,
        drain,
        server_log_errors(pool.log_paths),
    )
