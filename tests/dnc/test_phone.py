"""Phone numbers: strict E.164 normalization for adds, the cheap scrub path for dncCheck."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.dnc.phone import InvalidPhoneNumber, normalize_phone_number, scrub_candidates

NEW_YORK = "+12125551234"
LONDON = "+442079460958"
# Digits that str.isdigit() accepts but a dialer cannot dial.
FULLWIDTH_NEW_YORK = "".join(chr(ord(char) + 0xFEE0) for char in NEW_YORK)
ARABIC_INDIC_NEW_YORK = "".join(chr(0x0660 + int(digit)) for digit in NEW_YORK[1:])

EXAMPLES = sorted(
    {
        (example.country_code, phonenumbers.national_significant_number(example))
        for region in phonenumbers.SUPPORTED_REGIONS
        if (example := phonenumbers.example_number(region)) is not None
    }
)
# dncCheck reads 8 to 15 digits (CONTRACT section 3); see test_short_valid_numbers_are_scrubbed.
SCRUBBABLE_EXAMPLES = [
    (code, national) for code, national in EXAMPLES if 8 <= len(f"{code}{national}") <= 15
]
SHORT_VALID_NUMBERS = ["+6837012", "+6907290"]  # Niue and Tokelau: 7 digits in E.164
SEPARATORS = st.sampled_from(["", " ", "-", "."])
PREFIXES = st.sampled_from(["+", "", "00", "+ ", "00 "])
PHONE_CHARACTERS = "0123456789 +-.()"


def contract_digits(raw: str) -> str:
    """What dncCheck reads: separators dropped, then a leading + or 00."""
    text = re.sub(r"[ \-.()\t]", "", raw.strip())
    return text.removeprefix("+") if text.startswith("+") else text.removeprefix("00")


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """`digits` as a person might write them: any prefix, separators between digits."""
    gaps = draw(st.lists(SEPARATORS, min_size=len(digits) - 1, max_size=len(digits) - 1))
    body = digits[0] + "".join(gap + digit for gap, digit in zip(gaps, digits[1:], strict=True))
    padding = draw(st.sampled_from(["", " "]))
    return f"{padding}{draw(PREFIXES)}{body}{padding}"


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """(E.164 of a region's example number, a spelling of it)."""
    country_code, national = draw(st.sampled_from(SCRUBBABLE_EXAMPLES))
    digits = f"{country_code}{national}"
    return f"+{digits}", draw(written(digits))


@st.composite
def trunk_spellings(draw: st.DrawFn) -> str:
    """An example number with a would-be trunk prefix after its country code: "+44 0 20 ..."."""
    country_code, national = draw(st.sampled_from(EXAMPLES))
    trunk = draw(st.sampled_from(["0", "1", "8", "9", "00", "01", "06", "80", "015"]))
    return draw(written(f"{country_code}{trunk}{national}"))


# normalize_phone_number -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "12125551234",
        "+12125551234",
        "+1 212-555-1234",
        "+1 (212) 555.1234",
        "0012125551234",
        " +1 212 555 1234 ",
        "+1\t212\t555\t1234",
    ],
)
def test_us_spellings_normalize_to_e164(raw: str) -> None:
    assert normalize_phone_number(raw) == NEW_YORK


@pytest.mark.parametrize("raw", ["+44 20 7946 0958", "0044 20 7946 0958", "44 (20) 7946-0958"])
def test_uk_spellings_normalize_to_e164(raw: str) -> None:
    assert normalize_phone_number(raw) == LONDON


def test_trunk_prefix_after_country_code_is_dropped() -> None:
    assert normalize_phone_number("+44 (0)20 7946 0958") == LONDON


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("abc", id="letters"),
        pytest.param("+1 212 555 123a", id="trailing-letter"),
        pytest.param("12345", id="too-short"),
        pytest.param("+1 212 555 12345", id="too-long-for-its-country"),
        pytest.param("1-800-FLOWERS", id="vanity"),
        pytest.param("+1 800 356 9377 ext 12", id="extension"),
        pytest.param("++12125551234", id="double-plus"),
        pytest.param("+1 212 555 1234 +", id="plus-at-the-end"),
        pytest.param(FULLWIDTH_NEW_YORK, id="fullwidth"),
        pytest.param(ARABIC_INDIC_NEW_YORK, id="arabic-indic"),
        pytest.param("+999 1234 5678", id="unknown-country-code"),
        pytest.param("1" * 100, id="100-chars"),
    ],
)
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(raw)


