"""The input checks the add, the removal and the bulk add share (api/dnc/checks.py): each value
comes back as stored, each refusal is a ValidationFailed naming its field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.dnc.checks import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    check_expires_at,
    check_instant,
    check_note,
    check_reason,
    check_text,
    parse_phone_number,
)
from api.dnc.errors import ErrorCode, ValidationFailed

NOW = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)
PLUS_FIVE = timezone(timedelta(hours=5))
# An instant with an offset that UTC cannot express: a year out of datetime's range.
OUT_OF_RANGE = [
    pytest.param(datetime(1, 1, 1, tzinfo=PLUS_FIVE), id="year-1-ahead-of-utc"),
    pytest.param(datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=10))), id="year-9999"),
]


def refusal(check: Callable[[], object]) -> ValidationFailed:
    """The ValidationFailed `check` raises (it must raise one), with a message to show."""
    with pytest.raises(ValidationFailed) as error:
        check()
    assert error.value.code is ErrorCode.VALIDATION_FAILED
    assert error.value.message
    return error.value


# parse_phone_number ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["+1 212-555-0100", "0012125550100", "12125550100"])
def test_a_readable_number_comes_back_in_e164(raw: str) -> None:
    assert parse_phone_number(raw) == "+12125550100"


@pytest.mark.parametrize("raw", ["", "abc", "12345", "+999 1234 5678", "1" * 65])
def test_an_unreadable_number_is_refused_naming_phone_number(raw: str) -> None:
    error = refusal(lambda: parse_phone_number(raw))
    assert error.field == "phoneNumber"


def test_an_unreadable_number_is_refused_naming_the_field_given() -> None:
    error = refusal(lambda: parse_phone_number("not a number", field="entries"))
    assert error.field == "entries"


# check_text, check_note -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "x" * 10, "x" * 10 + "é", "\U0001f4de call me!"],
    ids=["empty", "ascii", "accent-at-the-bound", "emoji"],
)
def test_text_within_its_bound_comes_back_unchanged(text: str) -> None:
    assert check_text(text, "note", max_length=11) is text


def test_text_one_over_its_bound_is_refused_with_the_bound() -> None:
    error = refusal(lambda: check_text("x" * 12, "note", max_length=11))
    assert error.field == "note"
    assert "at most 11 characters" in error.message


def test_the_bound_counts_characters_not_bytes() -> None:
    """Four-byte characters: 11 of them are 44 bytes of UTF-8, still within 11."""
    assert check_text("\U0001f4de" * 11, "note", max_length=11) == "\U0001f4de" * 11


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("nul \x00 byte", id="nul"),
        pytest.param("\x00", id="only-nul"),
        pytest.param("lone \ud800 surrogate", id="high-surrogate"),
        pytest.param("\udfff", id="low-surrogate"),
    ],
)
def test_text_neither_database_can_store_is_refused(text: str) -> None:
    error = refusal(lambda: check_text(text, "reason", max_length=2000))
    assert error.field == "reason"


@pytest.mark.parametrize("note", [None, ""])
def test_no_note_is_stored_as_none(note: str | None) -> None:
    assert check_note(note) is None


def test_a_note_at_its_bound_is_kept() -> None:
    assert check_note("n" * NOTE_MAX_LENGTH) == "n" * NOTE_MAX_LENGTH
    assert check_note("  Asked twice.  ") == "  Asked twice.  "  # kept as written


@pytest.mark.parametrize(
    "note", ["n" * (NOTE_MAX_LENGTH + 1), "nul \x00", "\ud800"], ids=["long", "nul", "surrogate"]
)
def test_a_note_refused_names_note(note: str) -> None:
    error = refusal(lambda: check_note(note))
    assert error.field == "note"


# check_instant, check_expires_at --------------------------------------------------------------


def test_no_instant_is_none() -> None:
    assert check_instant(None, "requestedAt") is None


def test_an_instant_without_offset_is_utc() -> None:
    checked = check_instant(datetime(2026, 6, 1, 12, 0), "requestedAt")
    assert checked == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert checked is not None
    assert checked.tzinfo is UTC


def test_an_instant_with_an_offset_is_the_same_instant_in_utc() -> None:
    checked = check_instant(datetime(2026, 6, 1, 17, 0, tzinfo=PLUS_FIVE), "requestedAt")
    assert checked == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert checked is not None
    assert checked.tzinfo is UTC
    assert checked.hour == 12


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_an_instant_out_of_range_is_refused_naming_its_field(moment: datetime) -> None:
    error = refusal(lambda: check_instant(moment, "requestedAt"))
    assert error.field == "requestedAt"
    assert "out of range" in error.message


def test_no_expiry_is_none() -> None:
    assert check_expires_at(None, NOW) is None


@pytest.mark.parametrize(
    "expires_at",
    [
        pytest.param(NOW + timedelta(microseconds=1), id="just-after"),
        pytest.param(NOW + timedelta(days=3650), id="years-after"),
        pytest.param((NOW + timedelta(seconds=1)).astimezone(PLUS_FIVE), id="other-offset"),
    ],
)
def test_an_expiry_in_the_future_comes_back_in_utc(expires_at: datetime) -> None:
    checked = check_expires_at(expires_at, NOW)
    assert checked == expires_at
    assert checked is not None
    assert checked.tzinfo is UTC


def test_an_expiry_without_offset_is_read_as_utc_before_comparing() -> None:
    """A second after NOW, written without offset: in the future only if read as UTC (read
    in any zone east of UTC, it would be refused as past)."""
    naive = (NOW + timedelta(seconds=1)).replace(tzinfo=None)
    assert check_expires_at(naive, NOW) == NOW + timedelta(seconds=1)


@pytest.mark.parametrize(
    "expires_at",
    [
        pytest.param(NOW, id="now"),
        pytest.param(NOW.astimezone(PLUS_FIVE), id="now-in-another-offset"),
        pytest.param(NOW - timedelta(microseconds=1), id="just-before"),
        pytest.param(NOW - timedelta(days=1), id="yesterday"),
    ],
)
def test_an_expiry_not_in_the_future_is_refused(expires_at: datetime) -> None:
    error = refusal(lambda: check_expires_at(expires_at, NOW))
    assert error.field == "expiresAt"
    assert "future" in error.message


@pytest.mark.parametrize("expires_at", OUT_OF_RANGE)
def test_an_expiry_out_of_range_is_refused_naming_expires_at(expires_at: datetime) -> None:
    error = refusal(lambda: check_expires_at(expires_at, NOW))
    assert error.field == "expiresAt"
    assert "out of range" in error.message


# check_reason ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", " ", "\t\n  "], ids=["empty", "space", "whitespace"])
def test_a_blank_reason_is_refused(reason: str) -> None:
    error = refusal(lambda: check_reason(reason))
    assert error.field == "reason"


def test_a_reason_is_stored_without_surrounding_blanks() -> None:
    assert check_reason("  Opted back in.\n") == "Opted back in."


def test_the_reason_bound_applies_to_the_stripped_text() -> None:
    at_bound = "r" * REASON_MAX_LENGTH
    assert check_reason(f"  {at_bound}  ") == at_bound
    error = refusal(lambda: check_reason(at_bound + "r"))
    assert error.field == "reason"
    assert "2,000" in error.message


def test_a_reason_with_a_nul_is_refused() -> None:
    error = refusal(lambda: check_reason("Because \x00."))
    assert error.field == "reason"
