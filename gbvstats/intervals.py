"""Confidence intervals for design-based estimates, vectorised over domains.

Methods (``CIMethod``):

- ``logit`` — R ``svyciprop(method="logit")``: ``expit(logit(p) +- t_df * se / (p (1 - p)))``.
- ``xlogit`` — R ``method="xlogit"`` (delta method on ``svymean``); numerically the same as logit.
- ``korn-graubard`` — R ``method="beta"`` (Korn & Graubard 1998): Clopper-Pearson with the
  effective sample size ``n_eff = p (1 - p) / var * (t_{n-1} / t_df)^2``.
- ``korn-graubard-nchs`` — NCHS Data Presentation Standards for Proportions (Parker et al. 2017):
  as ``korn-graubard`` with ``n_eff`` capped at ``n``; at p = 0 or 1 the interval is one-sided.
- ``wilson`` — Wilson score interval with ``n_eff = p (1 - p) / var`` and critical value ``t_df``.
- ``wald`` — ``p +- z * se``; ``t`` — ``p +- t_df * se`` (R ``method="mean"``, ``confint(svymean)``).
- ``clopper-pearson`` — exact binomial interval on the unweighted ``n``, for census counts.

Departures from R, all deliberate (see docs/estimation.md): a domain with df < 1 uses df = 1
(R returns NaN); at p = 0 or p = 1 (se = 0) every proportion method except ``clopper-pearson``
returns the NCHS one-sided Korn-Graubard interval with ``n_eff = n`` (R returns a zero-width,
NaN or non-converged interval); with ``se = 0`` inside (0, 1) ``n_eff`` is taken as ``n``.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from scipy import special, stats

from .errors import SpecError, close_matches

__all__ = [
    "CIMethod",
    "CI_METHODS",
    "PROPORTION_METHODS",
    "check_method",
    "confidence_interval",
    "logit_interval",
    "korn_graubard_interval",
    "wilson_interval",
    "wald_interval",
    "t_interval",
    "clopper_pearson_interval",
]

CIMethod = Literal[
    "logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "wald", "t", "clopper-pearson"
]
CI_METHODS: tuple[str, ...] = get_args(CIMethod)
#: methods that only make sense for a proportion (they use the binomial shape)
PROPORTION_METHODS: tuple[str, ...] = (
    "logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "clopper-pearson"
)
_ALIASES = {"beta": "korn-graubard", "mean": "t", "kg": "korn-graubard", "z": "wald"}


def check_method(method: str, kind: str = "proportion") -> str:
    """Validate a CI method name (R's names ``beta``, ``mean`` are accepted as aliases).

    Examples
    --------
    >>> check_method("beta")
    'korn-graubard'
    """
    method = _ALIASES.get(method, method)
    if method not in CI_METHODS:
        raise SpecError(
            f"unknown CI method {method!r}; choose one of: {', '.join(repr(m) for m in CI_METHODS)}"
            + close_matches(str(method), CI_METHODS)
        )
    if kind != "proportion" and method in PROPORTION_METHODS:
        raise SpecError(
            f"CI method {method!r} is for proportions; for a {kind} choose 't' or 'wald'"
        )
    return method


def _level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise SpecError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return level


def _df(df) -> np.ndarray:
    # df < 1 (a domain inside one PSU) has no t quantile: use 1 (widest sensible interval)
    return np.maximum(np.asarray(df, dtype=np.float64), 1.0)


def wald_interval(estimate, se, level=0.95):
    """``estimate +- z * se``.

    Examples
    --------
    >>> lo, hi = wald_interval(0.5, 0.1)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.304, 0.696)
    """
    z = stats.norm.ppf(0.5 + _level(level) / 2)
    est = np.asarray(estimate, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    return est - z * se, est + z * se


def t_interval(estimate, se, df, level=0.95):
    """``estimate +- t_{df} * se`` (R ``confint(svymean(...), df = degf(design))``).

    Examples
    --------
    >>> lo, hi = t_interval(0.5, 0.1, 10)
    >>> round(float(hi), 4)
    0.7228
    """
    q = stats.t.ppf(0.5 + _level(level) / 2, _df(df))
    est = np.asarray(estimate, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    return est - q * se, est + q * se


def logit_interval(p, se, df, level=0.95):
    """R ``svyciprop(method="logit")``: a t interval on the logit scale (0 < p < 1).

    Examples
    --------
    >>> lo, hi = logit_interval(0.2, 0.05, 30)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1167, 0.3212)
    """
    p = np.asarray(p, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    q = stats.t.ppf(0.5 + _level(level) / 2, _df(df))
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = special.logit(p)
        half = q * se / (p * (1 - p))
        return special.expit(lp - half), special.expit(lp + half)


def _beta_limits(x, n, alpha_low, alpha_high):
    """Clopper-Pearson limits for (possibly non-integer) x successes of n; exact 0 / 1 at the ends."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(x <= 0, 0.0, special.betaincinv(np.maximum(x, 1e-300), n - x + 1, alpha_low))
        hi = np.where(x >= n, 1.0, special.betaincinv(x + 1, np.maximum(n - x, 1e-300), 1 - alpha_high))
    return lo, hi


