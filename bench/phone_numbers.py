"""The benchmark's phone numbers: one index, one valid E.164 US number, no collisions.

Index `k` picks an area code (round robin over valid ones) and an exchange and line from
`k // len(AREA_CODES)`, so disjoint index ranges give disjoint numbers: the seed, each
workload's new numbers and the numbers known not to be listed never meet.
"""

from __future__ import annotations

AREA_CODES = (
    201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219,
    224, 225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267,
    269, 270, 272, 276, 281, 301,
)  # fmt: skip
PER_CODE = 800 * 10_000  # exchanges 200..999, lines 0000..9999

# Index ranges, far apart: what the seed holds, what workloads add, what is never listed.
SEED = 0
UNLISTED = 50_000_000
NEW_SINGLE = 100_000_000
NEW_BULK = 200_000_000


def e164(k: int) -> str:
    """The number with index `k`, e.g. "+12012000000"."""
    code = AREA_CODES[k % len(AREA_CODES)]
    rest = (k // len(AREA_CODES)) % PER_CODE
    return f"+1{code}{200 + rest // 10_000}{rest % 10_000:04d}"


def spelled(k: int) -> str:
    """The same number as a person might type it; the service and baseline must both match it."""
    number = e164(k)
    match k % 4:
        case 0:
            return number
        case 1:
            return number[1:]
        case 2:
            return f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
        case _:
            return f"001 {number[2:5]}.{number[5:8]}.{number[8:]}"
