"""Agreement with R ``survey`` 4.1.1 on designs and data beyond the api data: every row of
``r_values_more.csv`` is one test.

The reference values come from ``tests/reference/r_reference_more.R`` (R 4.2.2, survey 4.1.1; the exact R
call of each value is in the ``call`` column): a DHS-style survey (PSU numbers restarting in every stratum,
``nest=TRUE``; integer weights scaled by 1e6; strata region x urban/rural; missing values; zero weights;
factor proportions; several ``by`` columns; ``where`` plus ``by``; a domain with no case; domains at 0%
and 100%), R's own ``nhanes``, ``scd`` (replicate weights given as columns; BRR and Fay) and ``mu284``
(two stages, fpc at both) data sets, and strata below stage 1 (``strata=~s1+s2``) under every lonely-unit
policy. The comparison (tolerances, documented departures) is that of ``test_against_r.py``, whose
helpers are reused here.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.errors import DesignError, ExclusionWarning

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("_r_agreement", HERE / "test_against_r.py")
base = sys.modules.get("_r_agreement")
if base is None:
    base = importlib.util.module_from_spec(_spec)
    sys.modules["_r_agreement"] = base
    _spec.loader.exec_module(base)

MORE = pd.read_csv(HERE / "r_values_more.csv", keep_default_na=True, dtype={"domain": "str", "by": "str"})
for _c in ("by", "domain", "note"):
    MORE[_c] = MORE[_c].fillna("")

frame = base.frame
D = gs.Design.from_frame


def _replicate(name: str, method: str, rho: float | None = None):
    rw = pd.read_csv(base.DATA / f"scd_repw_{name}.csv")
    df = pd.concat([frame("scd.csv"), rw], axis=1)
    return D(df, weights="w", replicate_weights=list(rw.columns), replicate_method=method, rho=rho,
             combined_weights=False)


def _dhs():
    return D(frame("dhs.csv"), weights="wt", strata="v022", psu="v021", nest=True)


def _nhanes():
    return D(frame("nhanes.csv"), weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


def _strat2(policy: str, file: str = "strat2.csv"):
    return D(frame(file), weights="w", strata=["s1", "s2"], psu=["psu", "ssu"], fpc=["f1", "f2"],
             lonely_psu=policy)


DESIGNS = {
    # domains of one design are where= masks on it (R: subset(design, ...), which keeps every PSU)
    "dhs": _dhs, "dhs_obs": _dhs, "dhs_rural": _dhs, "dhs_rural_obs": _dhs, "dhs_disab": _dhs,
    "dhs_jkn": lambda: _dhs().to_replicate("JKn"), "dhs_jkn_obs": lambda: _dhs().to_replicate("JKn"),
    "nhanes": _nhanes, "nhanes_obs": _nhanes, "nhanes_women": _nhanes,
    "scd_brr": lambda: _replicate("brr", "BRR"),
    "scd_fay": lambda: _replicate("fay", "Fay", rho=0.3),
    "scd": lambda: D(frame("scd.csv"), weights="w", strata="ESA", psu="ambulance", fpc="fpc", nest=True),
    "mu284": lambda: D(frame("mu284.csv"), weights="w", psu=["id1", "id2"], fpc=["n1", "n2"]),
    "strat2_nolonely": lambda: _strat2("fail", "strat2_nolonely.csv"),
    "strat2_ps": lambda: _strat2("remove").poststratify(by="s2", totals={"a": 600.0, "b": 650.0}),
}
for _p in ("fail", "remove", "certainty", "adjust", "average"):
    DESIGNS[f"strat2_{_p}"] = (lambda p: lambda: _strat2(p))(_p)
    DESIGNS[f"dhs_lonely_{_p}"] = DESIGNS[f"dhs_lonely_{_p}_obs"] = (
        lambda p: lambda: D(frame("dhs_lonely.csv"), weights="wt", strata="v022", psu="v021", nest=True,
                            lonely_psu=p))(_p)

WHERE = {
    "dhs_obs": lambda df: df["viol"].notna().to_numpy(),
    "dhs_rural": lambda df: (df["v025"] == 2).to_numpy(),
    "dhs_rural_obs": lambda df: ((df["v025"] == 2) & df["viol"].notna()).to_numpy(),
    "dhs_disab": lambda df: ((df["disab"] == 1) & df["viol"].notna()).to_numpy(),
    "nhanes_obs": lambda df: df["HI_CHOL"].notna().to_numpy(),
    "dhs_jkn_obs": lambda df: df["viol"].notna().to_numpy(),
    **{f"dhs_lonely_{p}_obs": (lambda df: df["viol"].notna().to_numpy()) for p in ("remove", "certainty", "adjust", "average")},
    "nhanes_women": lambda df: (df["HI_CHOL"].notna() & (df["RIAGENDR"] == 2)).to_numpy(),
}
base.register(MORE, DESIGNS, WHERE)

ROWS = list(MORE.itertuples(index=False))


@pytest.mark.filterwarnings("ignore::gbvstats.errors.ExclusionWarning")
@pytest.mark.parametrize("row", [pytest.param(r, id=base._id(r)) for r in ROWS])
def test_against_r_more(row):
    if row.statistic == "error" and row.design == "strat2_fail":
        # R: "Stratum (b.5) has only one PSU at stage 2"; gbvstats must refuse too, naming the stage.
        with pytest.raises(DesignError, match="stage-2"):
            base.design(row.design).mean(row.variable)
        return
    if row.statistic == "empty":
        check_empty_domain(row)
        return
    if row.design == "strat2_average" and pd.isna(row.se):
        # R returns NA when, within a PSU, every stage-2 stratum holding domain members is lonely
        # (onestage's nstrat / nokstrat = 1 / 0); gbvstats lets such a stratum contribute 0, i.e. acts
        # as 'remove' for that PSU (docs/estimation.md). Here the only lonely stratum is that one.
        got = base.result_row(row)
        ref = MORE[MORE.case == row.case.replace("strat2_average", "strat2_remove")].iloc[0]
        base.close(got["estimate"], row.estimate, base.REL_EST, "estimate")
        base.close(got["se"], ref.se, base.REL_SE, "se (as lonely_psu='remove' where R gives NA)")
        return
    replicate = base.design(row.design).replicate is not None
    if (row.method == "beta" or (row.method == "likelihood" and not replicate)) and zero_weight_rows(row) \
            and not base.is_boundary(row):
        check_zero_weight_rows(row)
        return
    if replicate and row.statistic in ("mean", "total") and zero_weight_rows(row):
        # everything as usual but the design effects, which R computes differently here (below)
        base.check_row(row._replace(deff=math.nan, deff_wr=math.nan))
        check_replicate_deff_zero_weights(row)
        return
    base.check_row(row)


def _deffs(row, n_kind):
    """R's deff and deff_wr of a mean or total from its SE, with the SRS variance's n counting all the
    domain's rows (``"all"``) or those with a positive weight (``"positive"``)."""
    d = base.design(row.design)
    m = _domain_rows(row)
    y = d.data[row.variable].to_numpy(dtype=float)[m]
    w = d.weights[m]
    n = len(y) if n_kind == "all" else int((w > 0).sum())
    N = w.sum()
    mu = (w * y).sum() / N
    s2 = (w * (y - mu) ** 2).sum() / N * n / (n - 1)
    scale = N**2 if row.statistic == "total" else 1.0
    v = row.se**2
    return v / (s2 * scale / n * (N - n) / N), v / (s2 * scale / n)


