"""`status_at` (api/dnc/state.py), the effective status of a row in hand: a row stored ACTIVE
reads EXPIRED from the instant its expiry is reached, not a microsecond later; what is stored
REMOVED or EXPIRED stays so. tests/store/test_conditions.py holds SQL and the ORM to the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.dnc.state import status_at
from models import DncEntryStatus

ACTIVE, EXPIRED, REMOVED = DncEntryStatus.ACTIVE, DncEntryStatus.EXPIRED, DncEntryStatus.REMOVED
NOW = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        pytest.param(None, ACTIVE, id="no-expiry"),
        pytest.param(NOW + timedelta(days=365), ACTIVE, id="next-year"),
        pytest.param(NOW + TICK, ACTIVE, id="a-microsecond-after"),
        pytest.param(NOW, EXPIRED, id="exactly-now"),
        pytest.param(NOW - TICK, EXPIRED, id="a-microsecond-before"),
        pytest.param(NOW - timedelta(days=365), EXPIRED, id="last-year"),
    ],
)
def test_a_row_stored_active_is_active_until_its_expiry_is_reached(
    expires_at: datetime | None, expected: DncEntryStatus
) -> None:
    assert status_at(ACTIVE, expires_at, NOW) is expected


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        pytest.param(NOW.astimezone(timezone(timedelta(hours=5))), EXPIRED, id="now-at-plus-5"),
        pytest.param(
            (NOW + TICK).astimezone(timezone(timedelta(hours=-8))), ACTIVE, id="after-at-minus-8"
        ),
    ],
)
def test_the_boundary_is_an_instant_whatever_the_offset(
    expires_at: datetime, expected: DncEntryStatus
) -> None:
    assert status_at(ACTIVE, expires_at, NOW) is expected


@pytest.mark.parametrize("stored", [REMOVED, EXPIRED])
@pytest.mark.parametrize(
    "expires_at",
    [None, NOW + timedelta(days=1), NOW, NOW - timedelta(days=1)],
    ids=["no-expiry", "future", "exactly-now", "past"],
)
def test_what_is_stored_removed_or_expired_stays_so(
    stored: DncEntryStatus, expires_at: datetime | None
) -> None:
    assert status_at(stored, expires_at, NOW) is stored


def test_one_row_read_at_two_instants() -> None:
    """The same row, read before and at its expiry: the instant decides, nothing stored."""
    expires_at = NOW + timedelta(minutes=5)
    assert status_at(ACTIVE, expires_at, NOW) is ACTIVE
    assert status_at(ACTIVE, expires_at, expires_at) is EXPIRED
