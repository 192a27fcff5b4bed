"""Anonymised microdata: identifiers, keyed pseudonyms, global recoding, local suppression, l-diversity.

:func:`anonymise` turns a survey data frame into a file that can be handed to researchers:

1. **Direct identifiers** (names, phones, national IDs, exact addresses, exact dates of birth) are
   dropped; identifiers that must be kept for linkage are replaced by keyed HMAC-SHA256 pseudonyms
   (:func:`gbvstats.disclosure.pseudonym.pseudonymise`). The key is resolved at run time with
   :func:`gbvstats.keys.resolve`; without one a :class:`~gbvstats.errors.KeyMissingError` is raised
   (there is no unkeyed fallback) and the key never appears in the result, its log or any message.
2. **Global recoding** along the declared hierarchies (age -> bands -> wider bands, commune ->
   district -> province). With ``recode="auto"`` every combination of allowed levels (the
   generalisation lattice) is evaluated and the one with the least entropy loss is kept among those
   that leave at most ``max_suppressed_share`` of the records violating k (and l); if none does, the
   combination with the fewest violating records (ties: least loss).
3. **Local suppression** to k-anonymity under the *safe* (prosecutor) rule: a suppressed value is a
   symbol of its own and every published key occurs at least ``k`` times. Records with identical
   keys form groups; for each group the integer programme decides how many of its records publish
   each *pattern* of suppressed quasi-identifiers (scipy ``milp``, HiGHS), minimising the number of
   suppressed values weighted by importance (less important variables are cheaper). Groups with
   ``k`` or more records may *donate* records to a pattern so that a rare key reaches ``k``. Above
   ``milp_max_records`` records a vectorised greedy heuristic is used, with a lower bound and gap.
4. **l-diversity** (distinct) on the sensitive variables: classes with fewer than ``l`` distinct
   values of a sensitive variable — including classes where everyone gave the same answer — are
   fixed by suppressing further quasi-identifiers of their records (never the sensitive answer).
5. The result is **re-checked** (k, l, rows in = rows out, every change in the log) before it is
   returned; a failure is a :class:`~gbvstats.errors.DisclosureError`, never a silent release.

Every changed cell is in ``result.log`` with its row, column, old and new value, reason, rule,
group and cost. The log holds the *original* values of suppressed cells: it is for the data
producer and must never be released with the file. Pseudonymised and dropped identifiers are logged
per column only (a per-row log would be a re-identification table).

The same input, parameters and key give the same output: with ``method="auto"`` only a proven
optimum of the integer programme or the (deterministic) heuristic is used. With ``method="milp"`` an
incumbent cut off by ``time_limit`` may be kept, and that can depend on the machine's load.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..errors import DisclosureError, SpecError, close_matches, format_rows
from .risk import (
    RiskReport,
    _report,
    check_columns,
    check_k,
    check_l,
    check_semantics,
    Semantics,
    column_codes,
    wildcard_frequencies,
    combine_codes,
    dense,
    weight_array,
)

__all__ = [
    "anonymise",
    "AnonymisedData",
    "InformationLoss",
    "SuppressionResult",
    "export_frame",
    "SUPPRESSED_LABEL",
]

Method = Literal["auto", "milp", "heuristic"]
METHODS: tuple[str, ...] = get_args(Method)
Recode = Literal["auto", "none", "max"]
RECODES: tuple[str, ...] = get_args(Recode)
OnInference = Literal["suppress", "error", "ignore"]
ON_INFERENCE: tuple[str, ...] = get_args(OnInference)

#: value label of the code that marks a suppressed value in SPSS / Stata output
SUPPRESSED_LABEL = "suppressed for confidentiality"

_RULE_MILP = "local suppression (milp)"
_RULE_HEUR = "local suppression (heuristic)"
_RULE_L = "l-diversity suppression"
_RULE_POOL = "fully suppressed pool"
_RULE_RECODE = "global recoding"
_RULE_WILD = "local suppression (wildcard)"
_RULE_INFER = "inference suppression"
_RULE_INFER_DESIGN = "inference suppression (design)"


# --------------------------------------------------------------------------------------------
# results

@dataclass(frozen=True)
class SuppressionResult:
    """How local suppression went: method, cost, a lower bound on the optimum and the gap.

    Found at ``result.info_loss.suppression`` of :func:`anonymise`.

    Attributes
    ----------
    method : str
        ``"milp"`` (the integer programme's solution), ``"heuristic"`` or ``"milp+heuristic"``
        (the programme ran but the heuristic's solution was kept).
    suppressed_values : int
        Number of quasi-identifier values suppressed (k and l-diversity together).
    cost : float
        Their total importance-weighted cost (the objective).
    lower_bound : float
        A proven lower bound on the cost of any k-anonymous suppression.
    gap : float
        ``(cost - lower_bound) / cost``; 0 when the optimum is proven.
    optimal : bool
        True when the integer programme proved this pattern optimal over all patterns.
    complete_patterns : bool
        Whether the programme considered every pattern of suppressed variables (not only those
        up to ``max_pattern_size``).
    max_pattern_size : int
        Largest number of variables suppressed together in one record that was considered.
    status : str
        The solver's message, or ``"heuristic"``.
    seconds : float
        Time spent in local suppression.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "b": [1] * 9})
    >>> s = anonymise(d, ["a", "b"], k=3).info_loss.suppression
    >>> s.method, s.suppressed_values, s.cost, s.lower_bound, s.optimal
    ('milp', 3, 4.5, 4.5, True)

    The heuristic (used for large files) gives a worse pattern here, and says how far from the
    bound it may be:

    >>> s = anonymise(d, ["a", "b"], k=3, method="heuristic").info_loss.suppression
    >>> s.method, s.suppressed_values, s.optimal, round(s.gap, 3)
    ('heuristic', 6, False, 0.848)
    """

    method: str
    suppressed_values: int
    cost: float
    lower_bound: float
    gap: float
    optimal: bool
    complete_patterns: bool
    max_pattern_size: int
    status: str
    seconds: float


@dataclass(frozen=True, repr=False)
class InformationLoss:
    """Information lost to recoding and suppression.

    Found at ``result.info_loss`` of :func:`anonymise`.

    Attributes
    ----------
    frame : DataFrame
        One row per quasi-identifier (index ``variable``): ``recode_level`` and ``recoding``
        (what the level is), ``suppressed`` cells and their share (``suppressed_share``),
        ``categories_before`` / ``categories_after`` (distinct non-missing published values),
        ``entropy_before`` / ``entropy_after`` (bits; a suppressed value counts as a category of
        its own, so suppression alone can raise the entropy and make ``entropy_loss`` negative)
        and ``entropy_loss``.
    total_suppressed : int
        Values suppressed over all quasi-identifiers.
    records_touched : int
        Records with at least one suppressed value.
    total_recoded : int
        Values changed by global recoding.
    suppression : SuppressionResult
        How local suppression went.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "b": [1] * 9})
    >>> loss = anonymise(d, ["a", "b"], k=3).info_loss
    >>> loss
    InformationLoss(3 values suppressed in 3 records, 0 values recoded; milp: cost 4.5, bound 4.5,
    gap 0.0%, optimal)
    >>> loss.frame[["suppressed", "categories_before", "categories_after"]]
              suppressed  categories_before  categories_after
    variable
    a                  3                  3                 2
    b                  0                  1                 1
    """

    frame: pd.DataFrame
    total_suppressed: int
    records_touched: int
    total_recoded: int
    suppression: SuppressionResult

    def __repr__(self) -> str:
        s = self.suppression
        return (f"InformationLoss({self.total_suppressed} values suppressed in {self.records_touched} records, "
                f"{self.total_recoded} values recoded; {s.method}: cost {s.cost:g}, bound {s.lower_bound:g}, "
                f"gap {s.gap:.1%}{', optimal' if s.optimal else ''})")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.frame.to_html()


@dataclass(frozen=True, repr=False)
class AnonymisedData:
    """The result of :func:`anonymise`.

    Attributes
    ----------
    data : DataFrame
        The anonymised file: identifiers dropped, pseudonyms in place of kept ids, recoded
        quasi-identifiers, suppressed values missing (``suppressed`` tells them from values that
        were missing in the input; :func:`export_frame` codes them for SPSS/Stata).
    suppressed : DataFrame of bool
        Which quasi-identifier cells were suppressed.
    log : DataFrame
        Every change: ``row`` (0-based position; -1 for whole-column actions), ``column``,
        ``old_value``, ``new_value``, ``reason``, ``rule``, ``group`` (equivalence class before
        suppression), ``cost``. Confidential: it holds the original values.
    info_loss : InformationLoss
    risk_before, risk_after : RiskReport
        Risk of the input (identifiers dropped) and of the output (safe count).
    value_labels : dict
        Labels of recoded codes (bands), per column.
    parameters : dict
        The settings used (k, l, levels chosen, method ...); never the key.
    inference : DataFrame
        Suppressed values that other released columns gave back (:func:`gbvstats.disclosure.inferable`),
        by round, with the ``action`` taken ("suppressed" or "ignored"). Empty when there were none.

    See Also
    --------
    export_frame : the data coded for SPSS/Stata, suppressed values distinguishable.

    Examples
    --------
    The example survey with district and age as quasi-identifiers; names and phone numbers
    are dropped and the respondent id becomes a keyed pseudonym:

    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
    >>> key = gs.keys.Key(b"k" * 32, "example")
    >>> result = anonymise(survey.data, ["district", "age"], k=3, weights="weight",
    ...                    identifiers=["full_name", "phone", "birth_date"],
    ...                    pseudonymise={"resp_id": key},
    ...                    hierarchies={"age": [[15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65],
    ...                                         [15, 25, 35, 45, 55, 65]]})
    >>> result
    AnonymisedData(3136 records, k=3, l=1: 1759 -> 0 records violating k, expected
    re-identifications 55.84 -> 5.79; 230 values suppressed, 2494 recoded)
    >>> "full_name" in result.data, len(result.data["resp_id"].iloc[0])
    (False, 16)
    >>> result.parameters["recode_levels"], result.value_labels["age"][20.0]
    ({'age': 1}, '20–24')

    Commune (and its household count) would give a blanked district back, so they are blanked in
    the records where they would (``inference suppression``), and the district where a design
    column reveals it (``inference suppression (design)``):

    >>> result.suppressed.sum().to_dict()
    {'district': 105, 'age': 125, 'commune': 42, 'commune_households': 50}
    >>> result.log["rule"].value_counts().to_dict()
    {'global recoding': 2494, 'local suppression (milp)': 142, 'inference suppression': 92, 'inference suppression (design)': 88, 'identifier': 3, 'pseudonymisation': 1}
    >>> result.parameters["pseudonymised"]  # where the key came from, never the key
    {'resp_id': 'example'}
    """

    data: pd.DataFrame
    suppressed: pd.DataFrame
    log: pd.DataFrame
    info_loss: InformationLoss
    risk_before: RiskReport
    risk_after: RiskReport
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    inference: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        b, a = self.risk_before.summary, self.risk_after.summary
        return (f"AnonymisedData({len(self.data)} records, k={a.k}, l={a.l}: "
                f"{b.records_violating_k} -> {a.records_violating_k} records violating k, "
                f"expected re-identifications {b.expected_reidentifications:.2f} -> "
                f"{a.expected_reidentifications:.2f}; {self.info_loss.total_suppressed} values suppressed, "
                f"{self.info_loss.total_recoded} recoded)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.info_loss.frame.to_html()

    def write(self, path: Any, *, meta: Any = None, suppressed_code: int = -7) -> Any:
        """Write the anonymised file atomically: ``.sav``, ``.dta``, ``.csv`` or ``.parquet``.

        Suppressed values get ``suppressed_code`` labelled "suppressed for confidentiality" and,
        in SPSS, declared user-missing; the input file's variable labels, value labels and
        user-missing codes are kept when ``meta`` is given. Same result and code, same bytes.

        Parameters
        ----------
        path : str or Path
            The output file; its extension chooses the format.
        meta : FileMeta or Survey, optional
            The input's file metadata (``survey.meta.file``, or the survey read with
            :func:`gbvstats.read_survey`) for the labels.
        suppressed_code : int, default -7

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        SpecError
            Unknown extension; the suppression code already occurs in a suppressed column; SPSS
            cannot declare a column's user-missing codes.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> out = anonymise(pd.DataFrame({"a": [1, 1, 1, 2], "b": [5, 6, 7, 8]}), ["a"], k=2)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = out.write(pathlib.Path(tmp) / "release.csv")
        ...     p.read_text().splitlines()[-1]
        '-7.0,8'
        """
        from pathlib import Path

        from ..render import write_atomic
        from .export import OUT_FORMATS, microdata_bytes

        path = Path(path)
        fmt = OUT_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SpecError(f"{str(path)!r}: the extension must be one of {', '.join(OUT_FORMATS)}")
        if meta is not None and hasattr(meta, "meta") and hasattr(meta.meta, "file"):
            meta = meta.meta.file
        return write_atomic(path, microdata_bytes(self, fmt, meta, suppressed_code=suppressed_code))


# --------------------------------------------------------------------------------------------
# hierarchies

@dataclass(frozen=True)
class _Level:
    values: pd.Series
    description: str
    labels: dict | None
    parent: str | None = None


def _band_level(df: pd.DataFrame, qi: str, edges: Sequence[float]) -> _Level:
    e = np.asarray([float(x) for x in edges])
    if e.size < 2 or np.any(np.diff(e) <= 0):
        raise SpecError(f"hierarchy of {qi!r}: band break points {list(edges)} must be at least two "
                        "increasing numbers")
    col = df[qi]
    x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    not_numeric = np.flatnonzero(np.isnan(x) & col.notna().to_numpy())
    if len(not_numeric):
        raise SpecError(f"hierarchy of {qi!r}: bands need numbers but {format_rows(not_numeric)} hold "
                        f"non-numeric values (e.g. {col.iloc[not_numeric[0]]!r}); recode them first")
    ok = ~np.isnan(x)
    outside = np.flatnonzero(ok & ((x < e[0]) | (x >= e[-1])))
    if len(outside):
        raise SpecError(f"hierarchy of {qi!r}: bands [{e[0]:g}, {e[-1]:g}) do not cover the value "
                        f"{x[outside[0]]:g} in {format_rows(outside)}; widen the first or last break point")
    idx = np.clip(np.searchsorted(e, np.where(ok, x, e[0]), side="right") - 1, 0, e.size - 2)
    lower = np.where(ok, e[idx], np.nan)
    integral = np.all(e == np.round(e))

    def fmt(a: float, b: float) -> str:
        return f"{a:g}–{b - 1:g}" if integral else f"[{a:g}, {b:g})"

    labels = {float(a): fmt(a, b) for a, b in zip(e[:-1], e[1:])}
    desc = "bands " + ", ".join(labels.values())
    return _Level(pd.Series(lower, index=df.index, name=qi), desc, labels)


def _column_level(df: pd.DataFrame, qi: str, parent: str) -> _Level:
    if parent not in df.columns:
        raise SpecError(f"hierarchy of {qi!r}: the coarser column {parent!r} is not in the data"
                        f"{close_matches(parent, [str(c) for c in df.columns])}")
    child_codes, m, _ = column_codes(df[qi])
    parent_codes, pm, _ = column_codes(df[parent])
    pairs = np.unique(child_codes * np.int64(pm) + parent_codes)
    per_child = np.bincount(pairs // pm, minlength=m)
    bad_child = np.flatnonzero(per_child > 1)
    if len(bad_child):
        rows = np.flatnonzero(np.isin(child_codes, bad_child))
        raise SpecError(f"hierarchy of {qi!r}: {parent!r} is not coarser than {qi!r} — "
                        f"{len(bad_child)} value(s) of {qi!r} (e.g. {df[qi].iloc[rows[0]]!r}) lie in more "
                        f"than one {parent!r} ({format_rows(rows)}); fix the codes or the hierarchy")
    return _Level(df[parent].rename(qi), f"replaced by {parent}", None, parent)


def _mapping_level(df: pd.DataFrame, qi: str, mapping: Mapping) -> _Level:
    col = df[qi]
    mapped = col.map(mapping)
    uncovered = np.flatnonzero(col.notna().to_numpy() & mapped.isna().to_numpy())
    if len(uncovered):
        vals = pd.unique(col.iloc[uncovered])[:10]
        raise SpecError(f"hierarchy of {qi!r}: the mapping does not cover the value(s) "
                        f"{', '.join(map(repr, vals))} in {format_rows(uncovered)}; add them to the mapping")
    return _Level(mapped.rename(qi), "mapped " + ", ".join(f"{k}->{v}" for k, v in list(mapping.items())[:8]),
                  None)


def _hierarchy_levels(df: pd.DataFrame, qi: str, spec: Any) -> list[_Level]:
    """Normalise a hierarchy spec into its levels (level 1 = first coarsening)."""
    if hasattr(spec, "kind") and hasattr(spec, "levels"):  # gbvstats.spec.Hierarchy
        items = list(spec.levels)
        if spec.kind == "bands":
            return [_band_level(df, qi, lv) for lv in items]
        return [_column_level(df, qi, lv) for lv in items]
    if isinstance(spec, str):
        return [_column_level(df, qi, spec)]
    if isinstance(spec, Mapping):
        return [_mapping_level(df, qi, spec)]
    if isinstance(spec, Sequence) and len(spec) > 0:
        if all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in spec):
            return [_band_level(df, qi, spec)]
        levels = []
        for lv in spec:
            if isinstance(lv, str):
                levels.append(_column_level(df, qi, lv))
            elif isinstance(lv, Mapping):
                levels.append(_mapping_level(df, qi, lv))
            elif isinstance(lv, Sequence):
                levels.append(_band_level(df, qi, lv))
            else:
                raise SpecError(f"hierarchy of {qi!r}: level {lv!r} is not a column name, a list of "
                                "band break points or a mapping")
        return levels
    raise SpecError(f"hierarchy of {qi!r} must be a coarser column name, a list of band break points, a "
                    f"mapping, or a list of those levels (finest first); got {spec!r}")


def _entropy(codes: np.ndarray, m: int) -> float:
    if codes.size == 0:
        return 0.0
    p = np.bincount(codes, minlength=m) / codes.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


# --------------------------------------------------------------------------------------------
# published keys and checks

def _published_columns(C: np.ndarray, sizes: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    q = C.shape[1]
    return [np.where((mask >> j) & 1 == 1, sizes[j], C[:, j]) for j in range(q)]


def _published_key(C: np.ndarray, sizes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return combine_codes(_published_columns(C, sizes, mask), list(sizes + 1), C.shape[0])


def _failing(C, sizes, mask, k, l, sens) -> np.ndarray:
    """Records whose published class has fewer than k records or fewer than l distinct values."""
    return _failing_key(_published_key(C, sizes, mask), k, l, sens)


def _popcount(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    out = np.zeros(x.shape, dtype=np.int64)
    for _ in range(62):
        if not x.any():
            break
        out += x & 1
        x = x >> 1
    return out


def _mask_cost(mask: np.ndarray, costs: np.ndarray) -> np.ndarray:
    total = np.zeros(mask.shape, dtype=np.float64)
    for j, c in enumerate(costs):
        total += ((mask >> j) & 1) * c
    return total


# --------------------------------------------------------------------------------------------
# greedy repair (the heuristic, and the l-diversity fix after the milp)

def _radix(sizes: np.ndarray) -> np.ndarray | None:
    """Place values of a mixed-radix key over published codes (suppressed = sizes[j]), or None."""
    r = np.ones(sizes.size, dtype=np.int64)
    total = 1
    for j, s in enumerate(sizes):
        r[j] = total
        total *= int(s) + 1
        if total >= 2**62:
            return None
    return r


def _repair(C, sizes, costs, mask, k, l, sens) -> np.ndarray:
    """Suppress further values until every published class has k records and l distinct values.

    Each round, every record in a failing class gives up one more quasi-identifier: the one whose
    suppression puts it in the largest class (records already there plus failing records making the
    same move), ties to the cheaper (less important) variable. After at most q rounds the records
    left failing are fully suppressed; if that pool is itself too small or not diverse, donors are
    moved into it (see :func:`_fix_pool`). All steps are vectorised over records.
    """
    n, q = C.shape
    full = (1 << q) - 1
    mask = mask.copy()
    order = np.argsort(costs, kind="stable")  # cheapest first wins ties
    R = _radix(sizes)
    if R is None:
        return _repair_general(C, sizes, costs, mask, k, l, sens)
    base = C @ R
    delta = (sizes[None, :] - C) * R[None, :]  # key change when column j is suppressed
    for _ in range(q + 1):
        key = base.copy()
        for j in range(q):
            bit = ((mask >> j) & 1).astype(bool)
            key[bit] += delta[bit, j]
        fail = _failing_key(key, k, l, sens)
        V = np.flatnonzero(fail & (mask != full))
        if V.size == 0:
            break
        uk, ucount = np.unique(key[~fail], return_counts=True)
        best_pool = np.full(V.size, -1, dtype=np.int64)
        best_j = np.full(V.size, -1, dtype=np.int64)
        kV, mV = key[V], mask[V]
        for j in order:  # loop over variables, vectorised over records
            valid = ((mV >> j) & 1) == 0
            if not valid.any():
                continue
            cand = kV[valid] + delta[V[valid], j]
            if uk.size:
                pos = np.minimum(np.searchsorted(uk, cand), uk.size - 1)
                in_nv = np.where(uk[pos] == cand, ucount[pos], 0)
            else:
                in_nv = np.zeros(cand.size, dtype=np.int64)
            _, inv, cc = np.unique(cand, return_inverse=True, return_counts=True)
            pool = np.full(V.size, -1, dtype=np.int64)
            pool[valid] = in_nv + cc[inv]
            better = pool > best_pool
            best_pool = np.where(better, pool, best_pool)
            best_j = np.where(better, j, best_j)
        mask[V] |= np.int64(1) << best_j
    return _fix_pool(C, sizes, costs, mask, k, l, sens)


def _repair_uniform(C, sizes, costs, mask, k, l, sens, fail_fn=None) -> np.ndarray:
    """Variant of :func:`_repair` in which all failing records give up the *same* variable each round.

    Failing records then pool with each other (as in sdcMicro's ``localSuppression``), which suits
    l-diversity: a rare sensitive answer needs large classes. Each round tries every variable and
    keeps the one that leaves the fewest records failing (ties: cheaper variable).
    """
    n, q = C.shape
    full = (1 << q) - 1
    mask = mask.copy()
    R = _radix(sizes)
    if R is None and fail_fn is None:
        return _repair_general(C, sizes, costs, mask, k, l, sens)
    if R is not None:
        base = C @ R
        delta = (sizes[None, :] - C) * R[None, :]

    def keys(m):  # noqa: E306
        key = base.copy()
        for j in range(q):
            bit = ((m >> j) & 1).astype(bool)
            key[bit] += delta[bit, j]
        return key

    custom = fail_fn is not None
    if fail_fn is None:
        def fail_fn(m):
            return _failing_key(keys(m), k, l, sens)

    order = np.argsort(costs, kind="stable")
    for _ in range(q + 1):
        fail = fail_fn(mask)
        V = np.flatnonzero(fail & (mask != full))
        if V.size == 0:
            break
        best = None
        for j in order:  # loop over variables, vectorised over records
            valid = V[((mask[V] >> j) & 1) == 0]
            if valid.size == 0:
                continue
            trial = mask.copy()
            trial[valid] |= np.int64(1) << j
            still = int(fail_fn(trial).sum())
            if best is None or still < best[0]:
                best = (still, trial)
        mask = best[1]
    if custom:
        return mask
    return _fix_pool(C, sizes, costs, mask, k, l, sens)


def _failing_key(key, k, l, sens) -> np.ndarray:
    """Records whose class under ``key`` has fewer than k records or fewer than l distinct values."""
    g, G = dense(key)
    counts = np.bincount(g, minlength=G)
    fail_class = counts < k
    for codes, m, missing in sens:
        ok = ~missing
        pairs = np.unique(g[ok] * np.int64(m) + codes[ok])
        d = np.bincount(pairs // m, minlength=G)
        fail_class |= (d > 0) & (d < l)
    return fail_class[g]


def _repair_general(C, sizes, costs, mask, k, l, sens) -> np.ndarray:
    """:func:`_repair` for keys too wide for one 62-bit integer (re-densified at each step)."""
    n, q = C.shape
    full = (1 << q) - 1
    order = np.argsort(costs, kind="stable")
    for _ in range(q + 1):
        fail = _failing(C, sizes, mask, k, l, sens)
        V = np.flatnonzero(fail & (mask != full))
        if V.size == 0:
            break
        pub = np.stack(_published_columns(C, sizes, mask), axis=1)
        NV = ~fail
        best_pool = np.full(V.size, -1, dtype=np.int64)
        best_j = np.full(V.size, -1, dtype=np.int64)
        for j in order:
            valid = ((mask[V] >> j) & 1) == 0
            if not valid.any():
                continue
            cand = pub[V].copy()
            cand[:, j] = sizes[j]
            both = np.concatenate([pub[NV], cand[valid]], axis=0)
            key = combine_codes([both[:, t] for t in range(q)], list(sizes + 1), both.shape[0])
            gg, GG = dense(key)
            cnt = np.bincount(gg, minlength=GG)
            pool = np.full(V.size, -1, dtype=np.int64)
            pool[valid] = cnt[gg[int(NV.sum()):]]
            better = pool > best_pool
            best_pool = np.where(better, pool, best_pool)
            best_j = np.where(better, j, best_j)
        mask[V] |= np.int64(1) << best_j
    return _fix_pool(C, sizes, costs, mask, k, l, sens)


def _fix_pool(C, sizes, costs, mask, k, l, sens) -> np.ndarray:
    """Make the fully suppressed class safe by moving donors into it.

    Without sensitive variables: surplus records of classes larger than k (cheapest to suppress
    first), then whole classes, smallest first. With sensitive variables: whole classes, smallest
    first, until the pool has k records and l distinct values of each sensitive variable.
    """
    n, q = C.shape
    full = (1 << q) - 1
    fail = _failing(C, sizes, mask, k, l, sens)
    if not fail.any():
        return mask
    in_pool = mask == full
    if np.any(fail & ~in_pool):  # cannot happen after _repair; guard against silent errors
        raise DisclosureError("internal error: classes still fail before pooling; please report this")
    g, G = dense(_published_key(C, sizes, mask))
    counts = np.bincount(g, minlength=G)
    mask = mask.copy()
    if not sens:
        need = k - int(in_pool.sum())
        order = np.lexsort((np.arange(n), g))
        rank = np.empty(n, dtype=np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(g[order])) + 1]
        sizes_sorted = np.diff(np.r_[starts, n])
        rank[order] = np.arange(n) - np.repeat(starts, sizes_sorted)
        surplus = ~in_pool & (rank >= k)  # records beyond the first k of their class
        donors = np.flatnonzero(surplus)
        if donors.size >= need:
            extra = costs.sum() - _mask_cost(mask[donors], costs)
            pick = donors[np.lexsort((donors, extra))][:need]
            mask[pick] = full
            return mask
        mask[donors] = full
        need -= donors.size
        # every other class now has exactly k records: move whole classes, smallest index first
        g2, G2 = dense(_published_key(C, sizes, mask))
        pool_class = g2[np.flatnonzero(mask == full)[0]]
        cls = np.unique(g2[mask != full])
        take = cls[: int(np.ceil(need / k))]
        mask[np.isin(g2, take) & (g2 != pool_class)] = full
        return mask
    # with sensitive variables: whole classes, smallest first, shortest prefix that suffices
    cand_classes = np.unique(g[~in_pool])
    cls_order = cand_classes[np.lexsort((cand_classes, counts[cand_classes]))]
    pos = np.empty(G, dtype=np.int64)
    pos[cls_order] = np.arange(cls_order.size)
    rows = np.flatnonzero(~in_pool)
    rows = rows[np.lexsort((rows, pos[g[rows]]))]
    seq = np.concatenate([np.flatnonzero(in_pool), rows])
    n0 = int(in_pool.sum())
    ok_at = np.arange(1, seq.size + 1) >= k
    for codes, m, missing in sens:
        vals = np.where(missing[seq], -1, codes[seq])
        first = np.zeros(seq.size, dtype=bool)
        _, idx = np.unique(vals, return_index=True)
        first[idx] = True
        first &= vals >= 0
        ok_at &= np.cumsum(first) >= l
    # cut only at class boundaries (or take nothing)
    cls_seq = g[rows]
    ends = np.r_[np.flatnonzero(np.diff(cls_seq)) , rows.size - 1] + n0 if rows.size else np.array([], int)
    cut_points = np.r_[n0 - 1, ends] if n0 > 0 else ends
    good = cut_points[ok_at[cut_points]] if cut_points.size else cut_points
    if good.size == 0:
        raise DisclosureError(
            f"the file cannot be made {k}-anonymous and {l}-diverse: even with every quasi-identifier "
            f"suppressed the sensitive variables take fewer than {l} distinct values; lower l or "
            "remove the variable from the sensitive list")
    cut = int(good[0])
    mask[seq[: cut + 1]] = full
    return mask


# --------------------------------------------------------------------------------------------
# the integer programme

def _patterns(q: int, max_size: int) -> list[int]:
    full = (1 << q) - 1
    pats = [p for p in range(1, full + 1) if bin(p).count("1") <= max_size or p == full]
    return sorted(pats, key=lambda p: (bin(p).count("1"), p))


def _milp_suppress(GC, n_g, sizes, costs, k, *, max_pattern_size, time_limit, node_limit, max_vars):
    """Optimal local suppression over groups of identical records (safe semantics).

    Variables ``x[g, P]`` (integer): how many records of group g publish pattern P (the set of
    suppressed quasi-identifiers); ``y[c]`` (binary): whether published cell c is used. Each group
    places all its records; a used cell holds at least k records, an unused one none. Groups of k
    or more records keep the empty pattern unless donating helps a rare key. Cells that cannot
    reach k or contain no rare record are left out (they are never useful).

    Returns (pattern per group-slot assignment as (group, pattern, count) arrays, info dict) or None
    when the model would exceed ``max_vars`` even with single-variable patterns.
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    G, q = GC.shape
    small = n_g < k
    if not small.any():
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)), dict(
            status="no rare keys", optimal=True, bound=0.0, complete=True, size=q)
    size = min(max_pattern_size, q)
    while True:
        pats = _patterns(q, size)
        var_g, var_p, var_c, cell_cap = [], [], [], []
        n_cells = 0
        for P in pats:  # loop over patterns; vectorised over groups
            keep = [j for j in range(q) if not (P >> j) & 1]
            key = combine_codes([GC[:, j] for j in keep], [int(sizes[j]) for j in keep], G)
            c, Cn = dense(key)
            reach = np.bincount(c, weights=n_g, minlength=Cn)
            has_small = np.bincount(c, weights=small, minlength=Cn) > 0
            ok = has_small & (reach >= k)
            remap = np.cumsum(ok) - 1 + n_cells
            members = np.flatnonzero(ok[c])
            var_g.append(members)
            var_p.append(np.full(members.size, P, dtype=np.int64))
            var_c.append(remap[c[members]])
            cell_cap.append(reach[ok])
            n_cells += int(ok.sum())
        nv = sum(v.size for v in var_g)
        if nv <= max_vars or size <= 1:
            break
        size -= 1
    if nv > max_vars:
        return None
    var_g = np.concatenate(var_g)
    var_p = np.concatenate(var_p)
    var_c = np.concatenate(var_c)
    cell_cap = np.concatenate(cell_cap).astype(np.float64)
    # large groups that may donate keep an "unsuppressed" variable with its own cell
    large_touch = np.unique(var_g[~small[var_g]])
    var_g = np.concatenate([var_g, large_touch])
    var_p = np.concatenate([var_p, np.zeros(large_touch.size, dtype=np.int64)])
    var_c = np.concatenate([var_c, n_cells + np.arange(large_touch.size)])
    cell_cap = np.concatenate([cell_cap, n_g[large_touch].astype(np.float64)])
    n_cells += large_touch.size
    nx = var_g.size
    model_groups, grow = np.unique(var_g, return_inverse=True)
    ng = model_groups.size
    cost_p = _mask_cost(var_p, costs)
    obj = np.concatenate([cost_p, np.zeros(n_cells)])
    ones = np.ones(nx)
    A_group = sparse.csr_array((ones, (grow, np.arange(nx))), shape=(ng, nx + n_cells))
    cell_idx = np.arange(n_cells)
    A_low = sparse.csr_array((np.r_[ones, -float(k) * np.ones(n_cells)],
                              (np.r_[var_c, cell_idx], np.r_[np.arange(nx), nx + cell_idx])),
                             shape=(n_cells, nx + n_cells))
    A_up = sparse.csr_array((np.r_[ones, -cell_cap],
                             (np.r_[var_c, cell_idx], np.r_[np.arange(nx), nx + cell_idx])),
                            shape=(n_cells, nx + n_cells))
    target = n_g[model_groups].astype(np.float64)
    constraints = [
        LinearConstraint(A_group, target, target),
        LinearConstraint(A_low, 0.0, np.inf),
        LinearConstraint(A_up, -np.inf, 0.0),
    ]
    upper = np.r_[n_g[var_g].astype(np.float64), np.ones(n_cells)]
    res = milp(obj, constraints=constraints, integrality=np.ones(nx + n_cells),
               bounds=Bounds(np.zeros(nx + n_cells), upper),
               options={"time_limit": float(time_limit), "node_limit": int(node_limit), "disp": False,
                        "mip_rel_gap": 0.0})
    if res.x is None:
        return None
    x = np.round(res.x[:nx]).astype(np.int64)
    complete = size >= q - 1  # with the full pattern always included, size q-1 covers every subset
    optimal = res.status == 0
    bound = float(getattr(res, "mip_dual_bound", np.nan) or 0.0)
    info = dict(status=str(res.message), optimal=optimal, bound=bound, complete=complete, size=size)
    sel = x > 0
    return (var_g[sel], var_p[sel], x[sel]), info


