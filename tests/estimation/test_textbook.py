"""Hand-worked and textbook checks: SRS agrees with scipy/statsmodels, a tiny stratified design by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from gbvstats.design import Design
from gbvstats.intervals import (
    clopper_pearson_interval,
    confidence_interval,
    korn_graubard_interval,
    wilson_interval,
)

RNG = np.random.default_rng(20241123)


def srs(n=60, N=None):
    y = RNG.normal(10, 3, n)
    b = (RNG.random(n) < 0.3).astype(float)
    df = pd.DataFrame({"y": y, "b": b, "w": np.full(n, (N or 1000) / n)})
    if N:
        df["N"] = float(N)
    return df


def test_srs_mean_matches_scipy_sem_and_t_interval():
    df = srs()
    e = Design.from_frame(df, weights="w").mean("y", level=0.9)
    f = e.frame.iloc[0]
    assert f["estimate"] == pytest.approx(df["y"].mean(), rel=1e-12)
    assert f["se"] == pytest.approx(stats.sem(df["y"]), rel=1e-12)
    lo, hi = stats.t.interval(0.9, len(df) - 1, loc=df["y"].mean(), scale=stats.sem(df["y"]))
    assert (f["ci_low"], f["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)
    assert f["df"] == len(df) - 1
    # with replacement: deff_wr is exactly 1 for an SRS; without replacement 1 / (1 - n/N)
    assert f["deff_wr"] == pytest.approx(1.0, rel=1e-12)
    assert f["deff"] == pytest.approx(1 / (1 - 60 / 1000), rel=1e-12)


def test_srs_with_fpc_scales_se_by_sqrt_one_minus_f():
    df = srs(N=400)
    e = Design.from_frame(df, weights="w", fpc="N").mean("y")
    assert e.se[0] == pytest.approx(stats.sem(df["y"]) * np.sqrt(1 - 60 / 400), rel=1e-12)
    assert e.deff[0] == pytest.approx(1.0, rel=1e-12)
    frac = Design.from_frame(df.assign(f=60 / 400), weights="w", fpc="f").mean("y")
    assert frac.se[0] == pytest.approx(e.se[0], rel=1e-12)


def test_srs_total_and_statsmodels_descr():
    from statsmodels.stats.weightstats import DescrStatsW

    df = srs()
    e = Design.from_frame(df, weights="w").total("y")
    w = df["w"].to_numpy()
    assert e.estimate[0] == pytest.approx((w * df["y"]).sum())
    # an equal-weight SRS total's SE is N * sem
    assert e.se[0] == pytest.approx(w.sum() * DescrStatsW(df["y"]).std_mean, rel=1e-12)


def test_clopper_pearson_and_wilson_match_statsmodels():
    for x, n in [(0, 12), (3, 12), (12, 12), (7, 40)]:
        lo, hi = clopper_pearson_interval(x / n, n, 0.95)
        slo, shi = proportion_confint(x, n, alpha=0.05, method="beta")
        assert (float(lo), float(hi)) == pytest.approx((slo, shi), abs=1e-10)
    for x, n in [(3, 12), (7, 40)]:
        p = x / n
        lo, hi = wilson_interval(p, np.sqrt(p * (1 - p) / n), 1e12, n, 0.95)
        slo, shi = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert (float(lo), float(hi)) == pytest.approx((slo, shi), abs=1e-8)


def test_korn_graubard_is_clopper_pearson_for_srs_variance():
    # n_eff = p(1-p)/var = n and df = n - 1: Korn-Graubard reduces to Clopper-Pearson
    x, n = 7, 40
    p = x / n
    lo, hi = korn_graubard_interval(p, np.sqrt(p * (1 - p) / n), n - 1, n)
    slo, shi = proportion_confint(x, n, alpha=0.05, method="beta")
    assert (float(lo), float(hi)) == pytest.approx((slo, shi), abs=1e-10)


def tiny():
    return pd.DataFrame(
        {"w": [10.0, 10, 20, 20, 20], "st": [1, 1, 2, 2, 2], "psu": [1, 2, 3, 4, 5], "y": [0.0, 1, 1, 1, 0]}
    )


def test_tiny_stratified_total_by_hand():
    # stratum 1: PSU totals 0, 10 -> 2/1 * (25 + 25) = 100; stratum 2: 20, 20, 0 -> 3/2 * (2*(20/3)^2 + (40/3)^2)
    e = Design.from_frame(tiny(), weights="w", strata="st", psu="psu").total("y")
    by_hand = 100 + 1.5 * (2 * (20 - 40 / 3) ** 2 + (40 / 3) ** 2)
    assert e.estimate[0] == 50
    assert e.se[0] == pytest.approx(np.sqrt(by_hand), rel=1e-12)
    assert e.df[0] == 5 - 2


def test_tiny_stratified_mean_by_hand_with_fpc():
    df = tiny().assign(N=[20.0, 20, 60, 60, 60])
    e = Design.from_frame(df, weights="w", strata="st", psu="psu", fpc="N").mean("y")
    Nhat, ybar = 80.0, 50 / 80
    z = df["w"] * (df["y"] - ybar) / Nhat
    v1 = (1 - 2 / 20) * 2 / 1 * ((z[0] - z[:2].mean()) ** 2 + (z[1] - z[:2].mean()) ** 2)
    z2 = z[2:]
    v2 = (1 - 3 / 60) * 3 / 2 * ((z2 - z2.mean()) ** 2).sum()
    assert e.estimate[0] == pytest.approx(ybar)
    assert e.se[0] == pytest.approx(np.sqrt(v1 + v2), rel=1e-12)


def test_two_stage_fpc_by_hand():
    # one stratum, 2 of 4 PSUs; in each PSU 2 of 5 SSUs (rows are SSUs)
    df = pd.DataFrame(
        {"psu": [1, 1, 2, 2], "ssu": [1, 2, 1, 2], "N1": 4.0, "N2": 5.0, "w": 10.0, "y": [1.0, 3, 4, 8]}
    )
    e = Design.from_frame(df, weights="w", psu=["psu", "ssu"], fpc=["N1", "N2"]).total("y")
    x = df["w"] * df["y"]
    t = np.array([x[0] + x[1], x[2] + x[3]])
    v1 = (1 - 2 / 4) * 2 * ((t - t.mean()) ** 2).sum()
    v2 = sum((2 / 4) * (1 - 2 / 5) * 2 * ((pair - pair.mean()) ** 2).sum() for pair in (x[:2].to_numpy(), x[2:].to_numpy()))
    assert e.se[0] == pytest.approx(np.sqrt(v1 + v2), rel=1e-12)
    # without fpc: ultimate-cluster, with replacement at stage 1 only
    e0 = Design.from_frame(df, weights="w", psu=["psu", "ssu"]).total("y")
    assert e0.se[0] == pytest.approx(np.sqrt(2 * ((t - t.mean()) ** 2).sum()), rel=1e-12)


def test_domain_se_equals_ratio_estimator_se():
    rng = np.random.default_rng(7)
    n = 300
    df = pd.DataFrame(
        {
            "st": rng.integers(0, 5, n),
            "w": rng.uniform(1, 5, n),
            "y": rng.normal(size=n),
            "d": rng.random(n) < 0.3,
        }
    )
    df["psu"] = df["st"] * 100 + rng.integers(0, 6, n)
    des = Design.from_frame(df, weights="w", strata="st", psu="psu")
    dom = des.mean("y", where="d")
    df2 = df.assign(yd=df["y"] * df["d"], one_d=df["d"].astype(float))
    rat = Design.from_frame(df2, weights="w", strata="st", psu="psu").ratio("yd", "one_d")
    assert dom.estimate[0] == pytest.approx(rat.estimate[0], rel=1e-12)
    assert dom.se[0] == pytest.approx(rat.se[0], rel=1e-12)


def test_all_methods_finite_nonzero_at_0_and_100_percent_and_df1():
    est = np.array([0.0, 1.0, 0.3])
    se = np.array([0.0, 0.0, 0.1])
    for m in ("logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "clopper-pearson"):
        lo, hi = confidence_interval(m, est, se, [1, 1, 1], [15, 15, 15])
        assert np.isfinite(lo).all() and np.isfinite(hi).all(), m
        assert (hi - lo > 0).all(), m
        assert lo[0] == 0 and hi[1] == 1, m
        assert ((lo >= 0) & (hi <= 1)).all(), m
    # df = 0 (a domain inside one PSU) is treated as df = 1, never NaN
    lo, hi = confidence_interval("t", [0.3], [0.1], [0], [5], kind="mean")
    assert np.isfinite(lo).all()
    assert hi[0] - 0.3 == pytest.approx(stats.t.ppf(0.975, 1) * 0.1)


def test_nchs_is_one_sided_at_zero():
    lo, hi = korn_graubard_interval(0.0, 0.0, 100, 50, 0.95, nchs=True)
    assert float(lo) == 0
    # one-sided 95%: 1 - 0.05 ** (1/50) with df-adjusted n_eff (df = 100 > n - 1 gives n_eff > n? capped)
    n_df = 50 * (stats.t.ppf(0.025, 49) / stats.t.ppf(0.025, 100)) ** 2
    assert float(hi) == pytest.approx(1 - 0.05 ** (1 / n_df), rel=1e-10)
