"""The load generator: closed loop, N workers on keep-alive connections, light on the CPU.

Request bodies are built before the clock starts (an add, whose number must be new, is one
small `json.dumps`); responses are read as bytes, streamed ones counted without keeping
them, and only a sample is parsed to verify it. The generator measures its own
CPU use, and samples the server's memory and CPU while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import psutil  # type: ignore[import-untyped]

from bench.servers import Server

RSS_SAMPLE_SECONDS = 0.02
# A timed level goes on past its time, up to this long, until `concurrency` requests have
# completed in it: a server slower than the window still gets a throughput, not a zero.
MAX_EXTRA_SECONDS = 8.0


@dataclass(frozen=True)
class Call:
    """One HTTP request, ready to send."""

    method: str
    path: str
    body: bytes | None = None


# Reads the response (bytes, or a summary for streamed bodies); returns what `check` gets.
Reader = Callable[[aiohttp.ClientResponse], Awaitable[object]]
# An error message when a response is wrong, None when it is right.
Check = Callable[[object], str | None]


async def read_body(response: aiohttp.ClientResponse) -> object:
    return await response.read()


@dataclass(frozen=True)
class Plan:
    """How long one level runs: for `seconds` after `warmup`, or for `count` requests."""

    concurrency: int
    seconds: float = 0.0
    warmup: float = 0.0
    count: int = 0


@dataclass
class Level:
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # of every measured request
    counted: int = 0  # requests completed within the window: the throughput's
    errors: int = 0
    first_error: str | None = None
    checked: int = 0
    window: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    server_cpu: float = 0.0  # core-seconds per wall second
    generator_cpu: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.counted / self.window if self.window else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q) - 1]


async def _sample_rss(server: Server, level: Level, stop: asyncio.Event) -> None:
    while not stop.is_set():
        level.rss_peak = max(level.rss_peak, await asyncio.to_thread(server.rss))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RSS_SAMPLE_SECONDS)


async def run_level(
    server: Server,
    headers: dict[str, str],
    plan: Plan,
    next_call: Callable[[], Call],
    *,
    read: Reader = read_body,
    check: Check,
    check_every: int = 1,
) -> Level:
    """Drive `server` with `plan.concurrency` workers; latencies of the measured requests."""
    level = Level(plan.concurrency)
    connector = aiohttp.TCPConnector(limit=plan.concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=300)
    me = psutil.Process()
    async with aiohttp.ClientSession(
        server.url, headers=headers, connector=connector, timeout=timeout
    ) as session:
        issued = 0
        measure_from = time.perf_counter() + plan.warmup
        until = measure_from + plan.seconds
        window_end: float | None = None  # when a timed level stopped issuing requests
        completions: list[float] = []

        def more() -> bool:
            nonlocal window_end
            if plan.count:
                return issued < plan.count
            now = time.perf_counter()
            if window_end is None and now >= until:
                done = sum(1 for t in completions if t >= measure_from)
                if done >= plan.concurrency or now >= until + MAX_EXTRA_SECONDS:
                    window_end = now
            return window_end is None

        async def worker() -> None:
            nonlocal issued
            while more():
                issued += 1
                call = next_call()
                sent = time.perf_counter()
                async with session.request(call.method, call.path, data=call.body) as response:
                    result = await read(response)
                    status = response.status
                done = time.perf_counter()
                completions.append(done)
                error = None if status == 200 else f"HTTP {status}: {str(result)[:300]}"
                if error is None and (level.checked == 0 or issued % check_every == 0):
                    level.checked += 1
                    try:
                        error = check(result)
                    except (ValueError, KeyError, TypeError) as failure:
                        error = f"unreadable response: {failure}"
                if error is not None:
                    level.errors += 1
                    level.first_error = level.first_error or error
                if plan.count or done >= measure_from:
                    level.latencies.append(done - sent)

        level.rss_before = level.rss_peak = server.rss()
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(server, level, stop))
        cpu_before, mine_before = server.cpu_seconds(), sum(me.cpu_times()[:2])
        wall_before = time.perf_counter()
        try:
            await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
        finally:
            stop.set()
            await sampler
        wall = time.perf_counter() - wall_before
        level.server_cpu = (server.cpu_seconds() - cpu_before) / wall
        level.generator_cpu = (sum(me.cpu_times()[:2]) - mine_before) / wall
        if plan.count:
            level.window, level.counted = wall, len(completions)
        else:
            end = window_end or time.perf_counter()
            level.window = end - measure_from
            level.counted = sum(1 for t in completions if measure_from <= t <= end)
    return level
