"""Design-based estimates (proportion, mean, total, ratio) for every domain in one pass.

Every estimator computes point estimates and weighted linearised scores, then hands the scores to
the one variance engine (:func:`gbvstats.variance.taylor_variance`) or, for replicate-weight
designs, forms the statistic for every replicate at once (a sparse domain-indicator product) and
calls :func:`gbvstats.replicate.replicate_variance`.

Domains (``where=`` and ``by=``) are zero weights: out-of-domain rows contribute zero scores, and
every PSU and stratum of the design stays in the variance. Rows whose variable is missing are
treated as out of the domain (R ``na.rm=TRUE``) and *counted* per domain in ``Estimates.excluded``.

Scores (x = weighted score, w = weight, members of domain d only):

- total: ``x = w y``
- mean / proportion: ``x = w (y - ybar_d) / N_d``
- ratio: ``x = w (y - R_d v) / V_d``  (``v`` the denominator variable)
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import warn as _warn
from .errors import DataError, DesignError, ExclusionWarning, SpecError, close_matches, format_rows
from .intervals import check_method, confidence_interval as _ci
from .reliability import apply_rules, get_rules
from .variance import domain_sums, taylor_variance

__all__ = ["Estimates", "proportion", "mean", "total", "ratio", "FRAME_COLUMNS"]

FRAME_COLUMNS: tuple[str, ...] = (
    "estimate", "se", "ci_low", "ci_high", "level", "df", "deff", "deff_wr", "cv", "n", "n_eff",
    "n_weighted", "flag",
)


@dataclass(frozen=True, eq=False, repr=False)
class Estimates:
    """Estimates for a set of domains: immutable, with a tidy :attr:`frame`.

    Attributes
    ----------
    kind : str
        ``'proportion'``, ``'mean'``, ``'total'`` or ``'ratio'``.
    variable : str
        The variable (``'num/den'`` for a ratio).
    by : tuple of str
        The domain columns (empty: one domain).
    labels : pandas.DataFrame
        One row per domain, the ``by`` values.
    estimate, se, df, n, n_eff, n_weighted, deff, deff_wr, ci_low, ci_high : numpy.ndarray
        Per domain. ``df`` is the domain's design degrees of freedom (PSUs - strata holding
        domain members). ``n`` counts unweighted respondents in the domain with the variable
        observed, ``n_weighted`` their weights.
    level, method : float, str
        Of the interval in ``ci_low``/``ci_high``; change with :meth:`confidence_interval`.
    flag, reasons : tuple
        Reliability flag per domain (``ok``, ``review``, ``parentheses``, ``suppress``) and the
        reasons, from ``rules``.
    excluded : pandas.DataFrame
        Per domain, rows left out because the variable was missing (``n_missing``).
    notes : tuple of str
        Everything else a reader of the table must know (lonely-PSU policy applied, rows with a
        missing domain label, departures from R at 0% / 100%).
    logit_se : numpy.ndarray or None
        Replicate designs only: the replicate standard error of logit(p), which R's
        ``svyciprop(method="logit")`` uses there (instead of the delta method).
    glm_dispersion, glm_rows, glm_data
        Proportions only: what R's ``svyciprop(method="likelihood")`` needs from the domain's
        quasibinomial ``svyglm`` (dispersion of the Pearson residuals; rows of the model frame;
        the members' values, weights and domain codes for R's IRLS, run only when asked).

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1., 2, 1, 2], "st": [1, 1, 2, 2], "y": [0, 1, 1, 1],
    ...                    "g": ["a", "a", "b", "b"]})
    >>> est = Design.from_frame(df, weights="w", strata="st").proportion("y", by="g", ci="wald")
    >>> est.frame[["g", "estimate", "n"]]
       g  estimate  n
    0  a  0.666667  2
    1  b  1.000000  2
    """

    kind: str
    variable: str
    by: tuple[str, ...]
    labels: pd.DataFrame
    estimate: np.ndarray
    se: np.ndarray
    df: np.ndarray
    n: np.ndarray
    n_eff: np.ndarray
    n_weighted: np.ndarray
    deff: np.ndarray
    deff_wr: np.ndarray
    level: float
    method: str
    ci_low: np.ndarray
    ci_high: np.ndarray
    flag: tuple[str, ...]
    reasons: tuple[tuple[str, ...], ...]
    rules: Any
    excluded: pd.DataFrame
    where: str | None = None
    notes: tuple[str, ...] = field(default=())
    logit_se: np.ndarray | None = None
    glm_dispersion: np.ndarray | None = None
    glm_rows: np.ndarray | None = None
    glm_data: tuple | None = None

    # ------------------------------------------------------------------ views
    @property
    def cv(self) -> np.ndarray:
        """Coefficient of variation, se / |estimate| (``inf`` or ``nan`` where the estimate is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.se / np.abs(self.estimate)

    @property
    def frame(self) -> pd.DataFrame:
        """Tidy table: by-columns, then ``FRAME_COLUMNS`` (one row per domain; a new frame each time)."""
        out = self.labels.reset_index(drop=True).copy()
        cols = {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": np.full(len(self.estimate), self.level),
            "df": self.df,
            "deff": self.deff,
            "deff_wr": self.deff_wr,
            "cv": self.cv,
            "n": self.n,
            "n_eff": self.n_eff,
            "n_weighted": self.n_weighted,
            "flag": list(self.flag) if len(self.flag) == len(self.estimate) else [""] * len(self.estimate),
        }
        for k, v in cols.items():
            out[k] = v
        return out

    def confidence_interval(self, level: float | None = None, method: str | None = None) -> "Estimates":
        """The same estimates with intervals at another ``level`` or by another ``method``.

        Nothing is re-estimated: intervals come from the stored estimate, se, df and n.
        Flags are re-evaluated (they depend on the interval).

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.design import Design
        >>> df = pd.DataFrame({"w": [1.0] * 6, "y": [0, 1, 1, 0, 1, 1]})
        >>> est = Design.from_frame(df, weights="w").proportion("y")
        >>> wide = est.confidence_interval(level=0.99, method="korn-graubard")
        >>> bool(wide.ci_low[0] < est.ci_low[0]), wide.method
        (True, 'korn-graubard')
        """
        level = self.level if level is None else level
        method = check_method(self.method if method is None else method, self.kind)
        lo, hi = _interval(method, self.estimate, self.se, self.df, self.n, level, self.kind, self.logit_se,
                           self.glm_dispersion, self.glm_rows, self.glm_data)
        new = dataclasses.replace(self, level=float(level), method=method, ci_low=lo, ci_high=hi)
        flags = _flags(new, self.rules, self.n)
        return dataclasses.replace(new, flag=flags.flags, reasons=flags.reasons)

    def plot(self, **kwargs):
        """Forest plot of the domains (:func:`gbvstats.figures.forest_figure`; matplotlib is
        imported there, on first use). Keyword arguments go to ``forest_figure``.

        The rows are the domains of the last ``by`` column (one row named after the variable when
        there is no ``by``); the title defaults to the first line of ``repr``.

        Parameters
        ----------
        **kwargs
            ``reference``, ``reference_label``, ``group``, ``title``, ``xlabel``, ``hide_missing``.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.design import Design
        >>> df = pd.DataFrame({"w": [1., 2, 1, 2, 1, 1], "province": ["A", "A", "B", "B", "C", "C"],
        ...                    "y": [0, 1, 1, 1, 0, 1]})
        >>> est = Design.from_frame(df, weights="w").proportion("y", by="province")
        >>> fig = est.plot(reference=0.5, reference_label="target")
        >>> ax = fig.axes[0]
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['A', 'B', 'C']
        >>> ax.get_title(loc="left")
        "Estimates(proportion of 'y' by province; 3 domain(s); 95% CI by 'logit')"
        """
        from .figures import forest_figure

        frame = self.frame
        if not self.by:
            frame = frame.assign(domain=self.variable)
        label = self.by[-1] if self.by else "domain"
        kwargs.setdefault("title", repr(self).splitlines()[0])
        return forest_figure(frame, label=label, **kwargs)

    def __len__(self) -> int:
        return len(self.estimate)

    def __repr__(self) -> str:
        head = (
            f"Estimates({self.kind} of {self.variable!r}"
            + (f" where {self.where}" if self.where else "")
            + (f" by {', '.join(self.by)}" if self.by else "")
            + f"; {len(self)} domain(s); {self.level:.0%} CI by {self.method!r})"
        )
        show = self.frame
        body = show.head(20).to_string(index=False, float_format=lambda v: f"{v:.4g}")
        more = f"\n… {len(show) - 20} more" if len(show) > 20 else ""
        tail = "".join(f"\nnote: {n}" for n in self.notes)
        return f"{head}\n{body}{more}{tail}"

    def _repr_html_(self) -> str:
        import html

        title = html.escape(repr(self).splitlines()[0])
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><p><b>{title}</b></p>{self.frame.to_html(index=False, float_format=lambda v: f'{v:.4g}')}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


# ---------------------------------------------------------------------- public estimators
def proportion(design, variable, where=None, by=None, ci="logit", level=0.95, rules=None, category=None) -> Estimates:
    """Proportion of a 0/1 variable in every domain.

    Parameters
    ----------
    design : gbvstats.design.Design
    variable : str
        A 0/1 (or boolean) column; other values are an error; missing values are out of the
        domain and counted in ``excluded``.
    where : str or array of bool, optional
        Restricts the domain (a ``DataFrame.eval`` expression or a mask); rows stay in the design.
    by : str or list of str, optional
        One domain per combination of these columns' values.
    ci : str
        ``logit`` (R's default), ``xlogit``, ``korn-graubard`` (alias ``beta``),
        ``korn-graubard-nchs``, ``wilson``, ``wald``, ``t`` (alias ``mean``), ``clopper-pearson``,
        ``asin``, ``likelihood``; see :mod:`gbvstats.intervals`.
    level : float
    rules : str or RuleSet or list of Rule, optional
        Reliability rules for ``flag`` (default ``'nchs'``).
    category : optional
        Proportion of ``variable == category`` among respondents with ``variable`` observed (one
        category of a categorical variable, R's ``svymean(~factor(x), na.rm=TRUE)``); the variable
        may then hold any codes or labels, and a category it never holds is an error.

    Returns
    -------
    Estimates

    Notes
    -----
    The estimate is the ratio ``sum(w y) / sum(w)`` over the domain's members; its variance is
    the Taylor (linearisation) variance of the scores ``w (y - p_d) / N_d`` (R ``svymean``,
    ``svyby``), or the replicate variance for a replicate-weight design.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1.0] * 4, "y": [0, 1, 1, 1]})
    >>> float(proportion(Design.from_frame(df, weights="w"), "y").estimate[0])
    0.75
    >>> df["edu"] = ["none", "primary", None, "primary"]
    >>> float(proportion(Design.from_frame(df, weights="w"), "edu", category="primary").estimate[0])
    0.6666666666666666
    """
    return _estimate(design, "proportion", variable, None, where, by, ci, level, rules, category)


def mean(design, variable, where=None, by=None, ci="t", level=0.95, rules=None) -> Estimates:
    """Mean of a numeric variable in every domain (``ci``: ``'t'`` or ``'wald'``).

    Parameters
    ----------
    design : gbvstats.design.Design
    variable : str
        A numeric column; missing values are out of the domain and counted in ``excluded``.
    where : str or array of bool, optional
        Restricts the domain (a ``DataFrame.eval`` expression or a mask); rows stay in the design.
    by : str or list of str, optional
        One domain per combination of these columns' values.
    ci : {"t", "wald"}, default "t"
        Student-t on the domain's design degrees of freedom (R ``confint(svymean, df=degf)``), or
        normal.
    level : float
    rules : str or RuleSet or list of Rule, optional
        Reliability rules for ``flag`` (default ``'rse'``).

    Returns
    -------
    Estimates

    Notes
    -----
    ``ybar_d = sum(w y) / sum(w)`` over the domain; linearised scores ``w (y - ybar_d) / N_d``
    (R ``svymean``).

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1.0, 3.0], "y": [2.0, 4.0]})
    >>> float(mean(Design.from_frame(df, weights="w"), "y").estimate[0])
    3.5
    """
    return _estimate(design, "mean", variable, None, where, by, ci, level, rules)


def total(design, variable, where=None, by=None, ci="t", level=0.95, rules=None) -> Estimates:
    """Population total of a numeric variable in every domain.

    Parameters
    ----------
    design : gbvstats.design.Design
    variable : str
        A numeric column (a 0/1 column gives the number of people with the attribute).
    where : str or array of bool, optional
        Restricts the domain (a ``DataFrame.eval`` expression or a mask); rows stay in the design.
    by : str or list of str, optional
        One domain per combination of these columns' values.
    ci : {"t", "wald"}, default "t"
    level : float
    rules : str or RuleSet or list of Rule, optional
        Reliability rules for ``flag`` (default ``'rse'``).

    Returns
    -------
    Estimates

    Notes
    -----
    ``Y_d = sum(w y)`` over the domain; scores ``w y`` (R ``svytotal``).

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1.0, 3.0], "y": [2.0, 4.0]})
    >>> float(total(Design.from_frame(df, weights="w"), "y").estimate[0])
    14.0
    """
    return _estimate(design, "total", variable, None, where, by, ci, level, rules)


def ratio(design, numerator, denominator, where=None, by=None, ci="t", level=0.95, rules=None) -> Estimates:
    """Ratio of two population totals, ``sum(w y) / sum(w v)``, in every domain.

    Parameters
    ----------
    design : gbvstats.design.Design
    numerator, denominator : str
        Numeric columns; rows missing either are out of the domain and counted in ``excluded``.
    where : str or array of bool, optional
        Restricts the domain (a ``DataFrame.eval`` expression or a mask); rows stay in the design.
    by : str or list of str, optional
        One domain per combination of these columns' values.
    ci : {"t", "wald"}, default "t"
    level : float
    rules : str or RuleSet or list of Rule, optional
        Reliability rules for ``flag`` (default ``'rse'``).

    Returns
    -------
    Estimates
        ``variable`` is ``"numerator/denominator"``.

    Notes
    -----
    ``R_d = sum(w y) / sum(w v)``; scores ``w (y - R_d v) / V_d`` (R ``svyratio``).

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1.0, 1.0], "y": [1.0, 3.0], "v": [2.0, 2.0]})
    >>> float(ratio(Design.from_frame(df, weights="w"), "y", "v").estimate[0])
    1.0
    """
    return _estimate(design, "ratio", numerator, denominator, where, by, ci, level, rules)


# ---------------------------------------------------------------------- internals
def _data_column(data: pd.DataFrame, name, role: str) -> pd.Series:
    if not isinstance(name, str):
        raise SpecError(f"{role} must be a column name, got {type(name).__name__}")
    if name not in data.columns:
        raise SpecError(
            f"{role} column {name!r} is not in the data" + close_matches(name, [str(c) for c in data.columns])
        )
    return data[name]


def _numeric(series: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy()
    if not (pd.api.types.is_numeric_dtype(series)):
        conv = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(conv.isna().to_numpy() & series.notna().to_numpy())
        if bad.size:
            raise DataError(
                f"column {name!r} is not numeric ({format_rows(bad)} hold e.g. {series.iloc[bad[0]]!r}); "
                "recode it to numbers before estimating"
            )
        series = conv
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _category_indicator(series: pd.Series, name: str, category) -> tuple[np.ndarray, str]:
    """1 where ``series == category``, 0 elsewhere, NaN where the series is missing."""
    missing = series.isna().to_numpy()
    hit = (series == category).fillna(False).to_numpy(dtype=bool)
    if not hit.any():
        values = pd.unique(series.dropna())
        try:
            values = sorted(values)
        except TypeError:
            pass
        shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:12])
        raise DataError(
            f"column {name!r} never holds the category {category!r}; its values are: {shown}"
            + (" …" if len(values) > 12 else "")
            + close_matches(str(category), [str(v) for v in values])
        )
    return np.where(missing, np.nan, hit.astype(np.float64)), f"{name}=={category!r}"


