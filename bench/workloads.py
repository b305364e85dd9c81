"""The six workloads of issue 5, their levels, their checks of correctness and their targets."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import aiohttp
import asyncpg

from api.dnc.pages import Position
from api.graphql.cursors import encode_cursor
from bench import requests
from bench.dataset import Dataset
from bench.load import Call, Check, Plan, Reader, read_body
from bench.phone_numbers import NEW_BULK, NEW_SINGLE, UNLISTED, spelled

BASELINE_OFFSET = 25_000_000  # the baseline's new numbers never collide with the service's
BULK_SIZE = 10_000


@dataclass(frozen=True)
class Scale:
    """How long and how hard: the full run, or --quick."""

    entries: int
    small_levels: tuple[int, ...]
    seconds: float
    warmup: float
    big_levels: tuple[int, ...]
    big_rounds: int  # requests per worker at each level of the big workloads
    big_minimum: int  # and at least this many at each level, for a p50 worth the name
    export_levels: tuple[int, ...]  # one export per worker
    fresh_servers: bool  # a new pair of servers per workload: each its own peak memory


FULL = Scale(1_000_000, (1, 8, 32), 3.5, 0.5, (1, 4), 2, 4, (1, 2), fresh_servers=True)
QUICK = Scale(50_000, (8,), 1.0, 0.25, (1,), 1, 1, (1,), fresh_servers=False)


@dataclass(frozen=True)
class Target:
    """Throughput: service / baseline >= ratio. Latency: service p50 / baseline p50 <= ratio."""

    kind: Literal["throughput", "latency"]
    ratio: float
    at: int | None = None  # only at this concurrency
    under_seconds: float | None = None  # and the service's p50 below this
    flat_mb: float | None = None  # and the server's memory grows by at most this

    def describe(self) -> str:
        text = f">= {self.ratio:g}x" if self.kind == "throughput" else f"<= {self.ratio:g}x time"
        if self.under_seconds:
            text += f", < {self.under_seconds:g} s"
        if self.flat_mb:
            text += f", RSS +<= {self.flat_mb:g} MB"
        return text


@dataclass(frozen=True)
class Driver:
    next_call: Callable[[], Call]
    check: Check
    read: Reader = read_body
    check_every: int = 1


@dataclass(frozen=True)
class Workload:
    key: str  # what --only selects
    name: str
    variant: str
    tenant: Literal["big", "adds", "bulk"]
    plans: tuple[Plan, ...]
    drive: Callable[[bool, Plan], Driver]  # (is the service?, the level) -> its requests
    target: Target | None
    rows_per_request: int = 1  # the export's throughput is in rows


def _cycle(calls: list[Call]) -> Callable[[], Call]:
    return itertools.cycle(calls).__next__


def _contains(needle: bytes) -> Check:
    def check(body: object) -> str | None:
        assert isinstance(body, bytes)
        return None if needle in body else f"expected {needle!r} in {body[:300]!r}"

    return check


def _adds(dataset: Dataset, scale: Scale) -> Workload:
    counters = {
        True: itertools.count(NEW_SINGLE),
        False: itertools.count(NEW_SINGLE + BASELINE_OFFSET),
    }
    calls = itertools.cycle(dataset.spare_calls)

    def drive(service: bool, plan: Plan) -> Driver:
        numbers = counters[service]

        def next_call() -> Call:
            return requests.add(service, spelled(next(numbers)), dataset.spare_batch, next(calls))

        return Driver(next_call, _contains(b'"success":true'))

    return Workload(
        "add", "addToDnc", "new number, outbox rows", "adds", _duration(scale, scale.small_levels),
        drive, Target("throughput", 0.6),
    )  # fmt: skip


def _duration(scale: Scale, levels: tuple[int, ...]) -> tuple[Plan, ...]:
    return tuple(Plan(c, seconds=scale.seconds, warmup=scale.warmup) for c in levels)


def _rounds(levels: tuple[int, ...], rounds: int, minimum: int = 1) -> tuple[Plan, ...]:
    return tuple(Plan(c, count=max(minimum, c * rounds)) for c in levels)


def _page_check(body: object) -> str | None:
    page = requests.unwrap(body, "dncEntries")
    nodes = [edge["node"] for edge in page["edges"]]
    if len(nodes) != 50 or not page["pageInfo"]["hasNextPage"]:
        return f"expected a full page with more after it, got {len(nodes)} entries"
    if not all(n["batch"] and n["callRecord"] and n["addedBy"] for n in nodes):
        return "an entry lacks its batch, call record or author"
    if "totalCount" in page and page["totalCount"] < 50:
        return f"totalCount {page['totalCount']}"
    return None


# (variant, deep pages?, reason filter, ask for totalCount?): the four, and the first
# page with its total, which makes both sides count the whole list.
PAGE_VARIANTS = (
    ("first page", False, None, False),
    ("first page, filtered", False, "COMPLAINT", False),
    ("deep pages", True, None, False),
    ("deep pages, filtered", True, "COMPLAINT", False),
    ("first page + totalCount", False, None, True),
)


def _pages(deep_positions: list[Position], scale: Scale) -> list[Workload]:
    cursors = [encode_cursor(p) for p in deep_positions]
    workloads = []
    for variant, deep, reason, total in PAGE_VARIANTS:

        def drive(
            service: bool,
            plan: Plan,
            deep: bool = deep,
            reason: str | None = reason,
            total: bool = total,
        ) -> Driver:
            afters = cursors if deep else [None]
            return Driver(
                _cycle([requests.page(service, after, reason, total) for after in afters]),
                _page_check,
                check_every=10,
            )

        workloads.append(
            Workload(
                "entries",
                "dncEntries(first: 50)",
                variant,
                "big",
                _duration(scale, scale.small_levels),
                drive,
                Target("throughput", 0.5),
            )
        )
    return workloads


def _listed(dataset: Dataset, count: int, rng: random.Random) -> list[int]:
    """Indexes of numbers ACTIVE on the big organization's list (every 50th was removed)."""
    ks: list[int] = []
    while len(ks) < count:
        i = rng.randrange(dataset.big.entries)
        if i % 50 != 49:
            ks.append(dataset.big_first_k + i)
    return ks


