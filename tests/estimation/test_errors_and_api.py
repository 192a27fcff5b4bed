"""Bad input is a clear error; results are complete, frozen and recomputable; rules as data; the CLI."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from gbvstats.design import Design
from gbvstats.errors import DataError, DesignError, ExclusionWarning, SpecError
from gbvstats.estimate import FRAME_COLUMNS
from gbvstats.reliability import DHS, NCHS, RSE, Rule, apply_rules


def frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "st": np.repeat([1, 2, 3, 4], n // 4),
            "w": rng.uniform(1, 3, n),
            "y": (rng.random(n) < 0.4).astype(float),
            "x": rng.normal(5, 1, n),
            "g": rng.choice(["a", "b"], n),
            "k": rng.choice([1, 2], n),
        }
    )
    df["psu"] = df["st"] * 10 + np.tile([1, 2, 3, 4, 5], n // 5)
    return df


@pytest.fixture
def des():
    return Design.from_frame(frame(), weights="w", strata="st", psu="psu")


def test_unknown_ci_method_lists_options(des):
    with pytest.raises(SpecError, match="unknown CI method 'logitt'.*'logit'.*'korn-graubard'"):
        des.proportion("y", ci="logitt")
    with pytest.raises(SpecError, match="is for proportions"):
        des.mean("x", ci="logit")


def test_unknown_lonely_policy_lists_options():
    with pytest.raises(SpecError, match="unknown lonely_psu policy 'drop'.*'remove'.*'average'"):
        Design.from_frame(frame(), weights="w", strata="st", psu="psu", lonely_psu="drop")


def test_lonely_fail_names_strata_and_collapse_fixes_it():
    df = frame()
    df.loc[df["st"] == 4, "psu"] = 41
    with pytest.raises(DesignError, match=r"single PSU.*4 \(1 in all\).*collapse"):
        Design.from_frame(df, weights="w", strata="st", psu="psu")
    d = Design.from_frame(df, weights="w", strata="st", psu="psu", lonely_psu="collapse", collapse={4: 3})
    assert d.n_strata == 3 and "strata collapsed" in d.notes[0]
    r = Design.from_frame(df, weights="w", strata="st", psu="psu", lonely_psu="remove")
    assert r.lonely_strata == (4,)
    assert any("lonely_psu='remove'" in n for n in r.mean("x").notes)


def test_where_naming_missing_column(des):
    with pytest.raises(SpecError, match="not in the data: 'yy'"):
        des.proportion("y", where="yy == 1")
    with pytest.raises(SpecError, match="variable column 'z' is not in the data"):
        des.mean("z")
    with pytest.raises(SpecError, match="by column 'gg'.*did you mean 'g'"):
        des.mean("x", by="gg")


def test_non_binary_proportion(des):
    with pytest.raises(DataError, match=r"0/1 variable.*'k' holds \[2.0\]"):
        des.proportion("k")


def test_empty_domain_is_an_error_but_empty_by_level_is_listed(des):
    with pytest.raises(DesignError, match="selects no rows"):
        des.proportion("y", where="x > 1000")
    df = frame().assign(w=lambda d: np.where(d["g"] == "a", 0.0, d["w"]))
    with pytest.raises(DesignError, match="no respondent with a positive weight"):
        Design.from_frame(df, weights="w", strata="st", psu="psu").mean("x", where="g == 'a'")
    e = Design.from_frame(df, weights="w", strata="st", psu="psu").mean("x", by="g")
    assert e.n.tolist() == [0, 20] and np.isnan(e.estimate[0]) and e.flag[0] == "suppress"


def test_replicate_weights_of_wrong_shape():
    df = frame()
    with pytest.raises(DesignError, match=r"\(n, R\)"):
        Design.from_frame(df, weights="w", replicate_weights=np.ones((5, 3)), scale=1.0, rscales=np.ones(3))


def test_bad_weights_and_unnested_psus():
    df = frame()
    df.loc[[3, 7], "w"] = np.nan
    with pytest.raises(DataError, match=r"weights column 'w'.*rows 4, 8 \(2 in all\)"):
        Design.from_frame(df, weights="w")
    df = frame().assign(psu=np.tile([1, 2, 3, 4, 5], 8))
    with pytest.raises(DesignError, match="nest=True"):
        Design.from_frame(df, weights="w", strata="st", psu="psu")
    assert Design.from_frame(df, weights="w", strata="st", psu="psu", nest=True).n_psu == 20


def test_missing_values_are_counted_never_silently_dropped(des):
    df = frame()
    df.loc[[0, 1, 2], "y"] = np.nan
    d = Design.from_frame(df, weights="w", strata="st", psu="psu")
    with pytest.warns(ExclusionWarning, match="3 row"):
        e = d.proportion("y", by="g")
    assert e.excluded["n_missing"].sum() == 3
    assert e.n.sum() + 3 == len(df)
    assert any("3 row(s)" in n for n in e.notes)


def test_frame_columns_and_frozen(des):
    e = des.proportion("y", by=["g", "k"], ci="korn-graubard")
    assert list(e.frame.columns) == ["g", "k", *FRAME_COLUMNS]
    assert len(e) == 4 and set(e.flag) <= {"ok", "review", "parentheses", "suppress"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.level = 0.9
    with pytest.raises(dataclasses.FrozenInstanceError):
        des.weights = None
    assert "korn-graubard" in repr(e) and "<table" in e._repr_html_()


def test_confidence_interval_recomputes_without_reestimation(des):
    e = des.proportion("y", by="g")
    for method in ("korn-graubard", "wilson", "t", "korn-graubard-nchs"):
        again = e.confidence_interval(level=0.9, method=method)
        fresh = des.proportion("y", by="g", ci=method, level=0.9)
        np.testing.assert_allclose(again.ci_low, fresh.ci_low, rtol=1e-12)
        np.testing.assert_allclose(again.ci_high, fresh.ci_high, rtol=1e-12)
        assert again.flag == fresh.flag and again.level == 0.9
        np.testing.assert_array_equal(again.se, e.se)


def test_reliability_rule_sets():
    t = pd.DataFrame(
        {
            "estimate": [0.4, 0.02, 0.5, 0.3, 0.0],
            "ci_low": [0.36, 0.005, 0.3, 0.25, 0.0],
            "ci_high": [0.44, 0.12, 0.7, 0.35, 0.05],
            "se": [0.02, 0.02, 0.1, 0.025, 0.0],
            "df": [50, 50, 50, 5, 50],
            "n": [400, 20, 30, 300, 60],
            "n_eff": [600, 40, 25, 300, 60],
            "cv": [0.05, 1.0, 0.2, 0.083, np.nan],
        }
    )
    f = apply_rules(t, NCHS)
    assert f.flags == ("ok", "suppress", "suppress", "review", "review")
    assert "fewer than 8 design degrees of freedom" in f.reasons[3]
    assert apply_rules(t, DHS).flags == ("ok", "suppress", "parentheses", "ok", "ok")
    assert apply_rules(t, RSE).flags == ("ok", "suppress", "ok", "ok", "ok")
    mine = [Rule("tiny", "n_eff < 50", "parentheses", "effective n below 50")]
    assert apply_rules(t, mine).flags == ("ok", "parentheses", "parentheses", "ok", "ok")
    with pytest.raises(SpecError, match="unknown rule set"):
        apply_rules(t, "who")
    with pytest.raises(SpecError, match="unknown column 'nn'"):
        apply_rules(t, [Rule("bad", "nn < 3", "review", "x")])
    with pytest.raises(SpecError, match="unsupported"):
        apply_rules(t, [Rule("bad", "__import__('os')", "review", "x")])


def test_cli_estimate_csv(tmp_path, capsys):
    from gbvstats.cli import main

    df = frame()
    src = tmp_path / "s.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "e.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["estimate", str(src), "--var", "y", "--by", "g", "--weights", "w", "--strata", "st",
                   "--psu", "psu", "--ci", "korn-graubard", "--out", str(out)])
    assert rc == 0
    got = pd.read_csv(out)
    want = Design.from_frame(df, weights="w", strata="st", psu="psu").proportion("y", by="g", ci="korn-graubard")
    np.testing.assert_allclose(got["se"], want.se, rtol=1e-12)
    assert main(["estimate", str(src), "--var", "y", "--weights", "w", "--ci", "logit", "--where", "nope > 1"]) == 2
    assert "not in the data" in capsys.readouterr().err


def test_plot_is_a_forest_figure_and_estimation_does_not_import_matplotlib():
    import subprocess
    import sys

    code = ("import sys, pandas as pd; from gbvstats.design import Design; "
            "d = Design.from_frame(pd.DataFrame({'w': [1.0] * 4, 'y': [0, 1, 1, 0]}), weights='w'); "
            "d.proportion('y').confidence_interval(method='likelihood'); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    fig = Design.from_frame(frame(), weights="w").proportion("y", by="g").plot()
    assert len(fig.axes) == 1


def test_replicate_domain_df_is_rank_of_the_domains_replicate_weights_minus_one():
    import warnings

    df = frame(80, seed=3)
    des = Design.from_frame(df, weights="w", strata="st", psu="psu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = des.to_replicate("JKn")
    W = rep.replicate.weights
    for where in (None, "x > 5"):
        e = rep.proportion("y", by="g", where=where)
        mask = np.ones(len(df), bool) if where is None else df.eval(where).to_numpy()
        for i, g in enumerate(e.labels["g"]):
            rows = mask & (df["g"] == g).to_numpy() & df["y"].notna().to_numpy()
            assert e.df[i] == np.linalg.matrix_rank(W[rows]) - 1


def test_nchs_flags_do_not_depend_on_the_displayed_interval():
    # NCHS (Parker et al. 2017) judges a proportion by its 95% Korn-Graubard interval: a table shown
    # with logit or Wilson intervals, or at 90%, must carry the same flags.
    import numpy as np
    import pandas as pd

    from gbvstats.design import Design

    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"psu": np.repeat(np.arange(60), 10), "stratum": np.repeat(np.arange(30), 20),
                       "w": rng.uniform(50, 150, n), "y": (rng.uniform(size=n) < 0.08).astype(float),
                       "d": rng.integers(0, 12, n)})
    des = Design.from_frame(df, weights="w", strata="stratum", psu="psu")
    ref = des.proportion("y", by="d", ci="korn-graubard-nchs").flag
    for ci, level in (("logit", 0.95), ("wilson", 0.95), ("korn-graubard-nchs", 0.90), ("wald", 0.95)):
        assert tuple(des.proportion("y", by="d", ci=ci, level=level).flag) == tuple(ref), (ci, level)
    assert set(ref) - {""}, "the data should produce some flags"


def test_cli_category_matches_the_api(tmp_path):
    import numpy as np
    import pandas as pd

    from gbvstats.cli import main
    from gbvstats.design import Design

    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"s1": np.repeat([1, 2], 200), "psu": np.repeat(np.arange(40), 10),
                       "w": rng.uniform(1, 3, n), "edu": rng.integers(1, 4, n)})
    src, out = tmp_path / "d.csv", tmp_path / "o.csv"
    df.to_csv(src, index=False)
    assert main(["estimate", str(src), "--var", "edu", "--category", "2", "--weights", "w",
                 "--strata", "s1", "--psu", "psu", "--out", str(out)]) == 0
    got = pd.read_csv(out)
    ref = Design.from_frame(df, weights="w", strata="s1", psu="psu").proportion("edu", category=2).frame
    assert np.isclose(got["estimate"][0], ref["estimate"][0]) and np.isclose(got["se"][0], ref["se"][0])
