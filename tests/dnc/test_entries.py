"""Checking a page's arguments before any query runs: the entries' filter
(api/dnc/entries.conditions) and a page's size and bounds (api/dnc/pages). A good value comes
back typed as its column is (ids as UUIDs, instants in UTC); a bad one is an InvalidArgument."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.dnc.entries import EntryFilter, conditions
from api.dnc.errors import InvalidArgument
from api.dnc.pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, bound, page_size
from api.dnc.phone import MAX_INPUT_LENGTH
from api.store.entries import EntryConditions
from models import DncChannel, DncEntryStatus, DncReason

PLUS_FIVE = timezone(timedelta(hours=5))
OUT_OF_RANGE = datetime(1, 1, 1, tzinfo=PLUS_FIVE)  # before year 1 in UTC


def test_no_filter_means_active_entries_only() -> None:
    assert conditions(EntryFilter()) == EntryConditions(status=DncEntryStatus.ACTIVE)


def test_every_value_is_kept_typed() -> None:
    batch_id = uuid.uuid4()
    checked = conditions(
        EntryFilter(
            status=None,
            channel=DncChannel.WEB,
            reason=DncReason.COMPLAINT,
            batch_id=str(batch_id).upper(),
            created_after=datetime(2026, 1, 1, 14, 0, tzinfo=PLUS_FIVE),
            created_before=datetime(2026, 1, 2, 9, 0),
            phone_number_contains="+1 (212) 555",
        )
    )
    assert checked == EntryConditions(
        status=None,
        channel=DncChannel.WEB,
        reason=DncReason.COMPLAINT,
        batch_id=batch_id,
        created_after=datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        created_before=datetime(2026, 1, 2, 9, 0, tzinfo=UTC),
        digits="1212555",
    )
    assert checked.created_after is not None
    assert checked.created_before is not None
    assert checked.created_after.tzinfo is UTC
    assert checked.created_before.tzinfo is UTC


@pytest.mark.parametrize("batch_id", ["not-a-uuid", "12345", "0" * 33, "", "batch-1"])
def test_a_malformed_batch_id_is_refused(batch_id: str) -> None:
    with pytest.raises(InvalidArgument, match=r"filter\.batchId"):
        conditions(EntryFilter(batch_id=batch_id))


@pytest.mark.parametrize(
    ("contains", "digits"),
    [
        pytest.param("0", "0", id="1-digit"),
        pytest.param("555-01", "55501", id="separators-dropped"),
        pytest.param("1" * 15, "1" * 15, id="15-digits"),
        pytest.param("+1 " + "2" * 14, "1" + "2" * 14, id="15-digits-written"),
        pytest.param("7" + " " * (MAX_INPUT_LENGTH - 1), "7", id="input-at-its-bound"),
    ],
)
def test_phone_number_contains_keeps_its_ascii_digits(contains: str, digits: str) -> None:
    assert conditions(EntryFilter(phone_number_contains=contains)).digits == digits


@pytest.mark.parametrize(
    "contains",
    [
        pytest.param("", id="empty"),
        pytest.param("abc", id="0-digits"),
        pytest.param("+()- ", id="only-separators"),
        # Digits to Python, but not among E.164's: ARABIC-INDIC FIVE and FULLWIDTH ONE.
        pytest.param("\u0665\u0665\u0665", id="arabic-indic-digits"),
        pytest.param("\uff11\uff12", id="fullwidth-digits"),
        pytest.param("1" * 16, id="16-digits"),
        pytest.param("7" + " " * MAX_INPUT_LENGTH, id="input-over-its-bound"),
    ],
)
def test_phone_number_contains_without_1_to_15_digits_is_refused(contains: str) -> None:
    with pytest.raises(InvalidArgument, match=r"filter\.phoneNumberContains"):
        conditions(EntryFilter(phone_number_contains=contains))


@pytest.mark.parametrize(
    ("field", "name"),
    [("created_after", "createdAfter"), ("created_before", "createdBefore")],
)
def test_a_created_bound_out_of_range_is_refused_by_its_name(field: str, name: str) -> None:
    with pytest.raises(InvalidArgument, match=rf"filter\.{name}` is out of range"):
        conditions(EntryFilter(**{field: OUT_OF_RANGE}))  # type: ignore[arg-type]


# api/dnc/pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "size"),
    [(None, DEFAULT_PAGE_SIZE), (1, 1), (50, 50), (MAX_PAGE_SIZE, MAX_PAGE_SIZE)],
)
def test_page_size_within_bounds(first: int | None, size: int) -> None:
    assert page_size(first) == size


def test_the_bounds_are_the_contracts() -> None:
    assert (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) == (50, 500)


@pytest.mark.parametrize("first", [0, -1, MAX_PAGE_SIZE + 1, 10**9])
def test_page_size_out_of_bounds_is_refused(first: int) -> None:
    with pytest.raises(InvalidArgument, match="between 1 and 500"):
        page_size(first)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 9, 0),
        datetime(2026, 1, 1, 14, 0, tzinfo=PLUS_FIVE),
        datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=-8))),
    ],
    ids=["utc", "no-offset", "plus-5", "minus-8"],
)
def test_a_bound_is_the_same_instant_in_utc(moment: datetime) -> None:
    checked = bound(moment, "since")
    assert checked == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert checked.tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [OUT_OF_RANGE, datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=10)))],
    ids=["year-1", "year-9999"],
)
def test_a_bound_out_of_range_is_refused_by_its_name(moment: datetime) -> None:
    with pytest.raises(InvalidArgument, match=r"`filter\.until` is out of range"):
        bound(moment, "until")
