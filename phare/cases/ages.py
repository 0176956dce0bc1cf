"""CTDC's age bands, and a person's band on a given day: the dashboards count the band at registration
without decrypting birth dates, so it is kept beside the case participation (it names no one: a band only)."""

from __future__ import annotations

from datetime import date

AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-8", 0, 8), ("9-17", 9, 17), ("18-20", 18, 20), ("21-23", 21, 23), ("24-26", 24, 26),
    ("27-29", 27, 29), ("30-38", 30, 38), ("39-47", 39, 47), ("48+", 48, None),
)  # fmt: skip


def band_of(age: int | None) -> str:
    if age is None or age < 0:
        return ""
    for label, lo, hi in AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return ""


def band_on(birthdate: date | None, day: date | None) -> str:
    """The band of someone born on `birthdate`, on `day`; "" when either is unknown or the birth is later."""
    if birthdate is None or day is None:
        return ""
    age = day.year - birthdate.year - ((day.month, day.day) < (birthdate.month, birthdate.day))
    return band_of(age)