def _assign_patterns(g, G, n, assignment) -> np.ndarray:
    """Give each record of the modelled groups its pattern (earlier rows keep more)."""
    gs, ps, xs = assignment
    mask = np.zeros(n, dtype=np.int64)
    if gs.size == 0:
        return mask
    o = np.lexsort((ps, gs))
    gs, ps, xs = gs[o], ps[o], xs[o]
    modelled = np.zeros(G, dtype=bool)
    modelled[gs] = True
    rows = np.flatnonzero(modelled[g])
    rows = rows[np.lexsort((rows, g[rows]))]
    mask[rows] = np.repeat(ps, xs)
    return mask


# --------------------------------------------------------------------------------------------
# the public function

def _resolve_pseudonymise(pseudonymise, key) -> dict:
    if pseudonymise is None:
        return {}
    if isinstance(pseudonymise, str):
        pseudonymise = [pseudonymise]
    if isinstance(pseudonymise, Mapping):
        return dict(pseudonymise)
    return {c: key for c in pseudonymise}


def _check_importance(qis, importance) -> np.ndarray:
    """Suppression cost per quasi-identifier: 1 + a small premium for the more important ones."""
    q = len(qis)
    if importance is None:
        order = list(qis)
    elif isinstance(importance, Mapping):
        unknown = [v for v in importance if v not in qis]
        if unknown:
            raise SpecError(f"importance names {', '.join(map(repr, unknown))}, which is not a "
                            f"quasi-identifier{close_matches(unknown[0], qis)}")
        costs = []
        for v in qis:
            c = importance.get(v, 1.0)
            if not isinstance(c, (int, float)) or isinstance(c, bool) or not c > 0:
                raise SpecError(f"importance[{v!r}] must be a positive cost, got {c!r}")
            costs.append(float(c))
        return np.asarray(costs)
    else:
        order = list(importance)
        unknown = [v for v in order if v not in qis]
        if unknown:
            raise SpecError(f"importance names {', '.join(map(repr, unknown))}, which is not a "
                            f"quasi-identifier{close_matches(unknown[0], qis)}")
        if len(set(order)) != len(order):
            raise SpecError("importance lists a variable more than once")
        order += [v for v in qis if v not in order]  # unlisted ones are least important
    # most important first: costs 1 + 0.5, ..., least important 1 + 0.5/q
    rank = {v: i for i, v in enumerate(order)}
    return np.asarray([1.0 + 0.5 * (q - rank[v]) / q for v in qis])


