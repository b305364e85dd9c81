"""Phone numbers: fresh valid ones (each used once in the whole run) and their many spellings."""

from __future__ import annotations

import random

import phonenumbers

US_AREAS = ["212", "312", "415", "617", "202", "305", "713", "206", "404", "503", "718", "646"]


class Numbers:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _candidate(self) -> str:
        roll = self.rng.random()
        if roll < 0.7:
            area = self.rng.choice(US_AREAS)
            return f"+1{area}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"
        if roll < 0.85:
            return f"+447{self.rng.randint(400_000_000, 999_999_999)}"
        return f"+336{self.rng.randint(10_000_000, 99_999_999)}"

    def fresh(self) -> str:
        """A valid E.164 number never handed out before in this run."""
        while True:
            candidate = self._candidate()
            if candidate in self.used:
                continue
            parsed = phonenumbers.parse(candidate, None)
            if not phonenumbers.is_valid_number(parsed):
                continue
            if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != (
                candidate
            ):
                continue
            self.used.add(candidate)
            return candidate

    def spell(self, e164: str) -> str:
        """Another way to write `e164` that must be read as the same number."""
        digits = e164[1:]
        prefix = self.rng.choice(["+", "+", "", "00"])
        roll = self.rng.random()
        if roll < 0.35:
            return prefix + digits
        if roll < 0.55 and digits.startswith("1") and len(digits) == 11:
            return f"{prefix}1 ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
        out = []
        for index, digit in enumerate(digits):
            if index and self.rng.random() < 0.25:
                out.append(self.rng.choice(" -."))
            out.append(digit)
        return prefix + "".join(out)
