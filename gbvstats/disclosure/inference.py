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
    values: np.ndarray       # the code of `reveals` recovered in each of `rows`


def _codes(col: pd.Series, blanked: np.ndarray | None) -> tuple[np.ndarray, int, int | None]:
    codes, m, _ = column_codes(col)
    if blanked is not None and blanked.any():
        return np.where(blanked, m, codes), m + 1, m
    return codes, m, None


def _determined(xcode: np.ndarray, m: int, Q: np.ndarray, chance: float,
                 blank_code: int | None = None) -> np.ndarray:
    """Per value of X (rows) and column of Q: the single published value of Q it gives away, or NaN.

    ``Q`` is float, NaN where the quasi-identifier is not published. A value of X that co-occurs
    with ``n`` published records, all with the same value of Q, gives that value away when the
    agreement is too strong for chance: ``P(n) = sum over values a of share(a) ** n <= chance``
    (``share`` among all published values of Q: the probability that n records drawn at random
    agree), or when X as a whole is a function of Q on the published records and the product of
    ``P(n)`` over its values is ``<= chance`` (strata, weights, commune-level counts: then every value
    counts, however few records carry it). ``blank_code`` (the mark of cells blanked by the
    inference rule) gives nothing away.
    """
    g = pd.DataFrame(Q).groupby(xcode, sort=False)
    lo, hi, n = g.min().to_numpy(), g.max().to_numpy(), g.count().to_numpy()
    idx = g.min().index.to_numpy(dtype=np.int64)
    if blank_code is not None:
        n = np.where((idx == blank_code)[:, None], 0, n)
    single = (lo == hi) & (n > 0)
    multi = (lo != hi) & (n > 0)
    det = np.full((m, Q.shape[1]), np.nan)
    for j in range(Q.shape[1]):  # loop over quasi-identifiers; vectorised over values of X
        col = Q[:, j]
        pub = col[~np.isnan(col)].astype(np.int64)
        if pub.size == 0 or not single[:, j].any():
            continue
        share = np.bincount(pub) / pub.size
        share = share[share > 0]
        nj = n[:, j]
        un, inv = np.unique(nj, return_inverse=True)
        with np.errstate(divide="ignore"):
            logp = np.log(np.power.outer(share, un.astype(np.float64)).sum(axis=0))[inv]  # log P(n) per value
        function = not multi[:, j].any() and logp[single[:, j]].sum() <= np.log(chance)
        strong = single[:, j] & (function | (logp <= np.log(chance)))
        det[idx[strong], j] = lo[strong, j]
    return det