def _where_mask(data: pd.DataFrame, where) -> np.ndarray:
    n = len(data)
    if where is None:
        return np.ones(n, dtype=bool)
    if isinstance(where, str):
        try:
            m = data.eval(where)
        except pd.errors.UndefinedVariableError as exc:
            missing = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
            raise SpecError(
                f"where={where!r} names a column that is not in the data: {missing!r}"
                + close_matches(missing, [str(c) for c in data.columns])
            ) from None
        except Exception as exc:
            raise SpecError(f"where={where!r} is not a valid condition: {exc}") from None
        m = pd.Series(m) if not isinstance(m, pd.Series) else m
        if len(m) != n:
            raise SpecError(f"where={where!r} does not give one true/false per row")
        return m.fillna(False).to_numpy(dtype=bool)
    arr = pd.Series(where) if not isinstance(where, pd.Series) else where
    if len(arr) != n:
        raise SpecError(f"where mask has {len(arr)} values but the data have {n} rows")
    if not (pd.api.types.is_bool_dtype(arr) or arr.dropna().isin([0, 1, True, False]).all()):
        raise SpecError("where must be a condition string or a boolean mask")
    return arr.fillna(False).to_numpy(dtype=bool)


def _domains(data: pd.DataFrame, by) -> tuple[np.ndarray, pd.DataFrame, tuple[str, ...]]:
    if by is None:
        return np.zeros(len(data), dtype=np.int64), pd.DataFrame(index=range(1)), ()
    cols = [by] if isinstance(by, str) else list(by)
    codes_list, label_list = [], []
    from .variance import dense_codes

    for c in cols:
        s = _data_column(data, c, "by")
        if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype) and not s.hasnans:
            codes, labels = dense_codes(s.to_numpy())
        else:
            codes, labels = pd.factorize(s, sort=True, use_na_sentinel=True)
        codes_list.append(codes.astype(np.int64))
        label_list.append(labels)
    if len(cols) == 1:
        codes = codes_list[0]
        labels = pd.DataFrame({cols[0]: label_list[0]})
        return codes, labels, tuple(cols)
    key = np.zeros(len(data), dtype=np.int64)
    na = np.zeros(len(data), dtype=bool)
    for codes, labels in zip(codes_list, label_list):
        na |= codes < 0
        key = key * (len(labels) + 1) + np.maximum(codes, 0)
    key[na] = -1
    dcodes, uniq = dense_codes(key)
    uniq = np.asarray(uniq, dtype=np.int64)
    if na.any():
        keep = uniq >= 0
        # key -1 is its own factor level if present; map it back to -1
        remap = np.full(len(uniq), -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()))
        dcodes = remap[dcodes]
        uniq = uniq[keep]
    parts = {}
    rest = uniq.copy()
    for c, labels in reversed(list(zip(cols, label_list))):
        parts[c] = np.asarray(labels)[rest % (len(labels) + 1)]
        rest //= len(labels) + 1
    labels = pd.DataFrame({c: parts[c] for c in cols})
    return dcodes.astype(np.int64), labels, tuple(cols)


