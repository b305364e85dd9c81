"""One benchmark run: seed, start both servers, drive every workload on each, write the report."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import platform
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from api.auth import issue_token
from api.settings import Settings
from bench import mail, profiles, report, servers, workloads
from bench.dataset import Dataset, load_dataset, reset_additions
from bench.load import Level, Plan, run_level
from bench.pgproxy import CountingProxy
from bench.report import Row
from bench.seed import SeedPlan, seed
from bench.workloads import Scale, Workload

TOKEN_TTL = 6 * 3600
# Per workload, for the service and the baseline: (queries executed, simple statements).
Counts = dict[str, tuple[tuple[float, float], tuple[float, float]]]
COUNTED_REQUESTS = 3


@dataclass(frozen=True)
class Options:
    database_url: str
    out: Path
    scale: Scale
    only: frozenset[str]
    reuse_database: bool
    mail: str
    profile: bool


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def prepare(options: Options) -> Dataset:
    """The seeded database: reused when asked and it holds this size, else made anew."""
    if options.reuse_database:
        with contextlib.suppress(OSError, asyncpg.PostgresError, LookupError):
            conn = await asyncpg.connect(options.database_url)
            try:
                dataset = await load_dataset(conn)
                if dataset.entries == options.scale.entries:
                    await reset_additions(conn, dataset)
                    say(f"reusing the seeded database ({dataset.entries:,} entries)")
                    return dataset
            finally:
                await conn.close()
    say(f"seeding {options.scale.entries:,} entries ...")
    dataset = await seed(options.database_url, SeedPlan(entries=options.scale.entries))
    say(f"seeded in {dataset.seed_seconds:.1f} s")
    return dataset


def _server_env(options: Options, secret: str, smtp: dict[str, str]) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "JWT_SECRET": secret,
        "DATABASE_URL": options.database_url,
        "DB_POOL_SIZE": "10",
        **smtp,
    }


async def start_pair(
    env: dict[str, str],
    log_dir: Path,
    name: str,
    baseline_env: dict[str, str] | None = None,
) -> tuple[servers.Server, servers.Server]:
    """The service (`dnc-api serve`) and the baseline under the same uvicorn, side by side."""
    ports = servers.free_port(), servers.free_port()
    service_argv = servers.python_module(
        "api.cli", "serve", "--host", "127.0.0.1", "--port", str(ports[0])
    )
    baseline_argv = servers.python_module("bench.baseline", "--port", str(ports[1]))
    started = await asyncio.gather(
        servers.start(f"{name}-service", service_argv, env, ports[0], log_dir),
        servers.start(f"{name}-baseline", baseline_argv, baseline_env or env, ports[1], log_dir),
        return_exceptions=True,
    )
    running = [s for s in started if isinstance(s, servers.Server)]
    failures = [s for s in started if isinstance(s, BaseException)]
    if failures:
        await stop_all(running)
        raise failures[0]
    return running[0], running[1]


async def stop_all(running: Iterable[servers.Server], grace: float | None = None) -> None:
    await asyncio.gather(*(asyncio.to_thread(servers.stop, s, grace) for s in running))


@contextlib.asynccontextmanager
async def both_servers(
    env: dict[str, str], baseline_env: dict[str, str], log_dir: Path, name: str, grace: float
) -> AsyncIterator[tuple[servers.Server, servers.Server]]:
    pair = await start_pair(env, log_dir, name, baseline_env=baseline_env)
    try:
        yield pair
    finally:
        await stop_all(pair, grace)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def drive(
    workload: Workload, plan: Plan, server: servers.Server, service: bool, token: str
) -> Level:
    driver = workload.drive(service, plan)
    return await run_level(
        server,
        _headers(token),
        plan,
        driver.next_call,
        read=driver.read,
        check=driver.check,
        check_every=driver.check_every,
    )


async def measure(
    selected: list[Workload], env: dict[str, str], tokens: dict[str, str], options: Options
) -> list[Row]:
    """Each group of workloads on a fresh pair of servers; service and baseline level by level."""
    rows: list[Row] = []
    # A finished pair shuts down (its deliverer may wait out an SMTP timeout) while the next
    # pair works: that costs no CPU, and saves the wait.
    stopping: list[asyncio.Task[None]] = []
    groups = itertools.groupby(selected, lambda w: w.key if options.scale.fresh_servers else "all")
    try:
        for key, group in groups:
            began = time.perf_counter()
            svc, base = await start_pair(env, options.out / "logs", key)
            raw = options.out / f"profile-{key}.raw"
            sampler = profiles.start(svc, raw) if options.profile else None
            try:
                await _measure_group(list(group), svc, base, tokens, rows)
            finally:
                if sampler is not None:
                    await asyncio.to_thread(profiles.finish, sampler)
                stopping.append(asyncio.create_task(stop_all((svc, base))))
            if sampler is not None:
                summary = raw.with_suffix(".md")
                summary.write_text(f"# Service CPU profile: {key}\n\n{profiles.summarize(raw)}")
                say(f"profile: {summary}")
            say(f"-- {key}: {time.perf_counter() - began:.1f} s")
    finally:
        await asyncio.gather(*stopping)
    return rows


async def _measure_group(
    group: list[Workload],
    svc: servers.Server,
    base: servers.Server,
    tokens: dict[str, str],
    rows: list[Row],
) -> None:
    """Level by level, the service then the baseline, so drifting noise hits both alike."""
    for workload in group:
        token = tokens[workload.tenant]
        for plan in workload.plans:
            row = Row(
                workload,
                await drive(workload, plan, svc, True, token),
                await drive(workload, plan, base, False, token),
            )
            rows.append(row)
            say(
                f"{row.label:<45} c={plan.concurrency:<3}"
                f" service {row.rate(row.service):>10,.1f}/s"
                f" baseline {row.rate(row.baseline):>10,.1f}/s ratio {row.ratio:5.2f}"
                f" errors {row.service.errors}/{row.baseline.errors}"
                f" {row.service.first_error or row.baseline.first_error or ''}"
            )


def _through(database_url: str, port: int) -> str:
    parts = urlsplit(database_url)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def count_statements(
    selected: list[Workload], env: dict[str, str], tokens: dict[str, str], options: Options
) -> Counts:
    """SQL statements per request, each server talking to PostgreSQL through a counting relay.

    The service's deliverer is parked on a held SMTP connection for the whole count, and the
    count is read once the relays fall quiet, so only the requests' own statements are in it.
    """
    parts = urlsplit(options.database_url)
    proxies = [CountingProxy(parts.hostname or "127.0.0.1", parts.port or 5432) for _ in range(2)]
    for proxy in proxies:
        await proxy.start()
    counts: Counts = {}
    counted = [w for w in selected if w.key != "export" and "100,000" not in w.variant]
    try:
        service_env = {**env, "DATABASE_URL": _through(options.database_url, proxies[0].port)}
        service_env.update(SMTP_TIMEOUT="60", OUTBOX_POLL_SECONDS="3600")
        baseline_env = {**env, "DATABASE_URL": _through(options.database_url, proxies[1].port)}
        pair = both_servers(service_env, baseline_env, options.out / "logs", "count", 1.0)
        async with pair as (svc, base):
            for workload in counted:
                per_side = []
                for server, service, proxy in ((svc, True, proxies[0]), (base, False, proxies[1])):
                    token = tokens[workload.tenant]
                    requests = 1 if workload.key == "add-many" else COUNTED_REQUESTS
                    if requests > 1:  # warm: first-use queries of a new connection stay out
                        await drive(workload, Plan(1, count=1), server, service, token)
                    before = await proxy.wait_quiet()
                    level = await drive(workload, Plan(1, count=requests), server, service, token)
                    after = await proxy.wait_quiet()
                    if level.errors:
                        raise RuntimeError(f"counting {workload.name}: {level.first_error}")
                    per_side.append(
                        ((after[0] - before[0]) / requests, (after[1] - before[1]) / requests)
                    )
                counts[f"{workload.name}, {workload.variant}"] = (per_side[0], per_side[1])
    finally:
        for proxy in proxies:
            await proxy.stop()
    return counts


def _git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 (git, our arguments)
        ["git", *args],  # noqa: S607 (git from PATH)
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    ).stdout.strip()


def _commit() -> str:
    """The commit measured, marked when the service's code differs from it."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        dirty = _git("status", "--porcelain", "--", "../api", "../models")
        return _git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")
    return "unknown"


