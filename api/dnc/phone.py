"""Phone numbers: strict E.164 normalization for adds, a cheap path for scrubbing lists.

Every number is written with its country code; the leading "+" (or the international "00")
is optional, and spaces, dashes, dots and parentheses are ignored.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

_SEPARATORS = str.maketrans("", "", " -.()\t")
_DIGITS = re.compile(r"[0-9]{8,15}")
_CLEAN = re.compile(r"\+?([1-9][0-9]{7,14})")  # no country code starts with 0; "00" is a prefix
MAX_INPUT_LENGTH = 64


class InvalidPhoneNumber(ValueError):
    """The input cannot be read as an international phone number; the message says why."""


def _strip(raw: str) -> str:
    """Drop separators and the international prefix ("+" or "00"); keep everything else."""
    text = raw.strip().translate(_SEPARATORS)
    if text.startswith("+"):
        return text[1:]
    if text.startswith("00"):
        return text[2:]
    return text


def normalize_phone_number(raw: str) -> str:
    """The E.164 form of `raw`, which must be a valid number with its country code."""
    if not raw or not raw.strip():
        raise InvalidPhoneNumber("Phone number is required.")
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber("Phone number is too long.")
    digits = _strip(raw)
    if not digits.isascii() or not digits.isdigit():
        raise InvalidPhoneNumber(
            "Phone number may contain only digits, spaces, dashes, dots, parentheses "
            "and a leading + or 00."
        )
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("Phone number is not a valid international number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("Phone number is not a valid international number.")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _DIGITS.fullmatch(e164[1:]):
        # Valid 7-digit numbers exist (Niue, Tokelau), but a scrub reads only 8 to 15 digits:
        # such an entry could never block a call, so it is refused rather than silently useless.
        raise InvalidPhoneNumber("Phone number must have 8 to 15 digits with its country code.")
    return e164


_COUNTRY_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


@cache
def _national_prefix(country_code: str) -> re.Pattern[str] | None:
    """The pattern of the national prefix (trunk prefix) that parsing strips for a country."""
    code = int(country_code)
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is not None and metadata.national_prefix_for_parsing:
            return re.compile(metadata.national_prefix_for_parsing)
    return None


def _may_change_when_parsed(digits: str) -> bool:
    """True when the full parse could give another E.164 number than "+" + `digits`.

    Parsing only rewrites a number after its country code when the rest starts with that
    country's national prefix (a "0" or "1" trunk prefix, carrier codes); anything else is
    already in E.164 form or simply not a number that can be on the list.
    """
    for length in (1, 2, 3):
        code = digits[:length]
        if code in _COUNTRY_CODES:
            pattern = _national_prefix(code)
            if pattern is None:
                return False
            match = pattern.match(digits[length:])
            return match is not None and match.end() > 0
    return False


def scrub_candidates(raw: str) -> tuple[str, ...] | None:
    """The E.164 spellings `raw` may match on the list; None when it is not 8 to 15 digits.

    Most inputs cost a string translation: "+" + digits is their E.164 form. Only a number
    whose national part starts with its country's trunk prefix also gets the full parse.
    """
    clean = _CLEAN.fullmatch(raw)  # most lists hold E.164 or bare digits: skip the stripping
    if clean is not None:
        digits = clean[1]
    elif len(raw) > MAX_INPUT_LENGTH:
        return None
    else:
        digits = _strip(raw)
        if not _DIGITS.fullmatch(digits):
            return None
    quick = "+" + digits
    if not _may_change_when_parsed(digits):
        return (quick,)
    try:
        parsed = phonenumbers.parse(quick, None)
    except phonenumbers.NumberParseException:
        return (quick,)
    full = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return (quick,) if full == quick else (quick, full)
