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
- ``asin`` — R ``method="asin"``: ``sin(asin(sqrt p) +- t_df * se / (2 sqrt(p (1 - p))))^2``, the angle
  kept within [0, pi/2] (R lets it fold back, which can put a limit on the wrong side of p).
- ``likelihood`` — R ``method="likelihood"``: the profile-likelihood interval of the quasibinomial
  intercept with the design effect scaling of ``confint.svyglm``; needs the domain's binomial
  deviance, so it is computed by :mod:`gbvstats.estimate` (here only its arguments are checked).

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
    "asin_interval",
]

CIMethod = Literal[
    "logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "wald", "t", "clopper-pearson",
    "asin", "likelihood",
]
CI_METHODS: tuple[str, ...] = get_args(CIMethod)
#: methods that only make sense for a proportion (they use the binomial shape)
PROPORTION_METHODS: tuple[str, ...] = (
    "logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "clopper-pearson", "asin", "likelihood"
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


def asin_interval(p, se, df, level=0.95):
    """R ``svyciprop(method="asin")``: a t interval for ``asin(sqrt(p))``, squared sine back.

    Examples
    --------
    >>> lo, hi = asin_interval(0.2, 0.05, 30)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.1087, 0.3107)
    """
    p = np.asarray(p, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    q = stats.t.ppf(0.5 + _level(level) / 2, _df(df))
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.arcsin(np.sqrt(p))
        half = q * se / (2 * np.sqrt(p * (1 - p)))
        lo = np.sin(np.clip(a - half, 0, np.pi / 2)) ** 2
        hi = np.sin(np.clip(a + half, 0, np.pi / 2)) ** 2
    return lo, hi


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

    Parameters
    ----------
    p, se, df, n : array-like
        Estimate, standard error, design degrees of freedom and unweighted n per domain.
    level : float, default 0.95
    nchs : bool, default False
        NCHS variant: ``n_eff`` capped at ``n``, and a one-sided interval at p = 0 or 1.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray

    Notes
    -----
    The Clopper-Pearson interval for ``n* p`` successes in ``n*`` trials, with the effective
    sample size ``n_eff = p (1 - p) / se^2`` adjusted for the design degrees of freedom,
    ``n* = n_eff (t_{n-1, alpha/2} / t_{df, alpha/2})^2``. Korn E.L. and Graubard B.I. (1998),
    Confidence intervals for proportions with small expected number of positive counts estimated
    from survey data, *Survey Methodology* 24(2):193-201; Parker J.D. et al. (2017), NCHS Data
    Presentation Standards for Proportions, Vital Health Stat 2(175).

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

    Parameters
    ----------
    method : str
        One of :data:`CI_METHODS` or an alias (``beta``, ``mean``, ``kg``, ``z``).
    estimate, se, df, n : array-like
        Per domain: estimate, standard error, design degrees of freedom, unweighted n.
    level : float, default 0.95
    kind : {"proportion", "mean", "total", "ratio"}, default "proportion"
        Methods using the binomial shape are refused for anything but a proportion.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray

    Raises
    ------
    SpecError
        For an unknown method (with close matches), a proportion method for another kind of
        estimate, or a level outside (0, 1).

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
    elif method == "asin":
        lo, hi = asin_interval(est, se, df, level)
    elif method == "likelihood":
        # placeholder shape; estimate.py replaces inner domains with the profile-likelihood limits
        lo, hi = logit_interval(est, se, df, level)
    else:
        return clopper_pearson_interval(est, n, level)
    if kind == "proportion":
        edge = (est <= 0) | (est >= 1)
        if edge.any():
            blo, bhi = _boundary_interval(est, n, df, level)
            lo = np.where(edge, blo, lo)
            hi = np.where(edge, bhi, hi)
        if method in ("logit", "xlogit", "wilson", "asin", "likelihood"):
            # se == 0 inside (0, 1): use the binomial n as the effective size (no zero width)
            flat = ~edge & (se <= 0)
            if flat.any():
                klo, khi = korn_graubard_interval(est, se, df, n, level, nchs=True)
                lo = np.where(flat, klo, lo)
                hi = np.where(flat, khi, hi)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def _fmm_spline_coefficients(x: np.ndarray, y: np.ndarray):
    """R's ``spline(method="fmm")`` coefficients (Forsythe, Malcolm & Moler), for many curves at once.

    ``x``, ``y``: (G, m) with the same m for every row. Returns b, c, d (G, m), as R's
    ``spline_coef`` (``fmm_spline`` in R's splines.c).
    """
    G, n = x.shape
    b = np.zeros((G, n))
    c = np.zeros((G, n))
    d = np.zeros((G, n))
    if n < 2:
        return b, c, d
    if n < 3:
        t = (y[:, 1] - y[:, 0]) / (x[:, 1] - x[:, 0])
        b[:, 0] = b[:, 1] = t
        return b, c, d
    nm1 = n - 1
    d[:, 0] = x[:, 1] - x[:, 0]
    c[:, 1] = (y[:, 1] - y[:, 0]) / d[:, 0]
    for i in range(1, nm1):  # loops over the spline's knots (<= 19), vectorised over domains
        d[:, i] = x[:, i + 1] - x[:, i]
        b[:, i] = 2.0 * (d[:, i - 1] + d[:, i])
        c[:, i + 1] = (y[:, i + 1] - y[:, i]) / d[:, i]
        c[:, i] = c[:, i + 1] - c[:, i]
    b[:, 0] = -d[:, 0]
    b[:, nm1] = -d[:, n - 2]
    c[:, 0] = 0.0
    c[:, nm1] = 0.0
    if n > 3:
        c0 = c[:, 2] / (x[:, 3] - x[:, 1]) - c[:, 1] / (x[:, 2] - x[:, 0])
        cn = c[:, n - 2] / (x[:, nm1] - x[:, n - 3]) - c[:, n - 3] / (x[:, n - 2] - x[:, n - 4])
        c[:, 0] = c0 * d[:, 0] * d[:, 0] / (x[:, 3] - x[:, 0])
        c[:, nm1] = -cn * d[:, n - 2] * d[:, n - 2] / (x[:, nm1] - x[:, n - 4])
    for i in range(1, n):
        t = d[:, i - 1] / b[:, i - 1]
        b[:, i] = b[:, i] - t * d[:, i - 1]
        c[:, i] = c[:, i] - t * c[:, i - 1]
    c[:, nm1] = c[:, nm1] / b[:, nm1]
    for i in range(n - 2, -1, -1):
        c[:, i] = (c[:, i] - d[:, i] * c[:, i + 1]) / b[:, i]
    b[:, nm1] = (y[:, n - 1] - y[:, n - 2]) / d[:, n - 2] + d[:, n - 2] * (c[:, n - 2] + 2.0 * c[:, nm1])
    for i in range(0, nm1):
        b[:, i] = (y[:, i + 1] - y[:, i]) / d[:, i] - d[:, i] * (c[:, i + 1] + 2.0 * c[:, i])
        d[:, i] = (c[:, i + 1] - c[:, i]) / d[:, i]
        c[:, i] = 3.0 * c[:, i]
    c[:, nm1] = 3.0 * c[:, nm1]
    d[:, nm1] = d[:, n - 2]
    return b, c, d


def likelihood_interval(p, se_logit, df, n_rows, dispersion, level=0.95, naive_var=None):
    """R ``svyciprop(method="likelihood")``: profile-likelihood interval of the logit intercept.

    Reproduces ``confint.svyglm(method="likelihood", ddf=df)`` on an intercept-only quasibinomial
    ``svyglm``: the deviance is profiled on R's grid (``MASS``-style, steps of ``zmax/5`` standard
    errors, at most 9 each side), interpolated by R's FMM spline on ``3 m`` points and inverted
    linearly at ``+- |t_{df, alpha/2}| sqrt(lambda)``, ``lambda`` = design over model variance.

    Parameters
    ----------
    p : array
        Domain proportions (0 < p < 1).
    se_logit : array
        Design standard error of logit(p).
    df : array
        Domain design df (< 1 taken as 1).
    n_rows : array
        Rows of the glm's model frame (the domain's rows; all rows for a calibrated design) — their
        normalised prior weights sum to this.
    dispersion : array
        ``svyvar`` of the Pearson residuals (R ``summary.svyglm``).
    naive_var : array, optional
        The glm's model-based variance of the intercept (R ``naive.cov``); default the exact
        ``1 / (n_rows p (1 - p))``. R's comes from the last IRLS iterate's weights.

    Examples
    --------
    >>> lo, hi = likelihood_interval(11 / 14, 0.543228313872915, 7, 14, 1.076923076923)
    >>> round(float(lo[0]), 6), round(float(hi[0]), 6)
    (0.521812, 0.946044)
    """
    p = np.atleast_1d(np.asarray(p, dtype=np.float64))
    D = p.shape[0]
    se_b = np.broadcast_to(np.asarray(se_logit, dtype=np.float64), (D,))
    df = np.broadcast_to(_df(df), (D,))
    nr = np.broadcast_to(np.asarray(n_rows, dtype=np.float64), (D,))
    disp = np.broadcast_to(np.asarray(dispersion, dtype=np.float64), (D,))
    level = _level(level)
    lo = np.full(D, np.nan)
    hi = np.full(D, np.nan)
    ok = (p > 0) & (p < 1) & (se_b > 0) & np.isfinite(se_b) & (nr > 1) & (disp > 0)
    if not ok.any():
        return lo, hi
    p_, se_, df_, nr_, disp_ = p[ok], se_b[ok], df[ok], nr[ok], disp[ok]
    beta = special.logit(p_)
    if naive_var is None:
        naive = 1.0 / (nr_ * p_ * (1 - p_))
    else:
        naive = np.broadcast_to(np.asarray(naive_var, dtype=np.float64), (D,))[ok]
    lam = se_**2 / naive
    qt = stats.t.ppf((1 - level) / 2, df_)
    alpha = stats.norm.cdf(qt * np.sqrt(lam)) / 2
    # sqrt(qf(alpha, 1, n - 1, upper)) = qt(alpha / 2, n - 1, upper); the t form stays accurate for
    # the tiny alphas a large design effect gives (scipy's F quantile overflows to inf there)
    zmax = stats.t.isf(alpha / 2, nr_ - 1)
    step_size = zmax / 5 * se_
    k = np.arange(1, 10, dtype=np.float64)
    Y1 = nr_ * p_

    def z_at(sgn):
        b = beta[:, None] + sgn * k[None, :] * step_size[:, None]
        # R's logit_linkinv: exp(eta) clamped to [eps, 1/eps] beyond |eta| > 30, so mu never
        # reaches 0 or 1 and the profile stays finite far out
        eps = np.finfo(np.float64).eps
        tmp = np.where(b < -30, eps, np.where(b > 30, 1 / eps, np.exp(np.clip(b, -30, 30))))
        mu = tmp / (1 + tmp)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = -2 * (Y1[:, None] * np.log(mu) + (nr_ - Y1)[:, None] * np.log1p(-mu))
            dev0 = -2 * (Y1 * np.log(p_) + (nr_ - Y1) * np.log1p(-p_))
        zz = np.maximum((dev - dev0[:, None]) / disp_[:, None], 0.0)
        z = sgn * np.sqrt(zz)
        # R: keep stepping while the previous |z| < zmax (step 1 always taken)
        prev = np.concatenate([np.zeros((z.shape[0], 1)), np.abs(z[:, :-1])], axis=1)
        keep = np.cumprod(prev < zmax[:, None], axis=1).astype(bool)
        return b, z, keep

    bl, zl, kl = z_at(-1.0)
    bu, zu, ku = z_at(1.0)
    nl, nu = kl.sum(axis=1), ku.sum(axis=1)
    m = nl + nu + 1
    cut = np.abs(qt) * np.sqrt(lam)  # qnorm(2 alpha) = qt sqrt(lambda)
    out_lo = np.full(p_.shape[0], np.nan)
    out_hi = np.full(p_.shape[0], np.nan)
    for key in np.unique(np.stack([nl, nu], axis=1), axis=0):  # a few grid shapes, not domains
        a, c_ = int(key[0]), int(key[1])
        g = np.flatnonzero((nl == a) & (nu == c_))
        x = np.concatenate([bl[g, :a][:, ::-1], beta[g, None], bu[g, :c_]], axis=1)
        y = np.concatenate([zl[g, :a][:, ::-1], np.zeros((g.size, 1)), zu[g, :c_]], axis=1)
        mm = a + c_ + 1
        B, C, Dd = _fmm_spline_coefficients(x, y)
        nout = 3 * mm
        u = x[:, :1] + (x[:, -1:] - x[:, :1]) * np.linspace(0.0, 1.0, nout)[None, :]
        # interval of each output point (x is uniform: index by arithmetic, clamp to the last knot)
        h = (x[:, -1] - x[:, 0]) / (mm - 1)
        idx = np.clip(np.floor((u - x[:, :1]) / h[:, None] + 1e-10).astype(int), 0, mm - 1)
        rows = np.arange(g.size)[:, None]
        dx = u - x[rows, idx]
        val = y[rows, idx] + dx * (B[rows, idx] + dx * (C[rows, idx] + dx * Dd[rows, idx]))
        order = np.argsort(val, axis=1, kind="stable")
        vs = np.take_along_axis(val, order, axis=1)
        us = np.take_along_axis(u, order, axis=1)
        for target, out in ((-cut[g], out_lo), (cut[g], out_hi)):
            j = (vs < target[:, None]).sum(axis=1)
            inside = (j > 0) & (j < nout)
            j0 = np.clip(j - 1, 0, nout - 1)
            j1 = np.clip(j, 0, nout - 1)
            v0, v1 = vs[rows[:, 0], j0], vs[rows[:, 0], j1]
            x0, x1 = us[rows[:, 0], j0], us[rows[:, 0], j1]
            with np.errstate(divide="ignore", invalid="ignore"):
                res = np.where(v1 > v0, x0 + (target - v0) * (x1 - x0) / (v1 - v0), x0)
            exact = vs[rows[:, 0], j1] == target
            # a limit in R's clamped region (|logit| > 30, flat deviance) is an artefact: not reached
            out[g] = np.where((inside | exact) & (np.abs(res) <= 30), res, np.nan)
    lo[ok] = special.expit(out_lo)
    hi[ok] = special.expit(out_hi)
    return lo, hi
