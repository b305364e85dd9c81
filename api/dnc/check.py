"""dncCheck: scrubbing a campaign list against the organization's own list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from api.dnc.phone import scrub_candidates
from api.instants import utcnow
from api.store.listed import listed_numbers


@dataclass(frozen=True)
class CheckResult:
    blocked: list[str]
    invalid: list[str]
    checked: int


async def check_numbers(*, organization_id: uuid.UUID, numbers: Sequence[str]) -> CheckResult:
    """Which of `numbers` (as given, in input order) are on the list, and which are unreadable.

    One query with one array parameter, whatever the list's size.
    """
    candidates = [scrub_candidates(raw) for raw in numbers]
    wanted: set[str] = set()
    for group in candidates:
        if group is not None:
            wanted.update(group)
    on_list: set[str] = set()
    if wanted:
        on_list = await listed_numbers(
            organization_id=organization_id, numbers=wanted, now=utcnow()
        )
    blocked = (
        [
            raw
            for raw, group in zip(numbers, candidates, strict=True)
            if group is not None and not on_list.isdisjoint(group)
        ]
        if on_list
        else []
    )
    invalid = [raw for raw, group in zip(numbers, candidates, strict=True) if group is None]
    return CheckResult(blocked=blocked, invalid=invalid, checked=len(numbers))
