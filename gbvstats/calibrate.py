"""Post-stratification, raking and calibration (linear, raking, logit), with variances that credit
the calibration as R ``survey`` does.

Each function returns a new :class:`~gbvstats.design.Design` (``dataclasses.replace``) with

* ``weights`` multiplied by the calibration factors ``g``;
* one more :class:`CalibrationStep` in ``design.calibration``. The Taylor variance engine calls
  :func:`adjust_scores` on the linearised scores; it replaces each score by its residual in the
  way R's ``svyrecvar`` does for ``postStrata``:

  - post-stratification: the post-stratum mean of the scores is removed
    (``x - psw * rowsum(x * oldw / psw) / sum(oldw)``);
  - raking: ten rounds of back-fitting over the margins (``x - psw * ave(x / psw, margin)``),
    exactly R's fixed ten rounds;
  - calibration (any calfun): the residual of the weighted regression of ``x / (g sqrt(w))`` on
    the calibration model matrix times ``sqrt(w)``, multiplied back by ``g sqrt(w)``.

* for replicate-weight designs, the calibration is repeated on every replicate column with that
  replicate's own totals (R's methods for ``svyrep.design``); ``adjust_scores`` is not used there.

Semantics follow R survey 4.1: ``postStratify``, ``rake`` (``maxit = 10``, ``epsilon = 1``
absolute or, when below 1, relative to the total weight; convergence judged on the full-sample
cross-table of all margin variables) and ``calibrate`` (closed-form GREG for unbounded linear
calibration; otherwise R's Newton iteration ``grake`` with ``maxit = 50``, ``epsilon = 1e-7`` and
step halving).

References
----------
Deville, J.-C. and Särndal, C.-E. (1992) Calibration estimators in survey sampling. JASA 87, 376-382.
Deville, J.-C., Särndal, C.-E. and Sautory, O. (1993) Generalized raking procedures in survey
sampling. JASA 88, 1013-1020.
Lumley, T. (2010) *Complex Surveys*, ch. 7.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import warn as _warn
from .errors import DataError, DesignError, GbvstatsWarning, SpecError, close_matches, format_rows

__all__ = [
    "CalibrationStep",
    "poststratify",
    "rake",
    "calibrate",
    "adjust_scores",
    "adjust_scores_lowrank",
    "model_matrix",
    "CALFUNS",
]

CalFun = Literal["linear", "raking", "logit"]
CALFUNS: tuple[str, ...] = ("linear", "raking", "logit")
_RAKE_VARIANCE_ROUNDS = 10  # R's svyrecvar back-fits raking margins exactly ten times


@dataclass(frozen=True, eq=False, repr=False)
class CalibrationStep:
    """One calibration applied to a design, with what the variance needs to credit it.

    Attributes
    ----------
    kind : {"poststratify", "rake", "calibrate"}
    groups : tuple of int arrays (n,)
        Post-stratum codes (one array) or the codes of every raking margin.
    group_weights : tuple of float arrays (n,)
        Weights after that post-stratification / margin step (R's ``attr(, "weights")``).
    old_weights : float array (n,) or None
        Weights before post-stratification (``poststratify`` only).
    basis : float array (n, k) or None
        Orthonormal basis of the column space of ``model matrix * sqrt(w)`` (``calibrate``).
    factor : float array (n,) or None
        ``g * sqrt(w)`` (``calibrate``).
    description : str
        What was done, for reports.

    Examples
    --------
    Every calibration adds one step to ``design.calibration``:

    >>> import pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"sex": ["f", "f", "m"], "w": [1.0, 1.0, 1.0]})
    >>> design = gs.Design.from_frame(df, weights="w").poststratify("sex", {"f": 10, "m": 5})
    >>> step = design.calibration[0]
    >>> step
    CalibrationStep(poststratify: post-stratified by sex (2 cells))
    >>> step.kind, step.groups[0].tolist(), step.old_weights.tolist(), step.group_weights[0].tolist()
    ('poststratify', [0, 0, 1], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0])
    """

    kind: str
    groups: tuple = ()
    group_weights: tuple = ()
    old_weights: np.ndarray | None = None
    basis: np.ndarray | None = None
    factor: np.ndarray | None = None
    description: str = ""

    def __repr__(self) -> str:
        return f"CalibrationStep({self.kind}: {self.description})"


# ---------------------------------------------------------------------------------------------
# variance adjustment
# ---------------------------------------------------------------------------------------------
def _indicator(codes: np.ndarray, k: int):
    import scipy.sparse as sp

    n = codes.shape[0]
    return sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, k))


def _step_factors(step):
    """The linear maps ``x -> x - A (C x)`` of one step, as (A, C) pairs, and their order of use."""
    import scipy.sparse as sp

    if step.kind == "poststratify":
        codes = step.groups[0]
        k = int(codes.max()) + 1
        psw = np.array(step.group_weights[0], dtype=np.float64)
        oldw = step.old_weights if step.old_weights is not None else np.ones_like(psw)
        psw[(psw == 0) & (oldw == 0)] = 1.0
        ratio = np.divide(oldw, psw, out=np.zeros_like(psw), where=psw != 0)
        den = np.bincount(codes, weights=oldw, minlength=k)
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=den != 0)
        G = _indicator(codes, k)
        A = sp.csr_matrix(G.multiply(psw[:, None]))
        C = sp.csr_matrix(G.multiply((ratio[:, None] * inv[None, :])).T)
        return [(A, C)], [0]
    if step.kind == "rake":
        pairs = []
        for codes, psw in zip(step.groups, step.group_weights):
            k = int(codes.max()) + 1
            psw = np.asarray(psw, dtype=np.float64)
            cnt = np.bincount(codes, minlength=k).astype(np.float64)
            G = _indicator(codes, k)
            A = sp.csr_matrix(G.multiply(psw[:, None]))
            C = sp.csr_matrix(G.multiply((1.0 / psw)[:, None] / cnt[None, :]).T)
            pairs.append((A, C))
        # R back-fits the margins ten times, in order
        return pairs, list(range(len(pairs))) * _RAKE_VARIANCE_ROUNDS
    if step.kind == "calibrate":
        A = step.basis * step.factor[:, None]
        C = (step.basis / step.factor[:, None]).T
        return [(A, C)], [0]
    raise DesignError(f"unknown calibration step {step.kind!r}")  # pragma: no cover


def _dense(m) -> np.ndarray:
    import scipy.sparse as sp

    return m.toarray() if sp.issparse(m) else np.asarray(m)


def adjust_scores_lowrank(z, design):
    """The calibration adjustment of scores as a low-rank correction: ``adjusted = z - A @ B``.

    Same result as :func:`adjust_scores` without forming a dense ``n × D`` matrix: ``A`` is
    ``n × K`` (sparse for post-strata and raking margins, dense columns for a calibration basis;
    ``K`` = cells + margin categories + calibration rank) and ``B`` is ``K × D``. A variance
    engine can take unit totals as ``P.T @ z - (P.T @ A) @ B`` for every domain at once, keeping
    ``z`` sparse (one non-zero per row for ``by=`` domains).

    Parameters
    ----------
    z : array (n,) or (n, D), or scipy sparse (n, D)
        Weighted scores.
    design : Design

    Returns
    -------
    A : scipy.sparse.csr_matrix (n, K) or None when the design is not calibrated
    B : ndarray (K, D) or None

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "w": [1.0, 1, 1, 1], "y": [1.0, 3, 5, 9]})
    >>> d = gs.Design.from_frame(df, weights="w").poststratify("g", {"a": 2.0, "b": 2.0})
    >>> A, B = adjust_scores_lowrank((df["y"].to_numpy() * d.weights)[:, None], d)
    >>> (A @ B).ravel()
    array([2., 2., 7., 7.])
    """
    import scipy.sparse as sp

    steps = tuple(getattr(design, "calibration", ()) or ())
    if not steps:
        return None, None
    zz = z if sp.issparse(z) else np.asarray(z, dtype=np.float64)
    if not sp.issparse(zz) and zz.ndim == 1:
        zz = zz[:, None]
    factors: list[tuple[Any, Any]] = []
    sequence: list[int] = []
    for step in steps:
        pairs, order = _step_factors(step)
        base = len(factors)
        factors.extend(pairs)
        sequence.extend(base + i for i in order)
    nf = len(factors)
    # C_s A_t for every pair of factors: small (k_s × k_t) matrices
    cross = [[_dense(factors[s][1] @ factors[t][0]) for t in range(nf)] for s in range(nf)]
    first = [_dense(C @ zz) for _, C in factors]  # C_s z, (k_s × D)
    D = first[0].shape[1]
    total = [np.zeros((C.shape[0], D)) for _, C in factors]
    used = np.zeros(nf, dtype=bool)
    for s in sequence:  # calibration operations in R's order (raking: 10 rounds × margins)
        incr = first[s].copy()
        for t in np.flatnonzero(used):
            incr -= cross[s][t] @ total[t]
        total[s] += incr
        used[s] = True
    A = sp.hstack([sp.csr_matrix(a) for a, _ in factors], format="csr")
    B = np.vstack(total)
    return A, B


def adjust_scores(z, design) -> np.ndarray:
    """Residualise linearised scores for the design's calibration steps (R's ``svyrecvar``).

    Parameters
    ----------
    z : array (n,) or (n, D), or a scipy sparse matrix (n, D)
        Scores already multiplied by the (calibrated) weights, one column per domain/statistic.
    design : Design
        Its ``calibration`` steps are applied in order.

    Returns
    -------
    ndarray
        Dense scores of the same shape, to pass to the stratified multistage variance. For many
        domains on large data prefer :func:`adjust_scores_lowrank`, which avoids the dense copy.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "w": [1.0, 1, 1, 1], "y": [1.0, 3, 5, 9]})
    >>> d = gs.Design.from_frame(df, weights="w").poststratify("g", {"a": 2.0, "b": 2.0})
    >>> adjust_scores(df["y"].to_numpy() * d.weights, d)
    array([-1.,  1., -2.,  2.])
    """
    import scipy.sparse as sp

    one_d = not sp.issparse(z) and np.ndim(z) == 1
    x = _dense(z).astype(np.float64, copy=True)
    if one_d:
        x = x[:, None]
    A, B = adjust_scores_lowrank(z, design)
    if A is not None:
        x -= np.asarray(A @ B)
    return x[:, 0] if one_d else x


# ---------------------------------------------------------------------------------------------
# cells of categorical variables and their population totals
# ---------------------------------------------------------------------------------------------
def _as_list(by) -> list[str]:
    if isinstance(by, str):
        return [by]
    if isinstance(by, (list, tuple)) and all(isinstance(b, str) for b in by):
        return list(by)
    raise SpecError(f"'by' must be a column name or a list of column names; got {by!r}")


def _check_columns(data: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    for c in cols:
        if c not in data.columns:
            raise SpecError(
                f"{what}: column {c!r} is not in the data" + close_matches(c, [str(x) for x in data.columns])
            )
        miss = data[c].isna().to_numpy()
        if miss.any():
            raise DataError(
                f"{what}: column {c!r} is missing in {format_rows(np.flatnonzero(miss))}; every row needs "
                "a category to be calibrated (fill in or recode the missing values)"
            )


def _totals_frame(by: list[str], totals, what: str) -> pd.DataFrame:
    """Population totals as a frame with the ``by`` columns and ``Pop.Freq``."""
    if isinstance(totals, pd.Series):
        if isinstance(totals.index, pd.MultiIndex):
            frame = totals.rename("Pop.Freq").reset_index()
            frame.columns = [*by, "Pop.Freq"] if len(frame.columns) == len(by) + 1 else frame.columns
        else:
            frame = pd.DataFrame({by[0]: totals.index.to_numpy(), "Pop.Freq": totals.to_numpy()})
    elif isinstance(totals, pd.DataFrame):
        others = [c for c in totals.columns if c not in by]
        missing = [b for b in by if b not in totals.columns]
        if missing:
            raise SpecError(
                f"{what}: the totals table has no column {missing[0]!r}; it needs the columns "
                f"{by} and one column of totals (named 'Freq' or 'total')"
            )
        if len(others) == 1:
            tcol = others[0]
        else:
            named = [c for c in others if str(c).lower() in ("freq", "total", "totals", "pop.freq")]
            if len(named) != 1:
                raise SpecError(
                    f"{what}: the totals table must have the columns {by} and exactly one column of "
                    f"totals (named 'Freq' or 'total'); it has {list(totals.columns)}"
                )
            tcol = named[0]
        frame = totals[[*by, tcol]].rename(columns={tcol: "Pop.Freq"}).reset_index(drop=True)
    elif isinstance(totals, Mapping):
        keys = list(totals.keys())
        rows = []
        for k in keys:
            kk = k if isinstance(k, tuple) else (k,)
            if len(kk) != len(by):
                raise SpecError(
                    f"{what}: total key {k!r} should name one category of each of {by}"
                )
            rows.append(kk)
        frame = pd.DataFrame(rows, columns=by) if rows else pd.DataFrame(columns=by)
        frame["Pop.Freq"] = [totals[k] for k in keys]
    else:
        raise SpecError(
            f"{what}: totals must be a DataFrame (by-columns + 'Freq'), a Series indexed by category, "
            f"or a dict {{category (tuple): total}}; got {type(totals).__name__}"
        )
    vals = pd.to_numeric(frame["Pop.Freq"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if np.any(~np.isfinite(vals)) or np.any(vals < 0):
        bad = np.flatnonzero(~np.isfinite(vals) | (vals < 0))
        raise SpecError(f"{what}: population totals must be finite and non-negative; check {format_rows(bad)} of the totals")
    frame["Pop.Freq"] = vals
    return frame


def _cells(data: pd.DataFrame, by: list[str], totals, w: np.ndarray, partial: bool, what: str):
    """Row cell codes (0..K-1), population total per cell, and rows outside any cell (partial)."""
    _check_columns(data, by, what)
    pop = _totals_frame(by, totals, what)
    # align the totals' category types with the data's (e.g. 1 vs "1")
    for b in by:
        col = data[b]
        try:
            if isinstance(col.dtype, pd.CategoricalDtype):
                pop[b] = pop[b].astype(col.cat.categories.dtype)
            elif col.dtype != pop[b].dtype:
                pop[b] = pop[b].astype(col.dtype)
        except (TypeError, ValueError):
            pass
    dup = pop.duplicated(subset=by, keep=False).to_numpy()
    if dup.any():
        raise SpecError(f"{what}: the totals list a category more than once ({format_rows(np.flatnonzero(dup))} of the totals)")
    # integer-code each variable once (no object keys), combine codes column by column
    n, m = len(data), len(pop)
    rcode = np.zeros(n, dtype=np.int64)
    pcode = np.zeros(m, dtype=np.int64)
    absent = np.zeros(m, dtype=bool)  # population rows whose category is not in the sample
    for b in by:
        c, u = pd.factorize(data[b])
        pc = pd.Index(u).get_indexer(pop[b])
        absent |= pc < 0
        rcode, uniq = pd.factorize(rcode * len(u) + c)
        pcode = pd.Index(uniq).get_indexer(pcode * len(u) + np.maximum(pc, 0))
        absent |= pcode < 0
        pcode = np.maximum(pcode, 0)
    rcode = rcode.astype(np.int64)
    k = int(rcode.max()) + 1 if n else 0
    first_row = np.full(k, n, dtype=np.int64)
    np.minimum.at(first_row, rcode, np.arange(n, dtype=np.int64))

    def label(frame, i):
        vals = tuple(frame[b].iloc[int(i)] for b in by)
        vals = tuple(v.item() if isinstance(v, np.generic) else v for v in vals)
        return repr(vals if len(by) > 1 else vals[0])

    sample_tot = np.bincount(rcode, weights=w, minlength=k)
    freq = pop["Pop.Freq"].to_numpy()
    pop_tot = np.full(k, np.nan)
    pop_tot[pcode[~absent]] = freq[~absent]
    samplezero = ~(sample_tot > 0)
    popzero = ~(pop_tot > 0)
    only_sample = popzero & ~samplezero
    if only_sample.any():
        shown = ", ".join(label(data, first_row[i]) for i in np.flatnonzero(only_sample)[:10])
        raise DesignError(
            f"{what}: categories of {by} in the sample have no population total: {shown}; add their "
            "totals (or recode those respondents into a category that has one)"
        )
    missing = [label(data, first_row[i]) for i in np.flatnonzero(samplezero & ~popzero)]
    missing += [label(pop, i) for i in np.flatnonzero(absent & (freq > 0))]
    if missing:
        shown = ", ".join(missing[:10]) + (f" … ({len(missing)} in all)" if len(missing) > 10 else "")
        if not partial:
            raise DesignError(
                f"{what}: categories with a population total have no respondents: {shown}; collapse "
                "them with a neighbour, or pass partial=True to ignore them"
            )
        _warn(f"{what}: categories absent from the sample were ignored: {shown}", GbvstatsWarning)
    return rcode, pop_tot, k


def _joint_codes(data: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Integer code of every combination of ``cols`` present in the data."""
    code = np.zeros(len(data), dtype=np.int64)
    for c in cols:
        cc, u = pd.factorize(data[c])
        code = pd.factorize(code * len(u) + cc)[0]
    return code.astype(np.int64)