def anonymise(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    *,
    k: int = 5,
    l: int = 2,
    sensitive: Sequence[str] = (),
    hierarchies: Mapping[str, Any] | None = None,
    importance: Sequence[str] | Mapping[str, float] | None = None,
    identifiers: Sequence[str] = (),
    pseudonymise: Mapping[str, Any] | Sequence[str] | None = None,
    key: Any = None,
    weights: str | None = None,
    recode: Recode | Mapping[str, int] = "auto",
    max_suppressed_share: float = 0.05,
    method: Method = "auto",
    milp_max_records: int = 50_000,
    milp_max_rare: int = 3_000,
    max_pattern_size: int = 3,
    max_vars: int = 400_000,
    time_limit: float = 30.0,
    node_limit: int = 20_000,
    semantics: Semantics = "safe",
    never_suppress: Sequence[str] = (),
    drop: Sequence[str] = (),
    design_columns: Sequence[str] = (),
    on_inference: OnInference = "suppress",
    inference_pairs: bool | Sequence[tuple[str, str]] = False,
    inference_chance: float = 1e-3,
) -> AnonymisedData:
    """Make microdata k-anonymous (safe count) and l-diverse, recording every change.

    Parameters
    ----------
    df : DataFrame
        The microdata, one row per respondent.
    quasi_identifiers : list of str
        Columns an attacker may know.
    k : int, default 5
        Minimum number of records sharing each published key (suppressed values count as a symbol
        of their own).
    l : int, default 2
        Minimum distinct non-missing values of each sensitive variable per class (ignored without
        ``sensitive``).
    sensitive : list of str
        Sensitive variables (violence experienced, help sought); never quasi-identifiers.
    hierarchies : dict, optional
        Per quasi-identifier, its coarser levels, finest first: a coarser column name (``"district"``),
        a list of band break points (left-closed, ``[15, 20, 25, ..., 65]``), a ``{code: coarser
        code}`` mapping, a list of such levels, or a :class:`gbvstats.spec.Hierarchy`.
    importance : list of str or dict, optional
        Quasi-identifiers from the most to the least important (the least important is suppressed
        first), or explicit suppression costs ``{name: cost}``. Default: the order of
        ``quasi_identifiers``. Cost of suppressing the i-th of q (0-based) is ``1 + 0.5 (q - i) / q``:
        fewer suppressed values come first, importance breaks ties.
    identifiers : list of str
        Direct identifiers to drop.
    pseudonymise : dict or list of str, optional
        Identifier columns to keep as keyed pseudonyms: ``{"resp_id": key_source}`` (a
        :class:`gbvstats.keys.Key`, ``"env:NAME"``, ``"file:PATH"`` or None for ``$GBVSTATS_KEY``)
        or a list of columns using ``key``.
    key : Key or str, optional
        Key source for columns listed without their own.
    weights : str, optional
        Survey weights (for ``Fk`` and the risk measure).
    recode : {"auto", "none", "max"} or dict
        Global recoding: choose levels from the lattice (``"auto"``), none, the coarsest allowed,
        or fixed levels ``{"age": 1}``.
    max_suppressed_share : float, default 0.05
        ``recode="auto"`` keeps the least-loss levels that leave at most this share of records
        needing suppression.
    method : {"auto", "milp", "heuristic"}
        Local suppression: the integer programme or the vectorised heuristic. ``"auto"`` uses the
        integer programme when the file has at most ``milp_max_records`` records and at most
        ``milp_max_rare`` of them are in keys rarer than k (after recoding), else the heuristic.
        When the programme stops before proving optimality, ``"auto"`` keeps the heuristic's
        solution (an incumbent cut off by the clock depends on the machine's load, and the output
        must be reproducible); ``"milp"`` keeps the cheaper of the two.
    semantics : {"safe", "wildcard"}
        ``"safe"`` (default): a suppressed value is a symbol of its own, every published key occurs
        k times. ``"wildcard"``: sdcMicro's weaker rule, a blank matches any value (records are
        suppressed, least important variable first, until each has k wildcard matches); it can
        leave a record unique to someone who knows the true values, and ``risk_after`` then reports
        wildcard counts while ``parameters["safe_records_violating_k"]`` gives the safe count.
        Only for comparison with sdcMicro; not with ``sensitive``.
    max_pattern_size, max_vars, time_limit, node_limit
        Size limits of the integer programme: patterns suppress at most ``max_pattern_size``
        variables (or all), the model has at most ``max_vars`` variables, HiGHS stops after
        ``node_limit`` branch-and-bound nodes or ``time_limit`` seconds. ``info_loss.suppression``
        says whether the optimum was proven over all patterns (``optimal``, ``complete_patterns``).
    never_suppress : list of str
        Quasi-identifiers that local suppression must not touch (they may still be recoded): k and l
        are then reached by suppressing the others, separately within each combination of their
        values. Use it for the geography that the design columns (strata, weights) give away anyway.
    drop : list of str
        Columns that are not released (dropped like identifiers, logged per column).
    design_columns : list of str
        Released columns that estimation needs (weights, strata, PSUs, fpc); ``weights`` is always
        one. They are never blanked by the inference rule: if one gives a suppressed value back, a
        :class:`~gbvstats.errors.DisclosureError` says which and what to do.
    on_inference : {"suppress", "error", "ignore"}
        What to do when a released column that is not a quasi-identifier gives a suppressed value
        back (:func:`gbvstats.disclosure.inferable`): ``"suppress"`` (default) blanks that column in
        the records concerned (logged, rule "inference suppression"; repeated until nothing is
        recoverable); ``"error"`` raises; ``"ignore"`` keeps the file as it is. Every case found is
        listed in ``result.inference`` whatever the policy.
    inference_pairs : bool or list of (str, str)
        Also check pairs of released columns (``True``: every pair; or the pairs given).
    inference_chance : float, default 0.001
        Evidence a value of a column needs to count as giving a value back (see
        :func:`gbvstats.disclosure.inferable`); 1 counts every value seen with a single published
        value, however rarely (the most cautious).

    Returns
    -------
    AnonymisedData

    Raises
    ------
    SpecError
        A quasi-identifier, sensitive variable or identifier is not in the data; k < 2; a
        variable is both sensitive and quasi-identifier; a hierarchy does not cover the codes.
    KeyMissingError
        A column is to be pseudonymised and no key was given (no unkeyed fallback).
    DisclosureError
        The file cannot be made safe (fewer than k records, or too few distinct sensitive values);
        a design or sensitive column gives a suppressed value back; ``on_inference="error"`` and a
        column gives a suppressed value back.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "b": [1] * 9})
    >>> out = anonymise(d, ["a", "b"], k=3)
    >>> out.data["a"].isna().tolist(), out.info_loss.total_suppressed
    ([False, False, False, False, False, False, True, True, True], 3)
    >>> out.risk_after.summary.records_violating_k
    0
    """
    from ..keys import resolve
    from .pseudonym import pseudonymise as _pseudo

    t0 = time.perf_counter()
    if not isinstance(df, pd.DataFrame):
        raise SpecError(f"anonymise needs a pandas DataFrame, got {type(df).__name__}")
    qis = check_columns(df, quasi_identifiers, "quasi-identifier")
    if not qis:
        raise SpecError("give at least one quasi-identifier")
    if len(qis) > 20:
        raise SpecError(f"{len(qis)} quasi-identifiers: at most 20 are supported; recode or drop some")
    k = check_k(k)
    l = check_l(l)
    sens = check_columns(df, sensitive, "sensitive variable")
    both = [s for s in sens if s in qis]
    if both:
        raise SpecError(f"{', '.join(map(repr, both))} is declared both sensitive and quasi-identifier; "
                        "a variable is one or the other — remove it from one list")
    ids = check_columns(df, identifiers, "identifier")
    pseudo = _resolve_pseudonymise(pseudonymise, key)
    check_columns(df, list(pseudo), "column to pseudonymise")
    for role, names in (("identifier", ids), ("pseudonymised column", list(pseudo))):
        clash = [c for c in names if c in qis or c in sens]
        if clash:
            raise SpecError(f"{', '.join(map(repr, clash))} is declared {role} and also quasi-identifier or "
                            "sensitive; a direct identifier is dropped or pseudonymised, never published")
    clash = [c for c in ids if c in pseudo]
    if clash:
        raise SpecError(f"{', '.join(map(repr, clash))} is both dropped (identifiers) and pseudonymised; "
                        "choose one")
    dropped = check_columns(df, drop, "column to drop")
    clash = [c for c in dropped if c in qis or c in sens or c in pseudo or c in ids]
    if clash:
        raise SpecError(f"{', '.join(map(repr, clash))} is in drop and also declared quasi-identifier, sensitive, "
                        "identifier or pseudonymised; a dropped column is not released — remove it from one list")
    fixed = check_columns(df, never_suppress, "never-suppressed quasi-identifier")
    not_qi = [c for c in fixed if c not in qis]
    if not_qi:
        raise SpecError(f"never_suppress names {', '.join(map(repr, not_qi))}, which is not a quasi-identifier"
                        f"{close_matches(not_qi[0], qis)}")
    if fixed and len(fixed) == len(qis):
        raise SpecError("never_suppress lists every quasi-identifier: nothing is left to suppress; leave at "
                        "least one quasi-identifier free")
    if fixed and semantics == "wildcard":
        raise SpecError("never_suppress needs semantics='safe'")
    design = list(dict.fromkeys([c for c in (weights, *design_columns) if c]))
    check_columns(df, design, "design column")
    if not 0.0 < float(inference_chance) <= 1.0:
        raise SpecError(f"inference_chance must be in (0, 1], got {inference_chance!r}")
    if on_inference not in ON_INFERENCE:
        raise SpecError(f"on_inference={on_inference!r} is not one of {', '.join(map(repr, ON_INFERENCE))}")
    check_semantics(semantics)
    if semantics == "wildcard" and sens:
        raise SpecError("l-diversity is checked on safe classes only: use semantics='safe' with sensitive "
                        "variables")
    if method not in METHODS:
        raise SpecError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    if isinstance(recode, str) and recode not in RECODES:
        raise SpecError(f"recode={recode!r} is not one of {', '.join(map(repr, RECODES))} or a dict of levels")
    if not 0.0 <= float(max_suppressed_share) <= 1.0:
        raise SpecError(f"max_suppressed_share must be between 0 and 1, got {max_suppressed_share!r}")
    if weights is not None and weights in qis:
        raise SpecError(f"the weights column {weights!r} cannot be a quasi-identifier")
    w = weight_array(df, weights)
    costs = _check_importance(qis, importance)
    hierarchies = dict(hierarchies or {})
    unknown = [v for v in hierarchies if v not in qis]
    if unknown:
        raise SpecError(f"a hierarchy is given for {', '.join(map(repr, unknown))}, which is not a "
                        f"quasi-identifier{close_matches(unknown[0], qis)}")
    levels = {v: _hierarchy_levels(df, v, h) for v, h in hierarchies.items()}
    if isinstance(recode, Mapping):
        for v, lv in recode.items():
            if v not in levels:
                raise SpecError(f"recode level given for {v!r}, which has no hierarchy; "
                                f"hierarchies exist for: {', '.join(levels) or 'none'}")
            if isinstance(lv, bool) or not isinstance(lv, (int, np.integer)) or not 0 <= lv <= len(levels[v]):
                raise SpecError(f"recode level for {v!r} must be an integer from 0 to {len(levels[v])}, got {lv!r}")
    n = len(df)
    if n < k:
        raise DisclosureError(f"the file has {n} records, fewer than k = {k}: no release can be "
                              f"{k}-anonymous; pool more records or lower k")
    sens_enc = [column_codes(df[s]) for s in sens] if sens else []
    if sens:
        for s, (codes, m, missing) in zip(sens, sens_enc):
            distinct = np.unique(codes[~missing]).size
            if distinct < l:
                raise DisclosureError(f"the sensitive variable {s!r} takes {distinct} distinct value(s) in the "
                                      f"whole file, fewer than l = {l}: no release can be {l}-diverse; lower l")
    eff_l = l if sens else 1
    # resolve keys before any work: a missing key fails fast
    keys = {c: resolve(src) for c, src in pseudo.items()}

    # ---- risk before (identifiers dropped, nothing recoded)
    enc0 = [column_codes(df[c]) for c in qis]
    C0 = np.stack([e[0] for e in enc0], axis=1) if n else np.zeros((0, len(qis)), np.int64)
    sizes0 = np.asarray([e[1] for e in enc0], dtype=np.int64)
    risk_before = _risk_from_codes(df, C0, sizes0, np.zeros(n, np.int64), w, qis, sens, k, eff_l)

    # ---- global recoding
    level_values: dict[str, list[pd.Series]] = {}
    level_codes: dict[str, list[tuple[np.ndarray, int]]] = {}
    for j, v in enumerate(qis):
        vals = [df[v]] + [lv.values for lv in levels.get(v, [])]
        level_values[v] = vals
        level_codes[v] = [(enc0[j][0], enc0[j][1])] + [column_codes(s)[:2] for s in vals[1:]]
    entropy0 = {v: _entropy(*level_codes[v][0]) for v in qis}
    weight_of = dict(zip(qis, costs))

    def node_loss(node: dict) -> float:
        loss = 0.0
        for v, lv in node.items():
            if lv and entropy0[v] > 0:
                loss += weight_of[v] * (entropy0[v] - _entropy(*level_codes[v][lv])) / entropy0[v]
        return loss

    def node_violations(node: dict) -> int:
        cols = [level_codes[v][node.get(v, 0)] for v in qis]
        C = np.stack([c[0] for c in cols], axis=1)
        sz = np.asarray([c[1] for c in cols], dtype=np.int64)
        bad = int(_failing(C, sz, np.zeros(n, np.int64), k, eff_l, sens_enc).sum())
        if fixed:  # a cell of never-suppressed values that cannot reach k (or l) rules the level out
            fj = [qis.index(v) for v in fixed]
            failing_cells = _failing(C[:, fj], sz[fj], np.zeros(n, np.int64), k, eff_l, sens_enc)
            bad += n * int(failing_cells.any()) + int(failing_cells.sum())
        return bad

    hv = [v for v in qis if v in levels]
    if isinstance(recode, Mapping):
        chosen = {v: int(recode.get(v, 0)) for v in hv}
    elif recode == "none" or not hv:
        chosen = {v: 0 for v in hv}
    elif recode == "max":
        chosen = {v: len(levels[v]) for v in hv}
    else:
        grid = list(itertools.product(*[range(len(levels[v]) + 1) for v in hv]))
        if len(grid) > 1024:
            raise SpecError(f"the hierarchies allow {len(grid)} combinations of levels; give fewer levels or "
                            "fix some with recode={...}")
        limit = float(max_suppressed_share) * n
        scored = []
        for node_t in grid:  # loop over lattice nodes (a handful), vectorised inside
            node = dict(zip(hv, node_t))
            scored.append((node_violations(node), node_loss(node), sum(node_t), node_t))
        allowed = [s for s in scored if s[0] <= limit]
        best = min(allowed, key=lambda s: (s[1], s[2], s[3])) if allowed else \
            min(scored, key=lambda s: (s[0], s[1], s[2], s[3]))
        chosen = dict(zip(hv, best[3]))
    cols = [level_codes[v][chosen.get(v, 0)] for v in qis]
    C = np.stack([c[0] for c in cols], axis=1) if n else np.zeros((0, len(qis)), np.int64)
    C = np.asfortranarray(C)
    sizes = np.asarray([c[1] for c in cols], dtype=np.int64)

    # ---- local suppression
    t_ls = time.perf_counter()
    g, G = dense(combine_codes([C[:, j] for j in range(len(qis))], list(sizes), n))
    n_g = np.bincount(g, minlength=G)
    small_records = int((n_g[g] < k).sum())
    lower_bound = float(small_records * costs.min())
    if semantics == "wildcard":
        miss = [level_values[v][chosen.get(v, 0)].isna().to_numpy() for v in qis]
        code_list = [np.ascontiguousarray(C[:, j]) for j in range(len(qis))]

        def wild_fail(m):
            missing = [miss[j] | ((m >> j) & 1).astype(bool) for j in range(len(qis))]
            return wildcard_frequencies(code_list, list(sizes), missing, None, n)[0] < k

        mask_k = mask = _repair_uniform(C, sizes, costs, np.zeros(n, np.int64), k, 1, [], fail_fn=wild_fail)
        rule_k, info = _RULE_WILD, None
        cost_total = float(_mask_cost(mask, costs).sum())
        supp = SuppressionResult(
            method="wildcard heuristic", suppressed_values=int(_popcount(mask).sum()), cost=cost_total,
            lower_bound=0.0, gap=1.0 if cost_total else 0.0, optimal=cost_total == 0, complete_patterns=False,
            max_pattern_size=len(qis), status="wildcard (sdcMicro) semantics: no bound",
            seconds=time.perf_counter() - t_ls)
        if wild_fail(mask).any():
            raise DisclosureError("internal error: the wildcard re-check failed; nothing was released")
    elif fixed:
        mask_k, mask, rule_k, supp = _local_suppression_fixed(
            C, sizes, costs, [qis.index(v) for v in fixed], qis, df, k, eff_l, sens, sens_enc, t_ls,
            method=method, milp_max_records=milp_max_records, milp_max_rare=milp_max_rare,
            max_pattern_size=max_pattern_size, time_limit=time_limit, node_limit=node_limit, max_vars=max_vars)
    else:
        mask_k, mask, rule_k, supp = _local_suppression(
            C, sizes, costs, g, G, n_g, n, k, eff_l, sens_enc, small_records, lower_bound, t_ls, method=method,
            milp_max_records=milp_max_records, milp_max_rare=milp_max_rare, max_pattern_size=max_pattern_size,
            time_limit=time_limit, node_limit=node_limit, max_vars=max_vars)
    full = (1 << len(qis)) - 1

    # ---- design columns that give suppressed values back: suppress that value wherever the column
    # takes the revealing value (so it no longer co-occurs with a single published value), then let
    # the heuristic restore k and l; design columns themselves are never blanked
    mask_pre = mask
    forced = np.zeros(n, dtype=np.int64)
    pre_blanked: dict[str, np.ndarray] = {}
    released_x = [c for c in df.columns if c not in qis and c not in ids and c not in dropped]
    protected_x = [c for c in released_x if c in design or c in sens]
    if protected_x and on_inference == "suppress" and semantics == "safe":
        mask, forced, supp, pre_blanked = _design_inference(
            df, qis, level_values, chosen, C, sizes, costs, mask, released_x, protected_x,
            [qis.index(v) for v in fixed], k, eff_l, sens_enc, inference_chance, inference_pairs, supp)

    # ---- build the output and the log
    out = df.drop(columns=list(ids) + list(dropped)).copy()
    log_parts = []
    for c in ids:
        log_parts.append(_log_frame(np.array([-1]), c, "<identifier>", "<dropped>", "direct identifier dropped",
                                    "identifier", -1, 0.0))
    for c in dropped:
        log_parts.append(_log_frame(np.array([-1]), c, "<column>", "<dropped>", "not released (drop)",
                                    "dropped column", -1, 0.0))
    for c, kobj in keys.items():
        out[c] = pd.Series(_pseudo(df[c].to_numpy(dtype=object), kobj, context=""), index=df.index,
                           dtype=object)
        log_parts.append(_log_frame(np.array([-1]), c, "<identifier>", "<pseudonym>",
                                    "replaced by keyed HMAC-SHA256 pseudonym", "pseudonymisation", -1, 0.0))
    value_labels: dict[str, dict] = {}
    recode_desc = {}
    total_recoded = 0
    for j, v in enumerate(qis):
        lv = chosen.get(v, 0)
        if lv:
            lev = levels[v][lv - 1]
            new = lev.values
            old = df[v]
            same = old.to_numpy(dtype=object) == new.to_numpy(dtype=object)  # types may differ (str -> code)
            changed = np.flatnonzero(~(same | (old.isna() & new.isna()).to_numpy(dtype=bool)))
            total_recoded += changed.size
            log_parts.append(_log_frame(changed, v, old.to_numpy(dtype=object)[changed],
                                        new.to_numpy(dtype=object)[changed],
                                        f"global recoding to level {lv}: {lev.description}", _RULE_RECODE,
                                        g[changed], 0.0))
            out[v] = new.to_numpy()
            if lev.labels:
                value_labels[v] = lev.labels
            recode_desc[v] = (lv, lev.description)
        else:
            recode_desc[v] = (0, "original values")
    supp_frame = {}
    for j, v in enumerate(qis):
        bit = ((mask >> j) & 1).astype(bool)
        supp_frame[v] = bit
        rows = np.flatnonzero(bit)
        if rows.size == 0:
            continue
        col = out[v]
        old_vals = col.to_numpy(dtype=object)[rows]
        in_k = ((mask_k[rows] >> j) & 1).astype(bool)
        later = _RULE_L if sens else (_RULE_WILD if isinstance(rule_k, str) and rule_k == _RULE_WILD
                                      else _RULE_POOL)
        rule = np.where(in_k, rule_k[rows] if isinstance(rule_k, np.ndarray) else rule_k, later).astype(object)
        after = ~((mask_pre[rows] >> j) & 1).astype(bool)  # added by the design-column step
        rule[after] = _RULE_INFER_DESIGN
        fk = n_g[g[rows]]
        rare = fk < k
        reason = np.empty(rows.size, dtype=object)
        reason[in_k & rare] = f"its key occurred fewer than k = {k} times"
        reason[in_k & ~rare] = (f"donor: its key occurred at least k = {k} times; suppressed so that a "
                                "rare key reaches k")
        reason[~in_k] = (f"its class was not {eff_l}-diverse on the sensitive variables"
                         if sens else f"the fully suppressed records were fewer than k = {k}")
        was_forced = ((forced[rows] >> j) & 1).astype(bool)
        reason[after & was_forced] = ("a released design column gives it back: suppressed in every record with "
                                      "the same value of that column")
        reason[after & ~was_forced] = (f"suppressed so that k = {k} and l hold again after the design-column "
                                       "suppression")
        log_parts.append(pd.DataFrame({
            "row": rows.astype(np.int64), "column": v, "old_value": old_vals,
            "new_value": None, "reason": reason, "rule": rule, "group": g[rows].astype(np.int64),
            "cost": costs[j]}))
        if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("float64")
        out[v] = col.mask(pd.Series(bit, index=out.index))

    # ---- values that other released columns give back
    out, supp_frame, inference, infer_log = _inference_step(
        out, qis, supp_frame, design, sens, on_inference, inference_pairs, g, inference_chance, k, pre_blanked)
    log_parts.extend(infer_log)
    log = pd.concat(log_parts, ignore_index=True) if log_parts else _log_frame(
        np.zeros(0, np.int64), "", [], [], "", "", 0, 0.0)
    log["column"] = log["column"].astype("category")
    log["rule"] = log["rule"].astype("category")
    log = log.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    suppressed = pd.DataFrame(supp_frame, index=df.index)

    # ---- risk after, information loss
    risk_after = _risk_from_codes(df, C, sizes, mask, w, qis, sens, k, eff_l)
    safe_violations = risk_after.summary.records_violating_k
    if semantics == "wildcard":
        missing = [level_values[v][chosen.get(v, 0)].isna().to_numpy() | ((mask >> j) & 1).astype(bool)
                   for j, v in enumerate(qis)]
        fk_w, Fk_w = wildcard_frequencies([np.ascontiguousarray(C[:, j]) for j in range(len(qis))], list(sizes),
                                          missing, w, n)
        gw, Gw = dense(_published_key(C, sizes, mask))
        risk_after = _report(df.index, qis, sens, df, gw, Gw, fk_w, Fk_w, k, 1, "wildcard")
    if risk_after.summary.records_violating_k or risk_after.summary.records_violating_l:
        raise DisclosureError("internal error: the anonymised file failed its risk re-check; nothing was "
                              "released — please report this")
    if len(out) != n:
        raise DisclosureError("internal error: rows were lost; nothing was released")
    n_logged = int((log["rule"].astype(str).isin([_RULE_MILP, _RULE_HEUR, _RULE_L, _RULE_POOL, _RULE_WILD,
                                                  _RULE_INFER_DESIGN])).sum())
    if n_logged != supp.suppressed_values:
        raise DisclosureError("internal error: the change log does not account for every suppressed value")
    rows_info = []
    for j, v in enumerate(qis):
        bit = ((mask >> j) & 1).astype(bool)
        pub = np.where(bit, sizes[j], C[:, j])
        cats_before = int(np.unique(C0[:, j][~enc0[j][2]]).size)
        present = ~bit & ~column_codes(out[v].where(~pd.Series(bit, index=out.index)))[2]
        cats_after = int(np.unique(C[:, j][present]).size)
        rows_info.append({
            "variable": v, "recode_level": recode_desc[v][0], "recoding": recode_desc[v][1],
            "suppressed": int(bit.sum()), "suppressed_share": float(bit.mean()) if n else 0.0,
            "categories_before": cats_before, "categories_after": cats_after,
            "entropy_before": entropy0[v], "entropy_after": _entropy(pub, int(sizes[j]) + 1),
        })
    frame = pd.DataFrame(rows_info).set_index("variable")
    frame["entropy_loss"] = frame["entropy_before"] - frame["entropy_after"]
    info_loss = InformationLoss(frame=frame, total_suppressed=supp.suppressed_values,
                                records_touched=int((mask != 0).sum()), total_recoded=int(total_recoded),
                                suppression=supp)
    params = {"k": k, "l": eff_l, "quasi_identifiers": list(qis), "sensitive": list(sens),
              "identifiers_dropped": list(ids), "pseudonymised": {c: kobj.source for c, kobj in keys.items()},
              "recode_levels": dict(chosen),
              "recoded_from_column": {v: levels[v][lv - 1].parent for v, lv in chosen.items()
                                      if lv and levels[v][lv - 1].parent},
              "importance_costs": dict(zip(qis, map(float, costs))),
              "method": supp.method, "semantics": semantics,
              "safe_records_violating_k": int(safe_violations), "weights": weights,
              "never_suppress": list(fixed), "dropped": list(dropped), "design_columns": list(design),
              "on_inference": on_inference,
              "inference_suppressed": {c: int(suppressed[c].sum()) for c in suppressed.columns if c not in qis},
              "seconds": time.perf_counter() - t0}
    # the key source names where the key came from (env var / file path), never the key
    return AnonymisedData(data=out, suppressed=suppressed, log=log, info_loss=info_loss,
                          risk_before=risk_before, risk_after=risk_after, value_labels=value_labels,
                          parameters=params, inference=inference)