def _interval(method, est, se, df, n, level, kind, logit_se, dispersion=None, glm_rows=None, glm_data=None):
    lo, hi = _ci(method, est, se, df, n, level, kind=kind)
    if method == "likelihood" and dispersion is not None:
        from .intervals import likelihood_interval

        with np.errstate(divide="ignore", invalid="ignore"):
            se_logit = se / (est * (1 - est))
            if logit_se is not None:
                se_logit = np.where(np.isfinite(logit_se), logit_se, se_logit)
        naive_var = None
        if glm_data is not None:
            ym, wm, dm = glm_data
            D = len(est)
            W_d = np.bincount(dm, weights=wm, minlength=D)[:D]
            naive_var = _irls_naive_var(ym, wm, dm, D, glm_rows, W_d, est)
        llo, lhi = likelihood_interval(est, se_logit, df, glm_rows, dispersion, level, naive_var)
        inner = np.isfinite(llo) & np.isfinite(lhi)
        lo = np.where(inner, llo, lo)
        hi = np.where(inner, lhi, hi)
    if method == "logit" and logit_se is not None:
        # R's svyciprop(method="logit") on a replicate design: svyglm's replicate SE of logit(p)
        from scipy import special, stats

        q = stats.t.ppf(0.5 + float(level) / 2, np.maximum(df, 1.0))
        inner = (est > 0) & (est < 1) & (logit_se > 0) & np.isfinite(logit_se)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = special.logit(est)
            lo = np.where(inner, special.expit(lp - q * logit_se), lo)
            hi = np.where(inner, special.expit(lp + q * logit_se), hi)
    return _blank_empty(n, lo, hi)