def check_replicate_deff_zero_weights(row):
    """Documented departure: design effects on replicate designs with zero-weight rows.

    R's svymean / svytotal on a replicate design take the SRS variance with ``nobs =
    length(design$pweights)`` (zero-weight rows counted, also in svyvar's n/(n-1)), while on a Taylor
    design they use ``sum(weights != 0)``. gbvstats counts positive weights for both. Check R's
    values are exactly the former and ours the latter (from R's SE)."""
    r_deff, r_wr = _deffs(row, "all")
    base.close(r_deff, row.deff, base.REL_SE, "R's deff recomputed with every row counted")
    base.close(r_wr, row.deff_wr, base.REL_SE, "R's deff_wr recomputed with every row counted")
    got = base.result_row(row)
    o_deff, o_wr = _deffs(row, "positive")
    base.close(got["deff"], o_deff, base.REL_SE, "deff (positive weights counted)")
    base.close(got["deff_wr"], o_wr, base.REL_SE, "deff_wr (positive weights counted)")


def _domain_rows(row) -> np.ndarray:
    """Rows of the row's domain with the variable observed, whatever their weight."""
    df = base.design(row.design).data
    m = df[row.variable].notna().to_numpy().copy()
    if row.by:
        m &= (base.domain_labels(df, row.by) == row.domain).to_numpy()
    if row.design in WHERE:
        m &= WHERE[row.design](df)
    return m