def _resuppress(C, sizes, costs, mask, fixed_idx, k, l, sens_enc) -> np.ndarray:
    """Restore k and l after extra suppressions (the heuristic repair, within cells of fixed QIs)."""
    n, q = C.shape
    if not fixed_idx:
        return _repair(C, sizes, costs, mask, k, l, sens_enc)
    free = np.asarray([j for j in range(q) if j not in fixed_idx], dtype=np.int64)
    cell, n_cells = dense(combine_codes([C[:, j] for j in fixed_idx], [int(sizes[j]) for j in fixed_idx], n))
    order = np.argsort(cell, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(cell, minlength=n_cells))]
    out = mask.copy()
    for c in range(n_cells):  # loop over cells of the never-suppressed variables; vectorised inside
        rows = np.sort(order[bounds[c]:bounds[c + 1]])
        sub = np.zeros(rows.size, dtype=np.int64)
        for j, col in enumerate(free):
            sub |= ((mask[rows] >> col) & 1) << j
        sens_sub = [(codes[rows], m, missing[rows]) for codes, m, missing in sens_enc]
        new = _repair(np.asarray(C[rows][:, free]), sizes[free], costs[free], sub, k, l, sens_sub)
        for j, col in enumerate(free):
            out[rows] |= ((new >> j) & 1) << col
    return out