def _blank_empty(n, lo, hi):
    empty = np.asarray(n) == 0
    if empty.any():
        lo = np.where(empty, np.nan, lo)
        hi = np.where(empty, np.nan, hi)
    return lo, hi


def _flags(est: "Estimates", rules, n):
    lo, hi = est.ci_low, est.ci_high
    judged_by = getattr(rules, "interval", None)
    if est.kind == "proportion" and judged_by and judged_by != (est.method, est.level):
        # the rule set judges by its own interval (NCHS: 95% Korn-Graubard), whatever ci= is displayed
        lo, hi = _interval(judged_by[0], est.estimate, est.se, est.df, est.n, judged_by[1], est.kind,
                           est.logit_se, est.glm_dispersion, est.glm_rows, est.glm_data)
        lo, hi = _blank_empty(n, lo, hi)
    cols = {
        "estimate": est.estimate, "se": est.se, "ci_low": lo, "ci_high": hi,
        "level": np.full(len(est.estimate), est.level), "df": est.df, "deff": est.deff, "deff_wr": est.deff_wr,
        "cv": est.cv, "n": est.n, "n_eff": est.n_eff, "n_weighted": est.n_weighted,
    }
    fl = apply_rules(cols, rules)
    empty = np.asarray(n) == 0
    if empty.any():
        flags = np.asarray(fl.flags, dtype=object)
        flags[empty] = "suppress"
        reasons = np.empty(len(fl.reasons), dtype=object)
        reasons[:] = list(fl.reasons)
        reasons[np.flatnonzero(empty)] = [("no cases in the domain",)] * int(empty.sum())
        return dataclasses.replace(fl, flags=tuple(flags.tolist()), reasons=tuple(reasons.tolist()))
    return fl


