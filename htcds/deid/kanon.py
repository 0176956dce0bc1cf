"""k-anonymisation by full-domain generalisation and local suppression.

Every quasi-identifier (QI) is recoded to one level of its hierarchy (the same level for all records),
and records still in an equivalence class smaller than k are suppressed, within a budget. The levels
are chosen by searching the generalisation lattice (one node per combination of levels).

Search. Within a suppression budget, "k is reached" is monotone on the lattice: generalising a QI only
merges classes, so the number of records in classes under k can only fall. The search exploits this
the way ARX's Flash does (Kohlmayer et al., 2012): it walks from each untagged node up a greedy path,
binary-searches the path for the lowest feasible node, and tags every node above a feasible one as
feasible and every node below an infeasible one as infeasible without evaluating them. The winner is
the evaluated feasible node with the least information loss; every k-minimal node that could still win (feasible, with every
direct specialisation infeasible) is evaluated, as in OLA (El Emam et al., 2009), because non-minimal
feasible nodes only trade more generalisation for less suppression, which the budget already caps.
With the precision metric the search is also a branch and bound: a node's loss is at least its
generalisation loss, so nodes whose generalisation alone costs more than the best loss found so far
are never visited.

Speed. Columns are coded to integers once; the table is then collapsed to its distinct QI combinations
with a count each, so evaluating a node costs a few array lookups and one np.unique over the distinct
combinations (thousands), not over the records (hundreds of thousands).

Loss measures reported:

* precision loss: Sweeney's Prec turned into a loss, the mean over records and QIs of level/top-level,
  with a suppressed record counting as fully generalised (1);
* discernibility (Bayardo and Agrawal): the sum over kept classes of size squared, plus n for every
  suppressed record;
* the share of records suppressed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, Literal

import numpy as np

from htcds.deid._table import SUPPRESSED, Codes, Table, combine, encode, n_rows, to_columns
from htcds.deid.hierarchies import Hierarchy

SuppressionMode = Literal["remove", "star"]
Metric = Literal["precision", "discernibility"]

MAX_LATTICE = 4_000_000
"""Above this many nodes the tag arrays alone get large; fewer QIs or shorter ladders are needed."""


@dataclass(frozen=True)
class NodeScore:
    """Outcome of evaluating one lattice node."""

    levels: tuple[int, ...]
    suppressed: int
    n_classes: int
    discernibility: int
    precision_loss: float
    generalisation_loss: float


@dataclass(frozen=True)
class KAnonymityResult:
    """A k-anonymised table and the report that goes with it."""

    columns: dict[str, list[object]]
    k: int
    quasi_identifiers: tuple[str, ...]
    levels: dict[str, int]
    level_names: dict[str, str]
    n_input: int
    suppressed: int
    suppression: SuppressionMode
    suppression_budget: float
    precision_loss: float
    generalisation_loss: float
    discernibility: int
    n_classes: int
    min_class_size: int
    lattice_size: int
    nodes_evaluated: int
    candidate_nodes: int
    seconds: float
    metric: Metric
    notes: list[str] = field(default_factory=list)

    @property
    def suppressed_share(self) -> float:
        return self.suppressed / self.n_input if self.n_input else 0.0

    def rows(self) -> list[dict[str, object]]:
        """The output as row dicts."""
        names = list(self.columns)
        return [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]

    def to_json(self) -> dict[str, object]:
        """The report without the data, for an audit log or a release note."""
        return {
            "k": self.k,
            "quasi_identifiers": list(self.quasi_identifiers),
            "levels": self.levels,
            "level_names": self.level_names,
            "n_input": self.n_input,
            "n_output": n_rows(self.columns),
            "suppressed": self.suppressed,
            "suppressed_share": self.suppressed_share,
            "suppression": self.suppression,
            "suppression_meaning": (
                "suppressed records were removed from the output"
                if self.suppression == "remove"
                else "suppressed records are kept with every quasi-identifier set to '*'"
            ),
            "suppression_budget": self.suppression_budget,
            "precision_loss": self.precision_loss,
            "sweeney_prec": 1.0 - self.generalisation_loss,
            "discernibility": self.discernibility,
            "n_classes": self.n_classes,
            "min_class_size": self.min_class_size,
            "lattice_size": self.lattice_size,
            "nodes_evaluated": self.nodes_evaluated,
            "candidate_nodes": self.candidate_nodes,
            "metric": self.metric,
            "seconds": self.seconds,
            "notes": self.notes,
        }


class _Lattice:
    """Distinct QI combinations with counts, and the per-level code maps to generalise them.

    Evaluated nodes keep one representative combination per class and the class sizes. A node can
    then be evaluated from any cached node below it (its classes are unions of the lower node's
    classes), which shrinks the work from distinct combinations to the lower node's classes: the
    roll-up ARX also relies on.
    """

    CACHE_NODES = 64

    def __init__(self, codes: list[Codes], maps: list[list[Codes]], k: int) -> None:
        self.k = k
        self.maps = maps
        self.heights = [len(m) for m in maps]
        self.tops = [h - 1 for h in self.heights]
        self.level_sizes = [[int(m.max(initial=-1)) + 1 for m in qi_maps] for qi_maps in maps]
        self.n = len(codes[0])
        key, _ = combine(codes, [s[0] for s in self.level_sizes])
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        self.record_combo = inverse.astype(np.int64, copy=False).reshape(-1)
        self.combo_codes = [c[first] for c in codes]
        self.combo_counts = counts.astype(np.int64)
        self.scores: dict[tuple[int, ...], NodeScore] = {}
        self._rollup: dict[tuple[int, ...], tuple[Codes, Codes]] = {}

    @staticmethod
    def _group(key: Codes, span: int, weights: Codes) -> tuple[Codes, Codes]:
        """Dense class index per row and class sizes; bincount when the key space is small enough."""
        if span <= 8 * key.size + 4096:
            counts = np.bincount(key, weights=weights, minlength=span)
            present = np.flatnonzero(counts)
            class_of = np.empty(span, dtype=np.int64)
            class_of[present] = np.arange(present.size, dtype=np.int64)
            return class_of[key], counts[present].astype(np.int64)
        _, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.astype(np.int64, copy=False).reshape(-1)
        return inverse, np.bincount(inverse, weights=weights).astype(np.int64)

    def _source(self, levels: tuple[int, ...]) -> tuple[Codes | None, Codes]:
        """Smallest cached class table below ``levels`` (None means the distinct combinations)."""
        if not self._rollup:
            return None, self.combo_counts
        keys = list(self._rollup)
        below = (np.asarray(keys, dtype=np.int64) <= np.asarray(levels, dtype=np.int64)).all(axis=1)
        best: tuple[Codes | None, Codes] = (None, self.combo_counts)
        for j in np.flatnonzero(below):
            rep, sizes = self._rollup[keys[j]]
            if sizes.size < best[1].size:
                best = (rep, sizes)
        return best

    def classes(
        self, levels: Sequence[int], rows: Codes | None = None, weights: Codes | None = None
    ) -> tuple[Codes, Codes]:
        """Class index of each row (distinct combinations by default) and class sizes in records."""
        idx = [self.combo_codes[i] if rows is None else self.combo_codes[i][rows] for i in range(len(levels))]
        gen = [self.maps[i][lv][idx[i]] for i, lv in enumerate(levels)]
        key, span = combine(gen, [self.level_sizes[i][lv] for i, lv in enumerate(levels)])
        return self._group(key, span, self.combo_counts if weights is None else weights)

    def score(self, levels: tuple[int, ...]) -> NodeScore:
        cached = self.scores.get(levels)
        if cached is not None:
            return cached
        rep, weights = self._source(levels)
        inverse, sizes = self.classes(levels, rep, weights)
        members = np.arange(inverse.size, dtype=np.int64) if rep is None else rep
        new_rep = np.empty(sizes.size, dtype=np.int64)
        new_rep[inverse] = members  # any member will do: all of them generalise alike further up
        if len(self._rollup) >= self.CACHE_NODES:
            self._rollup.pop(next(iter(self._rollup)))
        self._rollup[levels] = (new_rep, sizes)

        small = sizes < self.k
        suppressed = int(sizes[small].sum())
        kept = sizes[~small]
        gen_loss = float(np.mean([lv / top for lv, top in zip(levels, self.tops, strict=True)]))
        result = NodeScore(
            levels=levels,
            suppressed=suppressed,
            n_classes=int(kept.size),
            discernibility=int((kept * kept).sum()) + suppressed * self.n,
            precision_loss=((self.n - suppressed) * gen_loss + suppressed) / self.n,
            generalisation_loss=gen_loss,
        )
        self.scores[levels] = result
        return result


def _search(lattice: _Lattice, budget_records: int, metric: Metric) -> tuple[list[NodeScore], int, int]:
    """Tag the lattice; return the feasible nodes evaluated, the lattice size and the evaluation count.

    The k-minimal nodes are always among the returned ones. With the precision metric the search is
    also a branch and bound: a node's loss is at least its generalisation loss g (suppressed records
    only add to it), so once a feasible node with loss L is known, nodes with g >= L need no visit.
    Every node with g below the final best loss still gets tagged, so the optimum is not missed.
    """
    heights = np.asarray(lattice.heights, dtype=np.int64)
    q = len(heights)
    size = int(np.prod(heights))
    if size > MAX_LATTICE:
        raise ValueError(
            f"the generalisation lattice has {size} nodes (limit {MAX_LATTICE}); use fewer "
            "quasi-identifiers or shorter hierarchies"
        )
    # Mixed-radix node numbering: the last QI varies fastest.
    strides = np.ones(q, dtype=np.int64)
    for i in range(q - 2, -1, -1):
        strides[i] = strides[i + 1] * heights[i + 1]
    levels = np.stack(np.unravel_index(np.arange(size), tuple(heights)), axis=1).astype(np.int8)
    gen_loss = (levels / np.maximum(heights - 1, 1)).mean(axis=1)
    # at_least[i][l] marks the nodes whose level for QI i is >= l; tagging a node's up- or down-set is
    # then q boolean ANDs instead of a comparison over the whole level matrix.
    at_least = [[levels[:, i] >= lv for lv in range(int(heights[i]) + 1)] for i in range(q)]
    state = np.zeros(size, dtype=np.int8)  # 0 untagged, 1 feasible, -1 infeasible

    def up_set(lv: np.ndarray[Any, np.dtype[np.int8]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
        mask = at_least[0][int(lv[0])].copy()
        for i in range(1, q):
            mask &= at_least[i][int(lv[i])]
        return mask

    def down_set(lv: np.ndarray[Any, np.dtype[np.int8]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
        mask = ~at_least[0][int(lv[0]) + 1]
        for i in range(1, q):
            mask &= ~at_least[i][int(lv[i]) + 1]
        return mask

    feasible: list[NodeScore] = []
    bound = np.inf
    evaluated = 0

    def check(node: int) -> bool:
        nonlocal evaluated, bound
        if state[node] != 0:
            return bool(state[node] == 1)
        evaluated += 1
        lv = levels[node]
        result = lattice.score(tuple(int(x) for x in lv))
        ok = result.suppressed <= budget_records
        if ok:
            state[(state == 0) & up_set(lv)] = 1
            feasible.append(result)
            if metric == "precision":
                bound = min(bound, result.precision_loss)
        else:
            state[(state == 0) & down_set(lv)] = -1
        return ok

    # Lower nodes first; among equals, the least generalised, so the first paths run through the
    # region where the optimum usually is and the bound tightens early.
    order = np.lexsort((gen_loss, levels.sum(axis=1)))
    for start in order:
        if state[start] != 0 or gen_loss[start] >= bound:
            continue
        path = [int(start)]
        node = int(start)
        while True:
            lv = levels[node]
            best = -1
            best_loss = np.inf
            for i in range(q):
                if lv[i] + 1 < heights[i]:
                    succ = node + int(strides[i])
                    if state[succ] == 0 and gen_loss[succ] < min(best_loss, bound):
                        best, best_loss = succ, float(gen_loss[succ])
            if best < 0:
                break
            path.append(best)
            node = best
        lo, hi = 0, len(path) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if check(path[mid]):
                hi = mid - 1
            else:
                lo = mid + 1
    return feasible, size, evaluated


def k_anonymise(
    table: Table,
    quasi_identifiers: Mapping[str, Hierarchy],
    k: int = 11,
    suppression_budget: float = 0.05,
    suppression: SuppressionMode = "remove",
    metric: Metric = "precision",
    keep_columns: Sequence[str] | None = None,
) -> KAnonymityResult:
    """k-anonymise ``table`` over ``quasi_identifiers`` (column -> hierarchy).

    ``suppression_budget`` is the largest share of records that may be suppressed. With
    ``suppression="remove"`` (default) suppressed records are dropped; with ``"star"`` they stay with
    every QI set to "*". Starred records form a class of their own, so when there are fewer than k of
    them, records are starred from the largest classes until there are k: otherwise the starred class
    itself would break k-anonymity. ``keep_columns`` picks the non-QI columns to carry through
    (default: all).
    """
    started = time.perf_counter()
    if k < 1:
        raise ValueError("k must be at least 1")
    if not 0 <= suppression_budget < 1:
        raise ValueError("the suppression budget is a share in [0, 1)")
    if not quasi_identifiers:
        raise ValueError("name at least one quasi-identifier")
    qis = tuple(quasi_identifiers)
    columns = to_columns(table)
    n = n_rows(columns)
    if n < k:
        raise ValueError(f"{n} records cannot be {k}-anonymous")

    codes: list[Codes] = []
    maps: list[list[Codes]] = []
    labels: list[list[list[str]]] = []
    for name in qis:
        if name not in columns:
            raise KeyError(f"quasi-identifier {name!r} is not a column")
        col_codes, col_labels = encode(columns[name])
        level_maps, level_labels = quasi_identifiers[name].level_maps(col_labels)
        codes.append(col_codes)
        maps.append(level_maps)
        labels.append(level_labels)

    lattice = _Lattice(codes, maps, k)
    budget_records = int(np.floor(suppression_budget * n + 1e-9))
    candidates, size, evaluated = _search(lattice, budget_records, metric)
    if not candidates:
        raise ValueError("no generalisation reaches k within the suppression budget")

    def rank(s: NodeScore) -> tuple[float, float, tuple[int, ...]]:
        if metric == "precision":
            return (s.precision_loss, float(s.discernibility), s.levels)
        return (float(s.discernibility), s.precision_loss, s.levels)

    best = min(candidates, key=rank)

    combo_class, sizes = lattice.classes(best.levels)
    record_class = combo_class[lattice.record_combo]
    suppress = sizes[record_class] < k
    notes: list[str] = []
    if suppression == "star":
        n_star = int(suppress.sum())
        if 0 < n_star < k:
            # Top up from the largest classes, which can spare records and stay at or above k.
            for cls in np.argsort(-sizes):
                need = k - int(suppress.sum())
                if need <= 0:
                    break
                spare = int(sizes[cls]) - k
                if spare <= 0:
                    continue
                members = np.flatnonzero((record_class == cls) & ~suppress)[: min(spare, need)]
                suppress[members] = True
            notes.append(f"{int(suppress.sum()) - n_star} records starred to bring the starred class up to k")
    n_supp = int(suppress.sum())
    keep = ~suppress

    out: dict[str, list[object]] = {}
    carry = list(keep_columns) if keep_columns is not None else [c for c in columns if c not in qis]
    for i, name in enumerate(qis):
        lv = best.levels[i]
        names_at = np.asarray(labels[i][lv], dtype=object)
        gen = names_at[maps[i][lv][codes[i]]]
        if suppression == "remove":
            out[name] = gen[keep].tolist()
        else:
            gen[suppress] = SUPPRESSED
            out[name] = gen.tolist()
    for name in carry:
        if name in qis:
            continue
        col = columns[name]
        out[name] = list(compress(col, keep.tolist())) if suppression == "remove" else list(col)

    kept_sizes = sizes[sizes >= k]
    if suppression == "star" and n_supp > 0:
        kept_sizes = np.bincount(record_class[keep])
        kept_sizes = kept_sizes[kept_sizes > 0]
    gen_loss = best.generalisation_loss
    return KAnonymityResult(
        columns=out,
        k=k,
        quasi_identifiers=qis,
        levels={name: best.levels[i] for i, name in enumerate(qis)},
        level_names={name: quasi_identifiers[name].level_names[best.levels[i]] for i, name in enumerate(qis)},
        n_input=n,
        suppressed=n_supp,
        suppression=suppression,
        suppression_budget=suppression_budget,
        precision_loss=((n - n_supp) * gen_loss + n_supp) / n,
        generalisation_loss=gen_loss,
        discernibility=int((kept_sizes * kept_sizes).sum()) + n_supp * n,
        n_classes=int(kept_sizes.size) + (1 if suppression == "star" and n_supp else 0),
        min_class_size=int(min(kept_sizes.min(initial=n), n_supp if suppression == "star" and n_supp else n)),
        lattice_size=size,
        nodes_evaluated=evaluated,
        candidate_nodes=len(candidates),
        seconds=time.perf_counter() - started,
        metric=metric,
        notes=notes,
    )