def _poststratify_columns(W: np.ndarray, codes: np.ndarray, pop_tot: np.ndarray, k: int) -> np.ndarray:
    """Post-stratify every column of W (n, K) to the cell totals."""
    G = _indicator(codes, k)
    tot = np.asarray(G.T @ W)  # (k, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pop_tot[:, None] / tot
    with np.errstate(invalid="ignore"):
        return W * ratio[codes]


def _replicate_matrix(design) -> np.ndarray | None:
    rep = getattr(design, "replicate", None)
    return None if rep is None else np.asarray(rep.weights, dtype=np.float64)


def _with_replicates(design, new_reps: np.ndarray | None):
    rep = getattr(design, "replicate", None)
    if rep is None:
        return None
    if not np.all(np.isfinite(new_reps)):
        bad = np.flatnonzero(~np.all(np.isfinite(new_reps), axis=0))
        raise DesignError(
            f"calibration failed in {bad.size} replicate(s) (for example a replicate with no respondent "
            "in a calibration category); collapse sparse categories before calibrating"
        )
    # calibration multiplies each replicate's weights by its own factors g; the rank (R's degf)
    # does not change in practice (R recomputes it and finds the same), and a QR of n × R on
    # large data costs seconds, so it is carried over
    return dataclasses.replace(rep, weights=new_reps, degf=rep.degf)


