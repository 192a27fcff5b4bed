"""Agreement with R ``survey`` 4.1.1 (issue 3): every row of ``r_values.csv`` is one test.

The reference values come from ``tests/reference/r_reference.R`` (R 4.2.2, survey 4.1.1; the exact R call
of each value is in the ``call`` column). Here the same quantities are computed through the public API
only -- ``gs.Design.from_frame``, ``.proportion/.mean/.total/.ratio``, ``.to_replicate``,
``.poststratify/.rake/.calibrate``, ``Estimates.frame`` -- and compared:

* estimates to 1e-8 (relative), standard errors, confidence limits, df and design effects to 1e-6
  (relative, with an absolute floor of 1e-10 for values that are zero);
* where gbvstats departs from R on purpose (proportions of exactly 0% or 100%, where R's ``svyciprop``
  returns a zero-width interval, a non-converged logit fit or an error -- see docs/estimation.md),
  the test asserts gbvstats' documented behaviour instead and says so in its id (``boundary``);
* R's bootstrap replicates are random, so ``rep_boot`` compares gbvstats' own bootstrap only loosely
  (estimate exact, SE within 35%); the exact bootstrap check is ``user_boot``, which feeds R's
  replicate weights to ``Design.from_frame(replicate_weights=...)``.

See docs/r-agreement.md for what is compared and how to regenerate the reference values.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.errors import DesignError

HERE = Path(__file__).parent
DATA = HERE / "data"
REF = pd.read_csv(HERE / "r_values.csv", keep_default_na=True, dtype={"domain": "str", "by": "str"})
REF["by"] = REF["by"].fillna("")
REF["domain"] = REF["domain"].fillna("")
REF["note"] = REF["note"].fillna("")

REL_EST = 1e-8
REL_SE = 1e-6
ABS_FLOOR = 1e-10

# R svyciprop method -> gbvstats CI method
CI_METHOD = {
    "logit": "logit",
    "xlogit": "xlogit",
    "beta": "korn-graubard",
    "mean": "t",
    "asin": "asin",
    "likelihood": "likelihood",
}

# Features a case needs; a case whose feature is missing fails (and is listed in the lead's report).
XFAIL: dict[str, str] = {}


# ----------------------------------------------------------------------------- data
@functools.cache
def frame(name: str) -> pd.DataFrame:
    """The CSV R read, with the derived 0/1 variables defined exactly as in r_reference.R."""
    df = pd.read_csv(DATA / name)
    if "sch.wide" not in df:
        return df
    df["sch_wide_yes"] = (df["sch.wide"] == "Yes").astype(float)
    df["awards_yes"] = (df["awards"] == "Yes").astype(float)
    df["both_yes"] = (df["both"] == "Yes").astype(float)
    df["zero_in_HM"] = ((df["stype"] == "E") & (df["api00"] > 700)).astype(float)
    df["all_in_E"] = ((df["stype"] == "E") | (df["api00"] > 800)).astype(float)
    return df


@functools.cache
def rep_meta() -> pd.DataFrame:
    return pd.read_csv(DATA / "repw_meta.csv").set_index("name")


POP_TYPES = {"E": 4421.0, "H": 755.0, "M": 1018.0}
POP_SCHWIDE = {"No": 1072.0, "Yes": 5122.0}
# calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))
CAL_TOTALS = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "api99": 3914069.0}


# Designs and reference rows of other reference files (test_against_r_more.py registers its own):
# name -> builder, and every reference row that sibling()/is_boundary() may look up.
EXTRA_DESIGNS: dict = {}
ALL_REF = REF


def register(ref: pd.DataFrame, designs: dict, where: dict | None = None) -> None:
    """Make another reference file's rows and designs known to the helpers of this module."""
    global ALL_REF
    ALL_REF = pd.concat([REF, ref], ignore_index=True)
    EXTRA_DESIGNS.update(designs)
    WHERE.update(where or {})


