"""What the fuzzer draws its values from: the seeded tenant's ids and numbers, and strategies
for every scalar the schema takes (numbers, ids, instants, cursors, text), with junk mixed in."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import phonenumbers
from hypothesis import strategies as st
from hypothesis_graphql import nodes


@dataclass
class Seed:
    """The ids and numbers the strategies mix in, so generated requests reach the rules."""

    batch_ids: list[str]
    request_uuids: list[str]
    user_ids: list[str]
    numbers: list[str]
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # batch, requestUUID, number


JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
ODD_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(codec=None), max_size=20),  # lone surrogates included
    st.text(st.sampled_from("\x00\t\n\r\u200b\u202e\ufeff '\"\\%_*;=+-@"), max_size=12),
    st.integers(2001, 2100).map(lambda n: "x" * n),  # just over the bounds of notes and reasons
    st.sampled_from(["", " ", "null", "undefined", "NaN", "'; DROP TABLE dnc_entry; --"]),
)
OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(timezones=st.none() | st.just(UTC) | OFFSETS)
EDGE_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999-14:00",
    "9999-12-31T23:59:59.999999",
    "2024-02-30T00:00:00Z",
    "2024-01-01",
    "2024-01-01T25:00:00",
    "now",
    "",
]
REASONS = ["CUSTOMER_REQUEST", "COMPLAINT", "WRONG_NUMBER", "LEGAL_REQUEST", "OTHER"]
CHANNELS = ["VOICE_CALL", "SMS", "EMAIL", "WEB", "MANUAL", "IMPORT"]
STATUSES = ["ACTIVE", "EXPIRED", "REMOVED"]
ACTIONS = ["ADDED", "REMOVED", "EXPIRED"]
EXAMPLE_NUMBERS = sorted(
    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    for region in phonenumbers.SUPPORTED_REGIONS
    if (number := phonenumbers.example_number(region)) is not None
)


def seconds_from_now(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(
        lambda seconds: (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    )


EARLIER = seconds_from_now(-(10**9), -1)
LATER = seconds_from_now(60, 10**9)
# Numbers that are valid and, in a run's first examples, mostly not on the list yet.
FRESH_NUMBERS = st.one_of(
    st.integers(0, 9999).map(lambda n: f"+1 212 555 {n:04d}"),
    st.integers(0, 9999).map(lambda n: f"00 44 20 7946 {n:04d}"),
    st.sampled_from(EXAMPLE_NUMBERS),
)


def mostly(strategy: st.SearchStrategy[Any], junk: st.SearchStrategy[Any] = JUNK) -> Any:
    """`strategy` nine times in ten, `junk` (wrong types, nulls, nesting) otherwise."""
    return st.integers(0, 9).flatmap(lambda pick: junk if pick == 0 else strategy)


def instants() -> st.SearchStrategy[str]:
    """DateTime inputs: around now, anywhere in the calendar, at its ends, or not instants."""
    around_now = seconds_from_now(-(10**9), 10**9)
    anywhere = MOMENTS.map(lambda moment: moment.isoformat())
    return st.one_of(around_now, anywhere, st.sampled_from(EDGE_INSTANTS), st.text(max_size=30))


def cursors() -> st.SearchStrategy[str]:
    """`after` values: well-formed cursors at any instant, cursors of odd JSON, and noise."""

    def encode(payload: bytes) -> str:
        return base64.urlsafe_b64encode(payload).decode().rstrip("=")

    position = st.tuples(
        MOMENTS.map(lambda moment: moment.isoformat()) | st.text(max_size=10),
        st.uuids().map(str) | st.text(max_size=10),
    )
    return st.one_of(
        position.map(lambda pair: encode(json.dumps(list(pair)).encode())),
        JUNK.map(lambda value: encode(json.dumps(value).encode())),
        st.binary(max_size=60).map(encode),
        st.text(max_size=40),
    )


def phone_numbers(seed: Seed) -> st.SearchStrategy[str]:
    """Spellings of listed and real numbers, near misses, and text."""

    @st.composite
    def spelled(draw: st.DrawFn) -> str:
        e164 = draw(st.sampled_from(seed.numbers + EXAMPLE_NUMBERS))
        digits = e164.removeprefix("+")
        prefix = draw(st.sampled_from(["+", "", "00", "+ ", "++", "0"]))
        separators = st.sampled_from(["", "", " ", "-", ".", "(", ")", "/", "\t"])
        body = "".join(draw(separators) + digit for digit in digits)
        tail = draw(st.sampled_from(["", "", " ", "1", "x", " ext 12", "\x00"]))
        return prefix + body + tail

    return st.one_of(
        spelled(),
        st.sampled_from(seed.numbers),
        st.text(alphabet="0123456789+ -().", max_size=25),
        st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
        ODD_TEXT,
    )


def ids(seed: Seed) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(seed.batch_ids + seed.user_ids),
        st.uuids().map(str),
        st.sampled_from(seed.batch_ids).map(str.upper),
        st.sampled_from(seed.batch_ids).map(lambda value: value.replace("-", "")),
        st.sampled_from(seed.batch_ids).map(lambda value: f"{{{value}}}"),
        ODD_TEXT,
    )


def uuids(seed: Seed) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(seed.request_uuids),
        st.uuids().map(str),
        st.sampled_from(seed.request_uuids).map(lambda value: f"urn:uuid:{value}"),
        ODD_TEXT,
    )


def custom_scalars(seed: Seed) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """hypothesis-graphql's values for scalars, with the tenant's ids, numbers and cursors."""
    strings = st.one_of(
        phone_numbers(seed), cursors(), st.sampled_from(REASONS), ODD_TEXT, st.text()
    )
    return {
        "String": strings.map(nodes.String),
        "ID": ids(seed).map(nodes.String) | st.integers().map(nodes.Int),
        "UUID": uuids(seed).map(nodes.String) | st.integers().map(nodes.Int),
        "DateTime": instants().map(nodes.String) | st.integers().map(nodes.Int),
    }