def _one(dataset: Dataset, scale: Scale) -> Workload:
    ks = _listed(dataset, 2000, random.Random(1))

    def drive(service: bool, plan: Plan) -> Driver:
        calls = [requests.one(service, spelled(k)) for k in ks]
        return Driver(_cycle(calls), _contains(b'"phoneNumber":"+1'))

    return Workload(
        "entry", "dncEntry(phoneNumber)", "any spelling", "big",
        _duration(scale, scale.small_levels), drive, Target("throughput", 0.5),
    )  # fmt: skip


INVALID = ("12345", "not a number", "+1 212 555", "1" * 16, "+44 (0)", "00-12")


def _scrub_list(dataset: Dataset, size: int) -> tuple[list[str], int, int]:
    """`size` inputs: 10% on the list, 2% invalid, the rest valid and not listed; shuffled."""
    rng = random.Random(size)
    listed = [spelled(k) for k in _listed(dataset, size // 10, rng)]
    invalid = [INVALID[i % len(INVALID)] + "x" * (i // len(INVALID) % 3) for i in range(size // 50)]
    rest = [spelled(UNLISTED + i) for i in range(size - len(listed) - len(invalid))]
    numbers = listed + invalid + rest
    rng.shuffle(numbers)
    return numbers, len(listed), len(invalid)


def _checks(dataset: Dataset, scale: Scale) -> list[Workload]:
    workloads = []
    for size in (1_000, 10_000, 100_000):
        numbers, blocked, invalid = _scrub_list(dataset, size)

        def verify(
            body: object, size: int = size, blocked: int = blocked, invalid: int = invalid
        ) -> str | None:
            result = requests.unwrap(body, "dncCheck")
            got = (result["checked"], len(result["blocked"]), len(result["invalid"]))
            return None if got == (size, blocked, invalid) else f"checked/blocked/invalid {got}"

        def drive(
            service: bool, plan: Plan, numbers: list[str] = numbers, verify: Check = verify
        ) -> Driver:
            return Driver(_cycle([requests.check(service, numbers)]), verify, check_every=5)

        big = size == 100_000
        plans = (
            _rounds(scale.big_levels, scale.big_rounds, scale.big_minimum)
            if big
            else _duration(scale, scale.big_levels)
        )
        target = Target("latency", 1.5, at=1, under_seconds=1.0) if big else None
        workloads.append(
            Workload("check", "dncCheck", f"{size:,} numbers", "big", plans, drive, target)
        )
    return workloads


def _add_many(dataset: Dataset, scale: Scale) -> Workload:
    starts = {
        True: itertools.count(NEW_BULK, BULK_SIZE),
        False: itertools.count(NEW_BULK + BASELINE_OFFSET, BULK_SIZE),
    }

    def drive(service: bool, plan: Plan) -> Driver:
        calls = [
            requests.add_many(service, [spelled(k) for k in range(start, start + BULK_SIZE)])
            for start in itertools.islice(starts[service], plan.count)
        ]

        def verify(body: object) -> str | None:
            result = requests.unwrap(body, "addManyToDnc")
            got = (result["added"], result["invalid"], len(result["items"]))
            return None if got == (BULK_SIZE, 0, BULK_SIZE) else f"added/invalid/items {got}"

        return Driver(iter(calls).__next__, verify)

    return Workload(
        "add-many", "addManyToDnc", f"{BULK_SIZE:,} entries", "bulk",
        _rounds(scale.big_levels, scale.big_rounds, scale.big_minimum),
        drive, Target("latency", 2.0, at=1),
    )  # fmt: skip


async def _count_lines(response: aiohttp.ClientResponse) -> object:
    lines = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        lines += chunk.count(b"\n")
    return lines


def _export(dataset: Dataset, scale: Scale, rows: int) -> Workload:
    def drive(service: bool, plan: Plan) -> Driver:
        def verify(lines: object) -> str | None:
            return None if lines == rows + 1 else f"{lines} lines for {rows} entries and a header"

        return Driver(_cycle([requests.EXPORT]), verify, read=_count_lines)

    return Workload(
        "export", "CSV export", f"{rows:,} rows", "big", _rounds(scale.export_levels, 1), drive,
        Target("throughput", 0.5, flat_mb=64), rows_per_request=rows,
    )  # fmt: skip


async def deep_positions(
    conn: asyncpg.Connection, dataset: Dataset, count: int = 40
) -> list[Position]:
    """Positions spread from half to 90% of the way down the big organization's list."""
    total = dataset.big.entries
    step = max(1, total * 4 // 10 // count)
    rows = await conn.fetch(
        """
        SELECT created_at, id FROM (
            SELECT created_at, id, row_number() OVER (ORDER BY created_at DESC, id DESC) AS n
            FROM dnc_entry WHERE organization_id = $1 AND status = 'ACTIVE') ranked
        WHERE n > $2 AND n % $3 = 0 AND n <= $4
        """,
        dataset.big.id,
        total // 2,
        step,
        total * 9 // 10,
    )
    return [Position(row["created_at"], row["id"]) for row in rows]


async def build(conn: asyncpg.Connection, dataset: Dataset, scale: Scale) -> list[Workload]:
    """Every workload, in the issue's order."""
    rows = await conn.fetchval(
        "SELECT count(*) FROM dnc_entry WHERE organization_id = $1", dataset.big.id
    )
    return [
        _adds(dataset, scale),
        *_pages(await deep_positions(conn, dataset), scale),
        _one(dataset, scale),
        *_checks(dataset, scale),
        _add_many(dataset, scale),
        _export(dataset, scale, rows),
    ]
