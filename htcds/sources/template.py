"""The official HTCDS Excel templates, as organisations really fill them in.

Handled quirks (all present in IOM's own files):
- row 1 holds field names and row 2 labels, but either may come first, and a sheet may have only one;
- `vic_TraffickinStatusDecisionMakingOrg` is misspelt in the field-name row;
- the mailing-address columns are in one order in the field-name row (hidden) and another in the label row;
  people type under the label they read, so the label decides, whatever cells are filled, and the
  disagreement is reported;
- the "Reason for Outgoing Referral" column has a label but no field name;
- values are labels ("Debt bondage ", "Follow up", "Closed Referred"), several per cell joined by `;`,
  and dates are real dates, Excel serial numbers or text.
"""

from __future__ import annotations

from typing import Any

from htcds.catalogue import Kind, load
from htcds.coerce import date_order
from htcds.sources.base import Plan, TabularSource
from htcds.sources.layout import EXTRA_COLUMNS, RECORD_COLUMN
from htcds.sources.problems import WARNING, source_problem
from htcds.sources.tabular import cell_text, column_letter
from htcds.sources.values import fold, make_converter
from htcds.templates import FIELD_NAME_FIXES

# Headers of a column holding the organisation's own case id (not a field of the standard).
ID_HEADERS = frozenset({"id", "caseid", "casenumber", "caseno", "sourceid", "recordid", "reference"})


def name_index() -> dict[str, str]:
    names = {f.name.lower(): f.name for f in load().fields}
    names.update({k.lower(): v for k, v in FIELD_NAME_FIXES.items()})
    return names


def label_index() -> dict[str, str]:
    labels: dict[str, str] = {}
    for f in load().fields:
        labels.setdefault(fold(f.label), f.name)
    return labels


def recognised(headers: list[str]) -> int:
    """How many headers name an HTCDS field (by name or label): used to tell templates from other sheets."""
    names, labels = name_index(), label_index()
    return sum(1 for h in headers if h and (h.lower() in names or fold(h) in labels))


class TemplateSource(TabularSource):
    kind = "htcds-template"

    def __init__(self, path: Any, name: str = "htcds-template", sheet: str | None = None,
                 day_first: bool = True) -> None:  # fmt: skip
        super().__init__(path, name, sheet)
        self.day_first = day_first

    def build_plan(self, head: list[list[Any]], sample: list[list[Any]]) -> Plan:
        names, labels = name_index(), label_index()
        rows = [[cell_text(c) for c in r] for r in head]
        while len(rows) < 2:
            rows.append([])
        name_hits = [sum(1 for c in r if c.lower() in names) for r in rows]
        label_hits = [sum(1 for c in r if c and c.lower() not in names and fold(c) in labels) for r in rows]
        # The field-name row is the one with more exact names; the other is a label row if mostly labels.
        name_row = 0 if name_hits[0] >= name_hits[1] else 1
        other = 1 - name_row
        other_cells = [c for c in rows[other] if c]
        has_labels = label_hits[other] >= max(3, len(other_cells) // 2)
        header_rows = 2 if has_labels or name_hits[other] >= 3 else 1
        if header_rows == 1 and name_row == 1:
            name_row, other = 0, 1
        if header_rows == 1:
            sample = rows[1:2] + sample if rows[1] else sample
        by_name: dict[int, str] = {}
        by_label: dict[int, str] = {}
        width = max(len(rows[0]), len(rows[1]))
        headers: list[str] = []
        plan = Plan(header_rows)
        for i in range(width):
            n = rows[name_row][i] if i < len(rows[name_row]) else ""
            lab = rows[other][i] if header_rows == 2 and i < len(rows[other]) else ""
            headers.append(n or lab)
            field = names.get(n.lower()) or labels.get(fold(n)) if n else None
            if field:
                by_name[i] = field
            if lab and fold(lab) in labels:
                by_label[i] = labels[fold(lab)]
            if not field and n and fold(n) in ID_HEADERS:
                plan.id_columns.append(i)
            elif not field and n == RECORD_COLUMN:
                plan.record_column = i
            elif not field and i not in by_label and (n or lab) and (n or lab) not in EXTRA_COLUMNS:
                self.problems.append(
                    source_problem(
                        "unmapped-column",
                        row=name_row + 1 if n else other + 1,
                        column=f"{column_letter(i)} ({n or lab})",
                        value=n or lab,
                        fix="rename the header to an HTCDS field name, or import with a mapping file",
                        severity=WARNING,
                    )
                )
        plan.headers = headers
        columns = dict(by_name)
        for i, f in by_label.items():
            if i not in by_name:  # the unnamed "Reason for Outgoing Referral" column
                columns[i] = f
        disagree = {i: (by_name[i], by_label[i]) for i in by_name if i in by_label and by_name[i] != by_label[i]}
        for i, (n, lab) in disagree.items():
            # The label is what people read as they type: IOM's templates hide the field-name row, and their
            # mailing-address names are in another order than the labels. Never decided by the data: a city that
            # is also a country, or only a street and a postal code filled in, would swap the address.
            columns[i] = lab
            self.problems.append(source_problem(
                "header-mismatch",
                f"Column {column_letter(i)} is named {n} but labelled {rows[other][i]!r}; read as {lab}, the label "
                "people see as they type.",
                row=min(name_row, other) + 1, column=f"{column_letter(i)} ({n})", field=lab, value=n,
                fix=f"make row {name_row + 1} and row {other + 1} agree", severity=WARNING))  # fmt: skip
        cat = load()
        for i in sorted(columns):
            target = cat[columns[i]]
            day_first = self.day_first
            if target.kind is Kind.DATE and day_first:
                order = date_order(r[i] for r in sample if i < len(r))
                if order is not None and order[0] == "month-first":  # "04/05/2020" is then 5 April, not 4 May
                    proof = order[1]
                    day_first = False
                    self.problems.append(source_problem(
                        "month-first-dates", f"Column {column_letter(i)} holds dates such as {proof!r}, which only "
                        "read month first: its dates are read as month/day/year.", row=plan.header_rows,
                        column=plan.column_ref(i), field=target.name, value=proof, severity=WARNING,
                        fix="write dates as YYYY-MM-DD if this is wrong"))  # fmt: skip
            plan.plain.append((i, columns[i], make_converter(target, (";",), day_first)))
        return plan
