"""Writes of many at once: several users racing for one new number across servers, and
addManyToDnc (ADMIN) with new, listed and invalid items, once over the 10,000 limit.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bench.soak.clients.base import ClientBase
from bench.soak.contract import (
    ADD,
    ADD_MANY,
    BAD_ADD_NUMBERS,
    MANY_CHANNELS,
    MANY_LIMIT,
    NOTE_LIMIT,
    REASONS,
    TRICKY_TEXT,
    iso,
    now_utc,
)
from bench.soak.ledger import Created, Uncertain, short
from bench.soak.transport import Reply
from bench.soak.world import UserSpec


class BulkOps(ClientBase):
    """The race and addManyToDnc, with every answer checked."""

    async def race(self) -> None:
        """Several users add the same new number at the same instant, through different
        servers (sometimes one of them through addManyToDnc): exactly one wins."""
        org, rng, api, ledger = self.org, self.rng, self.world.api, self.world.ledger
        number = self.fresh()
        racers = rng.sample(org.active_users, min(3, len(org.active_users)))
        while len(racers) < 3:
            racers.append(rng.choice(org.active_users))
        many_by = rng.choice(org.admins) if org.admins and rng.random() < 0.3 else None
        companion = self.fresh() if many_by else None
        many_channel = rng.choice(MANY_CHANNELS)
        servers = self.world.pool.ready() or [0]
        gate = asyncio.Event()

        async def add(position: int, user: UserSpec) -> Reply:
            variables = {"input": self.add_input(self.spell(number))}
            await gate.wait()
            server = servers[position % len(servers)]
            return await api.call("addToDnc:race", user.token, ADD, variables, server=server)

        async def add_many(user: UserSpec, other: str) -> Reply:
            variables = {
                "input": {
                    "channel": many_channel,
                    "entries": [{"phoneNumber": self.spell(number)}, {"phoneNumber": other}],
                }
            }
            await gate.wait()
            server = servers[len(racers) % len(servers)]
            return await api.call(
                "addManyToDnc:race", user.token, ADD_MANY, variables, server=server
            )

        tasks = [asyncio.create_task(add(i, user)) for i, user in enumerate(racers)]
        many_task = (
            asyncio.create_task(add_many(many_by, companion)) if many_by and companion else None
        )
        await asyncio.sleep(0)
        gate.set()
        replies = await asyncio.gather(*tasks)
        many_reply = await many_task if many_task else None

        winners: list[tuple[str, UserSpec, str]] = []  # (entry id, user, channel)
        losers: list[str] = []
        lost_answers: list[UserSpec] = []
        for user, reply in zip(racers, replies, strict=True):
            label = self.judge(
                "addToDnc:race", reply, "addToDnc", ["AddToDncSuccess", "AlreadyOnDncError"]
            )
            result = reply.result("addToDnc")
            if label == "AddToDncSuccess":
                if result["entry"]["phoneNumber"] != number:
                    ledger.anomaly(f"race {number}: answer has {short(result['entry'])}")
                winners.append((result["entry"]["id"], user, "VOICE_CALL"))
            elif label == "AlreadyOnDncError":
                losers.append(result["entry"]["id"])
            elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                lost_answers.append(user)
        many_lost = False
        if many_by and companion and many_reply:
            label = self.judge("addManyToDnc:race", many_reply, "addManyToDnc", ["AddManyOk"])
            result = many_reply.result("addManyToDnc")
            if label == "AddManyOk":
                first, second = result["items"]
                if second["status"] != "ADDED":
                    ledger.anomaly(f"race: companion {companion} not ADDED: {short(second)}")
                elif first["status"] == "ADDED":
                    winners.append((first["entry"]["id"], many_by, many_channel))
                elif first["status"] == "ALREADY_ON_DNC":
                    losers.append(first["entry"]["id"])
                else:
                    ledger.anomaly(f"race: {number} INVALID in addManyToDnc: {short(first)}")
                added = {number} if first["status"] == "ADDED" else set()
                if second["status"] == "ADDED":
                    added.add(companion)
                    ledger.created[second["entry"]["id"]] = Created(
                        org.key, companion, many_by.id, many_channel
                    )
                    self.active[companion] = second["entry"]["id"]
                if added:
                    ledger.digests.append((org.key, frozenset(added)))
            elif many_reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                many_lost = True
            else:
                self.never_added(companion, f"addManyToDnc:race {label}")

        ids = {entry_id for entry_id, _, _ in winners} | set(losers)
        uncertain = bool(lost_answers or many_lost)
        every = [*replies, *([many_reply] if many_reply else [])]
        if all(reply.kind == "unavailable" for reply in every):
            # No racer reached a server (the only one was down): nothing can have been written.
            self.never_added(number, "race: no server reachable")
            return
        if len(winners) > 1 or len(ids) > 1 or (not winners and not uncertain):
            ledger.anomaly(
                f"race for {number}: {len(winners)} successes, entries named {sorted(ids)} "
                f"({len(lost_answers) + many_lost} answers lost)"
            )
        if many_lost and many_by and companion:
            # Its companion is new: written if that call committed, whoever won the race.
            ledger.uncertain.append(
                Uncertain(
                    "many",
                    org.key,
                    many_by.id,
                    frozenset({number, companion}),
                    many_channel,
                    whole=frozenset({companion}),
                )
            )
        if winners:
            entry_id, user, channel = winners[0]
            ledger.created[entry_id] = Created(org.key, number, user.id, channel)
            self.active[number] = entry_id
            return
        # No answer said who won: the number is only checked at the end, against the database.
        for user in lost_answers:
            ledger.uncertain.append(
                Uncertain("add", org.key, user.id, frozenset({number}), "VOICE_CALL")
            )

    async def add_many(self) -> None:
        """A bulk add (ADMIN): new numbers (some twice), numbers already listed, invalid items."""
        rng, ledger = self.rng, self.world.ledger
        if not self.oversized and rng.random() < 0.01:
            self.oversized = True
            return await self.add_many_oversized()
        channel = rng.choice(MANY_CHANNELS)
        fresh = [self.fresh() for _ in range(rng.choice([0, 1, 2, 5, 10, 25, 40]))]
        listed = rng.sample(list(self.active), min(len(self.active), rng.randint(0, 4)))
        entries: list[tuple[dict[str, Any], str, str | None]] = []
        for number in fresh:
            item: dict[str, Any] = {"phoneNumber": self.spell(number)}
            if rng.random() < 0.5:
                item["reason"] = rng.choice(REASONS)
            if rng.random() < 0.3:
                item["note"] = rng.choice(TRICKY_TEXT)
            if rng.random() < 0.2:
                item["requestedAt"] = iso(now_utc() - timedelta(days=rng.randint(0, 30)))
            entries.append((item, "new", number))
        for number in rng.sample(fresh, min(len(fresh), rng.randint(0, 3))):
            entries.append(({"phoneNumber": self.spell(number)}, "new", number))
        for number in listed:
            entries.append(({"phoneNumber": self.spell(number)}, "listed", number))
        doomed: list[str] = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["number", "note", "expiry", "requested"])
            if kind == "number":
                entries.append(({"phoneNumber": rng.choice(BAD_ADD_NUMBERS)}, "invalid", None))
                continue
            number = self.fresh()
            doomed.append(number)
            item = {"phoneNumber": self.spell(number)}
            if kind == "note":
                item["note"] = "y" * (NOTE_LIMIT + 1)
            elif kind == "expiry":
                item["expiresAt"] = iso(now_utc() - timedelta(minutes=5))
            else:
                item["requestedAt"] = iso(now_utc() + timedelta(days=1))
            entries.append((item, "invalid", None))
        rng.shuffle(entries)
        reply = await self.world.api.call(
            "addManyToDnc",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": channel, "entries": [item for item, _, _ in entries]}},
        )
        label = self.judge("addManyToDnc", reply, "addManyToDnc", ["AddManyOk"])
        for number in doomed:
            self.never_added(number, "addManyToDnc invalid item")
        new = set(fresh)
        if reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
            if new:
                ledger.uncertain.append(
                    Uncertain(
                        "many", self.org.key, self.user.id, frozenset(new), channel, frozenset(new)
                    )
                )
            return None
        if label != "AddManyOk":
            for number in new:
                self.never_added(number, f"addManyToDnc {label}")
            return None
        result = reply.result("addManyToDnc")
        counts = (result["added"], result["alreadyOnDnc"], result["invalid"])
        want = (len(new), len(set(listed)), sum(1 for _, kind, _ in entries if kind == "invalid"))
        if counts != want:
            ledger.anomaly(f"addManyToDnc counts {counts}, expected {want}")
        items = result["items"]
        if len(items) != len(entries):
            ledger.anomaly(f"addManyToDnc: {len(items)} items for {len(entries)} entries")
            return None
        ids: dict[str, str] = {}
        for (sent, kind, canonical), item in zip(entries, items, strict=True):
            status = {"new": "ADDED", "listed": "ALREADY_ON_DNC", "invalid": "INVALID"}[kind]
            entry = item.get("entry")
            if item["status"] != status:
                ledger.anomaly(f"addManyToDnc item {sent['phoneNumber']!r}: {short(item)}")
                continue
            if item["phoneNumber"] not in {sent["phoneNumber"], canonical}:
                ledger.anomaly(f"addManyToDnc item echoes {item['phoneNumber']!r}")
            if canonical is None:
                continue
            if not entry or entry["phoneNumber"] != canonical:
                ledger.anomaly(f"addManyToDnc item for {canonical}: {short(item)}")
                continue
            if kind == "listed" and entry["id"] != self.active.get(canonical):
                ledger.anomaly(f"addManyToDnc {canonical}: listed as {self.active.get(canonical)}")
            if kind == "new":
                if ids.setdefault(canonical, entry["id"]) != entry["id"]:
                    ledger.anomaly(f"addManyToDnc: {canonical} twice in the input, two entries")
                if entry["channel"] != channel:
                    ledger.anomaly(f"addManyToDnc {canonical}: channel {entry['channel']}")
        for number, entry_id in ids.items():
            ledger.created[entry_id] = Created(self.org.key, number, self.user.id, channel)
            self.active[number] = entry_id
        if ids:
            ledger.digests.append((self.org.key, frozenset(ids)))
        return None

    async def add_many_oversized(self) -> None:
        """Over 10,000 entries: ValidationError on `entries`, nothing written."""
        numbers = [self.fresh() for _ in range(3)]
        entries = [{"phoneNumber": self.spell(numbers[i % 3])} for i in range(MANY_LIMIT + 1)]
        reply = await self.world.api.call(
            "addManyToDnc:oversized",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": "IMPORT", "entries": entries}},
        )
        self.judge("addManyToDnc:oversized", reply, "addManyToDnc", ["ValidationError(entries)"])
        for number in numbers:
            self.never_added(number, "addManyToDnc over 10,000 entries")