def zero_weight_rows(row) -> bool:
    return bool(_domain_rows(row).sum() > row.n)


def check_zero_weight_rows(row):
    """Documented departure: rows with weight 0 in the domain (docs/estimation.md).

    R counts them in ``nrow(design)``: in svyciprop(method="beta")'s ``qt(alpha/2, nrow(design) - 1)``
    and in the rows of the svyglm behind method="likelihood" (prior weights ``w / mean(w)``).
    gbvstats counts respondents with a positive weight (the domain's ``n``). Check that R's limits
    are exactly the same computation with the row count including the zero-weight rows, and that
    gbvstats' are the computation with ``n``; the estimate, SE and df agree with R as usual.
    """
    from gbvstats.estimate import _interval

    got = base.result_row(row)
    base.close(got["estimate"], base.sibling(row, "mean").estimate, base.REL_EST, "estimate")
    base.close(got["se"], row.se, base.REL_SE, "se")
    base.close(got["df"], row.df, base.REL_SE, "df")
    assert int(got["n"]) == int(row.n)
    n_rows = int(_domain_rows(row).sum())
    if row.method == "beta":
        r_lo, r_hi = base.korn_graubard(row.estimate, row.se, row.df, n_rows, row.level)
        lo, hi = base.korn_graubard(row.estimate, row.se, row.df, int(row.n), row.level)
    else:
        est = base.estimates(row.design, "proportion", row.variable, row.by, "likelihood", float(row.level))
        i = 0 if not row.by else int(np.flatnonzero((base.domain_labels(est.frame, row.by) == row.domain).to_numpy())[0])
        rows = np.array(est.glm_rows, dtype=float)
        rows[i] = n_rows
        lo_r, hi_r = _interval("likelihood", est.estimate, est.se, est.df, est.n, est.level, "proportion",
                               est.logit_se, est.glm_dispersion, rows, est.glm_data)
        r_lo, r_hi = lo_r[i], hi_r[i]
        lo, hi = est.ci_low[i], est.ci_high[i]
    base.close(r_lo, row.ci_low, base.REL_SE, "R's lower limit recomputed with the zero-weight rows counted")
    base.close(r_hi, row.ci_high, base.REL_SE, "R's upper limit recomputed with the zero-weight rows counted")
    base.close(got["ci_low"], lo, base.REL_SE, "ci_low (zero-weight rows not counted)")
    base.close(got["ci_high"], hi, base.REL_SE, "ci_high (zero-weight rows not counted)")