def _weighted_s2(v, w, d, D, n_d, W_d, mean_d):
    """R svyvar within each domain: sum w (v - mean)^2 / sum w * n / (n - 1)."""
    ss = np.bincount(d, weights=w * (v - mean_d[d]) ** 2, minlength=D)[:D]
    with np.errstate(divide="ignore", invalid="ignore"):
        return ss / W_d * n_d / (n_d - 1)


def _estimate(design, kind, variable, denominator, where, by, ci, level, rules, category=None) -> Estimates:
    method = check_method(ci, kind)
    if not 0.0 < float(level) < 1.0:
        raise SpecError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    rules = get_rules(rules if rules is not None else ("nchs" if kind == "proportion" else "rse"))
    data = design.data
    w = design.weights
    nrow = len(w)

    in_where = _where_mask(data, where)
    if not in_where.any():
        shown = repr(where) if isinstance(where, str) else "<mask>"
        raise DesignError(f"where={shown} selects no rows; nothing to estimate")
    dcode, labels, by_cols = _domains(data, by)
    D = len(labels)
    notes: list[str] = list(design.notes)

    if category is None:
        y = _numeric(_data_column(data, variable, "variable"), variable)
        label = variable
    else:
        y, label = _category_indicator(_data_column(data, variable, "variable"), variable, category)
    observed = ~np.isnan(y)
    if kind == "ratio":
        x = _numeric(_data_column(data, denominator, "denominator"), denominator)
        observed &= ~np.isnan(x)
        label = f"{variable}/{denominator}"
    candidate = in_where & (dcode >= 0)
    if kind == "proportion":
        bad = np.flatnonzero(candidate & observed & (y != 0) & (y != 1))
        if bad.size:
            vals = sorted(set(np.unique(y[bad]).tolist()))[:5]
            raise DataError(
                f"proportion needs a 0/1 variable but column {variable!r} holds {vals} in {format_rows(bad)}; "
                f"recode it (e.g. where the code for 'yes' is 1: ({variable} == 1)) or use mean()"
            )

    # rows with a missing domain label inside `where` are counted, never silently dropped
    no_label = in_where & (dcode < 0)
    if no_label.any():
        notes.append(
            f"{int(no_label.sum())} row(s) with a missing value in {', '.join(by_cols)} are in no domain"
        )
    missing = candidate & ~observed
    n_missing = np.bincount(dcode[missing], minlength=D)[:D] if D else np.zeros(0, dtype=np.int64)
    excluded = labels.reset_index(drop=True).copy()
    excluded["n_missing"] = n_missing
    if missing.any():
        notes.append(
            f"{int(missing.sum())} row(s) in the domain(s) with {label!r} missing were left out (counted per domain in .excluded)"
        )
        _warn(
            f"{int(missing.sum())} row(s) with {label!r} missing were left out of the estimate; see .excluded",
            ExclusionWarning,
        )

    member = candidate & observed & (w > 0)
    d = np.where(member, dcode, -1)
    rows = np.flatnonzero(member)
    dm = d[rows]
    wm = w[rows]
    ym = y[rows]
    n_d = np.bincount(dm, minlength=D)[:D]
    W_d = np.bincount(dm, weights=wm, minlength=D)[:D]
    Y_d = np.bincount(dm, weights=wm * ym, minlength=D)[:D]
    if n_d.sum() == 0:
        raise DesignError(
            f"no respondent with a positive weight and {label!r} observed is in the domain"
            + (f" where {where}" if isinstance(where, str) else "")
            + "; check the condition and the variable's coding"
        )

    z = np.zeros(nrow)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "total":
            theta = Y_d
            z[rows] = wm * ym
            lin = ym  # variable whose svyvar gives the SRS variance
        elif kind in ("mean", "proportion"):
            theta = Y_d / W_d
            z[rows] = wm * (ym - theta[dm]) / W_d[dm]
            lin = ym
        else:
            xm = x[rows]
            X_d = np.bincount(dm, weights=wm * xm, minlength=D)[:D]
            theta = Y_d / X_d
            lin = (ym - theta[dm] * xm) / X_d[dm]
            z[rows] = wm * lin

    logit_se = None
    if design.replicate is not None:
        var, df, logit_se = _replicate_var(design, kind, y, x if kind == "ratio" else None, rows, dm, D, theta)
    else:
        if design.calibration:
            # calibration credited as in R's svyrecvar: scores residualised on the calibration
            # variables, as a low-rank correction (no dense n x D matrix)
            import scipy.sparse as sp

            from .calibrate import adjust_scores_lowrank

            Zs = sp.csr_matrix((z[rows], (rows, dm)), shape=(nrow, D))
            A, B = adjust_scores_lowrank(Zs, design)
            tv = taylor_variance(design, z, d, D, correction=(A, B))
        else:
            tv = taylor_variance(design, z, d, D)
        var, df = tv.variance, tv.df.astype(np.float64)
    var = np.where(n_d > 0, np.maximum(var, 0.0), np.nan)
    # round-off: a variance that is zero in exact arithmetic (every PSU with the same domain
    # proportion) comes out as ~1e-33; below (1e-12 * estimate)^2 it is taken as exactly zero, so
    # n_eff and the intervals do not depend on the order of the rows
    with np.errstate(invalid="ignore"):
        var = np.where(var <= (1e-12 * np.abs(theta)) ** 2, np.where(np.isnan(var), np.nan, 0.0), var)
    se = np.sqrt(var)

    # design effects (R svymean/svytotal/svyratio deff=TRUE and deff="replace")
    mean_lin = np.bincount(dm, weights=wm * lin, minlength=D)[:D] / np.where(W_d > 0, W_d, 1)
    s2 = _weighted_s2(lin, wm, dm, D, n_d, W_d, mean_lin)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = W_d**2 if kind in ("total", "ratio") else np.ones(D)
        v_srs = s2 * scale * (W_d - n_d) / (W_d * n_d)
        v_srs = np.where(W_d >= n_d, v_srs, np.nan)
        v_wr = s2 * scale / n_d
        deff = var / v_srs
        deff_wr = var / v_wr
        if kind == "proportion":
            n_eff = np.where(var > 0, theta * (1 - theta) / var, n_d.astype(np.float64))
        else:
            n_eff = np.where(deff_wr > 0, n_d / deff_wr, n_d.astype(np.float64))
    theta = np.where(n_d > 0, theta, np.nan)
    if kind == "proportion" and ((theta == 0) | (theta == 1)).any() and method != "clopper-pearson":
        notes.append(
            "domains at 0% or 100% get the one-sided Korn-Graubard interval with n_eff = n (NCHS); "
            "R would return a zero-width or undefined interval"
        )
    dispersion = glm_rows = glm_data = None
    if kind == "proportion":
        # R's svyglm on the domain: prior weights w / mean(w) over the model frame's rows (the
        # domain's rows; all rows of a calibrated design, whose subset keeps rows at weight 0).
        # Its dispersion, svyvar of the Pearson residuals (y - p)/sqrt(p(1-p)), is exactly
        # n/(n-1) for a 0/1 variable (sum w (y - p)^2 = W p (1 - p)).
        glm_rows = np.full(D, float(nrow)) if design.calibration else n_d.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            dispersion = n_d / (n_d - 1.0)
        # the member rows, kept for R's IRLS naive variance, computed only if a likelihood
        # interval is asked for (now or later through confidence_interval)
        glm_data = (ym, wm, dm)
    lo, hi = _interval(method, theta, se, df, n_d, level, kind, logit_se, dispersion, glm_rows, glm_data)
    est = Estimates(
        kind=kind,
        variable=label,
        by=by_cols,
        labels=labels.reset_index(drop=True),
        estimate=theta,
        se=se,
        df=np.asarray(df, dtype=np.float64),
        n=n_d.astype(np.int64),
        n_eff=n_eff,
        n_weighted=W_d,
        deff=deff,
        deff_wr=deff_wr,
        level=float(level),
        method=method,
        ci_low=lo,
        ci_high=hi,
        flag=(),
        reasons=(),
        rules=rules,
        excluded=excluded,
        where=where if isinstance(where, str) else (None if where is None else "<mask>"),
        notes=tuple(notes),
        logit_se=logit_se,
        glm_dispersion=dispersion,
        glm_rows=glm_rows,
        glm_data=glm_data,
    )
    fl = _flags(est, rules, est.n)
    return dataclasses.replace(est, flag=fl.flags, reasons=fl.reasons)


