"""Numbers as news text writes them: digits ("60", "1,200", "2.5") and English number words ("two",
"twenty-five", "a hundred").

This module owns :data:`NUM_REGEX`, the ``{num}`` fragment every value pattern in
``seeds/negotiations/*.yaml`` may use, and :func:`parse_number`, which turns what it matched into a number.
"""

from __future__ import annotations

import re

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))
_TEN_WORDS = "|".join(_TENS)
NUM_REGEX = (
    rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|(?:{_TEN_WORDS})(?:[- ](?:{_UNIT_WORDS}))?"
    rf"|(?:a\s+|one\s+)?hundred|{_UNIT_WORDS})"
)


def parse_number(text: str) -> int | float | None:
    """``"60"``, ``"1,200"``, ``"two"``, ``"twenty-five"``, ``"a hundred"`` → the number; else None."""
    words = text.lower().replace(",", "").strip()
    if not words:
        return None
    if words[0].isdigit():
        try:
            number = float(words)
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    words = re.sub(r"^(?:a|one)\s+hundred$", "hundred", words)
    if words == "hundred":
        return 100
    if words in _UNITS:
        return _UNITS[words]
    parts = re.split(r"[- ]", words)
    if parts[0] in _TENS and (len(parts) == 1 or (len(parts) == 2 and parts[1] in _UNITS)):
        return _TENS[parts[0]] + (_UNITS[parts[1]] if len(parts) == 2 else 0)
    return None
