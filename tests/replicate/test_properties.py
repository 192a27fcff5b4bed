"""Guarantees of the replicate and calibration code, as hypothesis properties, plus bad input.

Textbook identities used (Wolter 2007, ch. 3-4): for a linear statistic (a total) the JK1, JKn
(no fpc), BRR and Fay replicate variances equal the with-replacement Taylor variance
``sum_h n_h/(n_h-1) sum_i (z_hi - zbar_h)^2`` exactly; GREG calibration on post-stratum indicators
is post-stratification (Särndal, Swensson & Wretman 1992, §7.6), weights and variance alike.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gbvstats as gs
from gbvstats.calibrate import adjust_scores, adjust_scores_lowrank, calibrate, model_matrix, poststratify, rake
from gbvstats.errors import DataError, DesignError, GbvstatsWarning, SpecError
from gbvstats.replicate import (
    ReplicateWeights,
    hadamard,
    make_replicate_weights_from_columns,
    replicate_multipliers,
    replicate_variance,
    to_replicate,
)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wr_variance(z, strata, psu):
    """Textbook with-replacement variance of a total from PSU totals (independent of the package)."""
    zp = pd.Series(z).groupby([strata, psu]).sum()
    h = zp.index.get_level_values(0)
    n_h = zp.groupby(level=0).transform("size").to_numpy()
    dev = zp.to_numpy() - zp.groupby(level=0).transform("mean").to_numpy()
    ok = n_h > 1
    return float(np.sum((n_h / (n_h - 1) * dev**2)[ok]))


def _rep_total_var(fac, idx, scale, rs, y, w, method="x"):
    W = fac[idx] * w[:, None]
    rw = ReplicateWeights(W, scale=scale, rscales=rs, method=method)
    return float(replicate_variance(np.array([y @ w]), (W.T @ y)[:, None], rw)[0])


@st.composite
def stratified(draw, psu_per_stratum=None, max_strata=6):
    H = draw(st.integers(1 if psu_per_stratum is None else 2, max_strata))
    sizes = [psu_per_stratum or draw(st.integers(2, 5)) for _ in range(H)]
    strata, psu, rows = [], [], []
    code = 0
    for h, m in enumerate(sizes):
        for _ in range(m):
            k = draw(st.integers(1, 3))
            strata += [h] * k
            psu += [code] * k
            code += 1
    n = len(strata)
    y = np.array(draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(st.floats(0.5, 20), min_size=n, max_size=n)))
    perm = np.array(draw(st.permutations(range(n))))
    return np.array(strata)[perm], np.array(psu)[perm], y[perm], w[perm]


@FAST
@given(stratified())
def test_jkn_variance_of_a_total_is_the_with_replacement_variance(data):
    strata, psu, y, w = data
    fac, idx, scale, rs = replicate_multipliers("JKn", strata, psu)
    v = _rep_total_var(fac, idx, scale, rs, y, w)
    assert v == pytest.approx(_wr_variance(y * w, strata, psu), rel=1e-9, abs=1e-9)


@FAST
@given(stratified(max_strata=1))
def test_jk1_variance_of_a_total_is_the_with_replacement_variance(data):
    _, psu, y, w = data
    zeros = np.zeros_like(psu)
    fac, idx, scale, rs = replicate_multipliers("JK1", zeros, psu)
    v = _rep_total_var(fac, idx, scale, rs, y, w)
    assert v == pytest.approx(_wr_variance(y * w, zeros, psu), rel=1e-9, abs=1e-9)


@FAST
@given(stratified(psu_per_stratum=2, max_strata=40), st.sampled_from([0.0, 0.3, 0.5]))
def test_brr_and_fay_variance_of_a_total_is_the_with_replacement_variance(data, rho):
    strata, psu, y, w = data
    method = "BRR" if rho == 0 else "Fay"
    fac, idx, scale, rs = replicate_multipliers(method, strata, psu, rho=rho)
    assert fac.shape[1] > np.unique(strata).size  # Hadamard order exceeds the number of strata
    v = _rep_total_var(fac, idx, scale, rs, y, w)
    assert v == pytest.approx(_wr_variance(y * w, strata, psu), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400))
def test_hadamard_is_hadamard_and_large_enough(n):
    h = hadamard(n)
    k = h.shape[0]
    assert h.shape == (k, k) and k > n and k % 4 == 0
    s = 2 * h.astype(np.int64) - 1
    np.testing.assert_array_equal(s.T @ s, k * np.eye(k, dtype=np.int64))


@FAST
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=30),
    st.lists(st.floats(0, 3), min_size=30, max_size=30),
    st.floats(0.01, 3),
)
def test_mse_variance_is_at_least_the_centred_one(reps, rs, scale):
    reps = np.array(reps)[:, None]
    rs = np.array(rs[: reps.shape[0]])
    W = np.ones((3, reps.shape[0]))
    full = np.array([reps.mean() + 1.0])
    a = replicate_variance(full, reps, ReplicateWeights(W, scale, np.ones(reps.shape[0]), "other", mse=False))
    b = replicate_variance(full, reps, ReplicateWeights(W, scale, np.ones(reps.shape[0]), "other", mse=True))
    assert b[0] >= a[0] - 1e-12
    c = replicate_variance(full, reps, ReplicateWeights(W, scale, rs, "other"))
    assert c[0] >= 0


def _frame(data, groups):
    strata, psu, y, w = data
    g = np.array(groups)[np.arange(len(y)) % len(groups)]
    return pd.DataFrame({"h": strata, "p": psu, "y": y, "w": w, "g": g})


@FAST
@given(stratified(), st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
def test_poststratified_weights_hit_totals_and_cell_totals_have_no_variance(data, groups):
    df = _frame(data, groups)
    d = gs.Design.from_frame(df, weights="w", strata="h", psu="p", lonely_psu="certainty")
    cells = sorted(df["g"].unique())
    totals = {c: 100.0 * (i + 1) for i, c in enumerate(cells)}
    ps = poststratify(d, "g", totals)
    got = pd.Series(ps.weights).groupby(df["g"].to_numpy()).sum()
    for c in cells:
        assert got[c] == pytest.approx(totals[c], rel=1e-12)
        z = (df["g"] == c).to_numpy() * ps.weights
        np.testing.assert_allclose(adjust_scores(z, ps), 0.0, atol=1e-9 * totals[c])


@FAST
@given(stratified(), st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
def test_linear_calibration_on_cell_indicators_is_poststratification(data, groups):
    df = _frame(data, groups)
    d = gs.Design.from_frame(df, weights="w", strata="h", psu="p", lonely_psu="certainty")
    cells = sorted(df["g"].unique())
    totals = {c: 50.0 + 10 * i for i, c in enumerate(cells)}
    ps = poststratify(d, "g", totals)
    cal = calibrate(d, "~ g - 1", {f"g{c}": t for c, t in totals.items()})
    np.testing.assert_allclose(cal.weights, ps.weights, rtol=1e-10)
    z = df["y"].to_numpy() * ps.weights
    np.testing.assert_allclose(adjust_scores(z, cal), adjust_scores(z, ps), rtol=1e-8, atol=1e-8 * np.abs(z).sum())


@FAST
@given(stratified(), st.sampled_from(["linear", "raking", "logit"]))
def test_calibrated_weights_reproduce_the_totals(data, calfun):
    strata, psu, y, w = data
    x = 1.0 + np.arange(y.size) % 3 + np.abs(y) / 100
    df = pd.DataFrame({"x": x, "w": w})
    d = gs.Design.from_frame(df, weights="w")
    # totals of a known reweighting with factors in [0.9, 1.1], so a bounded solution exists
    g_true = 1.0 + 0.1 * (x - x.mean()) / (np.ptp(x) + 1e-12)
    target = {"(Intercept)": float((w * g_true).sum()), "x": float((w * g_true * x).sum())}
    bounds = (0.5, 2.0) if calfun == "logit" else None
    c = calibrate(d, "~x", target, calfun=calfun, bounds=bounds)
    assert c.weights.sum() == pytest.approx(target["(Intercept)"], rel=1e-6)
    assert (c.weights * x).sum() == pytest.approx(target["x"], rel=1e-6)
    if bounds:
        g = c.weights / w
        assert g.min() >= 0.5 - 1e-9 and g.max() <= 2.0 + 1e-9


@FAST
@given(stratified())
def test_replicate_calibration_hits_totals_in_every_replicate(data):
    strata, psu, y, w = data
    df = pd.DataFrame({"h": strata, "p": psu, "w": w, "g": np.where(np.arange(len(w)) % 2, "a", "b")})
    d = gs.Design.from_frame(df, weights="w", strata="h", psu="p", lonely_psu="certainty")
    r = d.to_replicate("bootstrap", replicates=10, seed=3)
    W = r.replicate.weights
    ok = np.all((W.T @ (df["g"] == "a").to_numpy()) > 0) and np.all((W.T @ (df["g"] == "b").to_numpy()) > 0)
    if not ok:
        with pytest.raises(DesignError, match="replicate"):
            r.poststratify("g", {"a": 10.0, "b": 20.0})
        return
    ps = r.poststratify("g", {"a": 10.0, "b": 20.0})
    tot_a = ps.replicate.weights.T @ (df["g"] == "a").to_numpy()
    np.testing.assert_allclose(tot_a, 10.0, rtol=1e-12)


def test_rake_agrees_with_both_margins_and_warns_when_not_converged():
    df = pd.DataFrame({"a": [0, 0, 1, 1, 1], "b": [0, 1, 0, 1, 1], "w": [1.0, 2, 1, 1, 3]})
    d = gs.Design.from_frame(df, weights="w")
    r = rake(d, {"a": {0: 40, 1: 60}, "b": {0: 30, 1: 70}}, max_iter=50, epsilon=1e-9)
    assert r.weights[df.a == 1].sum() == pytest.approx(60, rel=1e-9)
    assert r.weights[df.b == 1].sum() == pytest.approx(70, rel=1e-9)
    with pytest.warns(GbvstatsWarning, match="did not converge"):
        rake(d, {"a": {0: 40, 1: 60}, "b": {0: 30, 1: 70}}, max_iter=1, epsilon=1e-9)
    with pytest.warns(GbvstatsWarning, match="do not agree on the population size"):
        rake(d, {"a": {0: 40, 1: 60}, "b": {0: 30, 1: 80}})


def test_model_matrix_matches_r_names_and_coding():
    df = pd.DataFrame({"s": ["M", "E", "H", "E"], "t": ["x", "y", "y", "x"], "v": [1.0, 2, 3, 4], "b": [True, False, True, True]})
    mm, names = model_matrix(df, "~ s*t + v + b")
    assert names == ["(Intercept)", "sH", "sM", "ty", "v", "bTRUE", "sH:ty", "sM:ty"]
    np.testing.assert_array_equal(mm[:, names.index("sH:ty")], [0, 0, 1, 0])
    mm0, names0 = model_matrix(df, "~ s - 1")
    assert names0 == ["sE", "sH", "sM"] and np.all(mm0.sum(axis=1) == 1)


# ----------------------------------------------------------------------------- bad input
@pytest.fixture()
def small():
    df = pd.DataFrame(
        {"h": [1, 1, 2, 2, 3, 3, 3], "p": [1, 2, 3, 4, 5, 6, 7], "w": [1.0] * 7, "g": list("aabbabb"),
         "r1": [1.0] * 7, "r2": [2.0] * 6 + [np.nan]}
    )
    return df, gs.Design.from_frame(df, weights="w", strata="h", psu="p")


def test_bad_replicate_columns(small):
    df, _ = small
    with pytest.raises(DataError, match=r"'r2'.*row 7"):
        make_replicate_weights_from_columns(df, ["r1", "r2"], weights="w", replicate_method="other", scale=1, rscales=1)
    with pytest.raises(SpecError, match="no column matches"):
        make_replicate_weights_from_columns(df, "^rep_", weights="w")
    with pytest.raises(DesignError, match="at least 2"):
        make_replicate_weights_from_columns(df, ["r1"], weights="w")
    with pytest.raises(SpecError, match="JK1, JKn, BRR, Fay, bootstrap, other"):
        make_replicate_weights_from_columns(df, ["r1", "r1"], replicate_method="jackknife")
    with pytest.raises(SpecError, match="rscales"):
        make_replicate_weights_from_columns(df, ["r1", "r1"], weights="w", replicate_method="JKn")
    with pytest.raises(SpecError, match="rho"):
        make_replicate_weights_from_columns(df, ["r1", "r1"], weights="w", replicate_method="Fay")
    with pytest.raises(DesignError, match="rscales has length 3"):
        make_replicate_weights_from_columns(df, ["r1", "r1"], weights="w", replicate_method="other", rscales=[1, 1, 1])
    with pytest.raises(DesignError, match="rows"):
        make_replicate_weights_from_columns(df, ["r1", "r1"], weights=np.ones(3), replicate_method="bootstrap")


def test_bad_replicate_weight_arrays():
    with pytest.raises(DesignError, match="2-d"):
        ReplicateWeights(np.ones(4), 1.0, np.ones(1), "other")
    with pytest.raises(DesignError, match="rscales has length"):
        ReplicateWeights(np.ones((4, 3)), 1.0, np.ones(2), "other")
    with pytest.raises(DataError, match="row 2"):
        ReplicateWeights(np.array([[1.0, 1], [np.inf, 1]]), 1.0, np.ones(2), "other")
    rw = ReplicateWeights(np.ones((4, 3)), 1.0, np.ones(3), "other")
    with pytest.raises(DesignError, match="one per replicate"):
        replicate_variance(np.zeros(2), np.zeros((2, 2)), rw)


def test_bad_replicate_requests(small):
    df, d = small
    with pytest.raises(SpecError, match="JK1, JKn, BRR, Fay, bootstrap"):
        to_replicate(d, "jackknife")
    with pytest.raises(DesignError, match="JKn"):
        to_replicate(d, "JK1")
    with pytest.raises(DesignError, match=r"BRR needs 2 PSUs.*\b3\b"):
        to_replicate(d, "BRR")
    with pytest.raises(SpecError, match="rho"):
        to_replicate(d, "Fay")
    unstrat = gs.Design.from_frame(df, weights="w", psu="p")
    with pytest.raises(DesignError, match="stratified"):
        to_replicate(unstrat, "JKn")


def test_bad_calibration_input(small):
    df, d = small
    with pytest.raises(DesignError, match="'b'"):
        poststratify(d, "g", {"a": 3.0})
    with pytest.raises(DesignError, match="partial=True"):
        poststratify(d, "g", {"a": 3.0, "b": 4.0, "c": 1.0})
    with pytest.warns(GbvstatsWarning, match="ignored"):
        poststratify(d, "g", {"a": 3.0, "b": 4.0, "c": 1.0}, partial=True)
    with pytest.raises(SpecError, match="Freq"):
        poststratify(d, "g", pd.DataFrame({"g": ["a", "b"], "x": [1, 2], "y": [3, 4]}))
    with pytest.raises(SpecError, match="not in the data"):
        poststratify(d, "grp", {"a": 1.0})
    bad = d.replace(data=df.assign(g=[None, "a", "b", "b", "a", "b", "b"]))
    with pytest.raises(DataError, match="row 1"):
        poststratify(bad, "g", {"a": 3.0, "b": 4.0})
    with pytest.raises(SpecError, match=r"missing 'gb'"):
        calibrate(d, "~ g", {"(Intercept)": 7.0})
    with pytest.raises(SpecError, match="linear, raking, logit"):
        calibrate(d, "~ g", [7.0, 3.0], calfun="probit")
    with pytest.raises(SpecError, match="finite bounds"):
        calibrate(d, "~ g", [7.0, 3.0], calfun="logit")
    with pytest.raises(DesignError, match="did not converge"):
        calibrate(d, "~ g", [7.0, 6.9], calfun="raking", bounds=(0.9, 1.1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forced = calibrate(d, "~ g", [7.0, 6.9], calfun="raking", bounds=(0.9, 1.1), force=True)
    assert np.all(forced.weights / d.weights <= 1.1 + 1e-12)


def test_doctests_of_replicate_and_calibrate():
    import doctest

    import gbvstats.calibrate
    import gbvstats.replicate

    for mod in (gbvstats.replicate, gbvstats.calibrate):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and res.attempted > 0


def _naive_adjust(x, design):
    """R's svyrecvar residualisation written out step by step (the reference for the low-rank form)."""
    x = x.copy()
    for step in design.calibration:
        if step.kind == "poststratify":
            g, psw, oldw = step.groups[0], step.group_weights[0], step.old_weights
            for c in np.unique(g):
                m = g == c
                x[m] -= psw[m, None] * (x[m] * (oldw / psw)[m, None]).sum(axis=0) / oldw[m].sum()
        elif step.kind == "rake":
            for _ in range(10):
                for g, psw in zip(step.groups, step.group_weights):
                    for c in np.unique(g):
                        m = g == c
                        x[m] -= psw[m, None] * (x[m] / psw[m, None]).mean(axis=0)
        else:
            u = x / step.factor[:, None]
            coef, *_ = np.linalg.lstsq(step.basis, u, rcond=None)
            x = (u - step.basis @ coef) * step.factor[:, None]
    return x