def _irls_naive_var(y, w, d, D, glm_rows, W_d, theta, epsilon=1e-8, maxit=25):
    """R glm.fit's model-based intercept variance ``1 / sum(working weights)`` for every domain.

    R's IRLS (binomial, logit link, prior weights ``w * glm_rows / W_d``) starts from
    ``mustart = (W y + 0.5) / (W + 1)`` per row and stops when the deviance changes by less than
    ``epsilon`` relatively; the working weights it returns are those of the last iterate before the
    final update, so R's ``naive.cov`` differs from ``1 / (n p (1 - p))`` in the 6th digit. The
    first step is per row (bincounts); later steps share one mu per domain (vectorised over domains).
    """
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        W = w * (glm_rows / W_d)[d]
        mu0 = (W * y + 0.5) / (W + 1)
        eta0 = special.logit(mu0)
        ww = W * mu0 * (1 - mu0)
        zz = eta0 + (y - mu0) / (mu0 * (1 - mu0))
        sw = np.bincount(d, weights=ww, minlength=D)[:D]
        beta = np.bincount(d, weights=ww * zz, minlength=D)[:D] / sw

        def dev_rows(mu_rows):
            return -2 * W * (y * np.log(mu_rows) + (1 - y) * np.log1p(-mu_rows))

        devold = np.bincount(d, weights=dev_rows(mu0), minlength=D)[:D]
        Y1 = glm_rows * theta
        naive = 1.0 / sw
        done = ~np.isfinite(beta) | (theta <= 0) | (theta >= 1)
        for _ in range(maxit):  # IRLS iterations (a handful), vectorised over domains
            mu = special.expit(beta)
            dev = -2 * (Y1 * np.log(mu) + (glm_rows - Y1) * np.log1p(-mu))
            conv = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
            done = done | conv
            if done.all():
                break
            v = mu * (1 - mu)
            step = ~done
            naive = np.where(step, 1.0 / (glm_rows * v), naive)
            beta = np.where(step, beta + (theta - mu) / v, beta)
            devold = np.where(step, dev, devold)
    return naive


