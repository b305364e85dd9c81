"""What every client shares: the world it acts in, and the helpers that build inputs, judge
answers and keep the ledger true.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.soak.contract import NOTE_LIMIT, REASONS, TRICKY_TEXT, iso, now_utc
from bench.soak.ledger import Created, Ledger, Uncertain, short
from bench.soak.phones import Numbers
from bench.soak.processes import ServerPool
from bench.soak.transport import Api, Reply, Stats, outcome_label
from bench.soak.world import BatchSpec, OrgSpec, UserSpec


@dataclass
class World:
    orgs: dict[str, OrgSpec]
    numbers: Numbers
    api: Api
    ledger: Ledger
    stats: Stats
    pool: ServerPool
    foreign_token: str  # signed with another secret
    expired_tokens: dict[str, str]


class ClientBase:
    """A user of one organization; the operations are in the mixins of `Client`."""

    def __init__(self, world: World, index: int, user: UserSpec, seed: int) -> None:
        self.world = world
        self.index = index
        self.user = user
        self.org = world.orgs[user.org]
        self.rng = random.Random(seed)
        self.active: dict[str, str] = {}  # own numbers on the list -> entry id
        self.removed: list[str] = []  # own numbers taken off the list (may be added again)
        self.absent: list[str] = []  # numbers that failed to be added: never on any list
        self.oversized = False

    @property
    def is_admin(self) -> bool:
        return self.user.role == "ADMIN"

    # -- helpers ---------------------------------------------------------------------------

    def fresh(self) -> str:
        number = self.world.numbers.fresh()
        self.world.ledger.touched[self.org.key].add(number)
        return number

    def spell(self, number: str) -> str:
        return self.world.numbers.spell(number)

    def call_of(self, batch: BatchSpec | None = None) -> tuple[BatchSpec, uuid.UUID]:
        batch = batch or self.rng.choice(self.org.batches)
        return batch, self.rng.choice(batch.calls)

    def add_input(self, phone: str, **extra: Any) -> dict[str, Any]:
        batch, call = self.call_of()
        values: dict[str, Any] = {
            "phoneNumber": phone,
            "batchId": str(batch.id),
            "requestUUID": str(call),
        }
        roll = self.rng.random()
        if roll < 0.7:
            values["reason"] = self.rng.choice(REASONS)
        if roll < 0.4:
            values["note"] = self.rng.choice(TRICKY_TEXT)
        elif roll < 0.42:
            values["note"] = "n" * NOTE_LIMIT  # exactly at the bound: accepted
        if self.rng.random() < 0.1:
            values["expiresAt"] = iso(now_utc() + timedelta(days=30))
        values.update(extra)
        return values

    def judge(
        self, op: str, reply: Reply, root: str, expected: Iterable[str], case: str = ""
    ) -> str:
        label = outcome_label(reply, root)
        self.world.stats.outcome(op, label)
        allowed = set(expected)
        if reply.kind == "ok" and label not in allowed:
            self.world.ledger.anomaly(
                f"{op}{' ' + case if case else ''} ({self.user.email}): expected "
                f"{' or '.join(sorted(allowed))}, got {label}: {short(reply.data or reply.errors)}"
            )
        return label

    def never_added(self, number: str, why: str) -> None:
        self.world.ledger.absent[number] = why
        self.absent.append(number)

    def settle_add(
        self, op: str, reply: Reply, label: str, number: str, user: UserSpec, *, may_write: bool
    ) -> None:
        """Record the outcome of an addToDnc of a number this client owns."""
        ledger = self.world.ledger
        result = reply.result("addToDnc")
        if label == "AddToDncSuccess" and isinstance(result, dict):
            entry = result["entry"]
            if entry["phoneNumber"] != number or entry["status"] != "ACTIVE":
                ledger.anomaly(f"{op}: added {number}, answer has {short(entry)}")
            if entry.get("channel") != "VOICE_CALL":
                ledger.anomaly(f"{op}: channel {entry.get('channel')} for addToDnc")
            ledger.created[entry["id"]] = Created(self.org.key, number, user.id, "VOICE_CALL")
            self.active[number] = entry["id"]
        elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
            if may_write:
                ledger.uncertain.append(
                    Uncertain("add", self.org.key, user.id, frozenset({number}), "VOICE_CALL")
                )
            else:
                ledger.absent[number] = f"{op} (answer lost)"
        else:
            self.never_added(number, f"{op}: {label}")