def _constant_pages(counts: Counts) -> str:
    """The dncEntries target: as many statements for a deep page as for the first."""
    pages = {
        label: sides[0]
        for label, sides in counts.items()
        if label.startswith("dncEntries") and "totalCount" not in label
    }
    if not pages:
        return ""
    constant = len(set(pages.values())) == 1
    return (
        "dncEntries, same statements for the first page and deep pages, filtered or not: "
        + ("**yes**" if constant else "**no**")
        + "."
    )


def document(
    rows: list[Row],
    counts: Counts,
    dataset: Dataset,
    options: Options,
    seconds: float,
    load: float,
    plot: str,
) -> str:
    missed = [f"{r.label} (c={r.concurrency})" for r in rows if r.met() is False]
    return "\n".join(
        [
            f"# Benchmark: DNC service vs raw baseline — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Commit `{_commit()}`, {'quick' if options.scale.entries < 1_000_000 else 'full'} run "
            f"in {seconds:.0f} s on {os.cpu_count()} cores ({platform.python_implementation()} "
            f"{platform.python_version()}); load average before the run "
            f"{load:.1f}. Data: {dataset.entries:,} entries in 20 organizations "
            f"({dataset.big.entries:,} in the largest), seeded in {dataset.seed_seconds:.0f} s. "
            f"Mail: `{options.mail}`. Both servers: one uvicorn process each, APP_ENV=production, "
            "10 database connections; the load generator is a third process.",
            "",
            "Ratio: service/baseline throughput, or for time targets the service's p50 over the "
            "baseline's (lower is better). RSS: peak during the level, (+growth over its start).",
            "",
            report.table(rows),
            "",
            f"**Targets missed:** {', '.join(missed) if missed else 'none'}.",
            "",
            "## SQL statements per request",
            "",
            "Counted by a wire-protocol relay between each server and PostgreSQL: queries are "
            "`Execute` messages (asyncpg's `executemany` sends one per row, pipelined), simple "
            "statements are BEGIN, COMMIT and the reset asyncpg's pool sends each time a "
            "connection goes back to it (each one a round trip).",
            "",
            report.statements_table(counts) if counts else "(not measured in this run)",
            "",
            _constant_pages(counts),
            "",
            "## Where the CPU went",
            "",
            report.load_table(rows),
            "",
            f"![ratios]({plot})",
            "",
        ]
    )