def _design_inference(df, qis, level_values, chosen, C, sizes, costs, mask, released_x, protected_x, fixed_idx,
                      k, eff_l, sens_enc, chance, pairs, supp):
    """Suppress quasi-identifier values that released design (or sensitive) columns give back.

    Simulates the whole inference check (other columns blanked as the policy would) and, for the
    cases that involve a column that may not be blanked, suppresses the quasi-identifier in every
    record where that column takes a revealing value; the heuristic then restores k and l.
    """
    from dataclasses import replace

    from .inference import _find, _frame

    n = len(df)
    view = df[released_x].copy()
    for v in qis:
        view[v] = level_values[v][chosen.get(v, 0)].to_numpy()
    forced = np.zeros(n, dtype=np.int64)
    blanked: dict[str, np.ndarray] = {}
    found: list[pd.DataFrame] = []
    start = mask
    for _ in range(20):  # rounds (a few in practice)
        bits = {v: ((mask >> j) & 1).astype(bool) for j, v in enumerate(qis)}
        leaks = _find(view, qis, bits, released_x, blanked, pairs, chance, k)
        if not leaks:
            break
        ordinary = [x for x in leaks if not any(m in protected_x for m in x.members)]
        if ordinary:
            found.append(_frame(ordinary))
        for x in ordinary:  # what the policy will blank
            for c in x.members:
                blanked.setdefault(c, np.zeros(n, dtype=bool))[x.rows] = True
        leaks = [x for x in leaks if any(m in protected_x for m in x.members)]
        if not leaks:
            continue
        add = np.zeros(n, dtype=np.int64)
        for x in leaks:  # loop over cases; vectorised over records
            j = qis.index(x.reveals)
            if j in fixed_idx:
                raise DisclosureError(
                    f"the design column {x.column!r} gives back the never-suppressed {x.reveals!r}: internal "
                    "error, please report this")
            hit = np.zeros(n, dtype=bool)
            for c in x.members:
                if c in protected_x:
                    col = view[c]
                    hit |= col.isin(pd.unique(col.iloc[x.rows])).to_numpy()
            add[hit] |= np.int64(1) << j
        new = add & ~mask
        if not new.any():
            break
        forced |= new
        mask = _resuppress(C, sizes, costs, mask | add, fixed_idx, k, eff_l, sens_enc)
    if _failing(C, sizes, mask, k, eff_l, sens_enc).any():
        raise DisclosureError("internal error: k/l failed after the design-column suppression; nothing was "
                              "released — please report this")
    if mask is not start:
        cost = float(_mask_cost(mask, costs).sum())
        supp = replace(supp, suppressed_values=int(_popcount(mask).sum()), cost=cost, optimal=False,
                       gap=0.0 if cost == 0 else max(0.0, (cost - supp.lower_bound) / cost),
                       status=supp.status + "; further suppression where design columns gave values back")
    if found:  # what was blanked on the way, for the report (round 0)
        blanked["__report__"] = pd.concat(found, ignore_index=True)
    return mask, forced, supp, blanked