def _boundary_interval(p, n, df, level):
    """NCHS at p = 0 / 1: one-sided Korn-Graubard with n_eff = n, df-adjusted."""
    alpha = 1 - _level(level)
    n = np.maximum(np.asarray(n, dtype=np.float64), 1.0)
    n_df = n * _df_ratio(n, df, alpha)
    lo, hi = _beta_limits(p * n_df, n_df, alpha, alpha)
    return lo, hi


def _df_ratio(n, df, alpha):
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (stats.t.ppf(alpha / 2, np.maximum(n - 1, 1)) / stats.t.ppf(alpha / 2, _df(df))) ** 2
    return np.where(np.isfinite(r), r, 1.0)


def _n_eff(p, se, n):
    var = np.asarray(se, dtype=np.float64) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ne = p * (1 - p) / var
    return np.where((var > 0) & np.isfinite(ne), ne, np.asarray(n, dtype=np.float64))


def korn_graubard_interval(p, se, df, n, level=0.95, nchs=False):
    """Korn-Graubard (R ``svyciprop(method="beta")``); ``nchs=True`` caps n_eff at n.

    Examples
    --------
    >>> lo, hi = korn_graubard_interval(0.2, 0.05, 30, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1081, 0.3228)
    """
    p = np.asarray(p, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    alpha = 1 - _level(level)
    ne = _n_eff(p, se, n)
    if nchs:
        ne = np.minimum(ne, n)
    ne = ne * _df_ratio(n, df, alpha)
    lo, hi = _beta_limits(ne * p, ne, alpha / 2, alpha / 2)
    if nchs:
        blo, bhi = _beta_limits(ne * p, ne, alpha, alpha)
        lo = np.where(p >= 1, blo, lo)
        hi = np.where(p <= 0, bhi, hi)
    return lo, hi


def wilson_interval(p, se, df, n, level=0.95):
    """Wilson score interval with the effective sample size and a t critical value.

    Examples
    --------
    >>> lo, hi = wilson_interval(0.2, 0.04, 1000, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1333, 0.2889)
    """
    p = np.asarray(p, dtype=np.float64)
    ne = _n_eff(p, se, n)
    c = stats.t.ppf(0.5 + _level(level) / 2, _df(df))
    c2 = c * c
    centre = (p + c2 / (2 * ne)) / (1 + c2 / ne)
    half = c * np.sqrt(p * (1 - p) / ne + c2 / (4 * ne * ne)) / (1 + c2 / ne)
    return centre - half, centre + half


def clopper_pearson_interval(p, n, level=0.95):
    """Exact binomial interval for ``p * n`` successes in ``n`` (census counts, unweighted n).

    Examples
    --------
    >>> lo, hi = clopper_pearson_interval(0.0, 10)
    >>> float(lo), round(float(hi), 4)
    (0.0, 0.3085)
    """
    alpha = 1 - _level(level)
    n = np.asarray(n, dtype=np.float64)
    return _beta_limits(np.asarray(p, dtype=np.float64) * n, n, alpha / 2, alpha / 2)


def confidence_interval(method, estimate, se, df, n, level=0.95, kind="proportion"):
    """Interval for every domain by ``method`` (see module docstring).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray

    Examples
    --------
    >>> lo, hi = confidence_interval("korn-graubard", [0.0, 0.3], [0.0, 0.05], [20, 20], [40, 90])
    >>> float(lo[0]), bool(hi[0] > 0)
    (0.0, True)
    """
    method = check_method(method, kind)
    level = _level(level)
    est = np.asarray(estimate, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if method == "wald":
        lo, hi = wald_interval(est, se, level)
    elif method == "t":
        lo, hi = t_interval(est, se, df, level)
    elif method in ("logit", "xlogit"):
        lo, hi = logit_interval(est, se, df, level)
    elif method == "korn-graubard":
        lo, hi = korn_graubard_interval(est, se, df, n, level)
    elif method == "korn-graubard-nchs":
        lo, hi = korn_graubard_interval(est, se, df, n, level, nchs=True)
    elif method == "wilson":
        lo, hi = wilson_interval(est, se, df, n, level)
    else:
        return clopper_pearson_interval(est, n, level)
    if kind == "proportion":
        edge = (est <= 0) | (est >= 1)
        if edge.any():
            blo, bhi = _boundary_interval(est, n, df, level)
            lo = np.where(edge, blo, lo)
            hi = np.where(edge, bhi, hi)
        if method in ("logit", "xlogit", "wilson"):
            # se == 0 inside (0, 1): use the binomial n as the effective size (no zero width)
            flat = ~edge & (se <= 0)
            if flat.any():
                klo, khi = korn_graubard_interval(est, se, df, n, level, nchs=True)
                lo = np.where(flat, klo, lo)
                hi = np.where(flat, khi, hi)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
