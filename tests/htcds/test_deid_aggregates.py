"""DP count tables with primary and secondary small-cell suppression."""

from __future__ import annotations

import numpy as np
import pytest

from htcds.deid.aggregates import PRIMARY, SECONDARY, dp_count_table, secondary_suppression
from htcds.deid.budget import BudgetExceededError, PrivacyBudgetLedger

CATS = {"sex": ["F", "M"], "age": ["adult", "minor"]}


def _rows(counts: dict[tuple[str, str], int]) -> list[dict[str, object]]:
    return [{"sex": s, "age": a} for (s, a), n in counts.items() for _ in range(n)]


def test_it_suppresses_a_small_cell_and_its_partner_so_totals_do_not_give_it_away() -> None:
    # At epsilon 60 OpenDP's discrete Laplace noise is zero with overwhelming probability, so the
    # suppression logic can be checked on known counts.
    rows = _rows({("F", "adult"): 40, ("F", "minor"): 5, ("M", "adult"): 30, ("M", "minor"): 20})
    table = dp_count_table(rows, ["sex", "age"], epsilon=60, categories=CATS)
    assert table.categories == (("F", "M"), ("adult", "minor"))
    assert table.values.tolist() == [[40, 5, 45], [30, 20, 50], [70, 25, 95]]
    reason = table.reason.tolist()
    assert reason[0][1] == PRIMARY
    # Row F and column minor each had one withheld value; the smallest visible inner cell of each
    # line goes too: F/adult (40) for the row, M/minor (20) for the column, then M/adult to cover row M.
    assert reason[0][0] == SECONDARY and reason[1][1] == SECONDARY and reason[1][0] == SECONDARY
    for axis in (0, 1):
        per_line = (np.asarray(reason) != 0).sum(axis=axis)
        assert not np.any(per_line == 1)
    cells = {(c["sex"], c["age"]): c for c in table.cells()}
    assert cells[("F", "minor")]["count"] is None and cells[("F", "minor")]["suppressed"] == "primary"
    assert cells[("Total", "Total")]["count"] == 95


def test_it_only_applies_primary_suppression_without_totals() -> None:
    rows = _rows({("F", "adult"): 40, ("F", "minor"): 5, ("M", "adult"): 30, ("M", "minor"): 20})
    table = dp_count_table(rows, ["sex", "age"], epsilon=60, categories=CATS, totals=False)
    assert table.reason.tolist() == [[0, PRIMARY], [0, 0]]


def test_it_makes_every_line_of_a_three_way_table_safe() -> None:
    values = np.full((3, 3, 3), 50, dtype=np.int64)
    values[0, 0, 0] = 3
    full = values.copy()
    for axis in range(3):
        full = np.concatenate([full, full.sum(axis=axis, keepdims=True)], axis=axis)
    reason = secondary_suppression(full, full < 11)
    for axis in range(3):
        assert not np.any((reason != 0).sum(axis=axis) == 1)
    assert reason[0, 0, 0] == PRIMARY and int((reason == SECONDARY).sum()) >= 3


def test_it_uses_fixed_categories_and_the_ledger() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=1.0, total_delta=1e-6)
    rows = _rows({("F", "adult"): 12, ("M", "adult"): 15})
    table = dp_count_table(
        rows,
        ["sex", "age"],
        epsilon=0.5,
        categories=CATS,
        ledger=ledger,
    )
    assert table.values.shape == (3, 3)
    assert "opendp" in table.mechanism
    with pytest.raises(BudgetExceededError):
        dp_count_table(rows, ["sex", "age"], epsilon=1.0, categories=CATS, ledger=ledger)
    with pytest.raises(ValueError, match="outside the given categories"):
        dp_count_table(rows, ["sex", "age"], epsilon=0.1, categories={"sex": ["F"], "age": ["adult"]})
    with pytest.raises(ValueError, match="no public categories for age"):
        dp_count_table(rows, ["sex", "age"], epsilon=0.1, categories={"sex": ["F", "M"]})


def test_it_adds_noise_of_the_stated_scale() -> None:
    rows = _rows({("F", "adult"): 1000, ("M", "adult"): 1000})
    spread = []
    for _ in range(200):
        table = dp_count_table(rows, ["sex", "age"], epsilon=0.5, categories=CATS, totals=False)
        spread.append(int(table.values[0, 0]) - 1000)
    # Discrete Laplace at epsilon 0.5: variance 2 e^-eps / (1 - e^-eps)^2, about 7.9 (sd about 2.8).
    assert 1.5 < float(np.std(spread)) < 4.5


def test_it_spends_no_budget_on_a_table_it_refuses() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=1.0, total_delta=1e-6)
    with pytest.raises(ValueError, match=r"^the table is empty$"):
        dp_count_table([], ["sex", "age"], epsilon=0.5, categories=CATS, ledger=ledger)
    strangers = [{"sex": s, "age": "adult"} for s in "ABCDEFG"]
    # The error names the attribute and shows the first five values that are not categories.
    with pytest.raises(ValueError, match=r"^sex: values outside the given categories: \['A', 'B', 'C', 'D', 'E'\]$"):
        dp_count_table(strangers, ["sex", "age"], epsilon=0.5, categories=CATS, ledger=ledger)
    assert ledger.spends == [] and ledger.spent_epsilon == 0


def test_it_counts_blank_and_absent_values_as_one_unknown_category() -> None:
    rows = [{"sex": None, "age": "adult"}, {"sex": "  ", "age": "adult"}, {"sex": "", "age": "adult"}]
    table = dp_count_table(rows * 20, ["sex", "age"], epsilon=60, categories={"sex": ["F", None], "age": ["adult"]},
                           totals=False)  # fmt: skip
    assert table.categories == (("F", "(missing)"), ("adult",)) and table.values.tolist() == [[0], [60]]