def _find(data: pd.DataFrame, qis: Sequence[str], supp: Mapping[str, np.ndarray], columns: Sequence[str],
          blanked: Mapping[str, np.ndarray] | None = None,
          pairs: bool | Sequence[tuple[str, str]] = False, chance: float = 1e-3,
          k: int | None = None) -> list[_Leak]:
    """Every (released column or pair, suppressed quasi-identifier) where values are recoverable.

    With ``k``: only the recoveries that break k — every recoverable value is filled in (as an
    intruder would), the published classes are recounted with the filled values, and the
    recoveries kept are those of the original classes that have a record in a filled class of
    fewer than k records.
    """
    blanked = blanked or {}
    targets = [q for q in qis if supp[q].any()]
    if not targets or not columns:
        return []
    Q = np.empty((len(data), len(targets)))
    for j, q in enumerate(targets):
        codes, _, missing = column_codes(data[q])
        Q[:, j] = np.where(supp[q] | missing, np.nan, codes)
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

    def check(name, members, xcode, m, skip_covered, blank_code=None):
        # only values of X that occur in a record with something suppressed matter
        if not any_supp.any():
            return
        det = _determined(xcode, m, Q, chance, blank_code)
        per_class = pd.Series(xcode).groupby(classes, sort=False)
        lo, hi = per_class.min(), per_class.max()
        varies = np.zeros(int(classes.max()) + 1 if classes.size else 0, dtype=bool)
        varies[lo.index.to_numpy(dtype=np.int64)] = lo.to_numpy() != hi.to_numpy()
        splits = varies[classes]
        for j, q in enumerate(targets):  # loop over quasi-identifiers; vectorised over records
            hit = S[:, j] & ~np.isnan(det[xcode, j]) & splits
            if skip_covered:
                hit &= ~covered[q]
            rows = np.flatnonzero(hit)
            if rows.size == 0:
                continue
            if not skip_covered:
                covered[q] |= hit
            leaks.append(_Leak(name, members, q, rows, int(np.unique(det[xcode[rows], j]).size),
                               int(np.unique(xcode[rows]).size), det[xcode[rows], j]))

    for c in columns:  # loop over released columns (a few dozen); vectorised over records
        xcode, m, blank_code = enc[c]
        if m >= len(data) and np.bincount(xcode, minlength=m).max(initial=0) <= 1:
            # every value once (ids, pseudonyms): no value is seen with a published one
            continue
        check(c, (c,), xcode, m, False, blank_code)
    if pairs:
        pair_list = list(itertools.combinations(columns, 2)) if pairs is True else [tuple(p) for p in pairs]
        for a, b in pair_list:
            if a not in enc or b not in enc:
                missing = a if a not in enc else b
                raise SpecError(f"pair ({a!r}, {b!r}): {missing!r} is not one of the released columns checked"
                                f"{close_matches(missing, list(enc))}")
            (ca, ma, ba), (cb, mb, bb) = enc[a], enc[b]
            xcode, m = dense(combine_codes([ca, cb], [ma, mb], len(data)))
            blank = np.zeros(len(data), dtype=bool)
            for code, bc in ((ca, ba), (cb, bb)):
                if bc is not None:
                    blank |= code == bc
            if blank.any():  # a pair with a blanked member gives nothing away (as a blank alone)
                xcode = np.where(blank, m, xcode)
                check(f"{a} + {b}", (a, b), xcode, m + 1, True, m)
            else:
                check(f"{a} + {b}", (a, b), xcode, m, True)
    if k is None or not leaks:
        return leaks
    # ---- the intruder's view: recoverable values filled in (all of them, and those of each column
    # alone: an intruder may use some columns and not others); which records fall below k?
    base = []
    for q in qis:
        codes, m_, _ = column_codes(data[q])
        base.append((np.where(supp[q], m_, codes), m_ + 1))
    hurt = np.zeros(int(classes.max()) + 1, dtype=bool)
    by_column: dict[str, list] = {}
    for x in leaks:
        by_column.setdefault(x.column, []).append(x)
    for group in [leaks] + (list(by_column.values()) if len(by_column) > 1 else []):  # a few dozen views
        filled = {q: np.full(len(data), np.nan) for q in targets}
        for x in group:  # loop over cases; vectorised over records
            f = filled[x.reveals]
            empty = np.isnan(f[x.rows])
            f[x.rows[empty]] = x.values[empty]
        parts2 = []
        for q, (pub, _) in zip(qis, base):
            if q in filled:
                f = filled[q]
                pub = np.where(np.isnan(f), pub, np.nan_to_num(f).astype(np.int64))
            parts2.append(pub)
        g2, G2 = dense(combine_codes(parts2, [m_ for _, m_ in base], len(data)))
        small = np.bincount(g2, minlength=G2)[g2] < k
        hurt[classes[small]] = True
    if not hurt.any():
        return []
    out = []
    for x in leaks:  # loop over cases; vectorised over records
        rows = x.rows[hurt[classes[x.rows]]]
        if rows.size:
            vals = x.values[hurt[classes[x.rows]]]
            out.append(_Leak(x.column, x.members, x.reveals, rows, int(np.unique(vals).size),
                             x.revealing_values, vals))
    return out


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
    chance: float = 1e-3,
    k: int | None = None,
) -> pd.DataFrame:
    """Suppressed quasi-identifier values that released non-quasi-identifier columns give back.

    For every released column X that is not a quasi-identifier and every quasi-identifier Q with
    suppressed values: a value of X *determines* Q when, on the records where Q is published, it
    co-occurs with exactly one value of Q, on enough records not to be chance (``chance``). A record
    whose Q was suppressed and whose X holds such a value has its Q recoverable — unless X takes one
    value throughout the record's published class (suppression marks counted as a value): then every
    member gets the same value back, the class stays whole and k holds (a column that follows the
    published geography, such as the stratum when province and urban are published, reveals nothing
    the published values do not). Missing values of X are a value of their own (routing codes).

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
    chance : float, default 0.001
        Evidence needed: a value of X seen with ``n`` published records that all share one value of
        Q counts when ``P(n) = sum over values a of share(a) ** n`` (the probability that n records
        drawn at random agree) is at most ``chance``, or when X as a whole is a function of Q on the
        published records with the product of ``P(n)`` over its values at most ``chance`` (then every
        value counts, however rare). ``chance=1`` counts every value seen with a single value.
    k : int, optional
        Report only the recoveries that break k: every recoverable value is filled in, as an
        intruder would, the classes (suppression marks as a value) are recounted, and the cases
        kept are those of classes with a record left in a filled class of fewer than k records.
        This is the check :func:`~gbvstats.disclosure.anonymise` applies.

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
    Province is suppressed in two records; the stratum (province × urban) gives it back in one of
    them (its stratum, 21, occurs only with province 2); the answer gives nothing back.

    >>> import numpy as np, pandas as pd
    >>> d = pd.DataFrame({"province": [1] * 8 + [2] * 8 + [np.nan, np.nan],
    ...                   "stratum": [11] * 8 + [21] * 8 + [21, 31],
    ...                   "answer": [1, 2] * 9})
    >>> inferable(d, ["province"])
        column   reveals  rows_affected  values_recoverable  revealing_values
    0  stratum  province              1                   1                 1
    >>> inferable(d, ["province"], columns=["answer"]).empty
    True
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
    if not 0.0 < float(chance) <= 1.0:
        raise SpecError(f"chance must be in (0, 1], got {chance!r}")
    if k is not None:
        from .risk import check_k
        k = check_k(k)
    return _frame(_find(data, qis, supp, columns, blanked, pairs, float(chance), k))