# ---------------------------------------------------------------------------------------------
# post-stratification and raking
# ---------------------------------------------------------------------------------------------
def poststratify(design, by, totals, *, partial: bool = False):
    """Post-stratify a design to known population counts (R's ``postStratify``).

    Parameters
    ----------
    design : Design
    by : str or list of str
        Post-stratification variable(s); cells are their combinations.
    totals : DataFrame, Series or dict
        Population count of every cell: a DataFrame with the ``by`` columns and one column of
        totals (``Freq`` or ``total``), a Series indexed by category (MultiIndex for several
        variables), or ``{category: total}`` / ``{(cat1, cat2): total}``.
    partial : bool
        Ignore cells with a population total but no respondents (otherwise an error).

    Returns
    -------
    Design
        Weights multiplied by ``N_cell / N̂_cell``; a ``poststratify`` step whose variance removes
        the post-stratum means of the scores; replicate weights post-stratified replicate by
        replicate.

    Examples
    --------
    >>> import pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"sex": ["f", "f", "m"], "w": [1.0, 1.0, 1.0]})
    >>> d = gs.Design.from_frame(df, weights="w").poststratify("sex", {"f": 10, "m": 5})
    >>> d.weights.tolist()
    [5.0, 5.0, 5.0]
    """
    by = _as_list(by)
    w = np.asarray(design.weights, dtype=np.float64)
    codes, pop_tot, k = _cells(design.data, by, totals, w, partial, "poststratify")
    new_w = _poststratify_columns(w[:, None], codes, pop_tot, k)[:, 0]
    bad = ~np.isfinite(new_w)
    if bad.any():  # only rows of cells ignored under partial=True with positive weight
        raise DesignError(f"poststratify: rows without a post-stratum total in {format_rows(np.flatnonzero(bad))}")
    W = _replicate_matrix(design)
    new_rep = None if W is None else _poststratify_columns(W, codes, pop_tot, k)
    step = CalibrationStep(
        kind="poststratify",
        groups=(codes,),
        group_weights=(new_w,),
        old_weights=w,
        description=f"post-stratified by {', '.join(by)} ({int(np.isfinite(pop_tot).sum())} cells)",
    )
    return dataclasses.replace(
        design,
        weights=new_w,
        calibration=tuple(getattr(design, "calibration", ()) or ()) + (step,),
        replicate=_with_replicates(design, new_rep),
    )


