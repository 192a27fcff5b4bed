"""Protected tables: primary and secondary cell suppression on hierarchical tables, with an LP audit.

The table model
---------------
A table has one or more *dimensions*. Each dimension is a hierarchy (a tree): a flat list of
categories gets a root ``"Total"``; a dict ``{parent: [children]}`` (root first) gives more levels,
e.g. country → province → district. The table's cells are every combination of nodes, one per
dimension: the detailed cells (leaves in every dimension) and all totals and sub-totals. Every cell
is the sum of the detailed cells beneath it, which gives the additivity constraints ``A x = 0``
(one row per parent node per combination of the other dimensions' nodes).

The steps (Hundepool et al. 2012, *Statistical Disclosure Control*, ch. 4; τ-ARGUS manual):

1. **primary suppression**: the rules of :mod:`gbvstats.disclosure.rules` flag sensitive cells;
2. **secondary suppression**: more cells are suppressed so that an attacker who knows every
   published cell, the additivity and that counts are non-negative cannot narrow any primary cell
   to less than its *protection interval* ``[a - p·a, a + max(p·a, 1)]``;
3. **audit**: for every suppressed cell two LPs give its feasible interval; a table is returned
   only when every primary cell's interval covers its protection interval (otherwise more cells
   are suppressed and the audit repeats).

Secondary suppression, ``method="optimal"``: a cutting-plane MILP in the style of Fischetti &
Salazar-González (2001): binary ``x_j`` (cell j suppressed), minimise cost; start from the
*relation* cuts (in every additivity relation a primary cell needs partners that can move by its
protection amount) and the singleton constraints; solve (``scipy.optimize.milp``, HiGHS); audit
with LPs; for every primary cell still too narrow add the capacity cut built from the LP's dual
multipliers (valid for every protecting pattern); repeat until the audit passes.
``method="hypercube"``: a GHMITER-style heuristic (Repsilber 1994; de Wolf 2002): each primary cell
gets the cheapest hypercube of partner cells (a rectangle in two dimensions) whose corners can
absorb its protection amount; then the same audit, and violated capacity cuts are satisfied greedily.

Special cells
-------------
- zero cells: published by default (``MinFrequency(zeros=True)`` makes them primary); a suppressed
  zero can only move up, so it can protect a cell's upper bound only;
- structural zeros (cells that cannot occur, marked ``True`` in a ``structural_zero`` column): must
  be 0, are published, are known exactly to the attacker and never used as complements;
- missing values (NaN) are refused: the totals that include an unknown cell are unknown too, so the
  table cannot be protected (enter 0 for an empty cell; remove the category if it was not collected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from ..errors import DataError, DisclosureError, SpecError, close_matches, format_rows
from . import rules as _rules
from .audit import feasible_intervals

__all__ = ["protect_table", "protect_tables", "ProtectedTable", "ProtectedTables", "TableSpec"]

Method = Literal["optimal", "hypercube"]
Cost = Literal["cells", "value"]
_METHODS = ("optimal", "hypercube")
_COSTS = ("cells", "value")
_TOL = 1e-7
#: MILP rounds before the cut loop finishes by greedy repair from the last MILP pattern
_MASTER_ROUNDS = 8


# ---------------------------------------------------------------------------------------------
# dimensions


@dataclass(frozen=True)
class _Dim:
    name: str
    labels: tuple[str, ...]  # nodes in pre-order, root first
    parent: np.ndarray  # node -> parent node (-1 for the root)
    leaf_nodes: np.ndarray  # node index of each leaf, in leaf order
    D: sp.csr_matrix  # nodes x leaves: 1 where the leaf is under (or is) the node

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def is_leaf(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        out[self.leaf_nodes] = True
        return out

    def same_as(self, other: "_Dim") -> bool:
        return self.labels == other.labels and np.array_equal(self.parent, other.parent)


def _parse_dim(name: str, spec) -> _Dim:
    if isinstance(spec, Mapping):
        if not spec:
            raise SpecError(f"dimension {name!r}: the hierarchy is empty; give {{root: [children]}}")
        children = {str(k): [str(c) for c in v] for k, v in spec.items()}
        for k, v in spec.items():
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) == 0:
                raise SpecError(
                    f"dimension {name!r}: node {k!r} must map to a non-empty list of children; got {v!r}"
                )
        root = next(iter(children))
    elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        cats = [str(c) for c in spec]
        if not cats:
            raise SpecError(f"dimension {name!r}: the list of categories is empty")
        if "Total" in cats:
            raise SpecError(
                f"dimension {name!r}: 'Total' is a category; a flat list gets the root 'Total' "
                f"added, so give a hierarchy dict instead, e.g. {{'All': [...]}}"
            )
        root = "Total"
        children = {root: cats}
    else:
        raise SpecError(
            f"dimension {name!r}: give a list of categories or a hierarchy dict "
            f"{{parent: [children]}} (root first); got {type(spec).__name__}"
        )
    labels: list[str] = []
    parent: list[int] = []
    seen: dict[str, int] = {}
    stack = [(root, -1)]
    while stack:  # pre-order walk over the hierarchy (its size, not the data's)
        node, par = stack.pop()
        if node in seen:
            raise SpecError(
                f"dimension {name!r}: node {node!r} appears twice in the hierarchy "
                f"(a node has one parent; rename one of them)"
            )
        seen[node] = len(labels)
        labels.append(node)
        parent.append(par)
        kids = children.get(node, [])
        if len(set(kids)) != len(kids):
            raise SpecError(f"dimension {name!r}: node {node!r} lists a child twice: {kids}")
        for kid in reversed(kids):
            stack.append((kid, seen[node]))
    unreached = [k for k in children if k not in seen]
    if unreached:
        raise SpecError(
            f"dimension {name!r}: node(s) {unreached} are not under the root {root!r}; "
            f"the first key of the hierarchy must be the root and every other key a descendant of it"
        )
    parent_arr = np.asarray(parent, dtype=np.int64)
    n = len(labels)
    has_child = np.zeros(n, dtype=bool)
    has_child[parent_arr[parent_arr >= 0]] = True
    leaf_nodes = np.flatnonzero(~has_child)
    # D[node, leaf] = 1 if the leaf is below the node: walk every leaf up to the root
    rows, cols = [], []
    cur = leaf_nodes.copy()
    leaf_pos = np.arange(leaf_nodes.size)
    while cur.size:
        rows.append(cur)
        cols.append(leaf_pos)
        keep = parent_arr[cur] >= 0
        cur, leaf_pos = parent_arr[cur][keep], leaf_pos[keep]
    r, c = np.concatenate(rows), np.concatenate(cols)
    D = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, leaf_nodes.size))
    return _Dim(str(name), tuple(labels), parent_arr, leaf_nodes, D)


# ---------------------------------------------------------------------------------------------
# one table


@dataclass(frozen=True)
class TableSpec:
    """One table of a linked set for :func:`protect_tables` (same arguments as :func:`protect_table`).

    Attributes
    ----------
    counts : DataFrame
        One row per detailed cell: a column per dimension and the value column.
    dims : dict
        ``{column: [categories]}`` or ``{column: {root: [children], ...}}``.
    primary : list of rules, optional
        This table's primary rules; ``None`` uses the ``primary`` given to :func:`protect_tables`.
    contributions : DataFrame, optional
        One row per contribution (magnitude tables).
    value : str, default "value"
        Name of the value column.
    name : str, optional
        Shown in the result's ``repr`` and in error messages.

    Examples
    --------
    Two tables of the same case records share their district totals, so they are protected
    together:

    >>> import pandas as pd
    >>> by_type = pd.DataFrame({"district": ["A", "A", "B", "B"], "type": ["x", "y", "x", "y"],
    ...                         "value": [3, 9, 8, 7]})
    >>> by_age = pd.DataFrame({"district": ["A", "A", "B", "B"], "age": ["<18", "18+", "<18", "18+"],
    ...                        "value": [6, 6, 2, 13]})
    >>> specs = [TableSpec(by_type, {"district": ["A", "B"], "type": ["x", "y"]}, name="by type"),
    ...          TableSpec(by_age, {"district": ["A", "B"], "age": ["<18", "18+"]}, name="by age")]
    >>> [t.name for t in protect_tables(specs)]
    ['by type', 'by age']
    """

    counts: pd.DataFrame
    dims: Mapping
    primary: Sequence | None = None
    contributions: pd.DataFrame | None = None
    value: str = "value"
    name: str | None = None


class _Stats:
    """Per-cell statistics the rules look at (see :class:`gbvstats.disclosure.rules.CellStats`)."""

    def __init__(self, model: "_Model", value, frequency, top):
        self._model = model
        self.value = value
        self.frequency = frequency
        self.top = top

    def row_total(self, dim: str) -> np.ndarray:
        m = self._model
        names = [d.name for d in m.dims]
        if dim not in names:
            raise SpecError(f"GroupDisclosure: unknown dimension {dim!r}; dimensions: {names}"
                            + close_matches(dim, names))
        k = names.index(dim)
        par = m.dims[k].parent[m.node[:, k]]
        out = np.full(m.ncells, np.nan)
        has = par >= 0
        node = m.node[has].copy()
        node[:, k] = par[has]
        out[has] = self.value[m.cell_index(node)]
        return out


@dataclass
class _Model:
    dims: list[_Dim]
    value: np.ndarray  # every cell
    node: np.ndarray  # (cells, dims) node index per dimension
    A: sp.csr_matrix  # additivity rows x cells
    structural: np.ndarray  # bool per cell
    frequency: np.ndarray
    top: np.ndarray
    name: str | None = None
    primary: np.ndarray = field(default=None)
    reason: np.ndarray = field(default=None)

    @property
    def ncells(self) -> int:
        return self.value.size

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.n for d in self.dims)

    def cell_index(self, node: np.ndarray) -> np.ndarray:
        return np.ravel_multi_index(tuple(node.T), self.shape)


def _kron_all(mats):
    out = mats[0]
    for m in mats[1:]:
        out = sp.kron(out, m, format="csr")
    return sp.csr_matrix(out)


def _additivity(dims: list[_Dim]) -> sp.csr_matrix:
    """Rows ``parent - sum(children) = 0`` along every dimension, for every other-node combination."""
    shape = tuple(d.n for d in dims)
    strides = np.array([int(np.prod(shape[k + 1:])) for k in range(len(shape))], dtype=np.int64)
    blocks = []
    nrows = 0
    for k, d in enumerate(dims):
        other = [np.arange(dims[j].n) * strides[j] if j != k else np.zeros(1, dtype=np.int64)
                 for j in range(len(dims))]
        offset = np.zeros(1, dtype=np.int64)
        for o in other:
            offset = (offset[:, None] + o[None, :]).ravel()
        child = np.flatnonzero(d.parent >= 0)
        par = d.parent[child]
        parents = np.unique(par)
        prow = np.searchsorted(parents, par)
        n_other = offset.size
        # parent entries
        r_par = (np.arange(parents.size)[:, None] * n_other + np.arange(n_other)[None, :]).ravel()
        c_par = (parents[:, None] * strides[k] + offset[None, :]).ravel()
        r_ch = (prow[:, None] * n_other + np.arange(n_other)[None, :]).ravel()
        c_ch = (child[:, None] * strides[k] + offset[None, :]).ravel()
        rows = np.concatenate([r_par, r_ch]) + nrows
        cols = np.concatenate([c_par, c_ch])
        vals = np.concatenate([np.ones(r_par.size), -np.ones(r_ch.size)])
        blocks.append((rows, cols, vals))
        nrows += parents.size * n_other
    rows = np.concatenate([b[0] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    return sp.csr_matrix((vals, (rows, cols)), shape=(nrows, int(np.prod(shape))))


def _top_from_pairs(M: sp.csr_matrix, leaf: np.ndarray, contrib: np.ndarray, K: int) -> np.ndarray:
    """Largest K contributions of every cell; ``M`` maps leaf cells to all cells above them."""
    ncells = M.shape[0]
    MT = M.T.tocsr()  # leaf -> cells containing it
    counts = np.diff(MT.indptr)[leaf]
    rep = np.repeat(np.arange(leaf.size), counts)
    starts = MT.indptr[leaf]
    offs = np.arange(rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cell = MT.indices[np.repeat(starts, counts) + offs]
    val = contrib[rep]
    order = np.lexsort((-val, cell))
    cell, val = cell[order], val[order]
    first = np.searchsorted(cell, cell, side="left")
    rank = np.arange(cell.size) - first
    keep = rank < K
    top = np.zeros((ncells, K))
    top[cell[keep], rank[keep]] = val[keep]
    return top


def _build_model(counts, dims, *, value="value", contributions=None, name=None, K=2) -> _Model:
    where = f"table {name!r}: " if name else ""
    if not isinstance(counts, pd.DataFrame):
        raise SpecError(f"{where}counts must be a pandas DataFrame with one column per dimension and "
                        f"a {value!r} column; got {type(counts).__name__}")
    if not isinstance(dims, Mapping) or not dims:
        raise SpecError(f"{where}dims must be a non-empty dict {{column: categories or hierarchy}}")
    cols = [str(c) for c in counts.columns]
    for d in dims:
        if d not in counts.columns:
            raise SpecError(f"{where}unknown dimension {d!r}: counts has no such column "
                            f"(columns: {cols})" + close_matches(str(d), cols))
    if value not in counts.columns:
        raise SpecError(f"{where}counts has no value column {value!r} (columns: {cols})"
                        + close_matches(value, cols))
    parsed = [_parse_dim(d, spec) for d, spec in dims.items()]
    v = pd.to_numeric(counts[value], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(v) & counts[value].notna().to_numpy())
    if bad.size:
        raise DataError(f"{where}column {value!r} is not numeric in {format_rows(bad)}; "
                        f"give counts (or magnitudes) as numbers")
    miss = np.flatnonzero(np.isnan(v))
    if miss.size:
        raise DataError(
            f"{where}column {value!r} is missing in {format_rows(miss)}: a cell whose value is "
            f"unknown makes every total above it unknown, so the table cannot be protected; "
            f"enter 0 for an empty cell, or drop the category if it was not collected")
    neg = np.flatnonzero(v < 0)
    if neg.size:
        raise DataError(f"{where}column {value!r} is negative in {format_rows(neg)}; counts and "
                        f"magnitudes must be >= 0 (cell suppression assumes non-negative cells)")
    ndim = len(parsed)
    node = np.empty((len(counts), ndim), dtype=np.int64)
    for k, d in enumerate(parsed):
        lab = counts[d.name].astype(str).to_numpy()
        lookup = {l: i for i, l in enumerate(d.labels)}
        codes = pd.Series(lab).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
        unknown = np.flatnonzero(codes < 0)
        if unknown.size:
            first = lab[unknown[0]]
            raise DataError(
                f"{where}column {d.name!r}: label {first!r} ({format_rows(unknown)}) is not in the "
                f"hierarchy of {d.name!r}{close_matches(first, d.labels)}; add it under its parent "
                f"in dims, or fix the label")
        node[:, k] = codes
    shape = tuple(d.n for d in parsed)
    is_leaf_row = np.ones(len(counts), dtype=bool)
    leaf_pos = np.empty_like(node)
    for k, d in enumerate(parsed):
        pos = np.full(d.n, -1, dtype=np.int64)
        pos[d.leaf_nodes] = np.arange(d.leaf_nodes.size)
        leaf_pos[:, k] = pos[node[:, k]]
        is_leaf_row &= leaf_pos[:, k] >= 0
    flat = np.ravel_multi_index(tuple(node.T), shape) if len(counts) else np.zeros(0, dtype=np.int64)
    dup = pd.Series(flat).duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError(f"{where}the same cell appears more than once in {format_rows(np.flatnonzero(dup))}; "
                        f"give one row per cell (aggregate the rows first)")
    for k, d in enumerate(parsed):
        present = np.zeros(d.leaf_nodes.size, dtype=bool)
        present[leaf_pos[is_leaf_row, k]] = True
        if not present.all():
            absent = [d.labels[i] for i in d.leaf_nodes[~present]]
            raise DataError(
                f"{where}dimension {d.name!r}: categor{'y' if len(absent) == 1 else 'ies'} "
                f"{absent[:10]} of the hierarchy ha{'s' if len(absent) == 1 else 've'} no rows in the data; "
                f"add rows with value 0 if they are empty, or remove them from the hierarchy")
    leaf_shape = tuple(d.leaf_nodes.size for d in parsed)
    leaf_rows = np.flatnonzero(is_leaf_row)
    leaf_flat = np.ravel_multi_index(tuple(leaf_pos[leaf_rows].T), leaf_shape)
    leaf_val = np.zeros(int(np.prod(leaf_shape)))
    leaf_val[leaf_flat] = v[leaf_rows]
    M = _kron_all([d.D for d in parsed])  # cells x leaf cells
    cell_val = M @ leaf_val
    # totals given in the input must add up
    tot_rows = np.flatnonzero(~is_leaf_row)
    if tot_rows.size:
        given = v[tot_rows]
        computed = cell_val[flat[tot_rows]]
        off = np.abs(given - computed) > 1e-9 * np.maximum(1.0, np.abs(computed))
        if off.any():
            r0 = tot_rows[off]
            raise DataError(
                f"{where}totals do not add up in {format_rows(r0)}: e.g. row {r0[0] + 1} gives "
                f"{given[off][0]:g} but its parts sum to {computed[off][0]:g}; fix the totals or leave "
                f"them out (gbvstats computes every total from the detailed cells)")
    # structural zeros
    structural_leaf = np.zeros(leaf_val.size, dtype=bool)
    if "structural_zero" in counts.columns:
        sz = counts["structural_zero"].fillna(False).astype(bool).to_numpy()
        nonzero = np.flatnonzero(sz & (v != 0))
        if nonzero.size:
            raise DataError(f"{where}column 'structural_zero' marks non-zero cells in "
                            f"{format_rows(nonzero)}; a structural zero must have value 0")
        structural_leaf[leaf_flat[sz[leaf_rows]]] = True
    # a cell is a structural zero when every leaf under it is
    n_struct = M @ structural_leaf.astype(float)
    n_leaves = np.asarray(M.sum(axis=1)).ravel()
    structural = n_struct == n_leaves
    # frequency and largest contributions
    if "frequency" in counts.columns:
        fr = pd.to_numeric(counts["frequency"], errors="coerce").to_numpy(dtype=float)
        leaf_fr = np.zeros(leaf_val.size)
        leaf_fr[leaf_flat] = fr[leaf_rows]
        frequency = M @ leaf_fr
    else:
        frequency = cell_val.copy()
    if contributions is not None:
        frequency, top = _contribution_stats(contributions, parsed, M, leaf_shape, leaf_val,
                                             value, K, where)
    elif "top1" in counts.columns:
        pseudo_leaf, pseudo_val = [], []
        for col in [c for c in ("top1", "top2") if c in counts.columns]:
            t = pd.to_numeric(counts[col], errors="coerce").fillna(0).to_numpy(dtype=float)
            pseudo_leaf.append(leaf_flat)
            pseudo_val.append(t[leaf_rows])
        top = _top_from_pairs(M, np.concatenate(pseudo_leaf), np.concatenate(pseudo_val), K)
    else:  # count table: every case contributes 1
        top = (cell_val[:, None] >= np.arange(1, K + 1)[None, :]).astype(float)
    nodes = np.stack(np.unravel_index(np.arange(cell_val.size), shape), axis=1)
    return _Model(parsed, cell_val, nodes, _additivity(parsed), structural, frequency, top, name)


def _contribution_stats(contrib, dims, M, leaf_shape, leaf_val, value, K, where):
    if not isinstance(contrib, pd.DataFrame):
        raise SpecError(f"{where}contributions must be a DataFrame (one row per contributor and cell)")
    for d in dims:
        if d.name not in contrib.columns:
            raise SpecError(f"{where}contributions has no column {d.name!r}")
    if value not in contrib.columns:
        raise SpecError(f"{where}contributions has no value column {value!r}")
    cv = pd.to_numeric(contrib[value], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(cv >= 0))
    if bad.size:
        raise DataError(f"{where}contributions: column {value!r} is missing, negative or not numeric "
                        f"in {format_rows(bad)}")
    pos = np.empty((len(contrib), len(dims)), dtype=np.int64)
    for k, d in enumerate(dims):
        lookup = {d.labels[n]: i for i, n in enumerate(d.leaf_nodes)}
        codes = pd.Series(contrib[d.name].astype(str).to_numpy()).map(lookup).fillna(-1)
        codes = codes.to_numpy(dtype=np.int64)
        unknown = np.flatnonzero(codes < 0)
        if unknown.size:
            raise DataError(f"{where}contributions: column {d.name!r} is not a detailed category "
                            f"of the hierarchy in {format_rows(unknown)}")
        pos[:, k] = codes
    leaf = np.ravel_multi_index(tuple(pos.T), leaf_shape)
    if "contributor" in contrib.columns:  # one contributor in several rows of a cell: add them up
        ids = pd.factorize(contrib["contributor"].astype(str))[0]
        key = leaf.astype(np.int64) * (ids.max() + 1) + ids
        uniq, inv = np.unique(key, return_inverse=True)
        cv = np.bincount(inv, weights=cv)
        leaf = uniq // (ids.max() + 1)
    sums = np.bincount(leaf, weights=cv, minlength=leaf_val.size)
    off = np.flatnonzero(np.abs(sums - leaf_val) > 1e-9 * np.maximum(1, leaf_val))
    if off.size:
        raise DataError(f"{where}contributions do not add up to the cell values in {off.size} "
                        f"detailed cell(s); give every contribution of every cell")
    top = _top_from_pairs(M, leaf, cv, K)
    # frequency = number of contributions under each cell (contributors assumed distinct across cells)
    freq = M @ np.bincount(leaf, minlength=leaf_val.size).astype(float)
    return freq, top


def _apply_rules(model: _Model, primary) -> None:
    stats = _Stats(model, model.value, model.frequency, model.top)
    flags = np.zeros(model.ncells, dtype=bool)
    reasons = np.full(model.ncells, "", dtype=object)
    for rule in primary:
        if not hasattr(rule, "flag") or not hasattr(rule, "reason"):
            raise SpecError(f"primary rules must be gbvstats.rules objects (MinFrequency, Dominance, "
                            f"PPercent, GroupDisclosure); got {rule!r}")
        f = np.asarray(rule.flag(stats), dtype=bool) & ~model.structural
        add = f & (reasons != "")
        reasons[add] = reasons[add] + "; "
        reasons[f] = reasons[f] + rule.reason
        flags |= f
    model.primary = flags
    model.reason = reasons


# ---------------------------------------------------------------------------------------------
# the joint problem (one table, or linked tables sharing cells)


@dataclass
class _Problem:
    A: sp.csr_matrix
    value: np.ndarray
    cost: np.ndarray
    primary: np.ndarray
    fixed: np.ndarray  # structural zeros: never suppressed
    singleton: np.ndarray
    lpl: np.ndarray  # required downward protection (primary cells)
    upl: np.ndarray  # required upward protection
    reason: np.ndarray
    level: np.ndarray  # number of dimensions at a total level (tie-breaking toward detail)
    labels: dict = field(default_factory=dict)  # dimension -> label of every joint cell


def _joint(models: list[_Model], protection: float, cost: str) -> tuple[_Problem, list[np.ndarray]]:
    names: list[str] = []
    dim_of: dict[str, _Dim] = {}
    for m in models:
        for d in m.dims:
            if d.name in dim_of:
                if not dim_of[d.name].same_as(d):
                    raise SpecError(
                        f"linked tables give dimension {d.name!r} different hierarchies; linked tables "
                        f"must use the same categories and hierarchy for a shared dimension")
            else:
                dim_of[d.name] = d
                names.append(d.name)
    full_shape = tuple(dim_of[n].n for n in names)
    keys = []
    for m in models:
        full = np.zeros((m.ncells, len(names)), dtype=np.int64)  # absent dims sit at their root (0)
        for k, d in enumerate(m.dims):
            full[:, names.index(d.name)] = m.node[:, k]
        keys.append(np.ravel_multi_index(tuple(full.T), full_shape))
    uniq, inv = np.unique(np.concatenate(keys), return_inverse=True)
    maps = np.split(inv, np.cumsum([m.ncells for m in models])[:-1])
    n = uniq.size
    value = np.full(n, np.nan)
    primary = np.zeros(n, dtype=bool)
    fixed = np.zeros(n, dtype=bool)
    freq = np.full(n, np.inf)
    reason = np.full(n, "", dtype=object)
    level = np.zeros(n)
    A_blocks = []
    for m, mp in zip(models, maps):
        prev = value[mp]
        clash = ~np.isnan(prev) & (np.abs(prev - m.value) > 1e-9 * np.maximum(1, np.abs(m.value)))
        if clash.any():
            i = np.flatnonzero(clash)[0]
            label = ", ".join(f"{d.name}={d.labels[m.node[i, k]]}" for k, d in enumerate(m.dims))
            raise DataError(
                f"linked tables disagree on a shared cell ({label}): {prev[i]:g} versus {m.value[i]:g} "
                f"in table {m.name or models.index(m) + 1}; tables drawn from the same records must "
                f"agree on their common totals")
        value[mp] = m.value
        add = m.reason != ""
        both = add & (reason[mp] != "") & (reason[mp] != m.reason)
        r = reason[mp].copy()
        r[both] = r[both] + "; " + m.reason[both]
        r[add & ~both] = m.reason[add & ~both]
        reason[mp] = r
        primary[mp] |= m.primary
        fixed[mp] |= m.structural
        freq[mp] = np.minimum(freq[mp], m.frequency)
        level[mp] = np.maximum(level[mp], (~np.stack([d.is_leaf[m.node[:, k]] for k, d in
                                                       enumerate(m.dims)], axis=1)).sum(axis=1))
        A_blocks.append(sp.csr_matrix((m.A.data, mp[m.A.indices],
                                       m.A.indptr), shape=(m.A.shape[0], n)))
    A = sp.vstack(A_blocks, format="csr")
    if len(models) > 1:  # shared margins give the same row in several tables: keep one
        A = _unique_rows(A)
    pa = protection * value
    lpl = np.where(primary, np.minimum(pa, value), 0.0)
    upl = np.where(primary, np.maximum(pa, 1.0), 0.0)
    if cost == "cells":
        c = np.ones(n)
    else:
        c = value + 1.0
    # deterministic tie-breaking: prefer detailed cells, then smaller values, then earlier cells
    vr = np.argsort(np.argsort(value, kind="stable"), kind="stable") / max(n, 1)
    c = c + 1e-3 * level + 1e-5 * vr
    singleton = freq == 1
    labels = {}
    full_node = np.unravel_index(uniq, full_shape)
    for k, name in enumerate(names):
        labels[name] = np.asarray(dim_of[name].labels, dtype=object)[full_node[k]]
    return _Problem(A, value, c, primary, fixed, singleton, lpl, upl, reason, level, labels), maps


def _unique_rows(A: sp.csr_matrix) -> sp.csr_matrix:
    """Drop repeated equations: rows are compared through two fixed random projections."""
    A = sp.csr_matrix(A)
    rng = np.random.default_rng(20240501)  # fixed: the result must not depend on a seed
    proj = A @ rng.random((A.shape[1], 2))
    key = np.round(proj, 9)
    _, first = np.unique(key, axis=0, return_index=True)
    return A[np.sort(first)]


# ---------------------------------------------------------------------------------------------
# secondary suppression


class _Cuts:
    """Covering constraints sum_j coef_j x_j >= rhs, kept as COO triplets."""

    def __init__(self, n: int):
        self.n = n
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rhs: list[np.ndarray] = []
        self.count = 0

    def add(self, rows, cols, vals, rhs):
        rows = np.asarray(rows, dtype=np.int64)
        self.rows.append(rows + self.count)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.asarray(vals, dtype=float))
        self.rhs.append(np.asarray(rhs, dtype=float))
        self.count += len(rhs)

    def matrix(self):
        if not self.count:
            return sp.csr_matrix((0, self.n)), np.zeros(0)
        return (sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows),
                                                           np.concatenate(self.cols))),
                              shape=(self.count, self.n)), np.concatenate(self.rhs))


def _row_pairs(A: sp.csr_matrix, first_mask: np.ndarray):
    """All pairs (row, i, j) of non-zeros of one row with ``first_mask[i]``; with signs."""
    A = A.tocsr()
    row_of = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    sel = np.flatnonzero(first_mask[A.indices])
    r = row_of[sel]
    length = np.diff(A.indptr)[r]
    rep = np.repeat(sel, length)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(length) - length, length)
    other = np.repeat(A.indptr[r], length) + offs
    keep = other != rep
    rep, other = rep[keep], other[keep]
    return row_of[rep], A.indices[rep], A.data[rep], A.indices[other], A.data[other], rep


def _relation_cuts(P: _Problem, cuts: _Cuts) -> None:
    """In each additivity relation a primary cell needs partners able to move by its protection."""
    r, i, si, j, sj, pair_id = _row_pairs(P.A, P.primary)
    ok = ~P.fixed[j]
    r, i, si, j, sj, pair_id = r[ok], i[ok], si[ok], j[ok], sj[ok], pair_id[ok]
    same = si * sj > 0  # a same-sign partner moves the other way
    for direction, need in (("up", P.upl), ("down", P.lpl)):
        cap = np.where(same, P.value[j], np.inf) if direction == "up" else np.where(same, np.inf, P.value[j])
        rhs_all = need[i]
        coef = np.minimum(cap, rhs_all)
        valid = (rhs_all > _TOL) & (coef > _TOL)
        # one cut per (row, primary cell): group by the non-zero position of the primary cell
        key = pair_id
        uk, cut_id = np.unique(key[valid], return_inverse=True)
        if not uk.size:
            continue
        rhs = np.zeros(uk.size)
        rhs[cut_id] = rhs_all[valid]
        cuts.add(cut_id, j[valid], coef[valid], rhs)


def _singleton_cuts(P: _Problem, cuts: _Cuts) -> None:
    """Singleton problem: a single contributor of a suppressed cell in a relation where the only
    other suppressed cell is a primary single contributor could subtract himself; require a third."""
    r, i, si, s, ss, pair_id = _row_pairs(P.A, P.primary & P.singleton)
    A = P.A.tocsr()
    # a relation of two cells (a total with one part) holds the same people twice: nothing to add
    keep = P.singleton[s] & ~P.fixed[s] & (np.diff(A.indptr)[r] > 2)
    r, i, s = r[keep], i[keep], s[keep]
    if not r.size:
        return
    # constraint: sum_{j in row, j not in {i, s}} x_j - x_s >= 0
    length = np.diff(A.indptr)[r]
    rep = np.repeat(np.arange(r.size), length)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(length) - length, length)
    cols = A.indices[np.repeat(A.indptr[r], length) + offs]
    ok = (cols != i[rep]) & (cols != s[rep]) & ~P.fixed[cols]
    has_third = np.bincount(rep[ok], minlength=r.size) > 0
    ok &= has_third[rep]
    renum = np.cumsum(has_third) - 1
    rows = np.concatenate([renum[rep[ok]], renum[np.flatnonzero(has_third)]])
    cols = np.concatenate([cols[ok], s[has_third]])
    vals = np.concatenate([np.ones(int(ok.sum())), -np.ones(int(has_third.sum()))])
    if has_third.any():
        cuts.add(rows, cols, vals, np.zeros(int(has_third.sum())))


def _dual_cut(P: _Problem, i: int, direction: str, rows: np.ndarray, y: np.ndarray):
    """Capacity cut from the LP multipliers ``y`` of the attacker's problem for cell ``i``.

    For any multipliers, ``sum_j x_j (U [h_j > 0] + a_j max(-h_j, 0)) >= max deviation`` with
    ``h = A^T y - c`` (weak duality); coefficients are capped at the right-hand side.
    """
    need = P.upl[i] if direction == "up" else P.lpl[i]
    At = P.A[rows].T.tocsr()
    h = At @ y
    c_i = -1.0 if direction == "up" else 1.0
    h[i] -= c_i
    idx = np.flatnonzero(np.abs(h) > 1e-9)
    hv = h[idx]
    coef = np.where(hv > 0, need, np.minimum(need, P.value[idx] * (-hv)))
    keep = (coef > _TOL) & ~P.fixed[idx]
    return idx[keep], coef[keep], need


def _failures(P: _Problem, suppressed: np.ndarray, duals: bool):
    # audit every suppressed cell (primary cells first in each component): the last round's
    # intervals are the final audit
    sup = np.flatnonzero(suppressed)
    targets = sup[np.lexsort((sup, ~P.primary[sup]))]
    a = P.value[targets]
    prim = P.primary[targets]
    iv = feasible_intervals(P.A, P.value, suppressed, targets, duals=duals,
                            required_low=np.where(prim, a - P.lpl[targets], np.nan),
                            required_high=np.where(prim, a + P.upl[targets], np.nan))
    low_fail = prim & (iv.low > a - P.lpl[targets] + 1e-6)
    high_fail = prim & (iv.high < a + P.upl[targets] - 1e-6)
    return iv, targets, low_fail, high_fail


def _singleton_violations(P: _Problem, suppressed: np.ndarray):
    """Relations with a suppressed primary singleton and exactly one other suppressed singleton."""
    A = P.A.tocsr()
    row_of = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    sup = suppressed[A.indices]
    n_sup = np.bincount(row_of, weights=sup, minlength=A.shape[0])
    ps = np.bincount(row_of, weights=sup & P.primary[A.indices] & P.singleton[A.indices],
                     minlength=A.shape[0])
    ss = np.bincount(row_of, weights=sup & P.singleton[A.indices], minlength=A.shape[0])
    return np.flatnonzero((n_sup == 2) & (ps >= 1) & (ss == 2) & (np.diff(A.indptr) > 2))


def _hypercube_start(P: _Problem, model_dims, node, suppressed: np.ndarray) -> None:
    """GHMITER-style: give each primary cell its cheapest feasible hypercube of partners."""
    shape = tuple(d.n for d in model_dims)
    strides = np.array([int(np.prod(shape[k + 1:])) for k in range(len(shape))], dtype=np.int64)
    siblings = []
    for d in model_dims:
        sib = {}
        for p in np.unique(d.parent[d.parent >= 0]):
            sib[int(p)] = np.flatnonzero(d.parent == p)
        siblings.append(sib)
    order = np.flatnonzero(P.primary)
    order = order[np.lexsort((order, P.level[order], P.value[order]))]
    for i in order:  # sequential by nature: each choice changes the cost of the next
        nd = node[i]
        movable = [k for k, d in enumerate(model_dims) if d.parent[nd[k]] >= 0]
        if not movable:
            continue
        alts = []
        for k in movable:
            s = siblings[k][int(model_dims[k].parent[nd[k]])]
            alts.append(s[s != nd[k]])
        if any(a.size == 0 for a in alts):
            continue
        grids = np.meshgrid(*alts, indexing="ij")
        grids = [g.ravel() for g in grids]
        ncand = grids[0].size
        base = int(np.dot(nd, strides))
        total_cost = np.zeros(ncand)
        ok_up = np.ones(ncand, dtype=bool)
        ok_down = np.ones(ncand, dtype=bool)
        corners = []
        for mask in range(1, 2 ** len(movable)):
            idx = np.full(ncand, base, dtype=np.int64)
            parity = 0
            for b, k in enumerate(movable):
                if mask >> b & 1:
                    idx += (grids[b] - nd[k]) * strides[k]
                    parity ^= 1
            corners.append(idx)
            total_cost += np.where(suppressed[idx], 0.0, P.cost[idx])
            bad = P.fixed[idx]
            if parity:  # moves opposite to the primary cell
                ok_up &= (P.value[idx] >= P.upl[i] - _TOL) & ~bad
                ok_down &= ~bad
            else:
                ok_down &= (P.value[idx] >= P.lpl[i] - _TOL) & ~bad
                ok_up &= ~bad
        feasible = ok_up & ok_down
        if not feasible.any():
            continue
        best = np.flatnonzero(feasible)[np.argmin(total_cost[feasible])]
        for idx in corners:
            suppressed[idx[best]] = True


def _greedy_cover(P: _Problem, cuts: _Cuts, start: int, suppressed: np.ndarray) -> None:
    """Satisfy cuts added since ``start`` by adding cells with the best coverage per cost."""
    M, rhs = cuts.matrix()
    M = M[start:].tocsr()
    rhs = rhs[start:]
    for r in range(M.shape[0]):
        cols = M.indices[M.indptr[r]:M.indptr[r + 1]]
        vals = M.data[M.indptr[r]:M.indptr[r + 1]]
        have = float(vals[suppressed[cols]].sum())
        while have < rhs[r] - _TOL:
            cand = (~suppressed[cols]) & (vals > 0)
            if not cand.any():
                break
            short = rhs[r] - have
            enough = cand & (vals >= short - _TOL)
            if enough.any():
                k = np.flatnonzero(enough)[np.argmin(P.cost[cols[enough]])]
            else:
                ratio = np.where(cand, vals / P.cost[cols], -np.inf)
                k = int(np.argmax(ratio))
            suppressed[cols[k]] = True
            have += vals[k]


def _master(P: _Problem, cuts: _Cuts, time_limit: float) -> np.ndarray:
    M, rhs = cuts.matrix()
    n = P.value.size
    support = np.zeros(n, dtype=bool)
    support[np.unique(M.indices)] = True
    support |= P.primary
    cols = np.flatnonzero(support)
    if not cols.size:
        return np.zeros(n, dtype=bool)
    Ms = M[:, cols]
    lb = np.where(P.primary[cols], 1.0, 0.0)
    ub = np.where(P.fixed[cols] & ~P.primary[cols], 0.0, 1.0)
    res = milp(P.cost[cols], integrality=np.ones(cols.size),
               bounds=Bounds(lb, ub),
               constraints=[LinearConstraint(Ms, rhs, np.inf)] if M.shape[0] else None,
               options={"time_limit": time_limit, "mip_rel_gap": 1e-6})
    if res.x is None:
        raise DisclosureError(f"secondary suppression failed: the MILP found no pattern ({res.message})")
    out = np.zeros(n, dtype=bool)
    out[cols] = res.x > 0.5
    return out


def _protect(P: _Problem, method: str, dims_node, max_rounds: int, time_limit: float):
    n = P.value.size
    cuts = _Cuts(n)
    _relation_cuts(P, cuts)
    if np.any(P.singleton & P.primary):
        _singleton_cuts(P, cuts)
    suppressed = P.primary.copy()
    if method == "hypercube":
        if dims_node is not None:
            _hypercube_start(P, dims_node[0], dims_node[1], suppressed)
        _greedy_cover(P, cuts, 0, suppressed)
    rounds = 0
    n_lp = 0
    minimal = method == "optimal"
    while True:
        rounds += 1
        if method == "optimal" and rounds <= _MASTER_ROUNDS:
            suppressed = _master(P, cuts, time_limit) | P.primary
        elif method == "optimal":
            minimal = False  # finished by greedy repair from the last MILP pattern
        iv, targets, low_fail, high_fail = _failures(P, suppressed, duals=True)
        n_lp += iv.n_lp
        sv = _singleton_violations(P, suppressed)
        if not low_fail.any() and not high_fail.any() and not sv.size:
            return suppressed, rounds, n_lp, iv, minimal
        if rounds >= max_rounds:
            raise DisclosureError(
                f"secondary suppression did not converge in {max_rounds} rounds "
                f"({int(low_fail.sum() + high_fail.sum())} protection intervals still too narrow); "
                f"try method='hypercube' or raise max_rounds")
        start = cuts.count
        for fail, direction, store in ((high_fail, "up", iv.duals_high), (low_fail, "down", iv.duals_low)):
            for t in np.flatnonzero(fail):
                i = int(targets[t])
                rows, y = store[i]
                cols, coef, need = _dual_cut(P, i, direction, rows, y)
                if cols.size == 0:
                    raise DisclosureError("a primary cell cannot be protected: every partner is a "
                                          "structural zero")
                cuts.add(np.zeros(cols.size, dtype=np.int64), cols, coef, [need])
        if sv.size:
            A = P.A.tocsr()
            for r in sv:
                cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
                ok = ~suppressed[cols] & ~P.fixed[cols]
                if ok.any():
                    cuts.add(np.zeros(int(ok.sum()), dtype=np.int64), cols[ok], np.ones(int(ok.sum())),
                             [1.0])
        if method == "hypercube" or rounds >= _MASTER_ROUNDS:
            before = int(suppressed.sum())
            _greedy_cover(P, cuts, start, suppressed)
            if int(suppressed.sum()) == before:  # no progress (numerically weak cut): widen
                failing = targets[low_fail | high_fail]
                _open_relations(P, failing, suppressed)


def _open_relations(P: _Problem, cells: np.ndarray, suppressed: np.ndarray) -> None:
    """Fallback that always makes progress: in every relation of each failing cell, suppress the
    cheapest cell that is still published."""
    A = P.A.tocsr()
    AT = A.T.tocsr()
    for i in cells:
        for r in AT.indices[AT.indptr[i]:AT.indptr[i + 1]]:
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            free = cols[~suppressed[cols] & ~P.fixed[cols]]
            if free.size:
                suppressed[free[np.argmin(P.cost[free])]] = True


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class ProtectedTable:
    """A protected table.

    Attributes
    ----------
    frame : DataFrame
        Every cell incl. all totals: one column per dimension, ``value`` (NaN if suppressed),
        ``status`` (``published`` | ``primary`` | ``secondary``) and ``reason``.
    audit : DataFrame
        One row per suppressed cell: dimensions, ``status``, the attacker's feasible ``low`` and
        ``high``, the ``required_low``/``required_high`` protection interval (primary cells; NaN for
        secondary ones) and ``ok``. For the producer only: the required bounds reveal the values.
    dims : tuple of str
        The dimension columns.
    method : str
        ``"optimal"`` or ``"hypercube"``.
    protection : float
        The protection level ``p``: an attacker's feasible interval for each primary cell of
        value ``a`` covers ``[a - p·a, a + max(p·a, 1)]``.
    rules : tuple
        The primary rules applied.
    rounds, n_lp : int
        Rounds of the cut loop and linear programmes solved by the audit.
    name : str or None
        The table's name (from :class:`TableSpec`).
    minimal : bool
        True when the pattern is the MILP's optimum (no greedy repair was needed).

    Examples
    --------
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"district": ["A", "A", "B", "B", "C", "C"],
    ...                        "type": ["physical", "sexual"] * 3, "value": [12, 3, 9, 8, 15, 11]})
    >>> t = protect_table(counts, {"district": ["A", "B", "C"], "type": ["physical", "sexual"]})
    >>> t
    <ProtectedTable district × type: 12 cells, 1 primary, 3 secondary suppressions; method=optimal,
    protection=0.3; audit passed>
    >>> t.rules, t.minimal
    ((MinFrequency(threshold=5, zeros=False),), True)

    The audit shows what an attacker can infer about each suppressed cell: the primary cell
    (3 cases) can only be placed between 0 and 11, wider than its protection interval [2.1, 4]:

    >>> t.audit[["district", "type", "status", "low", "high", "required_low", "required_high"]]
      district      type     status  low  high  required_low  required_high
    0        A  physical  secondary  4.0  15.0           NaN            NaN
    1        A    sexual    primary  0.0  11.0           2.1            4.0
    2        B  physical  secondary  6.0  17.0           NaN            NaN
    3        B    sexual  secondary  0.0  11.0           NaN            NaN
    """

    frame: pd.DataFrame
    audit: pd.DataFrame
    dims: tuple[str, ...]
    method: str
    protection: float
    rules: tuple
    rounds: int
    n_lp: int
    name: str | None = None
    minimal: bool = False  #: the pattern is the MILP's optimum (no greedy repair was needed)

    @property
    def ok(self) -> bool:
        """True when every suppressed cell passed the audit."""
        return bool(self.audit["ok"].all()) if len(self.audit) else True

    @property
    def n_primary(self) -> int:
        """Number of cells suppressed by a primary rule."""
        return int((self.frame["status"] == "primary").sum())

    @property
    def n_secondary(self) -> int:
        """Number of cells suppressed to protect primary cells (complementary suppressions)."""
        return int((self.frame["status"] == "secondary").sum())

    def __repr__(self) -> str:
        return (f"<ProtectedTable{' ' + repr(self.name) if self.name else ''} {' × '.join(self.dims)}: "
                f"{len(self.frame)} cells, {self.n_primary} primary, {self.n_secondary} secondary "
                f"suppressions; method={self.method}, protection={self.protection:g}; "
                f"audit {'passed' if self.ok else 'FAILED'}>")

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self))}</p>" + self.frame.to_html(index=False, na_rep="×")


@dataclass(frozen=True)
class ProtectedTables:
    """Linked tables protected together, returned by :func:`protect_tables`.

    Indexing and ``len`` work on ``tables``.

    Attributes
    ----------
    tables : tuple of ProtectedTable
        One per input table, in the input order.
    audit : DataFrame
        The joint audit: one row per suppressed cell of the joint problem, with a column for
        every dimension of any table (a table's missing dimensions show their root, e.g.
        ``Total``; cells shared by several tables appear once).
    rounds, n_lp : int
        Rounds of the cut loop and linear programmes solved.

    Examples
    --------
    >>> import pandas as pd
    >>> by_type = pd.DataFrame({"district": ["A", "A", "B", "B"], "type": ["x", "y", "x", "y"],
    ...                         "value": [3, 9, 8, 7]})
    >>> by_age = pd.DataFrame({"district": ["A", "A", "B", "B"], "age": ["<18", "18+", "<18", "18+"],
    ...                        "value": [6, 6, 2, 13]})
    >>> res = protect_tables([{"counts": by_type, "dims": {"district": ["A", "B"], "type": ["x", "y"]}},
    ...                       {"counts": by_age, "dims": {"district": ["A", "B"], "age": ["<18", "18+"]}}])
    >>> len(res), res.ok
    (2, True)
    >>> res[1].frame.query("district == 'A' and age == 'Total'")[["value", "status"]]
       value     status
    3    NaN  secondary

    The district A total is one cell of both tables, so it is suppressed in both:

    >>> res.audit[["district", "type", "age", "status"]].head(2)
      district   type    age     status
    0        A  Total  Total  secondary
    1        A  Total    <18  secondary
    """

    tables: tuple[ProtectedTable, ...]
    audit: pd.DataFrame
    rounds: int
    n_lp: int

    @property
    def ok(self) -> bool:
        """True when every suppressed cell of the joint problem passed the audit."""
        return bool(self.audit["ok"].all()) if len(self.audit) else True

    def __getitem__(self, k):
        return self.tables[k]

    def __len__(self):
        return len(self.tables)

    def __repr__(self) -> str:
        inner = "\n  ".join(repr(t) for t in self.tables)
        return f"<ProtectedTables ({len(self.tables)} linked; audit {'passed' if self.ok else 'FAILED'})\n  {inner}>"


# ---------------------------------------------------------------------------------------------
# public functions


def _check_choice(name, value, options):
    if value not in options:
        raise SpecError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}"
                        + close_matches(str(value), options))


def _check_args(method, cost, protection, primary):
    _check_choice("method", method, _METHODS)
    _check_choice("cost", cost, _COSTS)
    if not isinstance(protection, (int, float)) or isinstance(protection, bool) or not 0 <= protection < 1:
        raise SpecError(f"protection must be a number in [0, 1) (e.g. 0.3 for ±30%); got {protection!r}")
    if primary is not None and (isinstance(primary, (str, bytes)) or not isinstance(primary, Sequence)):
        raise SpecError(f"primary must be a list of rules, e.g. [gs.rules.MinFrequency(5)]; got {primary!r}")


def _default_rules():
    return [_rules.MinFrequency(5)]


def _k_needed(rules) -> int:
    return max([2] + [getattr(r, "n", 0) for r in rules if isinstance(r, _rules.Dominance)])


def _frames(model: _Model, mp, P: _Problem, suppressed, iv_cells, iv_low, iv_high):
    data = {d.name: np.asarray(d.labels, dtype=object)[model.node[:, k]] for k, d in enumerate(model.dims)}
    frame = pd.DataFrame(data)
    sup = suppressed[mp]
    prim = P.primary[mp]
    frame["value"] = np.where(sup, np.nan, model.value)
    status = np.where(prim, "primary", np.where(sup, "secondary", "published"))
    frame["status"] = status.astype(object)
    reason = np.where(prim, P.reason[mp], np.where(sup, "protects a primary cell", ""))
    reason = np.where(~sup & model.structural, "structural zero", reason)
    frame["reason"] = reason.astype(object)
    pos = np.full(P.value.size, -1, dtype=np.int64)
    pos[iv_cells] = np.arange(iv_cells.size)
    rows = np.flatnonzero(sup)
    g = mp[rows]
    a = P.value[g]
    audit = frame.loc[rows, [d.name for d in model.dims] + ["status"]].reset_index(drop=True)
    audit["low"] = iv_low[pos[g]]
    audit["high"] = iv_high[pos[g]]
    pr = P.primary[g]
    audit["required_low"] = np.where(pr, a - P.lpl[g], np.nan)
    audit["required_high"] = np.where(pr, a + P.upl[g], np.nan)
    ok = ~pr | ((audit["low"].to_numpy() <= audit["required_low"].to_numpy() + 1e-6)
                & (audit["high"].to_numpy() >= audit["required_high"].to_numpy() - 1e-6))
    audit["ok"] = ok
    return frame, audit


def protect_tables(
    tables: Sequence,
    *,
    primary: Sequence | None = None,
    protection: float = 0.3,
    method: Method = "optimal",
    cost: Cost = "cells",
    max_rounds: int = 50,
    time_limit: float = 60.0,
) -> ProtectedTables:
    """Protect linked tables (drawn from the same records) together.

    Parameters
    ----------
    tables : list of TableSpec or dict
        Each with ``counts``, ``dims`` and optionally ``primary``, ``contributions``, ``value``,
        ``name`` (as in :func:`protect_table`). A dimension shared by several tables must have the
        same hierarchy in each; a table without a dimension is that dimension's total, so cells
        such as the district totals of a district × type and a district × age table are *one*
        cell: it is suppressed in both or in neither, and must have the same value in both.
    primary, protection, method, cost, max_rounds, time_limit
        As in :func:`protect_table` (``primary`` is the default for tables that give none).

    Returns
    -------
    ProtectedTables

    Examples
    --------
    >>> import pandas as pd
    >>> by_type = pd.DataFrame({"district": ["A", "A", "B", "B"], "type": ["x", "y", "x", "y"],
    ...                         "value": [3, 9, 8, 7]})
    >>> by_age = pd.DataFrame({"district": ["A", "A", "B", "B"], "age": ["<18", "18+", "<18", "18+"],
    ...                        "value": [6, 6, 2, 13]})
    >>> res = protect_tables([{"counts": by_type, "dims": {"district": ["A", "B"], "type": ["x", "y"]}},
    ...                       {"counts": by_age, "dims": {"district": ["A", "B"], "age": ["<18", "18+"]}}])
    >>> res.ok, [t.n_primary for t in res.tables]
    (True, [1, 1])
    """
    _check_args(method, cost, protection, primary)
    if isinstance(tables, (pd.DataFrame, Mapping)) or not isinstance(tables, Sequence) or not tables:
        raise SpecError("tables must be a non-empty list of TableSpec objects or dicts "
                        "{'counts': ..., 'dims': ...}")
    specs = []
    for k, t in enumerate(tables):
        if isinstance(t, Mapping):
            unknown = set(t) - {"counts", "dims", "primary", "contributions", "value", "name"}
            if unknown or "counts" not in t or "dims" not in t:
                raise SpecError(f"table {k + 1}: give 'counts' and 'dims' (optional: primary, "
                                f"contributions, value, name); got keys {sorted(t)}")
            t = TableSpec(**t)
        elif not isinstance(t, TableSpec):
            raise SpecError(f"table {k + 1}: expected a TableSpec or dict; got {type(t).__name__}")
        specs.append(t)
    models = []
    for k, t in enumerate(specs):
        rules = list(t.primary) if t.primary is not None else (
            list(primary) if primary is not None else _default_rules())
        m = _build_model(t.counts, t.dims, value=t.value, contributions=t.contributions,
                         name=t.name or (f"{k + 1}" if len(specs) > 1 else None), K=_k_needed(rules))
        _apply_rules(m, rules)
        models.append((m, tuple(rules)))
    P, maps = _joint([m for m, _ in models], float(protection), cost)
    dims_node = None
    if len(models) == 1:
        dims_node = (models[0][0].dims, models[0][0].node)
    # the last audit of the loop covered every suppressed cell: it is the final audit
    suppressed, rounds, n_lp, iv, minimal = _protect(P, method, dims_node, max_rounds, time_limit)
    out = []
    for (m, rules), mp in zip(models, maps):
        frame, audit = _frames(m, mp, P, suppressed, iv.cells, iv.low, iv.high)
        out.append(ProtectedTable(frame, audit, tuple(d.name for d in m.dims), method,
                                  float(protection), rules, rounds, n_lp, m.name, minimal))
    joint_rows = np.flatnonzero(suppressed)
    a = P.value[joint_rows]
    pos = np.full(P.value.size, -1, dtype=np.int64)
    pos[iv.cells] = np.arange(iv.cells.size)
    pr = P.primary[joint_rows]
    ja = pd.DataFrame({**{d: lab[joint_rows] for d, lab in P.labels.items()},
                       "status": np.where(pr, "primary", "secondary").astype(object),
                       "low": iv.low[pos[joint_rows]], "high": iv.high[pos[joint_rows]],
                       "required_low": np.where(pr, a - P.lpl[joint_rows], np.nan),
                       "required_high": np.where(pr, a + P.upl[joint_rows], np.nan)})
    ja["ok"] = ~pr | ((ja["low"] <= ja["required_low"] + 1e-6) & (ja["high"] >= ja["required_high"] - 1e-6))
    if not ja["ok"].all():  # pragma: no cover - the loop only stops when the audit passes
        raise DisclosureError("the final audit failed; the table is not released. Please report this.")
    return ProtectedTables(tuple(out), ja, rounds, n_lp)


def protect_table(
    counts: pd.DataFrame,
    dims: Mapping,
    *,
    primary: Sequence | None = None,
    protection: float = 0.3,
    method: Method = "optimal",
    cost: Cost = "cells",
    contributions: pd.DataFrame | None = None,
    value: str = "value",
    max_rounds: int = 50,
    time_limit: float = 60.0,
) -> ProtectedTable:
    """Primary and secondary cell suppression of a (hierarchical) table, proven by an LP audit.

    Parameters
    ----------
    counts : DataFrame
        One row per detailed cell: one column per dimension and a ``value`` column (counts, or
        magnitudes with ``contributions``). Absent combinations are zero cells. Rows for totals may
        be included; they are checked against the sum of their parts. Optional columns:
        ``frequency`` (number of contributors of a magnitude cell), ``top1``/``top2`` (largest and
        second-largest contribution of a cell), ``structural_zero`` (bool).
    dims : dict
        ``{column: [categories]}`` (a root ``"Total"`` is added) or
        ``{column: {root: [children], child: [grandchildren], ...}}`` (root first).
    primary : list of rules, default ``[MinFrequency(5)]``
        From :mod:`gbvstats.rules`: ``MinFrequency``, ``Dominance``, ``PPercent``, ``GroupDisclosure``.
    protection : float
        Each primary cell's feasible interval must reach ``a - p·a`` and ``a + max(p·a, 1)``.
    method : {"optimal", "hypercube"}
        Cutting-plane MILP (fewest / cheapest complements) or the faster GHMITER-style heuristic.
    cost : {"cells", "value"}
        What the secondary suppression minimises: the number of cells, or the total suppressed
        value (value + 1 per cell, so empty cells are not free).
    contributions : DataFrame, optional
        One row per contribution: the dimension columns (detailed categories), ``value`` and
        optionally ``contributor`` (rows of one contributor in a cell are added up). Used for
        dominance, p% and the frequency of magnitude tables.
    value : str
        Name of the value column.
    max_rounds, time_limit : int, float
        Limits of the cut loop and of each MILP solve (seconds).

    Returns
    -------
    ProtectedTable

    Raises
    ------
    SpecError
        Unknown dimension, bad hierarchy or option.
    DataError
        Negative or missing values, labels not in the hierarchy, a hierarchy category with no rows,
        duplicate cells, totals that do not add up.

    Examples
    --------
    >>> import pandas as pd
    >>> import gbvstats as gs
    >>> counts = pd.DataFrame({"district": ["A", "A", "B", "B", "C", "C"],
    ...                        "type": ["physical", "sexual"] * 3, "value": [12, 3, 9, 8, 15, 11]})
    >>> t = protect_table(counts, {"district": ["A", "B", "C"], "type": ["physical", "sexual"]},
    ...                   primary=[gs.rules.MinFrequency(5)])
    >>> t.frame.query("status != 'published'")[["district", "type", "status"]].to_string(index=False)
    'district     type    status\\n       A physical secondary\\n       A   sexual   primary\\n       B physical secondary\\n       B   sexual secondary'
    >>> bool(t.audit["ok"].all())
    True
    """
    res = protect_tables([TableSpec(counts, dims, primary, contributions, value)],
                         primary=primary, protection=protection, method=method, cost=cost,
                         max_rounds=max_rounds, time_limit=time_limit)
    return res.tables[0]
