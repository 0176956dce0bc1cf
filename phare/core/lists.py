"""Counts of long lists, bounded: the case list, the task list and the home page's cards say "1000+" past the cap,
because counting 200,000 filtered rows costs more than the page itself."""

from __future__ import annotations

from typing import Any

from django.db.models import IntegerField, QuerySet, Subquery

COUNT_CAP = 1_000


def capped(n: int) -> tuple[int, bool]:
    """A count already known (a list's last page, read whole), bounded as `capped_count` bounds one."""
    return min(n, COUNT_CAP), n > COUNT_CAP


def capped_count(qs: QuerySet[Any]) -> tuple[int, bool]:
    """How many rows `qs` holds, counted up to COUNT_CAP, and whether there are more (a list then says "1000+")."""
    return capped(qs.order_by().values("id")[: COUNT_CAP + 1].count())


class CappedCount(Subquery):
    """`capped_count` of `qs` for each row of an outer query (`qs` names that row with OuterRef): its rows counted
    up to COUNT_CAP + 1, read through whatever index serves `qs`, so that `capped` of the value tells "more"."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped_rows)"

    def __init__(self, qs: QuerySet[Any]) -> None:
        super().__init__(qs.order_by().values("id")[: COUNT_CAP + 1], output_field=IntegerField())