def _margin_items(margins) -> list[tuple[list[str], Any]]:
    if isinstance(margins, Mapping):
        items = list(margins.items())
    elif isinstance(margins, Sequence) and not isinstance(margins, str):
        items = list(margins)
        if not all(isinstance(m, (tuple, list)) and len(m) == 2 for m in items):
            raise SpecError("rake: margins must be a dict {by: totals} or a list of (by, totals) pairs")
    else:
        raise SpecError(f"rake: margins must be a dict {{by: totals}} or a list of (by, totals) pairs; got {type(margins).__name__}")
    if not items:
        raise SpecError("rake: give at least one margin")
    return [(_as_list(list(b) if isinstance(b, tuple) else b), t) for b, t in items]


def rake(design, margins, *, max_iter: int = 10, epsilon: float = 1.0):
    """Rake a design to several sets of marginal totals (R's ``rake``).

    Iterative post-stratification on each margin in turn, at most ``max_iter`` rounds, until the
    weighted cross-table of all margin variables changes by less than ``epsilon`` (an absolute
    count; when ``epsilon < 1`` it is a fraction of the total weight) — R's ``control =
    list(maxit = 10, epsilon = 1)``. A warning is given if raking did not converge.

    Parameters
    ----------
    design : Design
    margins : dict or list of pairs
        ``{by: totals}`` or ``[(by, totals), ...]``; each ``by`` a column or list/tuple of
        columns, each ``totals`` as for :func:`poststratify`.
    max_iter : int
    epsilon : float

    Returns
    -------
    Design
        With a ``rake`` step (the variance back-fits the scores over the margins, as R).

    Examples
    --------
    >>> import pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "w": [1.0, 1, 1, 1]})
    >>> d = gs.Design.from_frame(df, weights="w")
    >>> r = d.rake({"a": {0: 4, 1: 6}, "b": {0: 5, 1: 5}})
    >>> round(float(r.weights[r.data["a"] == 1].sum()), 6)
    6.0
    """
    items = _margin_items(margins)
    if int(max_iter) < 1:
        raise SpecError(f"rake: max_iter must be at least 1; got {max_iter!r}")
    w = np.asarray(design.weights, dtype=np.float64)
    plans = []
    for by, tot in items:
        plans.append(_cells(design.data, by, tot, w, False, f"rake margin {by}"))
    grand = np.array([np.nansum(p[1]) for p in plans])
    if np.ptp(grand) > 1e-6 * np.max(np.abs(grand)):
        _warn(
            f"rake: the margins do not agree on the population size ({', '.join(f'{g:g}' for g in grand)}); "
            "the raked weights add up to the last margin's total and cannot match all margins",
            GbvstatsWarning,
        )
    allvars = list(dict.fromkeys(v for by, _ in items for v in by))
    joint = _joint_codes(design.data, allvars)
    nj = int(joint.max()) + 1
    eps = epsilon * w.sum() if epsilon < 1 else float(epsilon)
    W = _replicate_matrix(design)
    cols = w[:, None] if W is None else np.column_stack([w, W])
    old_table = np.bincount(joint, weights=cols[:, 0], minlength=nj)
    converged = False
    it = 0
    final_psw: list[np.ndarray] = []
    while it < max_iter:
        final_psw = []
        for codes, pop_tot, k in plans:
            cols = _poststratify_columns(cols, codes, pop_tot, k)
            final_psw.append(cols[:, 0].copy())
        new_table = np.bincount(joint, weights=cols[:, 0], minlength=nj)
        delta = np.max(np.abs(old_table - new_table))
        if delta < eps:
            converged = True
            break
        old_table = new_table
        it += 1
    if not converged:
        _warn(
            f"raking did not converge after {it} iterations (largest change {delta:.3g} >= epsilon "
            f"{eps:.3g}); raise max_iter or check that the margins agree on the grand total",
            GbvstatsWarning,
        )
    new_w = cols[:, 0]
    step = CalibrationStep(
        kind="rake",
        groups=tuple(p[0] for p in plans),
        group_weights=tuple(final_psw),
        description=f"raked to margins {' × '.join('+'.join(b) for b, _ in items)}"
        + ("" if converged else " (not converged)"),
    )
    return dataclasses.replace(
        design,
        weights=new_w,
        calibration=tuple(getattr(design, "calibration", ()) or ()) + (step,),
        replicate=_with_replicates(design, None if W is None else cols[:, 1:]),
    )