def check_empty_domain(row):
    """A by-level with no case in the where-domain (documented): R's svyby leaves the row out, and
    svymean on the empty subset returns 0 with SE 0. gbvstats keeps the row, with n = 0, no estimate,
    no interval and the flag ``suppress``."""
    assert float(row.estimate) == 0.0 and float(row.se) == 0.0  # what R returned
    est = base.estimates(row.design, "mean", row.variable, row.by, "t", 0.95)
    fr = est.frame
    hit = fr[base.domain_labels(fr, row.by) == row.domain]
    assert len(hit) == 1
    got = hit.iloc[0]
    assert int(got["n"]) == 0 and float(got["n_weighted"]) == 0.0
    for col in ("estimate", "se", "ci_low", "ci_high"):
        assert math.isnan(float(got[col])), col
    assert got["flag"] == "suppress"


def test_reference_more_is_complete():
    designs = set(MORE.design)
    for needed in ["dhs", "dhs_obs", "dhs_rural", "dhs_disab", "nhanes", "nhanes_obs", "scd_brr", "scd_fay", "scd",
                   "mu284", "strat2_remove", "strat2_certainty", "strat2_adjust", "strat2_average",
                   "strat2_nolonely", "dhs_lonely_adjust", "dhs_lonely_average_obs", "dhs_jkn", "dhs_jkn_obs", "strat2_ps"]:
        assert needed in designs, needed
    assert len(MORE) == MORE.case.nunique()
    stats = MORE[MORE.statistic.isin(["mean", "total", "ratio"])]
    assert (stats["se"].notna() | (stats["design"] == "strat2_average")).all()


# ----------------------------------------------------------------------------- missing values are counted
@pytest.mark.parametrize("variable, by", [("viol", "v024"), ("children", ["v024", "v025"]), ("edu_2", "v024")])
def test_missing_values_are_counted_per_domain(variable, by):
    """R's na.rm=TRUE leaves the NA rows out; gbvstats does the same and counts them per domain
    (``excluded``), warns, and says so in the notes. Counts recomputed here from the CSV."""
    df = frame("dhs.csv")
    with pytest.warns(ExclusionWarning, match=variable) as record:
        est = _dhs().mean(variable, by=by)
    assert record[0].filename == __file__  # the warning points at the caller's line, not gbvstats'

    cols = [by] if isinstance(by, str) else by
    want = df[df[variable].isna()].groupby(cols).size()
    got = est.excluded.set_index(cols)["n_missing"]
    assert int(got.sum()) == int(df[variable].isna().sum()) > 0
    for key, n_miss in got.items():
        assert n_miss == want.get(key, 0), key
    assert any("left out" in n for n in est.notes)
    # n counts the observed rows with a positive weight, never the missing ones
    observed = df[df[variable].notna() & (df["wt"] > 0)].groupby(cols).size()
    assert est.n.tolist() == [int(observed.get(tuple(r) if len(cols) > 1 else r[0], 0))
                             for r in est.labels[cols].itertuples(index=False)]


FACTOR_ROWS = [r for r in ROWS if r.statistic == "proportion" and r.method == "mean"
               and r.variable.rsplit("_", 1)[0] in ("edu", "race")]


@pytest.mark.filterwarnings("ignore::gbvstats.errors.ExclusionWarning")
@pytest.mark.parametrize("row", [pytest.param(r, id=r.case) for r in FACTOR_ROWS])
def test_factor_category_agrees_with_r(row):
    """``proportion(x, category=k)`` on the categorical column itself gives R's
    svymean(~factor(x), na.rm=TRUE) for category k (the rows above use the 0/1 column x_k)."""
    var, k = row.variable.rsplit("_", 1)
    d = base.design(row.design)
    where = WHERE[row.design](d.data) if row.design in WHERE else None
    by = row.by.split("+") if "+" in row.by else (row.by or None)
    est = d.proportion(var, category=int(k), where=where, by=by, ci="t")
    fr = est.frame
    got = fr[base.domain_labels(fr, row.by) == row.domain].iloc[0] if row.by else fr.iloc[0]
    base.close(got["estimate"], row.estimate, base.REL_EST, "estimate")
    for col in ("se", "ci_low", "ci_high", "df", "deff", "deff_wr"):
        base.close(got[col], getattr(row, col), base.REL_SE, col)
    assert int(got["n"]) == int(row.n)


