"""Suppressed values that other released columns give back (inference through released columns).

Local suppression blanks a quasi-identifier in some records, but the file usually carries other
columns that are not quasi-identifiers: the sampling stratum (= province × urban), the weight (each
value occurs in one stratum only), a recode of age, a commune-level count, a routing code ("not
asked" exactly when the woman never had a partner). If such a column X takes, on the records where
a quasi-identifier Q is published, values that each co-occur with exactly one value of Q, then any
record whose Q was suppressed but whose X carries such a value has its Q given back. Filling the
blank in breaks the class the record was hidden in: suppression that can be undone is no protection.

:func:`inferable` finds those cases (single columns, and optionally pairs of columns);
:func:`gbvstats.disclosure.anonymise` runs it after suppression and, by default, blanks X in the
records where it reveals a suppressed value (``on_inference="suppress"``).

Missing values of X count as a value of their own (a blank that occurs only with one value of Q
reveals it, as routing codes do); values of X already blanked by this rule count as one further
value of their own (the suppression code of the released file).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError, close_matches
from .risk import column_codes, combine_codes, dense

__all__ = ["inferable", "INFERENCE_COLUMNS"]

#: columns of the frame :func:`inferable` returns
INFERENCE_COLUMNS = ("column", "reveals", "rows_affected", "values_recoverable", "revealing_values")


@dataclass(frozen=True)
class _Leak:
    column: str            # "a" or "a + b"
    members: tuple          # the released column(s)
    reveals: str
    rows: np.ndarray        # positions of the suppressed cells of `reveals` that are recoverable
    values_recoverable: int  # distinct values of `reveals` recovered
    revealing_values: int    # distinct values of the column(s) that give one away


def _codes(col: pd.Series, blanked: np.ndarray | None) -> tuple[np.ndarray, int]:
    codes, m, _ = column_codes(col)
    if blanked is not None and blanked.any():
        codes = np.where(blanked, m, codes)
        m += 1
    return codes, m


def _determined(xcode: np.ndarray, m: int, Q: np.ndarray, chance: float) -> np.ndarray:
    """Per value of X (rows) and column of Q: the single published value of Q it gives away, or NaN.

    ``Q`` is float, NaN where the quasi-identifier is not published. A value of X gives Q away when
    all its published Q values are equal (min == max) and either X is a function of Q on the
    published records (every value of X with a published Q has a single one: strata, weights,
    commune-level counts), or the agreement is too strong for chance: ``share(a) ** n <= chance``
    where ``n`` is the number of published records with that value of X and ``share(a)`` the share
    of the value ``a`` among all published values of Q (routing codes, recodes).
    """
    g = pd.DataFrame(Q).groupby(xcode, sort=False)
    lo, hi, n = g.min().to_numpy(), g.max().to_numpy(), g.count().to_numpy()
    idx = g.min().index.to_numpy(dtype=np.int64)
    single = (lo == hi) & (n > 0)
    multi = (lo != hi) & (n > 0)
    function = ~multi.any(axis=0) & ((single & (n >= 2)).sum(axis=0) >= 2)  # per column of Q
    det = np.full((m, Q.shape[1]), np.nan)
    for j in range(Q.shape[1]):  # loop over quasi-identifiers; vectorised over values of X
        col = Q[:, j]
        pub = col[~np.isnan(col)].astype(np.int64)
        if pub.size == 0:
            continue
        share = np.bincount(pub) / pub.size
        a = np.where(single[:, j], lo[:, j], 0).astype(np.int64)
        strong = single[:, j] & (function[j] | (share[a] ** n[:, j] <= chance))
        det[idx[strong], j] = lo[strong, j]
    return det


def _find(data: pd.DataFrame, qis: Sequence[str], supp: Mapping[str, np.ndarray], columns: Sequence[str],
          blanked: Mapping[str, np.ndarray] | None = None,
          pairs: bool | Sequence[tuple[str, str]] = False, chance: float = 1e-3,
          full: Mapping[str, pd.Series] | None = None) -> list[_Leak]:
    """Every (released column or pair, suppressed quasi-identifier) where values are recoverable.

    With ``full`` (the quasi-identifiers' values before suppression) only recoveries that give the
    true value count, and only for values of X whose rule is right for at least half of the
    suppressed records carrying them (a rule that is mostly wrong misleads rather than discloses;
    suppression itself can make one appear, when the rare values of Q are the ones blanked).
    """
    blanked = blanked or {}
    targets = [q for q in qis if supp[q].any()]
    if not targets or not columns:
        return []
    Q = np.empty((len(data), len(targets)))
    T = np.full((len(data), len(targets)), np.nan)
    for j, q in enumerate(targets):
        codes, _, missing = column_codes(full[q] if full is not None else data[q])
        Q[:, j] = np.where(supp[q] | missing, np.nan, codes)
        if full is not None:
            T[:, j] = np.where(missing, np.nan, codes)
    S = np.column_stack([supp[q] for q in targets])
    # published classes (a suppressed value is a symbol of its own): a column that is constant within
    # a record's class gives every member the same value back, which merges classes, never splits them
    parts, sizes = [], []
    for q in qis:
        codes, m_, _ = column_codes(data[q])
        parts.append(np.where(supp[q], m_, codes))
        sizes.append(m_ + 1)
    classes, _ = dense(combine_codes(parts, sizes, len(data)))
    any_supp = S.any(axis=1)
    leaks: list[_Leak] = []
    covered = {q: np.zeros(len(data), dtype=bool) for q in targets}
    enc = {c: _codes(data[c], blanked.get(c)) for c in columns}

    def check(name, members, xcode, m, skip_covered):
        # only values of X that occur in a record with something suppressed matter
        if not any_supp.any():
            return
        det = _determined(xcode, m, Q, chance)
        per_class = pd.Series(xcode).groupby(classes, sort=False)
        lo, hi = per_class.min(), per_class.max()
        varies = np.zeros(int(classes.max()) + 1 if classes.size else 0, dtype=bool)
        varies[lo.index.to_numpy(dtype=np.int64)] = lo.to_numpy() != hi.to_numpy()
        splits = varies[classes]
        for j, q in enumerate(targets):  # loop over quasi-identifiers; vectorised over records
            hit = S[:, j] & ~np.isnan(det[xcode, j]) & splits
            if full is not None and hit.any():
                right = hit & (det[xcode, j] == T[:, j])
                share = np.bincount(xcode[right], minlength=m) / np.maximum(np.bincount(xcode[hit], minlength=m), 1)
                hit = right & (share[xcode] >= 0.5)
            if skip_covered:
                hit &= ~covered[q]
            rows = np.flatnonzero(hit)
            if rows.size == 0:
                continue
            if not skip_covered:
                covered[q] |= hit
            leaks.append(_Leak(name, members, q, rows, int(np.unique(det[xcode[rows], j]).size),
                               int(np.unique(xcode[rows]).size)))

    for c in columns:  # loop over released columns (a few dozen); vectorised over records
        xcode, m = enc[c]
        check(c, (c,), xcode, m, False)
    if pairs:
        pair_list = list(itertools.combinations(columns, 2)) if pairs is True else [tuple(p) for p in pairs]
        for a, b in pair_list:
            if a not in enc or b not in enc:
                missing = a if a not in enc else b
                raise SpecError(f"pair ({a!r}, {b!r}): {missing!r} is not one of the released columns checked"
                                f"{close_matches(missing, list(enc))}")
            (ca, ma), (cb, mb) = enc[a], enc[b]
            xcode, m = dense(combine_codes([ca, cb], [ma, mb], len(data)))
            check(f"{a} + {b}", (a, b), xcode, m, True)
    return leaks


def _frame(leaks: Sequence[_Leak]) -> pd.DataFrame:
    return pd.DataFrame({
        "column": pd.Series([x.column for x in leaks], dtype=object),
        "reveals": pd.Series([x.reveals for x in leaks], dtype=object),
        "rows_affected": np.asarray([x.rows.size for x in leaks], dtype=np.int64),
        "values_recoverable": np.asarray([x.values_recoverable for x in leaks], dtype=np.int64),
        "revealing_values": np.asarray([x.revealing_values for x in leaks], dtype=np.int64),
    }, columns=list(INFERENCE_COLUMNS))


def inferable(
    data: Any,
    quasi_identifiers: Sequence[str] | None = None,
    *,
    suppressed: pd.DataFrame | None = None,
    columns: Sequence[str] | None = None,
    pairs: bool | Sequence[tuple[str, str]] = False,
) -> pd.DataFrame:
    """Suppressed quasi-identifier values that released non-quasi-identifier columns give back.

    For every released column X that is not a quasi-identifier and every quasi-identifier Q with
    suppressed values: a value of X *determines* Q when, on the records where Q is published, it
    co-occurs with exactly one value of Q. A record whose Q was suppressed and whose X holds such a
    value has its Q recoverable. Missing values of X are a value of their own (routing codes).

    Parameters
    ----------
    data : DataFrame or AnonymisedData
        The released file (suppressed values missing), or the result of
        :func:`~gbvstats.disclosure.anonymise` (then ``quasi_identifiers`` and ``suppressed`` default
        to its own, and cells blanked by the inference rule count as a value of their own).
    quasi_identifiers : list of str
        The quasi-identifiers (required with a DataFrame).
    suppressed : DataFrame of bool, optional
        Which quasi-identifier cells were suppressed. Default: every missing quasi-identifier value
        (the cautious reading of a file whose suppression marks were read as missing).
    columns : list of str, optional
        Released columns to check. Default: every column that is not a quasi-identifier.
    pairs : bool or list of (str, str)
        Also check pairs of columns (``True``: every pair of ``columns``; or the pairs given). A pair
        is reported only for the records neither of its columns reveals alone.

    Returns
    -------
    DataFrame
        One row per (column, quasi-identifier) with recoverable values: ``column`` (``"a + b"`` for
        a pair), ``reveals``, ``rows_affected`` (suppressed cells that can be filled back in),
        ``values_recoverable`` (distinct values of the quasi-identifier given back) and
        ``revealing_values`` (distinct values of the column that give one away). Empty when nothing
        is recoverable. No record-level values.

    Raises
    ------
    SpecError
        A named column is not in the data, or ``suppressed`` does not match it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = pd.DataFrame({"province": [1, 1, 2, 2, np.nan],
    ...                   "stratum": [11, 11, 21, 21, 21],
    ...                   "answer": [1, 2, 1, 2, 1]})
    >>> inferable(d, ["province"])
      column   reveals  rows_affected  values_recoverable  revealing_values
    0  stratum  province              1                   1                 1
    """
    from .microdata import AnonymisedData

    blanked: dict[str, np.ndarray] = {}
    if isinstance(data, AnonymisedData):
        result = data
        data = result.data
        qis_all = list(result.parameters.get("quasi_identifiers", []))
        if quasi_identifiers is None:
            quasi_identifiers = qis_all
        if suppressed is None:
            suppressed = result.suppressed
        blanked = {c: suppressed[c].to_numpy(dtype=bool) for c in suppressed.columns
                   if c not in quasi_identifiers}
    if not isinstance(data, pd.DataFrame):
        raise SpecError(f"inferable needs a pandas DataFrame or an AnonymisedData, got {type(data).__name__}")
    if quasi_identifiers is None:
        raise SpecError("give the quasi-identifiers: inferable(data, ['province', 'urban', ...])")
    if isinstance(quasi_identifiers, str):
        quasi_identifiers = [quasi_identifiers]
    qis = list(quasi_identifiers)
    names = [str(c) for c in data.columns]
    for q in qis:
        if q not in data.columns:
            raise SpecError(f"quasi-identifier {q!r} is not a column of the data{close_matches(q, names)}")
    if columns is None:
        columns = [c for c in data.columns if c not in qis]
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
        for c in columns:
            if c not in data.columns:
                raise SpecError(f"column {c!r} is not a column of the data{close_matches(str(c), names)}")
        columns = [c for c in columns if c not in qis]
    if suppressed is None:
        supp = {q: data[q].isna().to_numpy() for q in qis}
    else:
        if not isinstance(suppressed, pd.DataFrame) or len(suppressed) != len(data):
            raise SpecError("suppressed must be a DataFrame of booleans with one row per record of the data "
                            f"({len(data)} rows)")
        supp = {q: (suppressed[q].to_numpy(dtype=bool) if q in suppressed.columns
                    else np.zeros(len(data), dtype=bool)) for q in qis}
    return _frame(_find(data, qis, supp, columns, blanked, pairs))
