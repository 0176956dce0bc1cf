"""Differentially private synthetic microdata, and a utility report to judge it.

Method: a simplified MST (McKenna, Miklau and Sheldon, "Winning the NIST Contest", 2021), chosen over
the synthetic-data-showcase approach CTDC uses because it spends the budget on few, well-chosen
measurements (d one-way and d - 1 two-way marginals) instead of on every attribute combination up to
a reporting length, which is both much faster and, at the same epsilon, more accurate on the low-order
marginals analysts read.

1. Every one-way marginal is measured with Gaussian noise. Values whose noisy count is under three
   noise standard deviations are pooled into one bucket per column, since their counts are mostly
   noise and would otherwise dilute every two-way table they appear in.
2. A spanning tree over the columns is grown Kruskal-style; each edge is picked with the exponential
   mechanism, scored by how badly the independence model (product of the noisy one-way marginals)
   misses the true two-way marginal (L1 distance, sensitivity 1).
3. The two-way marginal of each tree edge is measured with Gaussian noise.
4. The noisy tables are made non-negative and mutually consistent (each column's marginal is the
   inverse-variance average of every measurement of it; each edge table is fitted to those margins
   by iterative proportional fitting), which gives a tree-shaped model P(root) x prod P(child | parent).
5. Records are sampled down the tree. Counts are allocated by controlled rounding rather than drawn
   independently, so sampling adds almost no error on top of the privacy noise.

Privacy accounting, stated so it can be checked. Neighbouring datasets differ by adding or removing
one record; every histogram then has L2 sensitivity 1 and every L1 score sensitivity 1. The budget is
tracked in zero-concentrated DP (Bun and Steinke, 2016): a Gaussian measurement with noise sigma costs
rho = 1 / (2 sigma^2); an exponential-mechanism choice at epsilon_r costs rho = epsilon_r^2 / 8
(Cesar and Rogers, 2021); rho adds up over the measurements. The total rho is the one that converts to
the requested (epsilon, delta) by epsilon = rho + 2 sqrt(rho ln(1/delta)), and it is split in thirds:
one-way marginals, edge selection, two-way marginals. Everything after the measurements is
post-processing and costs nothing.

What keeps that accounting true of the release (htcds.deid.noise, htcds.deid.domains):

* every column's domain is public (a code list or a declared range), never read from the data, and a value
  whose noisy count is lost in the noise is published as "(other)", never as itself: otherwise a value held
  by one person would appear because it occurs, whatever the noise;
* noise and the private choices come from OpenDP's samplers (discrete Gaussian on integer counts,
  report-noisy-max for the tree), which draw from the operating system's generator; no seed is accepted,
  and OpenDP's privacy maps, not this module's arithmetic, certify each measurement's rho;
* the neighbouring relation is one *person* added or removed: the caller must give one record per person
  (phare.sharing releases the first qualifying participation of each person).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

from htcds.deid import noise
from htcds.deid._table import Codes, Table, encode, n_rows, normalise, to_columns
from htcds.deid.budget import PrivacyBudgetLedger, zcdp_epsilon, zcdp_rho
from htcds.deid.domains import POOLED

Floats = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class SynthesisResult:
    """Synthetic records and the account of how the privacy budget was spent."""

    columns: dict[str, list[object]]
    epsilon: float
    delta: float
    rho: float
    accounting: dict[str, float]
    tree: list[tuple[str, str]]
    pooled_values: dict[str, int]
    n_records: int
    seconds: float
    mechanisms: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, object]]:
        names = list(self.columns)
        return [dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True)]

    def to_json(self) -> dict[str, object]:
        """Only DP or public quantities: what may go out with the release (timing stays inside)."""
        out = asdict(self)
        del out["columns"], out["seconds"]
        out["tree"] = [list(edge) for edge in self.tree]
        out["method"] = "MST (simplified): noisy 1- and 2-way marginals on a private maximum spanning tree"
        return out


def _allocate(total: int, probs: Floats, rng: np.random.Generator) -> Codes:
    """Split ``total`` into integer counts proportional to ``probs`` (floors plus a random remainder).

    Controlled rounding keeps each count within one of its expectation, where independent draws
    would add sampling noise of the order of sqrt(count).
    """
    p = np.clip(probs, 0, None)
    s = p.sum()
    if total <= 0:
        return np.zeros(p.size, dtype=np.int64)
    p = np.full(p.size, 1.0 / p.size) if s <= 0 else p / s
    exact = total * p
    counts: Codes = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        frac = exact - counts
        extra = rng.choice(p.size, size=short, replace=False, p=frac / frac.sum())
        counts[extra] += 1
    return counts


def _fit(table: Floats, rows: Floats, cols: Floats, iterations: int = 30) -> Floats:
    """Non-negative table close to ``table`` with the given margins (iterative proportional fitting)."""
    t = np.clip(table, 0, None) + 1e-9
    for _ in range(iterations):
        t *= (rows / np.maximum(t.sum(axis=1), 1e-12))[:, None]
        t *= (cols / np.maximum(t.sum(axis=0), 1e-12))[None, :]
    return t


def _rare_threshold(sigma: float, size: int) -> float:
    """Noisy count under which a value is pooled: at least 3 sigma, and high enough that the values of a
    large public domain (200-odd countries) that nobody holds seldom pass it on noise alone (on average under
    one in twenty per column)."""
    z = max(3.0, NormalDist().inv_cdf(1 - 0.05 / max(size, 1)))
    return z * sigma


def synthesise(
    table: Table,
    epsilon: float,
    domains: Mapping[str, Sequence[object]],
    delta: float = 1e-6,
    columns: Sequence[str] | None = None,
    n_records: int | None = None,
    ledger: PrivacyBudgetLedger | None = None,
    purpose: str = "synthetic microdata",
) -> SynthesisResult:
    """Synthetic records with the same columns as ``table`` under (epsilon, delta)-DP, one person per record.

    ``domains`` gives every column's public domain; a column without one, or a value outside it, is an error
    (htcds.deid.domains.coerce fits the data first). ``n_records`` defaults to the noisy record count (free:
    it is derived from the noisy marginals). With a ``ledger`` the spend is recorded first and a refused
    spend stops the synthesis.
    """
    started = time.perf_counter()
    rho = zcdp_rho(epsilon, delta)
    cols = to_columns(table, columns)
    names = list(cols)
    d = len(names)
    if d == 0 or n_rows(cols) == 0:
        raise ValueError("nothing to synthesise")
    without = [name for name in names if name not in domains]
    if without:
        raise ValueError(f"no public domain for {', '.join(without)}: a domain read from the data reveals its values")
    if ledger is not None:
        ledger.spend(epsilon, delta, purpose, rho=rho)
    rng = noise.post_processing_rng()

    codes: list[Codes] = []
    labels: list[list[object]] = []
    for name in names:
        c, lab = encode(cols[name])
        # Compared as text, so a year read as the int 2016 is the domain's "2016".
        public: list[object] = list(dict.fromkeys(str(normalise(v)) for v in domains[name]))
        position = {v: i for i, v in enumerate(public)}
        unknown = {str(v) for v in lab} - set(position)
        if unknown:
            raise ValueError(f"{name}: values outside the given domain: {sorted(unknown)[:5]}")
        remap = np.array([position[str(v)] for v in lab], dtype=np.int64)
        codes.append(remap[c])
        labels.append(public)

    rho_one = rho / 3 if d > 1 else rho
    rho_select = rho / 3 if d > 1 else 0.0
    rho_two = rho - rho_one - rho_select
    sigma_one = math.sqrt(d / (2 * rho_one))
    sigma_two = math.sqrt((d - 1) / (2 * rho_two)) if d > 1 else math.inf
    eps_round = math.sqrt(8 * rho_select / (d - 1)) if d > 1 else 0.0
    certified = {"one_way": 0.0, "edge_selection": 0.0, "two_way": 0.0}

    # 1. one-way marginals, and pooling of values lost in the noise
    noisy_one: list[Floats] = []
    pooled: list[Codes] = []  # original code -> working code
    members: list[list[Codes]] = []  # working code -> original codes
    for c, lab in zip(codes, labels, strict=True):
        measured, cost = noise.gaussian(np.bincount(c, minlength=len(lab)).astype(np.int64), sigma_one)
        certified["one_way"] += cost
        y = measured.astype(float)
        rare = y < _rare_threshold(sigma_one, len(lab))
        if rare.any():
            keep = np.flatnonzero(~rare)
            mapping = np.empty(len(lab), dtype=np.int64)
            mapping[keep] = np.arange(keep.size)
            mapping[rare] = keep.size
            y_work = np.append(y[keep], y[rare].sum())
            groups = [np.array([i]) for i in keep] + [np.flatnonzero(rare)]
        else:
            mapping = np.arange(len(lab), dtype=np.int64)
            y_work = y
            groups = [np.array([i]) for i in range(len(lab))]
        noisy_one.append(y_work)
        pooled.append(mapping)
        members.append(groups)
    work = [m[c] for m, c in zip(pooled, codes, strict=True)]
    sizes = [y.size for y in noisy_one]
    total_est = float(np.mean([max(y.sum(), 1.0) for y in noisy_one]))
    probs_one = [np.clip(y, 0, None) / max(np.clip(y, 0, None).sum(), 1e-12) for y in noisy_one]

    # 2. private choice of the tree edges
    def pair_counts(i: int, j: int) -> Codes:
        flat = np.bincount(work[i] * sizes[j] + work[j], minlength=sizes[i] * sizes[j])
        return flat.reshape(sizes[i], sizes[j]).astype(np.int64)

    candidates = list(combinations(range(d), 2))
    scores = {}
    for i, j in candidates:
        independent = np.outer(probs_one[i], probs_one[j]) * total_est
        scores[(i, j)] = float(np.abs(pair_counts(i, j) - independent).sum())
    component = list(range(d))

    def find(x: int) -> int:
        while component[x] != x:
            component[x] = component[component[x]]
            x = component[x]
        return x

    edges: list[tuple[int, int]] = []
    while len(edges) < d - 1:
        open_edges = [e for e in candidates if find(e[0]) != find(e[1])]
        chosen, cost = noise.noisy_max([scores[e] for e in open_edges], eps_round)  # sensitivity 1
        certified["edge_selection"] += cost
        i, j = open_edges[chosen]
        edges.append((i, j))
        component[find(i)] = find(j)

    # 3. two-way marginals of the tree edges
    noisy_two: dict[tuple[int, int], Floats] = {}
    for i, j in edges:
        measured, cost = noise.gaussian(pair_counts(i, j), sigma_two)
        certified["two_way"] += cost
        noisy_two[(i, j)] = measured.astype(float)
    if sum(certified.values()) > rho * (1 + 1e-9):
        raise AssertionError(f"OpenDP certifies rho {sum(certified.values()):g}, more than the {rho:g} asked for")

    # 4. consistent margins, then edge tables fitted to them
    margins: list[Floats] = []
    for a in range(d):
        # A pooled cell sums the noise of every value pooled into it: its variance is that many times larger,
        # so its margin leans on the two-way tables, which measured it as one cell.
        var_one = sigma_one**2 * np.array([g.size for g in members[a]], dtype=float)
        weighted = noisy_one[a] / var_one
        weight = 1 / var_one
        for (i, j), y in noisy_two.items():
            if a in (i, j):
                var = sigma_two**2 * (sizes[j] if a == i else sizes[i])
                weighted = weighted + (y.sum(axis=1) if a == i else y.sum(axis=0)) / var
                weight += 1 / var
        m = np.clip(weighted / weight, 0, None)
        margins.append(m / max(m.sum(), 1e-12))
    conditional: dict[tuple[int, int], Floats] = {}
    for (i, j), y in noisy_two.items():
        fitted = _fit(y, margins[i] * total_est, margins[j] * total_est)
        conditional[(i, j)] = fitted
        conditional[(j, i)] = fitted.T

    # 5. sampling down the tree from the best-connected column
    n = round(total_est) if n_records is None else int(n_records)
    neighbours: dict[int, list[int]] = {a: [] for a in range(d)}
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)
    root = max(range(d), key=lambda a: len(neighbours[a]))
    out = np.zeros((d, n), dtype=np.int64)
    out[root] = rng.permutation(np.repeat(np.arange(sizes[root]), _allocate(n, margins[root], rng)))
    seen = {root}
    queue = [root]
    while queue:
        parent = queue.pop(0)
        for child in neighbours[parent]:
            if child in seen:
                continue
            seen.add(child)
            queue.append(child)
            joint = conditional[(parent, child)]
            order = np.argsort(out[parent], kind="stable")
            bounds = np.concatenate([[0], np.cumsum(np.bincount(out[parent], minlength=sizes[parent]))])
            filled = np.empty(n, dtype=np.int64)
            for v in range(sizes[parent]):
                lo, hi = int(bounds[v]), int(bounds[v + 1])
                if hi == lo:
                    continue
                row = joint[v] if joint[v].sum() > 0 else margins[child]
                values = np.repeat(np.arange(sizes[child]), _allocate(hi - lo, row, rng))
                filled[order[lo:hi]] = rng.permutation(values)
            out[child] = filled

    # A pooled value is published as "(other)", never as one of the values pooled: which of them a record
    # would get depends on counts that are mostly noise, and publishing them is how a value held by one
    # person would surface.
    columns_out: dict[str, list[object]] = {}
    pooled_count: dict[str, int] = {}
    for a, name in enumerate(names):
        label_array = np.asarray([*labels[a], POOLED], dtype=object)
        groups = members[a]
        working_labels = np.array([g[0] if g.size == 1 else len(labels[a]) for g in groups], dtype=np.int64)
        pooled_count[name] = max((g.size for g in groups if g.size > 1), default=0)
        columns_out[name] = label_array[working_labels[out[a]]].tolist()

    return SynthesisResult(
        columns=columns_out,
        epsilon=epsilon,
        delta=delta,
        rho=rho,
        accounting={
            "rho_total": rho,
            "rho_one_way": rho_one,
            "rho_edge_selection": rho_select,
            "rho_two_way": rho_two,
            "rho_certified_by_opendp": sum(certified.values()),
            "sigma_one_way": sigma_one,
            "sigma_two_way": sigma_two,
            "epsilon_per_selection_round": eps_round,
            "rho_spent": rho_one + rho_select + rho_two,
            "epsilon_implied": zcdp_epsilon(rho, delta),
        },
        tree=[(names[i], names[j]) for i, j in edges],
        pooled_values=pooled_count,
        n_records=n,
        seconds=time.perf_counter() - started,
        mechanisms=[
            noise.described("make_gaussian (discrete Gaussian) on one- and two-way marginals"),
            noise.described("make_noisy_max (exponential mechanism, zCDP) for the tree edges"),
        ],
    )


# --- utility ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UtilityReport:
    """How far synthetic data is from the sensitive data it was built from.

    ``tvd`` gives, per combination length, the mean and max total variation distance between the
    sensitive and synthetic marginals over all column combinations of that length. The rare and
    fabricated shares are the synthetic-data-showcase's privacy and fidelity signals: a preserved rare
    combination is a small group that reappears, a fabricated one is a combination no real record has.
    """

    columns: tuple[str, ...]
    tvd: dict[int, dict[str, float]]
    rare_threshold: int
    rare_combinations: int
    rare_preserved: int
    synthetic_combinations: int
    fabricated: int

    @property
    def rare_preserved_share(self) -> float:
        return self.rare_preserved / self.rare_combinations if self.rare_combinations else 0.0

    @property
    def fabricated_share(self) -> float:
        return self.fabricated / self.synthetic_combinations if self.synthetic_combinations else 0.0

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["columns"] = list(self.columns)
        out["tvd"] = {str(k): v for k, v in self.tvd.items()}
        out["rare_preserved_share"] = self.rare_preserved_share
        out["fabricated_share"] = self.fabricated_share
        return out


def utility_report(
    sensitive: Table,
    synthetic: Table,
    columns: Sequence[str] | None = None,
    max_length: int = 3,
    rare_threshold: int = 11,
) -> UtilityReport:
    """Compare all 1- to ``max_length``-way marginals of ``synthetic`` with those of ``sensitive``.

    Values are compared by their text, so a year read back from CSV as "2016" matches the int 2016.
    """
    sens = to_columns(sensitive, columns)
    names = list(sens)
    syn = to_columns(synthetic, names)
    n_sens, n_syn = n_rows(sens), n_rows(syn)
    if n_sens == 0 or n_syn == 0:
        raise ValueError("both tables need records")
    codes_sens: list[Codes] = []
    codes_syn: list[Codes] = []
    sizes: list[int] = []
    for name in names:
        joint, labels = encode([*sens[name], *syn[name]])
        text_index: dict[str, int] = {}
        remap = np.array([text_index.setdefault(str(v), len(text_index)) for v in labels], dtype=np.int64)
        joint = remap[joint]
        codes_sens.append(joint[:n_sens])
        codes_syn.append(joint[n_sens:])
        sizes.append(len(text_index))

    tvd: dict[int, dict[str, float]] = {}
    rare = preserved = present = fabricated = 0
    for length in range(1, min(max_length, len(names)) + 1):
        distances: list[float] = []
        for combo in combinations(range(len(names)), length):
            span = math.prod(sizes[i] for i in combo)
            key_s = np.zeros(n_sens, dtype=np.int64)
            key_y = np.zeros(n_syn, dtype=np.int64)
            for i in combo:
                key_s = key_s * sizes[i] + codes_sens[i]
                key_y = key_y * sizes[i] + codes_syn[i]
            if span <= 1 << 22:
                cs = np.bincount(key_s, minlength=span)
                cy = np.bincount(key_y, minlength=span)
            else:
                _, inverse = np.unique(np.concatenate([key_s, key_y]), return_inverse=True)
                inverse = inverse.reshape(-1)
                m = int(inverse.max()) + 1
                cs = np.bincount(inverse[:n_sens], minlength=m)
                cy = np.bincount(inverse[n_sens:], minlength=m)
            distances.append(0.5 * float(np.abs(cs / n_sens - cy / n_syn).sum()))
            is_rare = (cs > 0) & (cs < rare_threshold)
            rare += int(is_rare.sum())
            preserved += int((is_rare & (cy > 0)).sum())
            present += int((cy > 0).sum())
            fabricated += int(((cy > 0) & (cs == 0)).sum())
        tvd[length] = {"mean": float(np.mean(distances)), "max": float(np.max(distances)), "count": len(distances)}
    return UtilityReport(
        columns=tuple(names),
        tvd=tvd,
        rare_threshold=rare_threshold,
        rare_combinations=rare,
        rare_preserved=preserved,
        synthetic_combinations=present,
        fabricated=fabricated,
    )