def _leak_text(x) -> str:
    return f"{x.column!r} gives back {x.reveals!r} in {x.rows.size} record(s)"


def _inference_step(out, qis, supp_frame, design, sens, on_inference, pairs, g, chance, k, pre_blanked=None):
    """Find suppressed values that released non-quasi-identifier columns give back; apply the policy.

    Returns the (possibly further blanked) data, the suppression flags (QIs plus blanked columns),
    the report frame and the log entries. Raises DisclosureError for design or sensitive columns,
    for ``on_inference="error"``, and when blanking cannot stop a leak.
    """
    from .inference import INFERENCE_COLUMNS, _find, _frame

    qis = list(qis)
    supp = {q: np.asarray(supp_frame[q], dtype=bool) for q in qis}
    released = [c for c in out.columns if c not in qis]
    blanked: dict[str, np.ndarray] = {}
    reports, log_parts = [], []

    def blank(c, rows, reason):
        b = blanked.setdefault(c, np.zeros(len(out), dtype=bool))
        rows = rows[~b[rows]]
        if rows.size == 0:
            return False
        b[rows] = True
        col = out[c]
        log_parts.append(pd.DataFrame({
            "row": rows.astype(np.int64), "column": c,
            "old_value": pd.Series(col.to_numpy(dtype=object)[rows], dtype=object), "new_value": None,
            "reason": reason, "rule": _RULE_INFER, "group": g[rows].astype(np.int64), "cost": 0.0}))
        if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            col = col.astype("float64")
        out[c] = col.mask(pd.Series(b, index=out.index))
        return True

    pre_blanked = dict(pre_blanked or {})
    pre_report = pre_blanked.pop("__report__", None)
    if pre_report is not None and len(pre_report):
        reports.append(pre_report.groupby(["column", "reveals"], sort=False, as_index=False).agg(
            rows_affected=("rows_affected", "max"), values_recoverable=("values_recoverable", "max"),
            revealing_values=("revealing_values", "max")).assign(round=0, action="suppressed"))
    for c, b in pre_blanked.items():  # found while suppressing for the design columns
        blank(c, np.flatnonzero(b), "gives back a suppressed quasi-identifier value (found while suppressing "
                                    "where design columns gave values back)")
    clean = False
    for round_ in range(1, 11):  # loop over rounds (blanking rarely needs more than one or two)
        leaks = _find(out, qis, supp, released, blanked, pairs, chance, k)
        if not leaks:
            clean = True  # this search on the file as it will be returned is the re-check
            break
        frame = _frame(leaks)
        frame["round"] = round_
        frame["action"] = "ignored" if on_inference == "ignore" else "suppressed"
        reports.append(frame)
        if on_inference == "ignore":
            break
        protected = [x for x in leaks if any(m in design or m in sens for m in x.members)]
        if on_inference == "error" or protected:
            bad = protected or leaks
            first = bad[0]
            col = next(m for m in first.members if m in design or m in sens) if protected else first.members[0]
            cases = "; ".join(_leak_text(x) for x in bad[:8]) + (f"; and {len(bad) - 8} more" if len(bad) > 8 else "")
            if protected and col in design:
                why = (f"the design column {col!r} cannot be blanked (estimation needs it in every record), so "
                       "nothing was released")
                fixes = (f"declare {first.reveals!r} never suppressed (never_suppress=[...]; [disclosure] "
                         f"never_suppress in the spec) so that k is reached by suppressing other variables; or "
                         f"release variance units that do not follow {first.reveals!r} instead of {col!r} "
                         "(pseudo-strata/PSUs) and pseudonymise PSU codes; or drop "
                         f"{col!r} (drop=[...]) if the release does not need it")
            elif protected:
                why = (f"the sensitive variable {col!r} is never blanked (its answers are what the file is for), "
                       "so nothing was released")
                fixes = (f"declare {first.reveals!r} never suppressed (never_suppress=[...]); or declare the "
                         f"variable that routes {col!r} a quasi-identifier; or drop {col!r} (drop=[...])")
            else:
                why = "on_inference='error', so nothing was released"
                fixes = ("use on_inference='suppress' to blank those columns in the records concerned; or declare "
                         "the column a quasi-identifier, or drop it (drop=[...]); or declare the quasi-identifier "
                         "never suppressed (never_suppress=[...])")
            raise DisclosureError(
                f"suppressed values can be read back from other released columns: {cases} (on the records "
                f"where the quasi-identifier is published, each value involved occurs with a single value of "
                f"it). {why[0].upper() + why[1:]}. Fix: {fixes}.")
        new_any = False
        for x in leaks:  # loop over (column, quasi-identifier) cases; vectorised over records
            for c in x.members:
                new_any |= blank(c, x.rows, f"gives back the suppressed {x.reveals!r}: on the records where "
                                            f"{x.reveals!r} is published this value of {x.column!r} occurs with a "
                                            "single value of it")
        if not new_any:
            raise DisclosureError(
                "suppressed values can be read back from the blanks of other columns: "
                + "; ".join(_leak_text(x) for x in leaks[:8])
                + ". Nothing was released. Declare those columns quasi-identifiers, drop them (drop=[...]) or "
                  "declare the quasi-identifier never suppressed (never_suppress=[...])")
    else:
        raise DisclosureError("suppressed values could still be read back from other columns after 10 rounds of "
                              "blanking; nothing was released — declare those columns quasi-identifiers or drop them")
    # ---- re-check (the same test as the public gs.disclosure.inferable on the result)
    if on_inference != "ignore" and not clean and _find(out, qis, supp, released, blanked, pairs, chance, k):
        raise DisclosureError("internal error: the inference re-check failed; nothing was released — please "
                              "report this")
    flags = dict(supp_frame)
    for c, b in blanked.items():
        if b.any():
            flags[c] = b
    inference = (pd.concat(reports, ignore_index=True) if reports
                 else _frame([]).assign(round=pd.Series(dtype=np.int64), action=pd.Series(dtype=object)))
    return out, flags, inference, log_parts


