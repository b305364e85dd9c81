"""The fuzz oracle itself: it sees the service's internals, and not the request's own words."""

from __future__ import annotations

import pytest

from tests.graphql.fuzz.oracle import leaked


@pytest.mark.parametrize(
    ("text", "sent", "found"),
    [
        ('Traceback (most recent call last):\n  File "/work/main/api/x.py"', "", True),
        ("KeyError: 'phone_number'", "", True),
        ('duplicate key value violates unique constraint "uid_dnc_entry"', "", True),
        ("(sqlite3.OperationalError) near SELECT", "", True),
        ('Cannot query field "ValueError" on type "Query".', "{ ValueError }", False),
        ("Expected type 'AddToDncInput', found 1; ValidationError", "", False),
        ("Phone number is not a valid international number.", "", False),
    ],
)
def test_the_oracle_sees_internals_but_not_echoes(text: str, sent: str, found: bool) -> None:
    assert bool(leaked(text, sent)) is found