def _replicate_var(design, kind, y, x, rows, dm, D, theta):
    """Replicate variance: the statistic for every replicate at once, then R's svrVar formula."""
    import scipy.sparse as sp

    from .replicate import replicate_variance

    rep = design.replicate
    W = np.asarray(rep.weights, dtype=np.float64)
    n = W.shape[0]
    if W.ndim != 2 or n != design.weights.shape[0]:
        raise DesignError(
            f"replicate weights have shape {W.shape}; they must be (n, R) with n = {design.weights.shape[0]}"
        )
    ones = np.ones(rows.shape[0])
    A1 = sp.csr_matrix((ones, (dm, rows)), shape=(D, n))
    Ay = sp.csr_matrix((y[rows], (dm, rows)), shape=(D, n))
    Yr = np.asarray(Ay @ W)  # (D, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "total":
            th = Yr
        elif kind in ("mean", "proportion"):
            th = Yr / np.asarray(A1 @ W)
        else:
            Ax = sp.csr_matrix((x[rows], (dm, rows)), shape=(D, n))
            th = Yr / np.asarray(Ax @ W)
    var = np.asarray(replicate_variance(theta, th.T, rep), dtype=np.float64)
    logit_se = None
    if kind == "proportion":
        from scipy import special

        with np.errstate(divide="ignore", invalid="ignore"):
            lt = special.logit(th)
            lv = replicate_variance(special.logit(theta), np.where(np.isfinite(lt), lt, 0.0).T, rep)
        logit_se = np.sqrt(np.asarray(lv, dtype=np.float64))
        # a replicate at 0% or 100% has no logit (R's glm then stops unconverged at an arbitrary
        # large coefficient): use the delta method for that domain instead (documented departure)
        logit_se[~np.isfinite(lt).all(axis=1)] = np.nan
    df = _replicate_domain_df(W[rows], dm, D, float(design.df), rows.shape[0] == n and D == 1, n)
    return var, df, logit_se