def _heuristic(C, sizes, costs, n, k) -> np.ndarray:
    """The cheaper of the two vectorised strategies (record-wise and variable-wise) for k."""
    a = _repair(C, sizes, costs, np.zeros(n, np.int64), k, 1, [])
    b = _repair_uniform(C, sizes, costs, np.zeros(n, np.int64), k, 1, [])
    return b if _mask_cost(b, costs).sum() < _mask_cost(a, costs).sum() else a


def _local_suppression(C, sizes, costs, g, G, n_g, n, k, eff_l, sens_enc, small_records, lower_bound, t_ls, *,
                       method, milp_max_records, milp_max_rare, max_pattern_size, time_limit, node_limit,
                       max_vars):
    """Safe-semantics local suppression: milp or heuristic for k, then the l-diversity repair."""
    use_milp = method == "milp" or (method == "auto" and n <= milp_max_records
                                    and small_records <= milp_max_rare)
    info = None
    mask_k = None
    if use_milp and small_records:
        first = np.full(G, n, dtype=np.int64)
        np.minimum.at(first, g, np.arange(n))
        out = _milp_suppress(C[first], n_g, sizes, costs, k, max_pattern_size=max_pattern_size,
                             time_limit=time_limit, node_limit=node_limit, max_vars=max_vars)
        if out is not None:
            assignment, info = out
            mask_k = _assign_patterns(g, G, n, assignment)
            if _failing(C, sizes, mask_k, k, 1, []).any():  # never trust a solver blindly
                mask_k = None
    rule_k = _RULE_MILP
    if mask_k is None:
        rule_k = _RULE_HEUR
        mask_k = _heuristic(C, sizes, costs, n, k)
        info_method = "heuristic"
    else:
        if not info["optimal"]:
            heur = _heuristic(C, sizes, costs, n, k)
            # "auto" must be reproducible: an incumbent cut off by the wall clock depends on the
            # machine's load, so it is only used when milp was asked for explicitly
            if method == "auto" or _mask_cost(heur, costs).sum() < _mask_cost(mask_k, costs).sum():
                mask_k, rule_k = heur, _RULE_HEUR
                info = dict(info, status=info["status"] + "; heuristic solution kept")
        info_method = "milp" if rule_k == _RULE_MILP else "milp+heuristic"
    cost_k = float(_mask_cost(mask_k, costs).sum())
    if info is not None and info["optimal"] and info["complete"] and rule_k == _RULE_MILP:
        lower_bound = max(lower_bound, min(info["bound"], cost_k))
    mask = mask_k
    if sens_enc:
        mask = _repair(C, sizes, costs, mask_k, k, eff_l, sens_enc)
        alt = _repair_uniform(C, sizes, costs, mask_k, k, eff_l, sens_enc)
        if _mask_cost(alt, costs).sum() < _mask_cost(mask, costs).sum():
            mask = alt
    else:
        mask = _fix_pool(C, sizes, costs, mask_k, k, 1, [])
    cost_total = float(_mask_cost(mask, costs).sum())
    gap = 0.0 if cost_total == 0 else max(0.0, (cost_total - lower_bound) / cost_total)
    optimal = bool(info is not None and info["optimal"] and info["complete"] and rule_k == _RULE_MILP
                   and np.array_equal(mask, mask_k))
    if optimal:
        gap = 0.0
    supp = SuppressionResult(
        method=info_method, suppressed_values=int(_popcount(mask).sum()), cost=cost_total,
        lower_bound=lower_bound, gap=gap, optimal=optimal,
        complete_patterns=bool(info["complete"]) if info else False,
        max_pattern_size=int(info["size"]) if info else C.shape[1],
        status=info["status"] if info else "heuristic", seconds=time.perf_counter() - t_ls)

    # ---- re-check before anything leaves this function
    if _failing(C, sizes, mask, k, eff_l, sens_enc).any():
        raise DisclosureError("internal error: the anonymised file failed its own k/l re-check; nothing "
                              "was released — please report this")

    return mask_k, mask, rule_k, supp