@FAST
@given(stratified(), st.integers(1, 4))
def test_chained_calibrations_adjust_scores_as_written_out(data, n_domains):
    import scipy.sparse as sp

    strata, psu, y, w = data
    n = y.size
    df = pd.DataFrame({"h": strata, "p": psu, "w": w, "x": 1.0 + np.arange(n) % 4,
                       "a": np.where(np.arange(n) % 2, "u", "v"), "b": np.where(np.arange(n) % 3 == 0, "s", "t")})
    d = gs.Design.from_frame(df, weights="w", strata="h", psu="p", lonely_psu="certainty")
    tot_a = {k: 2.0 * v for k, v in pd.Series(w).groupby(df["a"].to_numpy()).sum().items()}
    tot_b = {k: 2.0 * v for k, v in pd.Series(w).groupby(df["b"].to_numpy()).sum().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GbvstatsWarning)
        c = poststratify(d, "a", tot_a)
        c = rake(c, {"a": tot_a, "b": tot_b})
        c = calibrate(c, "~ x", {"(Intercept)": float(c.weights.sum()), "x": float((c.weights * df["x"]).sum()) * 1.01})
    dom = np.arange(n) % n_domains
    Z = sp.csr_matrix((y * c.weights, (np.arange(n), dom)), shape=(n, n_domains))
    ref = _naive_adjust(Z.toarray(), c)
    np.testing.assert_allclose(adjust_scores(Z, c), ref, rtol=1e-7, atol=1e-9 * (np.abs(ref).max() + 1))
    A, B = adjust_scores_lowrank(Z, c)
    np.testing.assert_allclose(Z.toarray() - A @ B, ref, rtol=1e-7, atol=1e-9 * (np.abs(ref).max() + 1))