# scrub_candidates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("+", id="plus"),
        pytest.param("00", id="international-prefix"),
        pytest.param("1234567", id="7-digits"),
        pytest.param("+1234567", id="plus-7-digits"),
        pytest.param("00 1234567", id="00-7-digits"),
        pytest.param("1234567890123456", id="16-digits"),
        pytest.param("+1 212 555 123a", id="letter"),
        pytest.param("1-800-FLOWERS", id="vanity"),
        pytest.param("++12125551234", id="double-plus"),
        pytest.param("+1 212 555 1234 ext 5", id="extension"),
        pytest.param(FULLWIDTH_NEW_YORK, id="fullwidth"),
        pytest.param(ARABIC_INDIC_NEW_YORK, id="arabic-indic"),
    ],
)
def test_scrub_refuses_what_is_not_8_to_15_digits(raw: str) -> None:
    assert scrub_candidates(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12345678", "+12345678"),
        ("123456789012345", "+123456789012345"),
        ("+1 (212) 555.1234", NEW_YORK),
        ("0012125551234", NEW_YORK),
        ("+44 20 7946 0958", LONDON),
    ],
)
def test_scrub_of_a_clean_number_is_its_digits(raw: str, expected: str) -> None:
    assert scrub_candidates(raw) == (expected,)


def test_scrub_of_a_number_that_is_not_valid_is_still_its_digits() -> None:
    """Scrubbing needs no libphonenumber validity: a number not on the list is just not blocked."""
    assert scrub_candidates("+1 212 555 12345") == ("+121255512345",)


@pytest.mark.parametrize("raw", ["+44 020 7946 0958", "0044 (0)20 7946 0958", "44 020 7946 0958"])
def test_scrub_with_trunk_prefix_includes_the_stored_form(raw: str) -> None:
    candidates = scrub_candidates(raw)

    assert candidates is not None
    assert LONDON in candidates


@pytest.mark.parametrize("e164", SHORT_VALID_NUMBERS)
def test_short_valid_numbers_are_refused_because_no_scrub_could_block_them(e164: str) -> None:
    """dncCheck reads only 8 to 15 digits (contract): a 7-digit number could never be blocked."""
    assert scrub_candidates(e164) is None
    with pytest.raises(InvalidPhoneNumber, match="8 to 15 digits"):
        normalize_phone_number(e164)


# Properties -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(spellings())
def test_every_spelling_of_a_valid_number_normalizes_and_scrubs_alike(
    spelling: tuple[str, str],
) -> None:
    e164, raw = spelling

    assert normalize_phone_number(raw) == e164
    assert e164 in (scrub_candidates(raw) or ())


@settings(deadline=None)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=PHONE_CHARACTERS, max_size=40)))
def test_arbitrary_text_raises_only_invalid_phone_number(raw: str) -> None:
    try:
        normalized = normalize_phone_number(raw)
    except InvalidPhoneNumber:
        pass
    else:
        assert re.fullmatch(r"\+[1-9][0-9]{1,14}", normalized), normalized

    candidates = scrub_candidates(raw)

    if candidates is not None:
        assert candidates
        assert all(re.fullmatch(r"\+[0-9]{8,15}", c) for c in candidates), candidates


@settings(max_examples=300, deadline=None)
@given(st.one_of(trunk_spellings(), st.text(alphabet=PHONE_CHARACTERS, min_size=8, max_size=30)))
def test_what_normalize_accepts_scrub_finds(raw: str) -> None:
    """dncCheck must block every spelling addToDnc would have stored, within 8 to 15 digits."""
    try:
        normalized = normalize_phone_number(raw)
    except InvalidPhoneNumber:
        return
    candidates = scrub_candidates(raw)

    if 8 <= len(contract_digits(raw)) <= 15:
        assert candidates is not None
        assert normalized in candidates
    else:
        assert candidates is None
