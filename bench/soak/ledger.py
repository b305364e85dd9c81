"""What the clients were told: the ledger the database, the outbox and the sink must match."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Created:
    org: str
    number: str
    user_id: uuid.UUID
    channel: str


@dataclass(frozen=True)
class Removal:
    org: str
    number: str
    user_id: uuid.UUID


@dataclass
class Uncertain:
    """A request whose answer was lost: it may have been carried out, wholly or not at all."""

    kind: Literal["add", "many", "remove"]
    org: str
    user_id: uuid.UUID
    numbers: frozenset[str]
    channel: str
    whole: frozenset[str] = frozenset()  # numbers that must be all written or none
    explained: list[str] = field(default_factory=list)  # entry ids it turned out to write


class Ledger:
    def __init__(self) -> None:
        self.created: dict[str, Created] = {}
        self.removed: dict[str, Removal] = {}
        self.digests: list[tuple[str, frozenset[str]]] = []
        self.uncertain: list[Uncertain] = []
        self.absent: dict[str, str] = {}  # number -> why it must be on no list at all
        self.touched: dict[str, set[str]] = defaultdict(set)
        self.anomalies: list[str] = []
        self.anomaly_count = 0

    def anomaly(self, text: str) -> None:
        self.anomaly_count += 1
        if len(self.anomalies) < 60:
            self.anomalies.append(text)


def short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."