def test_factor_categories_sum_to_one():
    """The categories of a factor are proportions of the same respondents: they add to 1 in every domain."""
    d = _dhs()
    with pytest.warns(ExclusionWarning, match="edu"):
        parts = [d.proportion("edu", category=k, by="v024", ci="t") for k in range(4)]
    total = np.sum([p.estimate for p in parts], axis=0)
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(parts[0].excluded["n_missing"], parts[3].excluded["n_missing"])


def test_category_never_held_is_an_error_listing_the_values():
    from gbvstats.errors import DataError

    with pytest.raises(DataError, match=r"'edu' never holds the category 7; its values are: 0.0, 1.0, 2.0, 3.0"):
        _dhs().proportion("edu", category=7)


NHANES_SPEC = """
[survey]
name = "nhanes"

[design]
weights = "WTMEC2YR"
strata = "SDMVSTRA"
psu = "SDMVPSU"
nest = true
"""


@pytest.mark.parametrize("row", [pytest.param(r, id=r.case) for r in ROWS
                                 if r.design == "nhanes_obs" and r.by == "race" and r.method in ("logit", "beta")])
def test_survey_spec_with_nest_agrees_with_r(row, tmp_path):
    """A spec's ``[design] nest = true`` (PSU numbers restart in every stratum, R's nest=TRUE) reaches
    the design: ``Survey.proportion`` gives R's values; without it the reader's design is refused."""
    spec = tmp_path / "nhanes.toml"
    spec.write_text(NHANES_SPEC, encoding="utf-8")
    df = frame("nhanes.csv")
    with pytest.warns(ExclusionWarning, match="HI_CHOL"):
        est = gs.Survey.from_frame(df, spec=spec).proportion("HI_CHOL", by="race", ci=base.CI_METHOD[row.method])
    fr = est.frame
    got = fr[base.domain_labels(fr, "race") == row.domain].iloc[0]
    base.close(got["estimate"], base.sibling(row, "mean").estimate, base.REL_EST, "estimate")
    for col in ("se", "df", "ci_low", "ci_high"):
        base.close(got[col], getattr(row, col), base.REL_SE, col)
    with pytest.raises(DesignError, match="nest = true in a spec's"):
        gs.Survey.from_frame(df, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU").design


def test_spec_nest_must_be_a_boolean(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(NHANES_SPEC.replace("nest = true", 'nest = "yes"'), encoding="utf-8")
    with pytest.raises(gs.SpecError, match="design.nest must be true or false"):
        gs.load_spec(spec)


@pytest.mark.parametrize("extra", [[], ["--lonely-psu", "remove"]])
def test_cli_estimate_honours_spec_nest(extra, tmp_path):
    """``gbvstats estimate FILE --spec SPEC`` builds the spec's nested design (also when a design
    option is overridden on the command line) and writes R's values (nhanes, HI_CHOL by race, logit)."""
    import shutil

    from gbvstats.cli import main

    spec = tmp_path / "nhanes.toml"
    spec.write_text(NHANES_SPEC, encoding="utf-8")
    data = tmp_path / "nhanes.csv"
    shutil.copy(base.DATA / "nhanes.csv", data)
    out = tmp_path / "out.csv"
    rc = main(["estimate", str(data), "--spec", str(spec), "--var", "HI_CHOL", "--by", "race", "--ci", "logit",
               "--out", str(out), *extra])
    assert rc == 0
    got = pd.read_csv(out)
    for row in ROWS:
        if row.design == "nhanes_obs" and row.by == "race" and row.method == "logit":
            hit = got[got["race"].map(base._label) == row.domain].iloc[0]
            base.close(hit["se"], row.se, base.REL_SE, "se")
            base.close(hit["ci_low"], row.ci_low, base.REL_SE, "ci_low")
            base.close(hit["ci_high"], row.ci_high, base.REL_SE, "ci_high")
