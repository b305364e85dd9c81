"""One client: a user of one organization doing a mix of operations, checking every answer.

`Client` is its three groups of operations (writes, bulk, reads, each a mixin over
`ClientBase`) and the loop that picks among them by weight until the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bench.soak.clients.base import World
from bench.soak.clients.bulk import BulkOps
from bench.soak.clients.reads import ReadOps
from bench.soak.clients.writes import WriteOps

__all__ = ["Client", "World"]


class Client(WriteOps, BulkOps, ReadOps):
    # -- the loop --------------------------------------------------------------------------

    def mix(self) -> list[tuple[Callable[[], Awaitable[None]], int]]:
        ops: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.add_new, 30),
            (self.add_again, 8),
            (self.add_removed, 3),
            (self.add_invalid, 10),
            (self.race, 4),
            (self.list_entries, 8),
            (self.get_entry, 8),
            (self.check, 10),
            (self.auth, 1),
        ]
        if self.is_admin:
            ops += [(self.add_many, 5), (self.remove, 6)]
        else:
            ops += [(self.forbidden, 2)]
        return ops

    async def run(self, deadline: float) -> None:
        ops = self.mix()
        actions = [op for op, _ in ops]
        weights = [weight for _, weight in ops]
        while time.monotonic() < deadline:
            action = self.rng.choices(actions, weights)[0]
            try:
                await action()
            except Exception as error:
                self.world.ledger.anomaly(
                    f"client {self.index} {action.__name__} crashed: {type(error).__name__}: "
                    f"{error}"
                )
