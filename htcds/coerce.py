"""Turn values as people type them (labels, Excel dates, "yes", "Nigeria") into HTCDS stored form.

Validation is strict about the stored form; importers call `coerce_value` first so that a template filled
with the templates' own labels ("Debt bondage ", "Follow up") goes in, and only what cannot be understood
is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from htcds import codelists
from htcds.catalogue import Field, Kind, load

# Excel's day zero, once its 1900 leap-year bug is accounted for.
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y",
                 "%B %d, %Y", "%Y%m%d")  # fmt: skip


def parse_date(value: Any, day_first: bool = True) -> date | None:
    """A date from a date, datetime, Excel serial number or common text format; None if not a date.

    Text such as 03/04/2021 is read day first (the common order outside the United States) unless
    `day_first` is False; the import mapping sets it per source.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # Only a spreadsheet cell typed as a number is an Excel serial; a year alone (1990) never is: read as a
        # serial it would be a day of 1905.
        if is_year(value):
            return None
        if 1 <= value < 2958466:  # Excel's range: 1900-01-01 to 9999-12-31
            return _EXCEL_EPOCH + timedelta(days=int(value))
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", text):
        text = text[:10]
    formats = _DATE_FORMATS if day_first else tuple(f.replace("%d/%m", "%m/%d") for f in _DATE_FORMATS)
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def is_year(value: Any) -> bool:
    """A year alone, as a number or text (1990, "1990", 1990.0): never a date, nor an Excel serial."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        if not value.is_integer():
            return False
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        return len(text) == 4 and text.isdigit() and 1000 <= int(text) <= 2999
    return isinstance(value, int) and 1000 <= value <= 2999


# Slashes only: month-first reading (parse_date's day_first=False) swaps only dd/mm, dotted and dashed dates are
# always read day first.
_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/\d{2,4}\s*")


def date_order(values: Iterable[Any]) -> tuple[str, str] | None:
    """How a column writes its dd/dd/dddd dates, with the value that shows it: ("day-first", "31/12/2020") once any
    value reads only day first, else ("month-first", "12/31/2020") if one reads only month first, else None
    (03/04/2021 shows nothing). Day first wins a column that holds both, as it is what parse_date assumes."""
    month: str | None = None
    for v in values:
        m = _NUMERIC_DATE.fullmatch(v) if isinstance(v, str) else None
        if m is None:
            continue
        first, second = int(m.group(1)), int(m.group(2))
        if first > 12 >= second:
            return "day-first", v.strip()
        if second > 12 >= first and month is None:
            month = v.strip()
    return ("month-first", month) if month is not None else None


def _fold(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.replace("\xa0", " ").lower())


def _choice_index(field: Field) -> dict[str, str]:
    return _choice_index_for(field.name)


@cache
def _choice_index_for(name: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in load()[name].choices:
        index[_fold(c.name)] = c.name
        index.setdefault(_fold(c.label), c.name)
    return index


_TRUE = {"yes", "true", "1", "y", "oui", "si", "sim", "x"}
_FALSE = {"no", "false", "0", "n", "non", "nao"}


def coerce_value(field: Field, value: Any, multi_separator: str = ";", day_first: bool = True) -> Any:
    """Best-effort conversion to stored form; returns the input unchanged when it cannot be understood,
    so that validation reports it with the row and field."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.replace("\xa0", " ").strip()
        if value == "":
            return None
    kind = field.kind
    if kind is Kind.MULTI_CHOICE:
        items = (
            value
            if isinstance(value, list)
            else [v for v in re.split(rf"\s*{re.escape(multi_separator)}\s*", str(value)) if v]
        )
        out = [_coerce_one(field, v) for v in items]
        return list(dict.fromkeys(out))
    if kind is Kind.CHOICE:
        return _coerce_one(field, value)
    if kind is Kind.DATE:
        parsed = parse_date(value, day_first)
        return parsed.isoformat() if parsed else value
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):  # a spreadsheet's 1/0 typed as numbers
            return bool(value)
        folded = _fold(str(value))
        return True if folded in _TRUE else False if folded in _FALSE else value
    if kind in (Kind.NUMBER, Kind.INTEGER, Kind.LATITUDE, Kind.LONGITUDE):
        if isinstance(value, str):
            try:
                num = float(value.replace(",", "."))
            except ValueError:
                return value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            num = float(value)
        else:
            return value
        if kind is Kind.INTEGER:
            return int(num) if num.is_integer() else value
        return num
    if isinstance(value, float) and value.is_integer():
        if abs(value) >= 1e15:  # past a spreadsheet's 15 digits: its end is lost, validation refuses it
            return value
        value = str(int(value))  # spreadsheets hand back 12345.0 for an id typed as 12345
    if field.text_format == "e164" and isinstance(value, str):
        return codelists.normalise_phone(value) or value
    if field.text_format == "email" and isinstance(value, str):
        return value.lower()
    return value if isinstance(value, str) else str(value)


def _coerce_one(field: Field, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if field.codelist == "country":
        return codelists.normalise_country(text) or text
    if field.codelist == "language":
        return codelists.normalise_language(text) or text
    return _choice_index(field).get(_fold(text), text)