def _replicate_domain_df(Wm, dm, D, design_df, whole, n_design=-1):
    """R's degf of each domain's subset of a replicate design: rank of its replicate weights - 1.

    Rows are normalised and de-duplicated (the rows of one PSU share their pattern), then the Gram
    matrix of every domain's patterns is formed by a sparse product, one replicate column at a
    time, and its rank found from the eigenvalues (relative tolerance 1e-10 on the Gram matrix,
    i.e. R's QR tolerance 1e-5 on the weights).
    """
    import scipy.sparse as sp

    if whole:
        return np.full(D, design_df)
    mx = np.max(np.abs(Wm), axis=1, keepdims=True)
    mx[mx == 0] = 1.0
    U = np.round(Wm / mx, 12)
    # identical rows (the rows of one PSU) found by hashing a random projection of each row:
    # O(n R), where np.unique(axis=0) would sort n rows lexicographically
    proj = U @ np.random.default_rng(20241123).standard_normal(U.shape[1])
    pid, first = pd.factorize(np.round(proj, 9))
    keep = np.full(len(first), -1, dtype=np.int64)
    keep[pid[::-1]] = np.arange(len(pid))[::-1]
    patterns = U[keep]
    K, R = patterns.shape
    codes, keys = pd.factorize(dm.astype(np.int64) * K + pid)
    keys = np.asarray(keys, dtype=np.int64)
    dom = keys // K
    # a domain with members in every weight pattern of the member rows has the rank of all patterns
    k_d = np.bincount(dom, minlength=D)[:D]
    out = np.full(D, np.nan)
    if (k_d == K).any():
        if Wm.shape[0] == n_design:
            out[k_d == K] = design_df
        else:
            ev_all = np.linalg.eigvalsh(patterns.T @ patterns)
            out[k_d == K] = int((ev_all > 1e-10 * max(ev_all.max(), 1e-300)).sum()) - 1
    part = np.flatnonzero(k_d < K)
    if part.size == 0:
        return out
    sel = np.isin(dom, part)
    remap = np.full(D, -1, dtype=np.int64)
    remap[part] = np.arange(part.size)
    M = sp.csr_matrix((np.ones(int(sel.sum())), (remap[dom[sel]], keys[sel] % K)), shape=(part.size, K))
    G = np.empty((part.size, R, R))
    for r in range(R):  # loop over replicates (tens), not rows or domains
        G[:, :, r] = np.asarray(M @ (patterns * patterns[:, [r]]))
    ev = np.linalg.eigvalsh(G)
    top = ev.max(axis=1, keepdims=True)
    rank = (ev > 1e-10 * np.where(top > 0, top, 1.0)).sum(axis=1)
    out[part] = rank - 1
    return out.astype(np.float64)