@functools.cache
def design(name: str):
    """Build the design called ``name`` in r_reference.R, through the public API only."""
    if name in EXTRA_DESIGNS:
        return EXTRA_DESIGNS[name]()
    D = gs.Design.from_frame
    if name == "dstrat":
        return D(frame("apistrat.csv"), weights="pw", strata="stype", fpc="fpc")
    if name == "dstrat_nofpc":
        return D(frame("apistrat.csv"), weights="pw", strata="stype")
    if name == "dclus1":
        return D(frame("apiclus1.csv"), weights="pw", psu="dnum", fpc="fpc")
    if name == "dclus1_nofpc":
        return D(frame("apiclus1.csv"), weights="pw", psu="dnum")
    if name == "dclus2":
        return D(frame("apiclus2.csv"), weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    if name == "dclus2_nofpc":
        return D(frame("apiclus2.csv"), weights="pw", psu=["dnum", "snum"])
    if name.startswith("dlonely_"):
        return D(frame("apistrat_lonely.csv"), weights="pw", strata="stratum_l",
                 lonely_psu=name.removeprefix("dlonely_"))
    if name.startswith("dstrat2_"):
        return D(frame("apistrat2.csv"), weights="pw", strata="stype", psu=["psu2", "snum"], fpc=["fpc1", "fpc2"],
                 lonely_psu=name.removeprefix("dstrat2_"))
    if name == "dbrr":
        return D(frame("apiclus2_brr.csv"), weights="pw", strata="stratum_brr", psu="dnum")
    if name.startswith("rep_"):
        kind = name.removeprefix("rep_")
        base = design(rep_meta().loc[kind, "base"])
        if kind == "jk1":
            return base.to_replicate("JK1")
        if kind == "jk1_mse":
            return base.to_replicate("JK1", mse=True)
        if kind == "jkn":
            return base.to_replicate("JKn")
        if kind == "brr":
            return base.to_replicate("BRR")
        if kind == "fay":
            return base.to_replicate("Fay", rho=0.3)
        if kind == "boot":
            return base.to_replicate("bootstrap", replicates=50, seed=20240101)
    if name.startswith("user_"):
        kind = name.removeprefix("user_")
        m = rep_meta().loc[kind]
        df = frame(m["data"]).copy()
        rw = pd.read_csv(DATA / f"repw_{kind}.csv")
        df = pd.concat([df, rw], axis=1)
        rho = None if m["type"] != "Fay" else float(m["rho"])
        # BRR and Fay fix the scale (1/R, 1/(R (1 - rho)^2)); R's stored value is the same
        scale = None if m["type"] in ("BRR", "Fay") else float(m["scale"])
        return D(df, weights="pw", replicate_weights=list(rw.columns), replicate_method=m["type"],
                 scale=scale, rscales=[float(x) for x in str(m["rscales"]).split(";")],
                 rho=rho, mse=bool(m["mse"]))
    if name in ("gbv", "gbv_resp", "gbv_help"):
        # domains of the GBV survey are where= masks on the one full design (never row subsets)
        return D(frame("gbv_example.csv"), weights="weight", strata="stratum", psu="commune")
    if name in ("gbv2_resp", "gbv2_help"):
        return D(frame("gbv_example.csv"), weights="weight", strata="stratum", psu=["commune", "resp_id"],
                 fpc=["communes_in_stratum", "commune_households"])
    if name == "ps_dclus1":
        return design("dclus1").poststratify(by="stype", totals=POP_TYPES)
    if name == "rake_dclus1":
        return design("dclus1").rake(margins={"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    if name == "callin_dclus1":
        return design("dclus1").calibrate(["stype", "api99"], CAL_TOTALS, calfun="linear")
    if name == "calrake_dclus1":
        return design("dclus1").calibrate(["stype", "api99"], CAL_TOTALS, calfun="raking")
    if name == "ps_jk1":
        return design("rep_jk1").poststratify(by="stype", totals=POP_TYPES)
    if name == "rake_jk1":
        return design("rep_jk1").rake(margins={"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    raise KeyError(name)


# R: subset(gbv, !is.na(gbv_any_12m)) and subset(gbv, gbv_any_12m == 1 & !is.na(sought_help_formal))
WHERE = {
    "gbv_resp": lambda df: df["gbv_any_12m"].notna().to_numpy(),
    "gbv_help": lambda df: ((df["gbv_any_12m"] == 1) & df["sought_help_formal"].notna()).to_numpy(),
}
WHERE["gbv2_resp"], WHERE["gbv2_help"] = WHERE["gbv_resp"], WHERE["gbv_help"]


def domain_labels(fr: pd.DataFrame, by: str) -> pd.Series:
    """R's domain label of each row: the by-value, or "a.b" for by = "x+y" (as r_reference.R writes it)."""
    cols = by.split("+")
    out = fr[cols[0]].map(_label)
    for c in cols[1:]:
        out = out + "." + fr[c].map(_label)
    return out


def _label(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


@functools.cache
def estimates(dname: str, statistic: str, variable: str, by: str, ci: str, level: float):
    d = design(dname)
    kw = dict(by=by.split("+") if "+" in by else (by or None), ci=ci, level=level)
    if dname in WHERE:
        kw["where"] = WHERE[dname](d.data)
    if statistic == "ratio":
        num, den = variable.split("/")
        return d.ratio(num, den, **kw)
    return getattr(d, statistic)(variable, **kw)


def result_row(row) -> pd.Series:
    ci = CI_METHOD[row.method] if row.statistic in ("proportion", "error") else row.method
    statistic = "proportion" if row.statistic == "error" else row.statistic
    est = estimates(row.design, statistic, row.variable, row.by, ci, float(row.level))
    fr = est.frame
    if row.by:
        labels = domain_labels(fr, row.by)
        hit = fr[labels == row.domain]
        assert len(hit) == 1, f"domain {row.by}={row.domain!r} not found once in {labels.tolist()}"
        return hit.iloc[0]
    assert len(fr) == 1
    return fr.iloc[0]


def close(ours, theirs, rel, what):
    ours = float(ours)
    theirs = float(theirs)
    if math.isinf(theirs) and ours == theirs:
        return  # e.g. deff when every weight is 1 (the SRS-without-replacement variance is 0): R gives Inf too
    assert math.isfinite(ours), f"{what}: gbvstats gives {ours}, R {theirs!r}"
    tol = max(rel * abs(theirs), ABS_FLOOR)
    assert abs(ours - theirs) <= tol, f"{what}: gbvstats {ours!r}, R {theirs!r} (diff {ours - theirs:.3g}, tol {tol:.3g})"


def is_boundary(row) -> bool:
    """A proportion of exactly 0% or 100% in the domain (R then fails or gives a degenerate interval)."""
    if row.statistic == "error" and row.design.startswith("dlonely"):
        return False
    if row.statistic not in ("proportion", "error"):
        return False
    mean_row = ALL_REF[(ALL_REF.design == row.design) & (ALL_REF.variable == row.variable) & (ALL_REF.by == row.by)
                   & (ALL_REF.domain == row.domain) & (ALL_REF.method == "mean") & (ALL_REF.level == row.level)]
    p = float(mean_row.estimate.iloc[0]) if len(mean_row) else float(row.estimate)
    return p <= 1e-9 or p >= 1 - 1e-9


def _id(row) -> str:
    return ("boundary:" if is_boundary(row) else "") + row.case


ROWS = list(REF.itertuples(index=False))
PARAMS = [
    pytest.param(r, id=_id(r), marks=[pytest.mark.xfail(strict=True, reason=XFAIL[r.case])] if r.case in XFAIL else [])
    for r in ROWS
]


@pytest.mark.parametrize("row", PARAMS)
def test_against_r(row):
    if row.statistic == "error" and row.design == "dlonely_fail":
        # R: "Stratum (L) has only one PSU at stage 1"; gbvstats must refuse too, naming the stratum.
        with pytest.raises(DesignError, match="L"):
            d = design(row.design)
            d.mean(row.variable)
        return
    if row.statistic == "error" and row.design == "dstrat2_fail":
        # R: "Stratum (E.E-105) has only one PSU at stage 2"; gbvstats must refuse too.
        with pytest.raises(DesignError, match="stage-2"):
            d = design(row.design)
            d.mean(row.variable)
        return
    if row.statistic == "na" and row.design == "dstrat2_average":
        # R returns NA for `average` at a later stage; gbvstats acts as `remove` there (docs/estimation.md).
        got = design("dstrat2_average").mean(row.variable).frame.iloc[0]
        ref = REF[REF.case == "dstrat2_remove:mean:api00:t"].iloc[0]
        close(got["estimate"], row.estimate, REL_EST, "estimate")
        close(got["se"], ref.se, REL_SE, "se (as lonely_psu='remove')")
        return
    check_row(row)


def check_row(row):
    """Recompute one reference row through the public API and compare it with R's values."""
    got = result_row(row)
    if not pd.isna(row.n):
        # R: rows with nonzero weight in the domain, and the sum of their (analysis) weights
        assert int(got["n"]) == int(row.n), f"n: gbvstats {got['n']}, R {row.n}"
        close(got["n_weighted"], row.n_weighted, REL_EST, "n_weighted")
    if is_boundary(row):
        check_boundary(row, got)
        return
    if row.statistic in ("proportion", "error") and row.df < 1:
        check_df_below_one(row, got)
        return
    if row.statistic == "proportion" and row.method in ("logit", "likelihood"):
        # svyciprop fits these by svyglm: R's point estimate is expit(coef) to glm's convergence
        # tolerance (1e-8 on the deviance), so the exact estimate is svymean's (the "mean" row).
        mean_row = sibling(row, "mean")
        close(got["estimate"], mean_row.estimate, REL_EST, "estimate (R's svymean of the same domain)")
        close(row.estimate, mean_row.estimate, 1e-6, "R's own svyglm estimate")
    else:
        close(got["estimate"], row.estimate, REL_EST, "estimate")
    if row.design == "rep_boot":
        # our own random bootstrap replicates, not R's: only the SE's size can agree (50 replicates:
        # relative Monte Carlo error about 10%), and df = rank of the replicate weights - 1 exactly.
        close(got["se"], row.se, 0.35, "bootstrap se (Monte Carlo)")
        close(got["df"], row.df, REL_SE, "df")
        return
    close(got["se"], row.se, REL_SE, "se")
    close(got["df"], row.df, REL_SE, "df")
    close(got["cv"], row.se / abs(float(got["estimate"])), REL_SE, "cv = se / |estimate| (R's cv())")
    assert float(got["level"]) == float(row.level)
    if not pd.isna(row.deff):
        close(got["deff"], row.deff, REL_SE, "deff (vs SRS without replacement, R deff=TRUE)")
    if not pd.isna(row.deff_wr):
        close(got["deff_wr"], row.deff_wr, REL_SE, "deff_wr (vs SRS with replacement, R deff='replace')")
    r_finite = bool(np.isfinite(row.ci_low) and np.isfinite(row.ci_high))
    ref_lo, ref_hi, what, abs_tol = row.ci_low, row.ci_high, "R", ABS_FLOOR
    if row.method == "beta" and row.design in CALIBRATED_TAYLOR:
        check_kg_calibrated(row, got)
        return
    if row.method == "logit" and degenerate_replicate(row):
        # departure 8 (docs/estimation.md): a replicate in which the domain is 0% or 100% has no logit;
        # R's replicate glm stops unconverged and the interval is nearly (0, 1); gbvstats uses the delta
        # method for that domain, i.e. R's xlogit.
        x = sibling(row, "xlogit")
        ref_lo, ref_hi, what = x.ci_low, x.ci_high, "R xlogit (departure 8)"
    elif row.method == "logit" and not r_finite:
        # departure 4: R's confint.svyglm fails at df = 1 (limits 0 and NaN); the logit-scale Wald
        # interval is what svyciprop(method="xlogit") computes.
        x = sibling(row, "xlogit")
        ref_lo, ref_hi, what = x.ci_low, x.ci_high, "R xlogit (departure 4)"
    elif row.method == "likelihood" and not r_finite:
        if design(row.design).replicate is not None:
            # departure 7b: R cannot profile a replicate design (NA); gbvstats profiles with the
            # replicate variance of logit(p). No R value to compare with: check it is a proper interval
            # around the estimate, on the same side of it as the logit interval.
            check_proper_interval(got)
            x = sibling(row, "xlogit")
            assert (float(got["ci_low"]) < x.ci_high) and (float(got["ci_high"]) > x.ci_low)
            return
        # departure 7a: the profile does not reach the cutoff (R NA): gbvstats gives the logit interval.
        x = sibling(row, "xlogit")
        ref_lo, ref_hi, what = x.ci_low, x.ci_high, "R xlogit (departure 7a)"
    elif row.method == "asin" and asin_folds(row.estimate, row.se, row.df, row.level):
        # departure 6: R's sin^2 folds back when the angle leaves [0, pi/2]; gbvstats clips the angle.
        ref_lo, ref_hi = asin_clipped(row.estimate, row.se, row.df, row.level)
        what = "asin with the angle kept in [0, pi/2] (departure 6)"
    elif row.method == "likelihood":
        # R's profile limits come from a spline through a profile grid (MASS): near 0 or 1 they carry
        # R's interpolation error, about 1e-9 absolute here.
        abs_tol = 1e-8
    close_abs(got["ci_low"], ref_lo, REL_SE, abs_tol, f"ci_low vs {what}")
    close_abs(got["ci_high"], ref_hi, REL_SE, abs_tol, f"ci_high vs {what}")


def close_abs(ours, theirs, rel, floor, what):
    ours, theirs = float(ours), float(theirs)
    assert math.isfinite(ours), f"{what}: gbvstats gives {ours}, R {theirs!r}"
    tol = max(rel * abs(theirs), floor)
    assert abs(ours - theirs) <= tol, f"{what}: gbvstats {ours!r}, R {theirs!r} (diff {ours - theirs:.3g}, tol {tol:.3g})"


def check_proper_interval(got):
    lo, hi, p = float(got["ci_low"]), float(got["ci_high"]), float(got["estimate"])
    assert math.isfinite(lo) and math.isfinite(hi), (lo, hi)
    assert 0.0 <= lo < p < hi <= 1.0, (lo, p, hi)


def _asin_angles(p, se, df, level):
    from scipy import stats

    q = stats.t.ppf(1 - (1 - level) / 2, max(df, 1.0))
    a, h = np.arcsin(np.sqrt(p)), q * se / (2 * np.sqrt(p * (1 - p)))
    return a - h, a + h


def asin_folds(p, se, df, level) -> bool:
    lo, hi = _asin_angles(p, se, df, level)
    return bool(lo < 0 or hi > np.pi / 2)


def asin_clipped(p, se, df, level):
    lo, hi = _asin_angles(p, se, df, level)
    return np.sin(max(lo, 0.0)) ** 2, np.sin(min(hi, np.pi / 2)) ** 2


def sibling(row, method):
    """The reference row for the same quantity and domain computed by another svyciprop method."""
    hit = ALL_REF[(ALL_REF.design == row.design) & (ALL_REF.variable == row.variable) & (ALL_REF.by == row.by)
                  & (ALL_REF.domain == row.domain) & (ALL_REF.method == method) & (ALL_REF.level == row.level)]
    assert len(hit) == 1
    return next(hit.itertuples(index=False))


def degenerate_replicate(row) -> bool:
    """Is the domain's proportion 0 or 1 in some replicate of a replicate design?"""
    d = design(row.design)
    if d.replicate is None:
        return False
    df = d.data
    m = (domain_labels(df, row.by) == row.domain).to_numpy().copy() if row.by else np.ones(len(df), bool)
    if row.design in WHERE:
        m &= WHERE[row.design](df)
    W = np.asarray(d.replicate.weights)[m]
    y = df[row.variable].to_numpy(dtype=float)[m]
    with np.errstate(invalid="ignore", divide="ignore"):
        p_r = (W * y[:, None]).sum(axis=0) / W.sum(axis=0)
    return bool(np.any((p_r <= 0) | (p_r >= 1)))


def check_df_below_one(row, got):
    """Documented departure: a domain whose members lie in one PSU has df = PSUs - strata = 0.

    R returns NaN limits (no t quantile with 0 df); gbvstats reports df = 0 as R does but computes the
    interval with df = 1, the widest sensible one (intervals.py). Recomputed here from R's estimate and SE.
    """
    from scipy import stats

    mean_row = sibling(row, "mean")
    p, se = mean_row.estimate, mean_row.se
    close(got["estimate"], p, REL_EST, "estimate")
    close(got["se"], se, REL_SE, "se")
    close(got["df"], row.df, REL_SE, "df (R's degf)")
    alpha = 1 - row.level
    q = stats.t.ppf(1 - alpha / 2, 1)
    if row.method == "mean":
        lo, hi = p - q * se, p + q * se
    elif row.method == "asin":
        lo, hi = asin_clipped(p, se, 1.0, row.level)
    elif row.method in ("logit", "xlogit", "likelihood"):
        # likelihood: the profile cannot reach the cutoff either, so the logit interval (departure 7a)
        lg, s = np.log(p / (1 - p)), se / (p * (1 - p))
        lo, hi = 1 / (1 + np.exp(-(lg - q * s))), 1 / (1 + np.exp(-(lg + q * s)))
    elif row.method == "beta":
        lo, hi = korn_graubard(p, se, 1, int(got["n"]), row.level)
    else:
        pytest.fail(f"no gbvstats counterpart documented for R method {row.method!r} at df < 1")
    close(got["ci_low"], lo, REL_SE, "ci_low (df = 1)")
    close(got["ci_high"], hi, REL_SE, "ci_high (df = 1)")


def check_boundary(row, got):
    """Documented departure from R at 0% / 100% (docs/estimation.md).

    R's svyciprop gives p = 2.9e-12 with a zero-width interval (logit: glm does not converge), a
    zero-width interval (beta, asin, mean, xlogit) or an error (likelihood). gbvstats gives the exact
    proportion, SE 0 and df as R, and an interval that is finite, contains the estimate and lies in [0, 1].
    """
    p = 0.0 if is_boundary_zero(row) else 1.0
    assert float(got["estimate"]) == p, f"estimate {got['estimate']!r}, expected exactly {p}"
    assert float(got["se"]) == 0.0
    close(got["df"], row.df, REL_SE, "df")
    lo, hi = float(got["ci_low"]), float(got["ci_high"])
    assert math.isfinite(lo) and math.isfinite(hi), f"interval ({lo}, {hi}) is not finite"
    assert 0.0 <= lo <= p <= hi <= 1.0, f"interval ({lo}, {hi}) does not hold {p} within [0, 1]"


CALIBRATED_TAYLOR = {"ps_dclus1", "rake_dclus1", "callin_dclus1", "calrake_dclus1"}


def korn_graubard(p, se, df, n, level):
    """Korn & Graubard (1998) interval as R's svyciprop(method="beta") computes it."""
    from scipy import stats

    alpha = 1 - level
    n_eff = p * (1 - p) / se**2 * (stats.t.ppf(alpha / 2, n - 1) / stats.t.ppf(alpha / 2, df)) ** 2
    return (stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1),
            stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p)))


def check_kg_calibrated(row, got):
    """Documented departure: Korn-Graubard on a calibrated Taylor design, by domain.

    R subsets a calibrated design by zero weights (it cannot drop rows), so ``nrow(design)`` in
    svyciprop's df correction ``qt(alpha/2, nrow(design) - 1)`` is the whole sample's n, while for an
    uncalibrated design svyby drops the rows and it is the domain's n. gbvstats uses the domain's n in
    both cases. Check (1) that R's value is exactly KG with the whole-sample n (so the difference is only
    this), and (2) that gbvstats' value is KG with the domain's n, from R's estimate, SE and df.
    """
    n_all = len(design(row.design).data)
    r_lo, r_hi = korn_graubard(row.estimate, row.se, row.df, n_all, row.level)
    close(r_lo, row.ci_low, REL_SE, "R's KG lower limit recomputed with the whole-sample n")
    close(r_hi, row.ci_high, REL_SE, "R's KG upper limit recomputed with the whole-sample n")
    lo, hi = korn_graubard(row.estimate, row.se, row.df, int(got["n"]), row.level)
    close(got["ci_low"], lo, REL_SE, "ci_low (KG with the domain's n)")
    close(got["ci_high"], hi, REL_SE, "ci_high (KG with the domain's n)")


def is_boundary_zero(row) -> bool:
    mean_row = ALL_REF[(ALL_REF.design == row.design) & (ALL_REF.variable == row.variable) & (ALL_REF.by == row.by)
                   & (ALL_REF.domain == row.domain) & (ALL_REF.method == "mean") & (ALL_REF.level == row.level)]
    return float(mean_row.estimate.iloc[0]) <= 0.5


def test_reference_file_is_complete():
    """The reference covers what issue 3 asks for (so a regeneration cannot silently drop a part)."""
    designs = set(REF.design)
    for needed in ["dstrat", "dclus1", "dclus2", "dstrat2_remove", "dstrat2_adjust", "dlonely_remove", "dlonely_certainty", "dlonely_adjust",
                   "dlonely_average", "rep_jk1", "rep_jkn", "rep_brr", "rep_fay", "user_boot", "ps_dclus1",
                   "rake_dclus1", "callin_dclus1", "calrake_dclus1", "gbv_resp", "gbv_help"]:
        assert needed in designs, needed
    assert set(REF.loc[REF.statistic == "proportion", "method"]) == set(CI_METHOD)
    assert (REF.loc[~REF.statistic.isin(["error", "na"]), "se"].notna()).all()
    assert len(REF) == REF.case.nunique()


# ----------------------------------------------------------------------------- other entry points
LEVEL90 = [r for r in ROWS if r.design == "dclus1" and r.statistic == "proportion" and r.level == 0.9
           and r.method in ("logit", "xlogit", "beta", "mean")]


@pytest.mark.parametrize("row", [pytest.param(r, id=r.case) for r in LEVEL90])
def test_interval_asked_later_agrees_with_r(row):
    """``est.confidence_interval(level=, method=)`` on a 95% logit estimate gives R's 90% intervals."""
    est = estimates("dclus1", "proportion", row.variable, row.by, "logit", 0.95)
    later = est.confidence_interval(level=0.9, method=CI_METHOD[row.method])
    fr = later.frame
    got = fr[fr[row.by].map(_label) == row.domain].iloc[0]
    ref = sibling(row, "xlogit") if row.method == "logit" else row  # logit == xlogit (glm tolerance)
    assert float(got["level"]) == 0.9
    close(got["ci_low"], ref.ci_low, REL_SE, "ci_low")
    close(got["ci_high"], ref.ci_high, REL_SE, "ci_high")


GBV_PROVINCE = [r for r in ROWS if r.design == "gbv_help" and r.by == "province" and r.method in ("beta", "logit")]


@pytest.mark.filterwarnings("ignore:.*'sought_help_formal' missing were left out:UserWarning")
@pytest.mark.parametrize("row", [pytest.param(r, id=r.case) for r in GBV_PROVINCE])
def test_survey_reader_path_agrees_with_r(row):
    """The .sav read with its spec, estimated through ``Survey.proportion``, gives R's values.

    R's domain is ``gbv_any_12m == 1 & !is.na(sought_help_formal)``; the survey excludes the missing
    answers itself (and reports them), so ``where`` names only the exposure.
    """
    survey = _survey()
    est = survey.proportion("sought_help_formal", where="gbv_any_12m == 1", by="province",
                            ci=CI_METHOD[row.method], level=row.level)
    fr = est.frame
    got = fr[fr["province"].map(_label) == row.domain].iloc[0]
    ref_est = sibling(row, "mean").estimate
    close(got["estimate"], ref_est, REL_EST, "estimate")
    close(got["se"], row.se, REL_SE, "se")
    close(got["df"], row.df, REL_SE, "df")
    close(got["ci_low"], row.ci_low, REL_SE, "ci_low")
    close(got["ci_high"], row.ci_high, REL_SE, "ci_high")


@functools.cache
def _survey():
    root = HERE.parents[1]
    return gs.read_survey(root / "surveys/example/community_2024.sav", spec=root / "surveys/example/survey.toml")