# ---------------------------------------------------------------------------------------------
# model matrices (R's model.matrix with treatment contrasts, for calibration formulas)
# ---------------------------------------------------------------------------------------------
def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _levels(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    if pd.api.types.is_bool_dtype(s):
        return [False, True]
    return sorted(pd.unique(s.dropna()).tolist(), key=lambda v: (str(type(v)), v))


def _level_name(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    return str(v)


def _parse_formula(spec) -> tuple[list[tuple[str, ...]], bool]:
    if isinstance(spec, str):
        text = spec.strip()
        if "~" in text:
            lhs, _, text = text.partition("~")
            if lhs.strip():
                raise SpecError(f"calibration formula must be one-sided ('~ a + b'); got {spec!r}")
        intercept = True
        terms: list[tuple[str, ...]] = []
        for raw in re.split(r"\+", text.replace(" - ", " + -")):
            t = raw.strip()
            if not t:
                continue
            if t in ("-1", "0", "- 1"):
                intercept = False
                continue
            if t == "1":
                intercept = True
                continue
            if "*" in t:
                vs = [v.strip() for v in t.split("*")]
                for v in vs:
                    terms.append((v,))
                terms.append(tuple(vs))
            else:
                terms.append(tuple(v.strip() for v in t.split(":")))
        if not terms and not intercept:
            raise SpecError(f"calibration formula {spec!r} has no terms")
    elif isinstance(spec, (list, tuple)) and all(isinstance(c, str) for c in spec):
        terms, intercept = [(c,) for c in spec], True
    else:
        raise SpecError(
            f"calibration model must be a formula string ('~ stype + api99') or a list of column names; got {spec!r}"
        )
    seen, out = set(), []
    for t in terms:
        if t not in seen:
            seen.add(t)
            out.append(t)
    out.sort(key=len)  # R's terms(): main effects before interactions
    return out, intercept


def model_matrix(data: pd.DataFrame, spec) -> tuple[np.ndarray, list[str]]:
    """The calibration model matrix and its column names, as R's ``model.matrix``.

    Numeric columns enter as they are; text, categorical and boolean columns as treatment
    contrasts (first level, in sorted order, dropped when the intercept is present), named
    ``column`` + ``level`` (``stypeH``); ``a:b`` is the product of the two codings and ``a*b``
    expands to ``a + b + a:b``. The intercept is ``(Intercept)``; remove it with ``- 1``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"s": ["E", "H", "M", "E"], "x": [1.0, 2, 3, 4]})
    >>> mm, names = model_matrix(df, "~ s + x")
    >>> names
    ['(Intercept)', 'sH', 'sM', 'x']
    >>> mm[:, 1].tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    terms, intercept = _parse_formula(spec)
    variables = list(dict.fromkeys(v for t in terms for v in t))
    _check_columns(data, variables, "calibrate")
    n = len(data)
    cols: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(n))
        names.append("(Intercept)")
    mains = {t[0] for t in terms if len(t) == 1}
    full_used = False

    def coding(v: str, full: bool) -> tuple[np.ndarray, list[str]]:
        s = data[v]
        if not _is_categorical(s):
            return s.to_numpy(dtype=np.float64).reshape(n, 1), [v]
        lev = _levels(s)
        codes = pd.Categorical(s, categories=lev).codes
        use = lev if full else lev[1:]
        start = 0 if full else 1
        mat = (codes[:, None] == np.arange(start, len(lev))[None, :]).astype(np.float64)
        return mat, [f"{v}{_level_name(x)}" for x in use]

    for t in terms:
        if len(t) == 1:
            full = not intercept and not full_used and _is_categorical(data[t[0]])
            if full:
                full_used = True
            mat, nm = coding(t[0], full)
        else:
            for v in t:
                if _is_categorical(data[v]) and v not in mains:
                    raise SpecError(
                        f"calibrate: interaction {':'.join(t)} needs the main effect {v!r} in the "
                        f"formula too (write {'*'.join(t)})"
                    )
            mat, nm = np.ones((n, 1)), [""]
            for v in t:
                m2, n2 = coding(v, False)
                mat = (mat[:, :, None] * m2[:, None, :]).reshape(n, -1)
                nm = [f"{a}:{b}" if a else b for a in nm for b in n2]
        cols.append(mat if mat.ndim == 2 else mat[:, None])
        names.extend(nm)
    mm = np.column_stack(cols) if cols else np.zeros((n, 0))
    if not np.all(np.isfinite(mm)):
        rows = np.flatnonzero(~np.all(np.isfinite(mm), axis=1))
        raise DataError(f"calibrate: the calibration variables are missing or infinite in {format_rows(rows)}")
    return mm, names


def _align_totals(names: list[str], totals) -> np.ndarray:
    if isinstance(totals, (Mapping, pd.Series)):
        d = dict(totals.items())
        missing = [n for n in names if n not in d]
        extra = [k for k in d if k not in names]
        if missing or extra:
            msg = "calibrate: the totals must be named as the model-matrix columns " + ", ".join(map(repr, names))
            if missing:
                msg += f"; missing {', '.join(map(repr, missing))}"
            if extra:
                msg += f"; not in the model {', '.join(map(repr, extra))}" + close_matches(str(extra[0]), names)
            raise SpecError(msg)
        vals = np.array([d[n] for n in names], dtype=np.float64)
    else:
        vals = np.asarray(totals, dtype=np.float64).reshape(-1)
        if vals.size != len(names):
            raise SpecError(
                f"calibrate: {vals.size} totals given for {len(names)} model-matrix columns "
                f"({', '.join(names)}); give one total per column, or a dict by name"
            )
    if not np.all(np.isfinite(vals)):
        raise SpecError("calibrate: population totals must be finite numbers")
    return vals


# ---------------------------------------------------------------------------------------------
# calibration functions (R's cal.linear, cal.raking, cal.logit)
# ---------------------------------------------------------------------------------------------
def _calfun(name: str, lower: float, upper: float):
    if name == "linear":
        def fm1(u):
            return np.minimum(np.maximum(u + 1, lower), upper) - 1

        def df(u):
            return ((u < upper - 1) & (u > lower - 1)).astype(np.float64)
    elif name == "raking":
        def fm1(u):
            return np.minimum(np.maximum(np.exp(u), lower), upper) - 1

        def df(u):
            return np.where((u < upper - 1) & (u > lower - 1), np.exp(u), 0.0)
    else:
        if not (np.isfinite(lower) and np.isfinite(upper)):
            raise SpecError("calfun='logit' needs finite bounds, for example bounds=(0.5, 2.0)")
        if not (lower < 1 < upper):
            raise SpecError(f"calfun='logit' needs bounds with lower < 1 < upper; got ({lower}, {upper})")
        a = (upper - lower) / ((upper - 1) * (1 - lower))

        def fm1(u):
            e = np.exp(a * u)
            return (lower * (upper - 1) + upper * (1 - lower) * e) / (upper - 1 + (1 - lower) * e) - 1

        def df(u):
            e = np.exp(a * u)
            den = upper - 1 + (1 - lower) * e
            return upper * (1 - lower) * e * a / den - (lower * (upper - 1) + upper * (1 - lower) * e) * (
                (1 - lower) * e * a
            ) / den**2
    return fm1, df


def _tcross(mm: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``mm.T @ W`` computed as ``(W.T @ mm).T``: OpenBLAS is ten times faster this way round
    for a tall, narrow model matrix."""
    return (W.T @ mm).T


def _weighted_cross(mm: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``mm.T @ diag(W[:, k]) @ mm`` for every column k at once: one matrix product, (K, p, p)."""
    p = mm.shape[1]
    outer = (mm[:, :, None] * mm[:, None, :]).reshape(mm.shape[0], p * p)
    return (W.T @ outer).reshape(W.shape[1], p, p)


def _grake(mm, W, calfun, lower, upper, pop, epsilon, maxit):
    """R's grake (Newton iterations with step halving) for every column of W at once."""
    fm1, dfun = _calfun(calfun, lower, upper)
    n, K = W.shape
    p = mm.shape[1]
    W = W.copy()
    total = _tcross(mm, W)  # (p, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = pop[:, None] / total
    resc = np.where(np.min(scales, axis=0) > 20, np.mean(scales, axis=0), 1.0)
    if np.any(resc != 1) and (np.isfinite(lower) or np.isfinite(upper)):
        _warn("calibration bounds are applied after rescaling the weights to the population size",
                      GbvstatsWarning)
    W *= resc[None, :]
    total *= resc[None, :]
    eta = np.zeros((p, K))
    xeta = np.zeros((n, K))
    g = 1 + fm1(xeta)
    deriv = dfun(xeta)
    it = np.ones(K, dtype=np.int64)
    done = np.zeros(K, dtype=bool)
    failed = np.full(K, np.nan)
    tol = 256 * np.finfo(float).eps
    while not done.all():  # Newton iterations (at most maxit), not rows
        a = np.flatnonzero(~done)
        Wa = W[:, a] * deriv[:, a]
        T = _weighted_cross(mm, Wa)
        misfit = pop[:, None] - total[:, a] - _tcross(mm, W[:, a] * fm1(xeta[:, a]))
        deta = np.einsum("kjl,lk->jk", np.linalg.pinv(T, rcond=tol), misfit)
        eta[:, a] += deta
        xeta[:, a] = mm @ eta[:, a]
        g[:, a] = 1 + fm1(xeta[:, a])
        deriv[:, a] = dfun(xeta[:, a])
        with np.errstate(over="ignore", invalid="ignore"):
            bad = ~(np.all(np.isfinite(g[:, a]), axis=0) & np.all(np.isfinite(deriv[:, a]), axis=0))
        while True:
            halve = bad & (it[a] < maxit)
            if not halve.any():
                break
            h = a[halve]
            it[h] += 1
            deta[:, halve] /= 2
            eta[:, h] -= deta[:, halve]
            xeta[:, h] = mm @ eta[:, h]
            g[:, h] = 1 + fm1(xeta[:, h])
            deriv[:, h] = dfun(xeta[:, h])
            bad[halve] = ~(np.all(np.isfinite(g[:, h]), axis=0) & np.all(np.isfinite(deriv[:, h]), axis=0))
        misfit = pop[:, None] - total[:, a] - _tcross(mm, W[:, a] * fm1(xeta[:, a]))
        rel = np.abs(misfit) / (1 + np.abs(pop))[:, None]
        conv = np.all(rel < epsilon, axis=0)
        done[a[conv]] = True
        rest = a[~conv]
        it[rest] += 1
        over = rest[it[rest] > maxit]
        if over.size:
            failed[over] = np.max(rel[:, ~conv][:, it[rest] > maxit], axis=0)
            done[over] = True
    return g * resc[None, :], failed


def _linear_g(mm, W, pop):
    """Closed-form GREG factors for every column of W (R's regcalibrate)."""
    total = _tcross(mm, W)  # (p, K)
    T = _weighted_cross(mm, W)
    try:
        coef = np.linalg.solve(T, (pop[:, None] - total).T[:, :, None])[:, :, 0]  # (K, p)
    except np.linalg.LinAlgError as exc:
        raise DesignError(
            "calibrate: the calibration model matrix is singular (collinear or empty columns); "
            "drop redundant variables or merge empty categories"
        ) from exc
    return 1 + mm @ coef.T


def _basis(a: np.ndarray) -> np.ndarray:
    import scipy.linalg

    q, r, _ = scipy.linalg.qr(a, mode="economic", pivoting=True)
    d = np.abs(np.diag(r))
    rank = int(np.sum(d > 1e-7 * d[0])) if d.size and d[0] > 0 else 0
    return np.ascontiguousarray(q[:, :rank])


def calibrate(
    design,
    formula_or_columns,
    totals,
    *,
    calfun: CalFun = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    epsilon: float = 1e-7,
    force: bool = False,
):
    """Calibrate weights to population totals of auxiliary variables (R's ``calibrate``).

    Parameters
    ----------
    design : Design
    formula_or_columns : str or list of str
        One-sided formula (``"~ stype + api99"``; ``a:b``, ``a*b``, ``- 1`` as in R) or a list of
        columns (main effects with an intercept). See :func:`model_matrix`.
    totals : dict, Series or sequence
        Population total of every model-matrix column, by name (``{"(Intercept)": 6194,
        "stypeH": 755, "stypeM": 1018, "api99": 3914069}``) or in column order.
    calfun : {"linear", "raking", "logit"}
        Distance function; unbounded ``linear`` is the closed-form GREG estimator.
    bounds : (lower, upper), optional
        Bounds on the calibration factors ``g`` (needed for ``logit``).
    max_iter, epsilon : int, float
        Newton iterations and convergence tolerance ``|misfit| / (1 + |total|) < epsilon``.
    force : bool
        Keep the weights of the last iteration when calibration does not converge (with a
        warning) instead of raising an error.

    Returns
    -------
    Design
        Weights ``w * g``; a ``calibrate`` step whose variance uses the residuals of the weighted
        regression on the model matrix (R's ``greg_calibration``); replicate weights calibrated
        replicate by replicate.

    Examples
    --------
    >>> import pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4], "w": [2.0, 2, 2, 2]})
    >>> d = gs.Design.from_frame(df, weights="w")
    >>> c = d.calibrate("~ x", {"(Intercept)": 10, "x": 30})
    >>> round(float(c.weights.sum()), 6), round(float((c.weights * df.x).sum()), 6)
    (10.0, 30.0)
    """
    if calfun not in CALFUNS:
        raise SpecError(
            f"unknown calfun {calfun!r}; choose one of {', '.join(CALFUNS)}" + close_matches(str(calfun), CALFUNS)
        )
    if bounds is None:
        lower, upper = -np.inf, np.inf
    else:
        try:
            lower, upper = (float(b) for b in bounds)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"bounds must be (lower, upper); got {bounds!r}") from exc
        if not lower < upper:
            raise SpecError(f"bounds must have lower < upper; got {bounds!r}")
    mm, names = model_matrix(design.data, formula_or_columns)
    pop = _align_totals(names, totals)
    w = np.asarray(design.weights, dtype=np.float64)
    sample_total = mm.T @ w
    if np.any(sample_total == 0):
        zz = (pop == 0) & np.all(mm == 0, axis=0)
        mm, pop = mm[:, ~zz], pop[~zz]
        names = [nm for nm, z in zip(names, zz) if not z]
    W = _replicate_matrix(design)
    cols = w[:, None] if W is None else np.column_stack([w, W])
    if calfun == "linear" and not (np.isfinite(lower) or np.isfinite(upper)):
        g = _linear_g(mm, cols, pop)
        failed = np.full(cols.shape[1], np.nan)
    else:
        # the full sample first: its failure decides (R stops unless force=TRUE)
        g0, f0 = _grake(mm, cols[:, :1], calfun, lower, upper, pop, epsilon, max_iter)
        if np.isfinite(f0[0]):
            if not force:
                raise DesignError(
                    f"calibration did not converge in {max_iter} iterations (largest relative misfit "
                    f"{f0[0]:.3g}); widen the bounds, drop or merge calibration variables, or pass force=True"
                )
            _warn(f"calibration did not converge (misfit {f0[0]:.3g}); weights kept (force=True)",
                          GbvstatsWarning)
        if W is not None:
            gr, _ = _grake(mm, cols[:, 1:], calfun, lower, upper, pop, epsilon, max_iter)
            g = np.column_stack([g0, gr])
        else:
            g = g0
    new_w = w * g[:, 0]
    whalf = np.sqrt(w)
    step = CalibrationStep(
        kind="calibrate",
        basis=_basis(mm * whalf[:, None]),
        factor=g[:, 0] * whalf,
        description=f"{calfun} calibration on {', '.join(names)}"
        + ("" if bounds is None else f", g in [{lower:g}, {upper:g}]"),
    )
    return dataclasses.replace(
        design,
        weights=new_w,
        calibration=tuple(getattr(design, "calibration", ()) or ()) + (step,),
        replicate=_with_replicates(design, None if W is None else W * g[:, 1:]),
    )
