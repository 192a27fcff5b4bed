"""Re-identification risk of survey microdata: key frequencies, individual risk, l-diversity.

A *key* is the combination of a record's quasi-identifier values. For each record:

* ``fk``  — the number of records in the file with the same key (sample frequency);
* ``Fk``  — the sum of their survey weights (an estimate of the population frequency);
* ``risk`` — the individual re-identification risk of Benedetti and Franconi (1998), in the
  approximation sdcMicro's ``indivRisk(method="approx")`` / ``measure_risk`` uses. With
  ``pk = fk / Fk`` (clipped to at most 1)::

      fk = 1:  r = pk / (1 - pk) * log(1 / pk)
      fk = 2:  r = pk / (1 - pk) - (pk / (1 - pk))**2 * log(1 / pk)
      fk > 2:  r = pk / (fk - (1 - pk))

  The limits as ``pk -> 1`` (no weights, or ``Fk <= fk``) are ``1 / fk`` for every ``fk``, which is
  what is returned there; an unweighted assessment is therefore the prosecutor risk ``1 / fk``.
  The expected number of re-identifications is ``sum(r)`` and the global risk ``mean(r)``.

Two counting rules for missing values (a suppressed or originally blank quasi-identifier):

* ``"safe"`` (default): a missing value is a symbol of its own, like any category. This is the
  count an attacker who knows the true values faces (prosecutor model).
* ``"wildcard"``: sdcMicro's rule — a missing value matches any value. It gives larger ``fk`` and can
  pass a record that is unique to someone who knows the true values: keys A=(1,1), B=(2,1),
  C=(1,1) with B's first value blanked give ``fk = 3`` for all three, yet B is the only 2. Offered
  for comparison with sdcMicro only.

l-diversity (distinct): within each equivalence class (records with the same key), a sensitive
variable must take at least ``l`` distinct non-missing values. A class in which everyone who
answered gave the same answer (``homogeneous``) discloses that answer for all its members whatever
``k`` is. Missing values are not values: ``{yes, missing, missing}`` has one distinct value and
fails l = 2. A class in which *nobody* has a value of the variable (a question skipped for all of
them) discloses nothing about it beyond the skip, which is governed by the variables the skip
depends on; it does not count as a violation.

References
----------
Benedetti, R. and Franconi, L. (1998). Statistical and technological solutions for controlled data
dissemination. Pre-proceedings of New Techniques and Technologies for Statistics, 1, 225-232.
Templ, M., Kowarik, A. and Meindl, B. (2015). Statistical disclosure control for micro-data using the
R package sdcMicro. Journal of Statistical Software 67(4).
Machanavajjhala, A. et al. (2007). l-diversity: privacy beyond k-anonymity. ACM TKDD 1(1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, close_matches, format_rows

__all__ = ["assess", "RiskReport", "RiskSummary", "individual_risk", "Semantics"]

Semantics = Literal["safe", "wildcard"]
SEMANTICS: tuple[str, ...] = get_args(Semantics)

_INT_LIMIT = np.int64(2) ** 62


# --------------------------------------------------------------------------------------------
# encoding helpers (shared with microdata.py)

def column_codes(col: pd.Series) -> tuple[np.ndarray, int, np.ndarray]:
    """Integer codes 0..m-1 of a column (missing is a code of its own), m, and the missing flags."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        missing = codes < 0
        m = len(col.cat.categories)
        if missing.any():
            codes = np.where(missing, m, codes)
            m += 1
        return codes, m, missing
    if col.dtype.kind in "iu" and len(col):
        # small integer codes (the usual survey case): offsets are exact codes, no hashing needed
        x = col.to_numpy()
        lo, hi = int(x.min()), int(x.max())
        if hi - lo < 1_000_000:
            return (x - lo).astype(np.int64), hi - lo + 1, np.zeros(len(x), dtype=bool)
    codes, uniques = pd.factorize(col, use_na_sentinel=False, sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    missing = col.isna().to_numpy()
    return codes, max(len(uniques), 1), missing


def combine_codes(columns: Sequence[np.ndarray], sizes: Sequence[int], n: int) -> np.ndarray:
    """Exact integer code of each row's combination of column codes (not necessarily dense).

    Mixed radix while the product of sizes fits in 62 bits; re-densified (``pd.factorize``) when it
    would overflow, so the result is exact for any number of columns and categories.
    """
    if not columns:
        return np.zeros(n, dtype=np.int64)
    key = np.asarray(columns[0], dtype=np.int64).copy()
    radix = int(sizes[0])
    for codes, size in zip(columns[1:], sizes[1:]):
        size = int(size)
        if radix * size >= _INT_LIMIT:
            key, uniq = pd.factorize(key, sort=False)
            key = np.asarray(key, dtype=np.int64)
            radix = max(len(uniq), 1)
        key = key * size + codes
        radix *= size
    return key


def dense(key: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes 0..G-1 (in order of first appearance) and G."""
    codes, uniq = pd.factorize(key, sort=False)
    return np.asarray(codes, dtype=np.int64), len(uniq)


def individual_risk(fk: np.ndarray, Fk: np.ndarray) -> np.ndarray:
    """Benedetti–Franconi individual risk (sdcMicro's approximation); see the module docstring.

    Parameters
    ----------
    fk : array_like of int
        Sample frequency of each record's key (number of records with the same key).
    Fk : array_like of float
        Estimated population frequency of the key (sum of the survey weights of those records);
        ``Fk = fk`` for unweighted data.

    Returns
    -------
    numpy.ndarray
        The risk of each record, in ``[0, 1]``.

    Notes
    -----
    With ``pk = min(fk / Fk, 1)``: ``r = pk / (1 - pk) * log(1 / pk)`` for ``fk = 1``,
    ``r = pk / (1 - pk) - (pk / (1 - pk))**2 * log(1 / pk)`` for ``fk = 2`` and
    ``r = pk / (fk - (1 - pk))`` for ``fk > 2``; ``r = 1 / fk`` where ``pk = 1``.
    Benedetti and Franconi (1998); Templ, Kowarik and Meindl (2015), section 3.

    See Also
    --------
    assess : fk, Fk and this risk for every record of a data set.

    Examples
    --------
    Without weights (``Fk = fk``) the risk is the prosecutor risk ``1 / fk``:

    >>> individual_risk(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])).round(4).tolist()
    [1.0, 0.5, 0.3333]
    >>> individual_risk(np.array([1]), np.array([10.0])).round(4).tolist()
    [0.2558]
    """
    fk = np.asarray(fk, dtype=np.float64)
    Fk = np.asarray(Fk, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = np.clip(fk / Fk, 0.0, 1.0)
        q = 1.0 - pk
        near = q < 1e-12
        qs = np.where(near, 1.0, q)
        ratio = pk / qs
        log_inv = -np.log(np.where(pk > 0, pk, 1.0))
        r1 = ratio * log_inv
        r2 = ratio - ratio**2 * log_inv
        r3 = pk / (fk - q)
    r = np.where(fk <= 1, r1, np.where(fk == 2, r2, r3))
    r = np.where(near, 1.0 / np.maximum(fk, 1.0), r)
    return np.clip(r, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# results

@dataclass(frozen=True)
class RiskSummary:
    """File-level figures of a :class:`RiskReport`.

    Attributes
    ----------
    records, keys : int
        Number of records and of distinct keys (combinations of quasi-identifier values).
    k, l : int
        The thresholds assessed (``l`` is 1 when no sensitive variable was given).
    semantics : str
        ``"safe"`` or ``"wildcard"`` (how missing quasi-identifier values count).
    records_violating_k, keys_violating_k : int
        Records in keys with ``fk < k``, and the number of such keys.
    records_violating_l, keys_violating_l : int
        Records in classes with fewer than ``l`` distinct values of a sensitive variable.
    records_homogeneous : int
        Records in classes where a sensitive variable has exactly one distinct value.
    expected_reidentifications, global_risk, max_risk : float
        Sum, mean and maximum of the individual risk.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"district": [1, 1, 1, 2], "age_group": [3, 3, 3, 3]})
    >>> summary = assess(d, ["district", "age_group"], k=3).summary
    >>> summary.records_violating_k, summary.keys_violating_k, round(summary.global_risk, 4)
    (1, 1, 0.5)
    """

    records: int
    keys: int
    k: int
    l: int
    semantics: str
    records_violating_k: int
    keys_violating_k: int
    records_violating_l: int
    keys_violating_l: int
    records_homogeneous: int
    expected_reidentifications: float
    global_risk: float
    max_risk: float

    def as_dict(self) -> dict:
        """The summary as a plain dict (for reports and JSON).

        Returns
        -------
        dict
            Field name to value, in the order of the fields.

        Examples
        --------
        >>> import json
        >>> import pandas as pd
        >>> d = pd.DataFrame({"district": [1, 1, 1, 2], "age_group": [3, 3, 3, 3]})
        >>> summary = assess(d, ["district", "age_group"], k=3).summary
        >>> json.dumps(summary.as_dict())[:61]
        '{"records": 4, "keys": 2, "k": 3, "l": 1, "semantics": "safe"'
        >>> summary.as_dict()["records_violating_k"]
        1
        """
        return dict(self.__dict__)


@dataclass(frozen=True, repr=False)
class RiskReport:
    """Per-record and file-level disclosure risk, returned by :func:`assess`.

    Attributes
    ----------
    frame : DataFrame
        One row per record (same index as the data): ``fk``, ``Fk``, ``risk``, ``violates_k``,
        ``violates_l``, ``homogeneous`` and ``l_<var>`` (distinct values of each sensitive
        variable in the record's class).
    summary : RiskSummary
        The file-level figures.
    quasi_identifiers, sensitive : tuple of str
        The columns assessed.

    Examples
    --------
    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
    >>> report = assess(survey.data, ["district", "age_group", "ethnicity"], k=5, weights="weight",
    ...                 sensitive=["ipv_phys_ever"])
    >>> report
    RiskReport(3136 records, 421 keys on 3 quasi-identifiers; k=5: 323 records in 179 keys violate;
    l=2: 521 records violate; expected re-identifications 9.15, global risk 0.0029, safe semantics)
    >>> report.frame[["fk", "Fk", "risk", "violates_k"]].head(3).round(4)
       fk         Fk    risk  violates_k
    0  29  2403.6589  0.0004       False
    1  19  1486.7233  0.0007       False
    2  23  1814.8511  0.0006       False
    >>> report.summary.records_violating_k
    323
    """

    frame: pd.DataFrame
    summary: RiskSummary
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        s = self.summary
        return (f"RiskReport({s.records} records, {s.keys} keys on {len(self.quasi_identifiers)} "
                f"quasi-identifiers; k={s.k}: {s.records_violating_k} records in "
                f"{s.keys_violating_k} keys violate; l={s.l}: {s.records_violating_l} records violate; "
                f"expected re-identifications {s.expected_reidentifications:.2f}, "
                f"global risk {s.global_risk:.4f}, {s.semantics} semantics)")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in self.summary.as_dict().items())
        return f"<table><caption>Disclosure risk</caption>{rows}</table>"


# --------------------------------------------------------------------------------------------
# validation

def check_columns(df: pd.DataFrame, names: Sequence[str], role: str) -> tuple[str, ...]:
    """Names must be distinct columns of df; the error lists close matches."""
    if isinstance(names, str):
        names = [names]
    names = tuple(names)
    cols = [str(c) for c in df.columns]
    for nm in names:
        if nm not in df.columns:
            raise SpecError(f"{role} {nm!r} is not a column of the data{close_matches(nm, cols)}; "
                            f"the columns are: {', '.join(cols[:30])}{' …' if len(cols) > 30 else ''}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SpecError(f"{role} lists {', '.join(map(repr, dup))} more than once; list each column once")
    return names


def check_k(k: object, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise SpecError(f"{name} must be an integer of at least 2 (k = 1 protects nobody), got {k!r}")
    return int(k)


def check_l(l: object) -> int:
    if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or l < 1:
        raise SpecError(f"l must be a positive integer (distinct l-diversity), got {l!r}")
    return int(l)


def weight_array(df: pd.DataFrame, weights: str | None) -> np.ndarray | None:
    if weights is None:
        return None
    check_columns(df, [weights], "weights column")
    col = df[weights]
    w = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if len(bad):
        raise DataError(f"weights column {weights!r} is missing, not numeric or not positive in "
                        f"{format_rows(bad)}; fix the weights (every respondent needs a positive weight)")
    return w


def check_semantics(semantics: str) -> str:
    if semantics not in SEMANTICS:
        raise SpecError(f"semantics={semantics!r} is not one of {', '.join(map(repr, SEMANTICS))}")
    return semantics


# --------------------------------------------------------------------------------------------
# core counting

def class_frequencies(key: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Dense class ids, fk and Fk per record, and the number of classes."""
    g, G = dense(key)
    counts = np.bincount(g, minlength=G)
    fk = counts[g]
    Fk = np.bincount(g, weights=w, minlength=G)[g] if w is not None else fk.astype(np.float64)
    return g, fk, Fk, G


def distinct_per_class(g: np.ndarray, G: int, values: pd.Series) -> np.ndarray:
    """Number of distinct non-missing values of ``values`` within each record's class."""
    codes, m, missing = column_codes(values)
    ok = ~missing
    pair = g[ok] * np.int64(m) + codes[ok]
    uniq_pairs = np.unique(pair)
    per_class = np.bincount(uniq_pairs // m, minlength=G)
    return per_class[g]


def wildcard_frequencies(codes: list[np.ndarray], sizes: list[int], missing: list[np.ndarray],
                         w: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """fk and Fk when a missing value matches any value (sdcMicro's rule).

    Records are grouped by their pattern of missing quasi-identifiers; for each pair of patterns
    the keys are compared on the columns present in both. The loop runs over pairs of *patterns*
    (at most a few dozen in practice), never over records.
    """
    q = len(codes)
    pattern = np.zeros(n, dtype=np.int64)
    for j in range(q):
        pattern |= missing[j].astype(np.int64) << j
    pats = np.unique(pattern)
    fk = np.zeros(n, dtype=np.float64)
    Fk = np.zeros(n, dtype=np.float64)
    members = {int(p): np.flatnonzero(pattern == p) for p in pats}
    for pi in pats:
        rows_i = members[int(pi)]
        for pj in pats:
            rows_j = members[int(pj)]
            union = int(pi) | int(pj)
            keep = [j for j in range(q) if not (union >> j) & 1]
            ki = combine_codes([codes[j][rows_i] for j in keep], [sizes[j] for j in keep], len(rows_i))
            kj = combine_codes([codes[j][rows_j] for j in keep], [sizes[j] for j in keep], len(rows_j))
            both, inv = np.unique(np.concatenate([kj, ki]), return_inverse=True)
            cnt = np.bincount(inv[: len(kj)], minlength=len(both))
            fk[rows_i] += cnt[inv[len(kj):]]
            if w is not None:
                wsum = np.bincount(inv[: len(kj)], weights=w[rows_j], minlength=len(both))
                Fk[rows_i] += wsum[inv[len(kj):]]
    if w is None:
        Fk = fk.copy()
    return fk.astype(np.int64), Fk


def assess(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    *,
    k: int = 5,
    weights: str | None = None,
    sensitive: Sequence[str] = (),
    l: int = 2,
    semantics: Semantics = "safe",
) -> RiskReport:
    """Assess the re-identification risk of microdata.

    Parameters
    ----------
    df : DataFrame
        The microdata, one row per respondent.
    quasi_identifiers : list of str
        Columns an attacker may know (locality, age band, ethnicity, ...).
    k : int, default 5
        Every key must occur at least ``k`` times (unweighted); records in smaller keys violate.
    weights : str, optional
        Survey weight column: ``Fk`` is the weighted frequency and the risk uses it. Without weights
        ``Fk = fk`` and the risk is ``1 / fk``.
    sensitive : list of str
        Sensitive variables checked for distinct l-diversity within each key.
    l : int, default 2
        Required distinct non-missing values of each sensitive variable per key (if ``sensitive``).
    semantics : {"safe", "wildcard"}
        How missing quasi-identifier values count (see the module docstring). ``"safe"`` is the
        prosecutor count; ``"wildcard"`` is sdcMicro's weaker rule, for comparison.

    Returns
    -------
    RiskReport

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a": [1, 1, 2, 1], "b": [1, 1, 1, 1], "y": [0, 1, 0, 0]})
    >>> rep = assess(d, ["a", "b"], k=2, sensitive=["y"], l=2)
    >>> rep.frame["fk"].tolist(), rep.frame["violates_k"].tolist()
    ([3, 3, 1, 3], [False, False, True, False])
    >>> rep.summary.records_violating_l
    1
    """
    qis = check_columns(df, quasi_identifiers, "quasi-identifier")
    if not qis:
        raise SpecError("give at least one quasi-identifier")
    k = check_k(k)
    l = check_l(l)
    check_semantics(semantics)
    sens = check_columns(df, sensitive, "sensitive variable")
    both = [s for s in sens if s in qis]
    if both:
        raise SpecError(f"{', '.join(map(repr, both))} is declared both sensitive and quasi-identifier; "
                        "a variable is one or the other (an attacker who knows it cannot learn it)")
    w = weight_array(df, weights)
    n = len(df)
    enc = [column_codes(df[c]) for c in qis]
    codes = [e[0] for e in enc]
    sizes = [e[1] for e in enc]
    key = combine_codes(codes, sizes, n)
    g, fk, Fk, G = class_frequencies(key, w)
    if semantics == "wildcard":
        fk, Fk = wildcard_frequencies(codes, sizes, [e[2] for e in enc], w, n)
    return _report(df.index, qis, sens, df, g, G, fk, Fk, k, l, semantics)


def _report(index, qis, sens, df, g, G, fk, Fk, k, l, semantics) -> RiskReport:
    n = len(g)
    # risk is a function of the class: compute it once per class, then spread to records
    first = np.full(G, 0, dtype=np.int64)
    first[g[::-1]] = np.arange(n - 1, -1, -1)
    risk = individual_risk(np.asarray(fk)[first], np.asarray(Fk)[first])[g] if n else np.zeros(0)
    violates_k = fk < k
    cols = {"fk": fk.astype(np.int64), "Fk": np.asarray(Fk, dtype=np.float64), "risk": risk,
            "violates_k": violates_k}
    violates_l = np.zeros(n, dtype=bool)
    homogeneous = np.zeros(n, dtype=bool)
    for s in sens:
        d = distinct_per_class(g, G, df[s])
        cols[f"l_{s}"] = d
        violates_l |= (d > 0) & (d < l)
        homogeneous |= d == 1
    cols["violates_l"] = violates_l
    cols["homogeneous"] = homogeneous
    frame = pd.DataFrame(cols, index=index)
    keys_k = np.unique(g[violates_k]).size
    keys_l = np.unique(g[violates_l]).size
    summary = RiskSummary(
        records=n, keys=G, k=k, l=l if sens else 1, semantics=semantics,
        records_violating_k=int(violates_k.sum()), keys_violating_k=int(keys_k),
        records_violating_l=int(violates_l.sum()), keys_violating_l=int(keys_l),
        records_homogeneous=int(homogeneous.sum()),
        expected_reidentifications=float(risk.sum()),
        global_risk=float(risk.mean()) if n else 0.0,
        max_risk=float(risk.max()) if n else 0.0,
    )
    return RiskReport(frame=frame, summary=summary, quasi_identifiers=tuple(qis), sensitive=tuple(sens))
