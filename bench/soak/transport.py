"""Requests, their outcomes and their latencies."""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from bench.soak.processes import ServerPool

REQUEST_TIMEOUT = 60.0


@dataclass
class Reply:
    kind: Literal["ok", "unavailable", "ambiguous"]
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    def error_codes(self) -> list[str]:
        return sorted(
            {str((error.get("extensions") or {}).get("code") or "GRAPHQL") for error in self.errors}
        )

    def result(self, root: str) -> Any:
        return (self.data or {}).get(root)


def outcome_label(reply: Reply, root: str) -> str:
    """A short name for what came back: a union member, an error code or a transport failure."""
    if reply.kind != "ok":
        return f"transport:{reply.kind}"
    if reply.errors:
        return "error:" + "+".join(reply.error_codes())
    result = reply.result(root)
    if not isinstance(result, dict):
        return "ok"
    typename = result.get("__typename")
    if typename == "AddManyToDncResult":
        return "AddManyOk" if result.get("success") else f"ValidationError({result.get('field')})"
    if typename == "ValidationError":
        return f"ValidationError({result.get('field')})"
    if typename == "NotFoundError":
        return f"NotFoundError({result.get('code')})"
    return str(typename) if typename else "ok"


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.transport: Counter[str] = Counter()

    def request(self, op: str, seconds: float) -> None:
        self.latencies[op].append(seconds)

    def outcome(self, op: str, label: str) -> None:
        self.outcomes[op][label] += 1


class Api:
    def __init__(
        self, session: aiohttp.ClientSession, pool: ServerPool, stats: Stats, rng: random.Random
    ) -> None:
        self.session = session
        self.pool = pool
        self.stats = stats
        self.rng = rng

    async def call(
        self,
        op: str,
        token: str,
        query: str,
        variables: dict[str, Any],
        *,
        server: int | None = None,
    ) -> Reply:
        index = server if server is not None else await self.pool.pick(self.rng)
        started = time.perf_counter()
        reply: Reply
        try:
            async with self.session.post(
                self.pool.url(index) + "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                raw = await response.read()
                status = response.status
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                reply = Reply(
                    "ok",
                    errors=[{"message": raw[:200].decode(errors="replace"), "extensions": {}}],
                    detail=f"HTTP {status}, not a GraphQL response",
                )
            else:
                reply = Reply("ok", data=body.get("data"), errors=body.get("errors") or [])
        except aiohttp.ClientConnectorError as error:
            # The connection was never made: the request certainly did not reach a server.
            reply = Reply("unavailable", detail=f"{type(error).__name__}: {error}")
        except (aiohttp.ClientError, TimeoutError) as error:
            # Sent, maybe processed, answer lost (a killed server, a timeout): outcome unknown.
            reply = Reply("ambiguous", detail=f"{type(error).__name__}: {error}")
        self.stats.request(op, time.perf_counter() - started)
        if reply.kind != "ok":
            self.stats.transport[f"{reply.kind}: {reply.detail.split(':')[0]}"] += 1
        return reply
