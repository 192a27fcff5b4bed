"""Replicate weights and replicate variances against R survey.

Reference values come from ``tests/replicate/r_reference.R`` (R 4.2.2, survey 4.1.1; versions are
recorded in ``data/r_versions.csv``), run from the project root with
``Rscript tests/replicate/r_reference.R``. The calls, on R's ``data(api)``::

    dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
    dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
    dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
    dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
    dbrr <- svydesign(id = ~dnum, strata = ~pair, weights = ~pw, data = apibrr)  # districts paired
    as.svrepdesign(dclus1, type = "JK1"); as.svrepdesign(dstrat, type = "JKn")
    as.svrepdesign(dstrat_nofpc, type = "JKn"); as.svrepdesign(dclus2, type = "JK1")
    as.svrepdesign(dbrr, type = "BRR"); as.svrepdesign(dbrr, type = "Fay", fay.rho = 0.3)
    set.seed(20261123); as.svrepdesign(dstrat_nofpc, type = "bootstrap", replicates = 50)
    svrepdesign(data = cbind(apistrat, bw), repweights = "bw[0-9]+", weights = ~pw,
                type = "bootstrap", combined.weights = TRUE)          # R's bootstrap weights read back
    svrepdesign(..., repweights = "jk[0-9]+", type = "JKn", rscales = ..., mse = TRUE)
    strat1$st[5] <- "X"   # a lonely PSU; options(survey.lonely.psu = "adjust" / "average" /
    as.svrepdesign(svydesign(id = ~1, strata = ~st, weights = ~pw, data = strat1), type = "JKn")
                          # "remove" / "certainty")
    svymean(~api00 + api99, d); svytotal(~api00 + api99, d); svymean(~stype, d); degf(d)

Tolerances: replicate weights 1e-10 relative; estimates 1e-8 relative; SEs 1e-6 relative (with an
absolute floor of 1e-9 × the estimate where R's SE is a rounding-level zero, e.g. a stratum share).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.replicate import (
    hadamard,
    make_replicate_weights_from_columns,
    replicate_multipliers,
)

HERE = Path(__file__).parent
DATA = HERE / "data"
API = HERE.parent / "reference" / "data"


@pytest.fixture(scope="module")
def api():
    return {
        "clus1": pd.read_csv(API / "apiclus1.csv"),
        "strat": pd.read_csv(API / "apistrat.csv"),
        "clus2": pd.read_csv(API / "apiclus2.csv"),
    }


@pytest.fixture(scope="module")
def rvals():
    return pd.read_csv(DATA / "r_values.csv")


@pytest.fixture(scope="module")
def designs(api):
    return _designs(api)


def _designs(api):
    clus1, strat, clus2 = api["clus1"], api["strat"], api["clus2"]
    brr = clus2.assign(pair=pd.read_csv(DATA / "apibrr_design.csv")["pair"].to_numpy())
    lonely = strat.assign(st=pd.read_csv(DATA / "lonely_strata.csv")["st"].to_numpy())
    out = {
        f"dlonely_{lp}": gs.Design.from_frame(lonely, weights="pw", strata="st", lonely_psu=lp)
        for lp in ("adjust", "average", "remove", "certainty")
    }
    return out | {
        "dclus1": gs.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc"),
        "dstrat": gs.Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
        "dstrat0": gs.Design.from_frame(strat, weights="pw", strata="stype"),
        "dclus2": gs.Design.from_frame(clus2, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]),
        "dbrr": gs.Design.from_frame(brr, weights="pw", strata="pair", psu="dnum"),
    }


GENERATED = {
    "jk1_clus1": ("dclus1", "JK1", {}),
    "jkn_strat": ("dstrat", "JKn", {}),
    "jkn_strat_nofpc": ("dstrat0", "JKn", {}),
    "jk1_clus2": ("dclus2", "JK1", {}),
    "brr": ("dbrr", "BRR", {}),
    "fay": ("dbrr", "Fay", {"rho": 0.3}),
    "jkn_lonely_adjust": ("dlonely_adjust", "JKn", {}),
    "jkn_lonely_average": ("dlonely_average", "JKn", {}),
    "jkn_lonely_remove": ("dlonely_remove", "JKn", {}),
    "jkn_lonely_certainty": ("dlonely_certainty", "JKn", {}),
}


def _to_replicate(designs, case):
    base, method, kw = GENERATED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # later-stage fpc dropped (JK1 on dclus2), as R warns
        return designs[base].to_replicate(method, **kw)


def _check_stats(design, rows):
    assert len(rows) > 0
    for _, row in rows.iterrows():
        if row["stat"] == "degf":
            assert design.df == int(row["estimate"])
            continue
        term = row["term"]
        if term in ("api00", "api99"):
            fn = design.mean if row["stat"] == "mean" else design.total
            fr = fn(term).frame
        else:  # svymean(~stype): share of a category
            level = term[len("stype"):]
            data = design.data.copy()
            data["_is"] = (data["stype"] == level).astype(float)
            d2 = dataclasses.replace(design, data=data)
            fr = d2.mean("_is").frame
        est, se = float(fr["estimate"].iloc[0]), float(fr["se"].iloc[0])
        assert est == pytest.approx(row["estimate"], rel=1e-8), (term, row["stat"])
        assert abs(se - row["se"]) <= 1e-6 * row["se"] + 1e-9 * abs(row["estimate"]), (term, row["stat"], se, row["se"])


@pytest.mark.parametrize("case", list(GENERATED))
def test_generated_weights_equal_r(designs, case):
    d = _to_replicate(designs, case)
    r_w = pd.read_csv(DATA / f"repw_{case}.csv").to_numpy()
    r_c = pd.read_csv(DATA / f"repc_{case}.csv")
    rw = d.replicate
    assert rw.weights.shape == r_w.shape
    np.testing.assert_allclose(rw.weights, r_w, rtol=1e-10, atol=1e-10 * np.abs(r_w).max())
    assert rw.scale == pytest.approx(float(r_c["scale"].iloc[0]), rel=1e-12)
    np.testing.assert_allclose(rw.rscales, r_c["rscales"].to_numpy(), rtol=1e-12)
    assert rw.method == GENERATED[case][1]


@pytest.mark.parametrize("case", list(GENERATED))
def test_generated_replicate_estimates_equal_r(designs, rvals, case):
    d = _to_replicate(designs, case)
    _check_stats(d, rvals[rvals["case"] == case])


def test_r_bootstrap_weights_read_back_as_user_supplied(api, designs, rvals):
    strat = api["strat"]
    bw = pd.read_csv(DATA / "repw_boot_strat.csv")
    bw.columns = [f"bw{i + 1}" for i in range(bw.shape[1])]
    df = pd.concat([strat, bw], axis=1)
    rw = make_replicate_weights_from_columns(df, r"bw[0-9]+", weights="pw", replicate_method="bootstrap")
    assert rw.scale == pytest.approx(1 / 49) and rw.n_replicates == 50
    d = dataclasses.replace(designs["dstrat0"], data=df, replicate=rw)
    _check_stats(d, rvals[rvals["case"] == "user_boot"])
    # and through the Design constructor with a list of columns
    d2 = gs.Design.from_frame(df, weights="pw", replicate_weights=list(bw.columns), replicate_method="bootstrap")
    _check_stats(d2, rvals[rvals["case"] == "user_boot"])


def test_user_jkn_with_rscales_and_mse(api, designs, rvals):
    strat = api["strat"]
    jw = pd.read_csv(DATA / "repw_jkn_strat.csv")
    jw.columns = [f"jk{i + 1}" for i in range(jw.shape[1])]
    rscales = pd.read_csv(DATA / "repc_jkn_strat.csv")["rscales"].to_numpy()
    df = pd.concat([strat, jw], axis=1)
    rw = make_replicate_weights_from_columns(
        df, [f"jk{i + 1}" for i in range(200)], weights="pw", replicate_method="JKn", rscales=rscales, mse=True
    )
    d = dataclasses.replace(designs["dstrat0"], data=df, replicate=rw)
    _check_stats(d, rvals[rvals["case"] == "user_jkn_mse"])


def test_uncombined_weights_are_multiplied_by_sampling_weights(api):
    strat = api["strat"]
    jw = pd.read_csv(DATA / "repw_jkn_strat.csv").to_numpy() / strat["pw"].to_numpy()[:, None]
    df = pd.concat([strat, pd.DataFrame(jw, columns=[f"f{i}" for i in range(jw.shape[1])])], axis=1)
    rscales = pd.read_csv(DATA / "repc_jkn_strat.csv")["rscales"].to_numpy()
    rw = make_replicate_weights_from_columns(
        df, "^f[0-9]+$", weights="pw", replicate_method="JKn", rscales=rscales, combined_weights=False
    )
    np.testing.assert_allclose(rw.weights, pd.read_csv(DATA / "repw_jkn_strat.csv").to_numpy(), rtol=1e-12)


def test_hadamard_choice_equals_r():
    fp = pd.read_csv(DATA / "hadamard_fingerprints.csv")
    for _, row in fp.iterrows():
        h = hadamard(int(row["n"])).astype(np.int64)
        k = h.shape[0]
        i = np.arange(1, k + 1)
        assert k == row["order"], row["n"]
        assert int((h * np.outer(i, i)).sum()) == row["check1"], row["n"]
        assert int((h * np.outer(i**2, i)).sum()) == row["check2"], row["n"]


def test_bootstrap_is_reproducible_and_resamples_n_h(designs):
    d = designs["dstrat0"]
    a = d.to_replicate("bootstrap", replicates=30, seed=7).replicate
    b = d.to_replicate("bootstrap", replicates=30, seed=7).replicate
    c = d.to_replicate("bootstrap", replicates=30, seed=8).replicate
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)
    mult = a.weights / d.weights[:, None]
    n_h = np.bincount(d.strata)
    per_stratum = np.stack([np.bincount(d.strata, weights=mult[:, r]) for r in range(30)], axis=1)
    np.testing.assert_allclose(per_stratum, np.repeat(n_h[:, None], 30, axis=1))
    m = 1 / np.mean(1 / n_h)
    assert a.scale == pytest.approx(m / ((m - 1) * 29))


def test_bootstrap_with_fpc_draws_without_replacement(designs):
    d = designs["dstrat"]
    rw = d.to_replicate("bootstrap", replicates=20, seed=1).replicate
    mult = np.rint(rw.weights / d.weights[:, None]).astype(int)
    assert mult.min() >= 0
    n_h = np.bincount(d.strata)
    for r in range(20):
        np.testing.assert_array_equal(np.bincount(d.strata, weights=mult[:, r]), n_h)


def test_kernel_on_codes_matches_design_level(designs):
    d = designs["dbrr"]
    fac, idx, scale, rs = replicate_multipliers(
        "BRR", d.strata, d.clusters[0], strata_labels=d.strata_labels
    )
    np.testing.assert_allclose(fac[idx] * d.weights[:, None], d.to_replicate("BRR").replicate.weights)
