"""Faults: SMTP refusing for a while, a server SIGKILLed and started again."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import aiohttp

from bench.mail import SmtpSink
from bench.soak.processes import ServerPool


@dataclass
class FaultLog:
    smtp_refusal: tuple[float, float] | None = None
    kills: list[tuple[int, float, float]] = field(default_factory=list)  # server, down, up again


async def inject_faults(
    pool: ServerPool,
    sink: SmtpSink,
    session: aiohttp.ClientSession,
    started: float,
    duration: float,
    rng: random.Random,
    log: FaultLog,
) -> None:
    async def at(fraction: float) -> None:
        await asyncio.sleep(max(0.0, started + fraction * duration - time.monotonic()))

    refuse_for = min(20.0, max(5.0, 0.15 * duration))
    kills = [0.45] + ([0.75] if duration >= 180 else [])
    first = rng.randrange(len(pool.ports))
    try:
        await at(0.2)
        sink.refusing = True
        begin = time.monotonic() - started
        await asyncio.sleep(refuse_for)
        sink.refusing = False
        log.smtp_refusal = (begin, time.monotonic() - started)
        for number, fraction in enumerate(kills):
            await at(fraction)
            index = (first + number) % len(pool.ports)  # another server each time
            down = time.monotonic() - started
            await pool.kill(index)
            await asyncio.sleep(2.0)
            await pool.start(index)
            await pool.wait_ready(index, session)
            log.kills.append((index, down, time.monotonic() - started))
    finally:
        sink.refusing = False
