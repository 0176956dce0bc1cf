"""Small-cell suppression, primary and secondary."""

from __future__ import annotations

from phare.dashboards.suppression import suppress_column, suppress_value


def test_it_hides_cells_below_k() -> None:
    cells, total = suppress_column([20, 3, 0, 2], 25, 11)
    assert cells == [20, None, 0, None] and total == 25


def test_it_hides_a_second_cell_when_one_alone_could_be_recovered_from_the_total() -> None:
    cells, total = suppress_column([30, 15, 4, 0], 49, 11)
    assert cells == [30, None, None, 0] and total == 49
    shown = sum(c for c in cells if c is not None)
    assert total - shown == 19  # only the sum of two hidden cells is recoverable, not either one


def test_it_hides_everything_when_the_total_is_below_k() -> None:
    assert suppress_column([6, 4, 0], 10, 11) == ([None, None, 0], None)


def test_it_leaves_large_cells_and_zeros_alone() -> None:
    assert suppress_column([11, 0, 40], 51, 11) == ([11, 0, 40], 51)
    assert suppress_column([1, 2], 3, 1) == ([1, 2], 3)


def test_it_hides_the_total_when_it_equals_the_single_hidden_cell() -> None:
    # Multi-select columns: the total counts people, a cell counts people with the value.
    cells, total = suppress_column([5, 0], 12, 11)
    assert cells == [None, 0] and total is None


def test_it_suppresses_a_single_value() -> None:
    assert suppress_value(10, 11) is None and suppress_value(0, 11) == 0 and suppress_value(11, 11) == 11