@FAST
@given(stratified(), st.sampled_from(["JKn", "bootstrap"]))
def test_degf_is_rank_of_replicate_weights_minus_one(data, method):
    from gbvstats.replicate import replicate_degf

    strata, psu, y, w = data
    df = pd.DataFrame({"h": strata, "p": psu, "w": w})
    d = gs.Design.from_frame(df, weights="w", strata="h", psu="p")
    if np.unique(strata).size == 1:
        d = gs.Design.from_frame(df, weights="w", psu="p")
        method = "JK1" if method == "JKn" else method
    rw = d.to_replicate(method, replicates=12, seed=0).replicate if method == "bootstrap" else d.to_replicate(method).replicate
    assert rw.degf == np.linalg.matrix_rank(rw.weights) - 1 == replicate_degf(rw.weights)


def test_totals_in_every_accepted_form_give_the_same_weights():
    df = pd.DataFrame({"sex": list("ffmmfm"), "age": [1, 2, 1, 2, 1, 1], "w": [1.0, 2, 3, 4, 5, 6]})
    d = gs.Design.from_frame(df, weights="w")
    frame = pd.DataFrame({"sex": list("ffmm"), "age": [1, 2, 1, 2], "total": [10.0, 20, 30, 40]})
    as_dict = {("f", 1): 10.0, ("f", 2): 20.0, ("m", 1): 30.0, ("m", 2): 40.0}
    as_series = frame.set_index(["sex", "age"])["total"]
    ref = poststratify(d, ["sex", "age"], frame).weights
    np.testing.assert_allclose(poststratify(d, ["sex", "age"], as_dict).weights, ref)
    np.testing.assert_allclose(poststratify(d, ["sex", "age"], as_series).weights, ref)
    np.testing.assert_allclose(
        pd.Series(ref).groupby([df.sex, df.age]).sum().to_numpy(), [10.0, 20, 30, 40]
    )
    # categories given with another type than the data's are matched (1 vs "1")
    str_keys = {(s, str(a)): t for (s, a), t in as_dict.items()}
    np.testing.assert_allclose(poststratify(d, ["sex", "age"], str_keys).weights, ref)
    with pytest.raises(DesignError, match=r"\('m', 2\)"):
        poststratify(d, ["sex", "age"], {k: v for k, v in as_dict.items() if k != ("m", 2)})
    with pytest.raises(DesignError, match=r"\('f', 3\)"):
        poststratify(d, ["sex", "age"], {**as_dict, ("f", 3): 5.0})
