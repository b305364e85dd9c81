"""Reads: dncEntries pages and filters, dncEntry, dncCheck scrubs, and tokens that must fail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bench.soak.clients.base import ClientBase
from bench.soak.contract import (
    BAD_CHECK_NUMBERS,
    CHECK,
    ENTRIES,
    ENTRY,
    MANY_CHANNELS,
    ME,
    NEUTRAL_CHECK_NUMBERS,
    REASONS,
)
from bench.soak.ledger import short


class ReadOps(ClientBase):
    """dncEntries, dncEntry, dncCheck and me, with every answer checked."""

    async def list_entries(self) -> None:
        """Walk a few pages of dncEntries: newest first, no repeats, every node matches."""
        rng, ledger, api = self.rng, self.world.ledger, self.world.api
        if rng.random() < 0.05:
            bad: dict[str, Any] = rng.choice(
                [{"first": 0}, {"first": 501}, {"after": "bm90LWEtY3Vyc29y"}]
            )
            reply = await api.call("dncEntries:invalid", self.user.token, ENTRIES, bad)
            self.judge("dncEntries:invalid", reply, "dncEntries", ["error:BAD_USER_INPUT"])
            return
        filters: list[dict[str, Any] | None] = [
            None,
            {"status": "REMOVED"},
            {"status": None},
            {"channel": rng.choice(["VOICE_CALL", *MANY_CHANNELS])},
            {"reason": rng.choice(REASONS)},
            {"batchId": str(rng.choice(self.org.batches).id)},
        ]
        mine = rng.choice(list(self.active)) if self.active else None
        if mine:
            filters.append({"phoneNumberContains": mine[1:]})
        where = rng.choice(filters)
        first = rng.choice([None, 1, 7, 20, 50, 100])
        size = first or 50
        after: str | None = None
        seen: set[str] = set()
        last: tuple[datetime, uuid.UUID] | None = None
        found_mine = False
        for _ in range(rng.randint(1, 4)):
            variables: dict[str, Any] = {"first": first, "after": after}
            if where is not None:
                variables["filter"] = where
            reply = await api.call("dncEntries", self.user.token, ENTRIES, variables)
            if self.judge("dncEntries", reply, "dncEntries", ["ok"]) != "ok":
                return
            page = reply.result("dncEntries")
            edges = page["edges"]
            for edge in edges:
                node = edge["node"]
                key = (datetime.fromisoformat(node["createdAt"]), uuid.UUID(node["id"]))
                if node["id"] in seen:
                    ledger.anomaly(f"dncEntries: {node['id']} on two pages")
                if last is not None and not key < last:
                    ledger.anomaly(f"dncEntries: {key} after {last}: not newest first")
                seen.add(node["id"])
                last = key
                if not self.matches(node, where):
                    ledger.anomaly(f"dncEntries filter {where}: node {short(node)}")
                if mine and node["id"] == self.active.get(mine):
                    found_mine = True
            info = page["pageInfo"]
            if len(edges) > size or (info["hasNextPage"] and len(edges) != size):
                ledger.anomaly(f"dncEntries first={first}: {len(edges)} edges, {short(info)}")
            if edges and info["endCursor"] != edges[-1]["cursor"]:
                ledger.anomaly("dncEntries: endCursor is not the last edge's cursor")
            if not info["hasNextPage"]:
                if where and "phoneNumberContains" in where and mine and not found_mine:
                    ledger.anomaly(f"dncEntries: own listed {mine} not found by its digits")
                return
            after = info["endCursor"]

    @staticmethod
    def matches(node: dict[str, Any], where: dict[str, Any] | None) -> bool:
        where = where or {}
        status = where.get("status", "ACTIVE")
        if status is not None and node["status"] != status:
            return False
        if "channel" in where and node["channel"] != where["channel"]:
            return False
        if "reason" in where and node["reason"] != where["reason"]:
            return False
        if "batchId" in where and (node["batch"] or {}).get("id") != where["batchId"]:
            return False
        return not (
            "phoneNumberContains" in where
            and where["phoneNumberContains"] not in node["phoneNumber"]
        )

    async def get_entry(self) -> None:
        """dncEntry: the entry of a listed number in any spelling, null otherwise."""
        rng, ledger = self.rng, self.world.ledger
        roll = rng.random()
        if roll < 0.5 and self.active:
            number = rng.choice(list(self.active))
            reply = await self.world.api.call(
                "dncEntry", self.user.token, ENTRY, {"phoneNumber": self.spell(number)}
            )
            if self.judge("dncEntry", reply, "dncEntry", ["ok"]) == "ok":
                entry = reply.result("dncEntry")
                if not entry or entry["id"] != self.active[number] or entry["status"] != "ACTIVE":
                    ledger.anomaly(f"dncEntry {number}: want {self.active[number]}, {short(entry)}")
            return
        if roll < 0.9:
            pool = self.absent + self.removed + self.foreign_numbers(5)
            if not pool:
                return
            number = rng.choice(pool)
            reply = await self.world.api.call(
                "dncEntry", self.user.token, ENTRY, {"phoneNumber": self.spell(number)}
            )
            if self.judge("dncEntry", reply, "dncEntry", ["ok"]) == "ok" and reply.result(
                "dncEntry"
            ):
                ledger.anomaly(f"dncEntry {number} (not listed here): {short(reply.data)}")
            return
        reply = await self.world.api.call(
            "dncEntry:invalid", self.user.token, ENTRY, {"phoneNumber": "12345"}
        )
        self.judge("dncEntry:invalid", reply, "dncEntry", ["error:BAD_USER_INPUT"])

    def foreign_numbers(self, count: int) -> list[str]:
        """Numbers used by other organizations: never on this one's list."""
        others = [k for k in self.world.orgs if k != self.org.key]
        pool = list(self.world.ledger.touched[self.rng.choice(others)])
        return self.rng.sample(pool, min(count, len(pool)))

    async def check(self) -> None:
        """dncCheck of a mixed list: exactly the own listed numbers are blocked."""
        rng, ledger = self.rng, self.world.ledger
        inputs: list[tuple[str, str]] = []
        listed = rng.sample(list(self.active), min(len(self.active), rng.randint(0, 40)))
        inputs += [(self.spell(n), "blocked") for n in listed]
        unlisted = self.absent + self.removed
        inputs += [(self.spell(n), "free") for n in rng.sample(unlisted, min(len(unlisted), 30))]
        inputs += [(self.spell(n), "free") for n in self.foreign_numbers(20)]
        inputs += [(s, "invalid") for s in rng.sample(BAD_CHECK_NUMBERS, rng.randint(0, 3))]
        inputs += [(s, "free") for s in NEUTRAL_CHECK_NUMBERS]
        if rng.random() < 0.02:
            # A campaign-sized scrub: many numbers that are on no list at all.
            base = rng.randint(10**9, 9 * 10**9)
            inputs += [(f"+999{base + i}", "free") for i in range(20_000)]
        rng.shuffle(inputs)
        op = "dncCheck:large" if len(inputs) > 1000 else "dncCheck"
        reply = await self.world.api.call(
            op, self.user.token, CHECK, {"phoneNumbers": [s for s, _ in inputs]}
        )
        if self.judge(op, reply, "dncCheck", ["ok"]) != "ok":
            return
        result = reply.result("dncCheck")
        want_blocked = [s for s, kind in inputs if kind == "blocked"]
        want_invalid = [s for s, kind in inputs if kind == "invalid"]
        if result["blocked"] != want_blocked:
            missing = set(want_blocked) - set(result["blocked"])
            extra = set(result["blocked"]) - set(want_blocked)
            ledger.anomaly(f"dncCheck blocked: missing {sorted(missing)}, extra {sorted(extra)}")
        if result["invalid"] != want_invalid:
            ledger.anomaly(f"dncCheck invalid {result['invalid']}, expected {want_invalid}")
        if result["checked"] != len(inputs):
            ledger.anomaly(f"dncCheck checked {result['checked']} of {len(inputs)}")

    async def auth(self) -> None:
        """Tokens that must not work: UNAUTHENTICATED (and a good one that must)."""
        rng = self.rng
        token, expected = rng.choice(
            [
                (self.org.inactive_admin.token, "error:UNAUTHENTICATED"),
                (self.world.expired_tokens[self.org.key], "error:UNAUTHENTICATED"),
                (self.world.foreign_token, "error:UNAUTHENTICATED"),
                ("not.a.token", "error:UNAUTHENTICATED"),
                (self.user.token, "ok"),
            ]
        )
        reply = await self.world.api.call("me", token, ME, {})
        self.judge("me", reply, "me", [expected])
