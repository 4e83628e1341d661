"""Whole numbers typed by clients (form fields, query parameters, headers): ASCII digits only and of bounded
length. `str.isdigit()` alone accepts "²" or "٣", which `int()` then refuses or reads in a way nobody meant."""

from __future__ import annotations

from rustok.errors import ValidationFailed

MAX_DIGITS = 15  # below 2**53 and bigint alike


def parse_whole_number(raw: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of 1 to `max_digits` ASCII digits, else None."""
    if not 0 < len(raw) <= max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def whole_number(raw: str, field: str, max_digits: int = MAX_DIGITS) -> int:
    """parse_whole_number, or VALIDATION_FAILED naming the field."""
    value = parse_whole_number(raw, max_digits)
    if value is None:
        raise ValidationFailed(f"{field} is a whole number", {"field": field})
    return value