_MAX_FIXED_CELLS = 1000


def _plain(x) -> str:
    x = x.item() if isinstance(x, np.generic) else x
    return f"{int(x)}" if isinstance(x, float) and x.is_integer() else repr(x)


def _local_suppression_fixed(C, sizes, costs, fixed_idx, qis, df, k, eff_l, sens, sens_enc, t_ls, *, method,
                             milp_max_records, milp_max_rare, max_pattern_size, time_limit, node_limit, max_vars):
    """Local suppression that never touches the quasi-identifiers in ``fixed_idx``.

    The records are split by the combination of the never-suppressed values (a *cell*); within each
    cell the other quasi-identifiers are suppressed by :func:`_local_suppression` (integer programme or
    heuristic, l-diversity repair, pool), since a published key is always inside one cell. The loop
    runs over cells (a handful: e.g. province × urban), each vectorised over its records.
    """
    n, q = C.shape
    free = np.asarray([j for j in range(q) if j not in fixed_idx], dtype=np.int64)
    cell, n_cells = dense(combine_codes([C[:, j] for j in fixed_idx], [int(sizes[j]) for j in fixed_idx], n))
    if n_cells > _MAX_FIXED_CELLS:
        raise SpecError(f"never_suppress splits the file into {n_cells} cells (combinations of "
                        f"{', '.join(qis[j] for j in fixed_idx)}); at most {_MAX_FIXED_CELLS} are supported — "
                        "recode those variables or let local suppression use some of them")
    counts = np.bincount(cell, minlength=n_cells)
    fixed_names = [qis[j] for j in fixed_idx]

    def describe(c):
        r = int(np.flatnonzero(cell == c)[0])
        return ", ".join(f"{v} = {_plain(df[v].iloc[r])}" for v in fixed_names)

    small_cells = np.flatnonzero(counts < k)
    if small_cells.size:
        raise DisclosureError(
            f"with {', '.join(fixed_names)} never suppressed, {small_cells.size} combination(s) of their values "
            f"have fewer than k = {k} records (e.g. {describe(small_cells[0])}: {counts[small_cells[0]]} records); "
            "no suppression of the other variables can hide them — recode those variables (e.g. a coarser "
            "geography) or allow local suppression to blank them")
    order = np.argsort(cell, kind="stable")
    bounds = np.r_[0, np.cumsum(counts)]
    mask_k = np.zeros(n, dtype=np.int64)
    mask = np.zeros(n, dtype=np.int64)
    rule_k = np.empty(n, dtype=object)
    Cf, sf, cf = np.asfortranarray(C[:, free]), sizes[free], costs[free]
    parts = []
    for c in range(n_cells):  # loop over cells of the never-suppressed variables; vectorised inside
        rows = np.sort(order[bounds[c]:bounds[c + 1]])
        m = rows.size
        Cs = Cf[rows]
        sub_sens = [(codes[rows], mm, missing[rows]) for codes, mm, missing in sens_enc]
        for s_name, (codes, _, missing) in zip(sens, sub_sens):
            if 0 < np.unique(codes[~missing]).size < eff_l:
                raise DisclosureError(
                    f"with {', '.join(fixed_names)} never suppressed, the records with {describe(c)} hold fewer "
                    f"than l = {eff_l} distinct values of the sensitive variable {s_name!r}; no suppression of "
                    "the other variables can make them l-diverse — recode those variables or allow local "
                    "suppression to blank them")
        gs_, Gs = dense(combine_codes([Cs[:, j] for j in range(free.size)], list(sf), m))
        n_gs = np.bincount(gs_, minlength=Gs)
        small = int((n_gs[gs_] < k).sum())
        mk, ms, rk, sp = _local_suppression(
            Cs, sf, cf, gs_, Gs, n_gs, m, k, eff_l, sub_sens, small, float(small * cf.min()), t_ls,
            method=method, milp_max_records=milp_max_records, milp_max_rare=milp_max_rare,
            max_pattern_size=max_pattern_size, time_limit=time_limit / n_cells, node_limit=node_limit,
            max_vars=max_vars)
        for j, col in enumerate(free):  # loop over variables: move each cell's bits to their place
            mask_k[rows] |= ((mk >> j) & 1) << col
            mask[rows] |= ((ms >> j) & 1) << col
        rule_k[rows] = rk
        parts.append(sp)
    cost = float(sum(p.cost for p in parts))
    bound = float(sum(p.lower_bound for p in parts))
    methods = sorted({p.method for p in parts})
    supp = SuppressionResult(
        method="+".join(methods), suppressed_values=int(sum(p.suppressed_values for p in parts)), cost=cost,
        lower_bound=bound, gap=0.0 if cost == 0 else max(0.0, (cost - bound) / cost),
        optimal=all(p.optimal for p in parts), complete_patterns=all(p.complete_patterns for p in parts),
        max_pattern_size=min(p.max_pattern_size for p in parts),
        status=f"{n_cells} cells of never-suppressed {', '.join(fixed_names)}; "
               f"{sum(p.optimal for p in parts)} solved to proven optimality",
        seconds=time.perf_counter() - t_ls)
    return mask_k, mask, rule_k, supp


def _log_frame(rows, column, old, new, reason, rule, group, cost) -> pd.DataFrame:
    rows = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame({
        "row": rows, "column": column,
        "old_value": pd.Series(old if not np.isscalar(old) else [old] * rows.size, dtype=object),
        "new_value": pd.Series(new if not np.isscalar(new) else [new] * rows.size, dtype=object),
        "reason": reason, "rule": rule,
        "group": np.broadcast_to(np.asarray(group, dtype=np.int64), rows.shape).copy(), "cost": float(cost)})


def _risk_from_codes(df, C, sizes, mask, w, qis, sens, k, l) -> RiskReport:
    n = C.shape[0]
    g, G = dense(_published_key(C, sizes, mask))
    counts = np.bincount(g, minlength=G)
    fk = counts[g]
    Fk = np.bincount(g, weights=w, minlength=G)[g] if w is not None else fk.astype(np.float64)
    return _report(df.index, qis, sens, df, g, G, fk, Fk, k, l if sens else 1, "safe")


# --------------------------------------------------------------------------------------------
# output coding (pure: the CLI writes the files)

def export_frame(result: AnonymisedData, *, suppressed_code: int = -7) -> tuple[pd.DataFrame, dict, dict]:
    """The data with suppressed values replaced by a distinguishable code, plus SPSS metadata.

    Numeric quasi-identifiers get ``suppressed_code`` (default -7) with the value label
    "suppressed for confidentiality" and declared user-missing; text ones get the text
    ``str(suppressed_code)``. Values that were missing in the input stay system-missing.

    Parameters
    ----------
    result : AnonymisedData
        The output of :func:`anonymise`.
    suppressed_code : int, default -7
        The code written in place of a suppressed value. It must not occur among the published
        values of a quasi-identifier.

    Returns
    -------
    (frame, value_labels, missing_ranges)
        The data (a copy), and ``value_labels`` and ``missing_ranges`` in pyreadstat's
        ``write_sav`` format (the recoded bands' labels are included).

    Raises
    ------
    SpecError
        If a quasi-identifier already holds ``suppressed_code`` as a published value.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"district": ["North", "North", "North", "South", "South", "East"],
    ...                   "age_group": [2, 2, 2, 3, 3, 3]})
    >>> result = anonymise(d, ["district", "age_group"], k=2)
    >>> frame, value_labels, missing_ranges = export_frame(result)
    >>> frame["district"].tolist()
    ['North', 'North', 'North', '-7', '-7', '-7']
    >>> value_labels["age_group"], missing_ranges["age_group"]
    ({-7.0: 'suppressed for confidentiality'}, [-7.0])

    Writing an SPSS file (to a temporary folder here):

    >>> import os, tempfile, pyreadstat
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "anonymised.sav")
    ...     pyreadstat.write_sav(frame, path, variable_value_labels=value_labels,
    ...                          missing_ranges=missing_ranges)
    ...     back, meta = pyreadstat.read_sav(path, user_missing=True)
    >>> back["district"].tolist()
    ['North', 'North', 'North', '-7', '-7', '-7']
    """
    data = result.data.copy()
    labels: dict[str, dict] = {c: dict(v) for c, v in result.value_labels.items()}
    missing: dict[str, list] = {}
    for v in result.suppressed.columns:
        bit = result.suppressed[v].to_numpy()
        col = data[v]
        if pd.api.types.is_numeric_dtype(col.dtype):
            present = col.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.any(present[~bit] == suppressed_code):
                rows = np.flatnonzero(present == suppressed_code)
                raise SpecError(f"column {v!r} already holds the suppression code {suppressed_code} in "
                                f"{format_rows(rows)}; choose another code (e.g. suppressed_code=-77)")
            if bit.any():
                data[v] = col.astype("float64").where(~bit, float(suppressed_code))
            labels.setdefault(v, {})[float(suppressed_code)] = SUPPRESSED_LABEL
            missing[v] = [float(suppressed_code)]
        else:
            code = str(suppressed_code)
            if bit.any():
                data[v] = col.astype(object).where(~bit, code)
            labels.setdefault(v, {})[code] = SUPPRESSED_LABEL
            missing[v] = [code]
    return data, labels, missing