async def run(options: Options) -> None:
    started = time.perf_counter()
    load = os.getloadavg()[0]
    dataset = await prepare(options)
    secret = secrets.token_urlsafe(48)
    settings = Settings(jwt_secret=secret)
    tokens = {
        name: issue_token(
            user_id=tenant.admin_id,
            organization_id=tenant.id,
            settings=settings,
            ttl_seconds=TOKEN_TTL,
        )
        for name, tenant in (("big", dataset.big), ("adds", dataset.adds), ("bulk", dataset.bulk))
    }
    conn = await asyncpg.connect(options.database_url)
    try:
        every = await workloads.build(conn, dataset, options.scale)
    finally:
        await conn.close()
    selected = [w for w in every if not options.only or w.key in options.only]
    options.out.mkdir(parents=True, exist_ok=True)
    async with mail.relay(options.mail, options.out / "logs") as smtp:
        env = _server_env(options, secret, smtp)
        rows = await measure(selected, env, tokens, options)
        began = time.perf_counter()
        counts = await count_statements(selected, env, tokens, options)
        say(f"-- statements counted: {time.perf_counter() - began:.1f} s")
    seconds = time.perf_counter() - started
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    # latest.* is always a whole full run, so that it compares with the one before it.
    whole = not options.only and options.scale == workloads.FULL
    names = [stamp, "latest"] if whole else [stamp]
    for name in names:
        text = document(rows, counts, dataset, options, seconds, load, f"{name}.png")
        (options.out / f"{name}.md").write_text(text)
        report.plot(rows, options.out / f"{name}.png")
    print(text)
