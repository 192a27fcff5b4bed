"""Post-stratification, raking and calibration against R survey (Taylor and replicate designs).

Reference values come from ``tests/replicate/r_reference.R`` (R 4.2.2, survey 4.1.1), run from
the project root with ``Rscript tests/replicate/r_reference.R``; R's documentation examples::

    pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
    pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
    pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
    postStratify(dclus1, ~stype, pop.types)
    rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
    calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069))
    calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), bounds = c(0.7, 1.7))
    calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), calfun = "raking")
    calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), calfun = "logit",
              bounds = c(0.7, 1.7))
    postStratify(dclus2, ~stype, pop.types)
    calibrate(dstrat, ~api99, c(`(Intercept)` = 6194, api99 = 3914069))
    rclus1 <- as.svrepdesign(dclus1)   # then postStratify / rake / calibrate (linear, raking)
    calibrate(postStratify(dclus1, ~stype, pop.types), ~api99, c(`(Intercept)` = 6194, api99 = 3914069))
    pop.int <- colSums(model.matrix(~stype * sch.wide, apiclus1) * weights(dclus1)) * 1.05
    calibrate(dclus1, ~stype * sch.wide, pop.int); calibrate(rclus1, ~stype * sch.wide, pop.int,
              calfun = "raking")
    svymean(~api00 + api99, d); svytotal(~api00 + api99, d); svymean(~sch.wide, d); weights(d)
    svyby(~api00, ~sch.wide, d, svymean)      # domains that cut across the calibration

Tolerances: weights 1e-10 relative; estimates 1e-8 relative; SEs 1e-6 relative, with an absolute
floor of 1e-8 × the estimate where the calibration makes the SE zero up to rounding (R prints
e.g. 6e-11 for the SE of the calibrated total of api99; both programs give rounding noise).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs

HERE = Path(__file__).parent
DATA = HERE / "data"
API = HERE.parent / "reference" / "data"

POP_TYPES = pd.DataFrame({"stype": ["E", "H", "M"], "Freq": [4421, 755, 1018]})
POP_SCHWIDE = pd.DataFrame({"sch.wide": ["No", "Yes"], "Freq": [1072, 5122]})
TOTALS = {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018, "api99": 3914069}
TOTALS_API99 = {"(Intercept)": 6194, "api99": 3914069}


@pytest.fixture(scope="module")
def designs():
    clus1 = pd.read_csv(API / "apiclus1.csv")
    strat = pd.read_csv(API / "apistrat.csv")
    clus2 = pd.read_csv(API / "apiclus2.csv")
    dclus1 = gs.Design.from_frame(clus1, weights="pw", psu="dnum", fpc="fpc")
    return {
        "dclus1": dclus1,
        "rclus1": dclus1.to_replicate("JK1"),
        "dstrat": gs.Design.from_frame(strat, weights="pw", strata="stype", fpc="fpc"),
        "dclus2": gs.Design.from_frame(clus2, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"]),
    }


@pytest.fixture(scope="module")
def rvals():
    return pd.read_csv(DATA / "r_values.csv")


CASES = {
    "ps_clus1": lambda d: d["dclus1"].poststratify("stype", POP_TYPES),
    "rake_clus1": lambda d: d["dclus1"].rake([("stype", POP_TYPES), ("sch.wide", POP_SCHWIDE)]),
    "lin_clus1": lambda d: d["dclus1"].calibrate("~stype+api99", TOTALS),
    "linb_clus1": lambda d: d["dclus1"].calibrate("~stype+api99", TOTALS, bounds=(0.7, 1.7)),
    "rak_clus1": lambda d: d["dclus1"].calibrate("~stype+api99", TOTALS, calfun="raking"),
    "logit_clus1": lambda d: d["dclus1"].calibrate("~stype+api99", TOTALS, calfun="logit", bounds=(0.7, 1.7)),
    "ps_clus2": lambda d: d["dclus2"].poststratify("stype", POP_TYPES),
    "lin_strat": lambda d: d["dstrat"].calibrate(["api99"], TOTALS_API99),
    "ps_rclus1": lambda d: d["rclus1"].poststratify("stype", POP_TYPES),
    "rake_rclus1": lambda d: d["rclus1"].rake({"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}),
    "lin_rclus1": lambda d: d["rclus1"].calibrate("~stype+api99", TOTALS),
    "rak_rclus1": lambda d: d["rclus1"].calibrate("~stype+api99", TOTALS, calfun="raking"),
    "ps_then_lin_clus1": lambda d: d["dclus1"].poststratify("stype", POP_TYPES).calibrate("~api99", TOTALS_API99),
    "int_clus1": lambda d: d["dclus1"].calibrate("~stype*sch.wide", _pop_interaction()),
    "int_rclus1": lambda d: d["rclus1"].calibrate("~stype*sch.wide", _pop_interaction(), calfun="raking"),
}


def _pop_interaction():
    p = pd.read_csv(DATA / "pop_interaction.csv")
    return dict(zip(p["term"], p["total"]))


@pytest.mark.parametrize("case", list(CASES))
def test_calibrated_weights_equal_r(designs, case):
    d = CASES[case](designs)
    r = pd.read_csv(DATA / f"calw_{case}.csv")
    scale = np.abs(r["full"].to_numpy()).max()
    np.testing.assert_allclose(d.weights, r["full"].to_numpy(), rtol=1e-10, atol=1e-10 * scale)
    if d.replicate is not None:
        np.testing.assert_allclose(d.replicate.weights, r.iloc[:, 1:].to_numpy(), rtol=1e-10, atol=1e-10 * scale)
    else:
        assert r.shape[1] == 1


@pytest.mark.parametrize("case", list(CASES))
def test_calibrated_estimates_and_se_equal_r(designs, rvals, case):
    d = CASES[case](designs)
    rows = rvals[rvals["case"] == case]
    assert len(rows) == 8
    by = d.mean("api00", by="sch.wide").frame.set_index("sch.wide")
    for _, row in rows.iterrows():
        term = row["term"]
        if row["stat"] == "mean_by_sch.wide":  # svyby(~api00, ~sch.wide, d, svymean)
            est, se = float(by.loc[term, "estimate"]), float(by.loc[term, "se"])
            assert est == pytest.approx(row["estimate"], rel=1e-8), (case, term)
            assert se == pytest.approx(row["se"], rel=1e-6), (case, term)
            continue
        if term in ("api00", "api99"):
            fr = (d.mean if row["stat"] == "mean" else d.total)(term).frame
        else:
            level = term[len("sch.wide"):]
            data = d.data.copy()
            data["_is"] = (data["sch.wide"] == level).astype(float)
            fr = dataclasses.replace(d, data=data).mean("_is").frame
        est, se = float(fr["estimate"].iloc[0]), float(fr["se"].iloc[0])
        assert est == pytest.approx(row["estimate"], rel=1e-8), (case, term)
        assert abs(se - row["se"]) <= 1e-6 * row["se"] + 1e-8 * abs(row["estimate"]), (case, term, se, row["se"])


def test_calibration_steps_are_recorded(designs):
    d = CASES["ps_then_lin_clus1"](designs)
    assert [s.kind for s in d.calibration] == ["poststratify", "calibrate"]
    assert "stype" in repr(d.calibration[0])
    assert designs["dclus1"].calibration == ()  # the input design is untouched
