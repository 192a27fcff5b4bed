"""Survey: derived variables against the generator's truth, describe(), from_frame, delegation to Design."""

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import gbvstats as gs
from gbvstats.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "surveys" / "example"
SPEC = EXAMPLE / "survey.toml"


def _generator():
    sys.path.insert(0, str(ROOT / "surveys"))
    spec = importlib.util.spec_from_file_location("gbv_generate", ROOT / "surveys" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _generator()


@pytest.fixture(scope="module")
def population(generator):
    return generator.make_population(seed=7, year=2023)


@pytest.fixture(scope="module")
def survey2024():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the example file passes every check
        return gs.read_survey(EXAMPLE / "community_2024.sav", spec=SPEC)


TRUE = ["gbv_any_ever", "gbv_any_12m", "ipv_12m", "npsv_12m", "sought_help_any", "sought_help_formal", "help_seeking"]


def test_spec_derivations_equal_generator_truth_without_nonresponse(generator, population):
    sample = generator.draw_sample(population, seed=3, item_nonresponse=False)
    s = gs.Survey.from_frame(sample, spec=SPEC)
    for name in TRUE:
        np.testing.assert_array_equal(s.data[name].to_numpy(), sample[f"true_{name}"].to_numpy(), err_msg=name)


def test_known_derived_values_equal_truth_with_item_nonresponse(generator, population):
    sample = generator.draw_sample(population, seed=4, item_nonresponse=True)
    s = gs.Survey.from_frame(sample, spec=SPEC)
    for name in TRUE:
        got, true = s.data[name].to_numpy(), sample[f"true_{name}"].to_numpy()
        known = ~np.isnan(got)
        np.testing.assert_array_equal(got[known], true[known], err_msg=name)
        assert known.mean() > 0.03 if name in ("sought_help_any", "help_seeking", "sought_help_formal") else known.mean() > 0.8


def test_example_file_reads_with_labels_and_missing_counts(survey2024):
    s = survey2024
    assert len(s) > 3000 and {"gbv_any_ever", "sought_help_formal", "help_seeking", "src_police"} <= set(s.data)
    assert s.label("sought_help_formal", "en") == "Sought help from a formal service provider"
    assert s.label("province", "vi") == "Tỉnh/thành phố"
    assert s.value_labels("province", "vi")[92.0] == "Cần Thơ"
    assert s.value_labels("province", "en")[92.0] == "Can Tho"
    assert s.value_labels("help_seeking", "en") == {1.0: "Sought help", 2.0: "Told someone only", 3.0: "Told no one"}
    # raw keeps 1/2/0 codes, data has the 0/1 flag of the same name
    assert set(s.raw["src_police"].unique()) <= {0.0, 1.0, 2.0, 8.0, 9.0}
    assert set(s.data["src_police"].dropna().unique()) <= {0.0, 1.0}
    c = s.meta.missing_counts.set_index(["variable", "code"])["count"]
    assert c[("sought_help", "0")] == (s.raw["sought_help"] == 0).sum()
    assert c[("sought_help", "8")] == (s.raw["sought_help"] == 8).sum() > 0


def test_describe_accounts_for_every_row(survey2024):
    d = survey2024.describe()
    n = d.n_rows
    for name in survey2024.spec.derived:
        excluded = d.exclusions.loc[d.exclusions["variable"] == name, "count"].sum()
        assert survey2024.data[name].notna().sum() + excluded == n, name
    row = d.design.iloc[0]
    assert row["n_strata"] == 8 and row["singleton_strata"] == "none"
    assert row["n_psu"] == survey2024.data["commune"].nunique()
    assert row["weight_sum"] == pytest.approx(survey2024.data["weight"].sum())
    assert d.strata["psus"].sum() == row["n_psu"] and d.strata["n"].sum() == n
    vl = d.value_labels.set_index(["variable", "code"])
    assert vl.loc[("province", "92"), "label_en"] == "Can Tho"
    assert vl.loc[("province", "92"), "count"] == (survey2024.data["province"] == 92).sum()
    assert vl.loc[("help_seeking", "3"), "count"] == (survey2024.data["help_seeking"] == 3).sum()
    assert "Kiên Giang" in d.text(lang="vi", value_labels=True) and "<table" in d._repr_html_()
    text = d.text()
    assert "singleton strata: none" in text and "Exclusions" in text and "sought_help_formal" in text
    assert "Tìm kiếm sự trợ giúp" in d.text(lang="vi")


def test_from_frame_design_summary_and_singletons():
    df = pd.DataFrame({"w": [1.0, 2.0, 3.0, 4.0, 5.0], "h": ["a", "a", "b", "b", "c"], "psu": [1, 2, 1, 1, 9],
                       "y": [0, 1, 1, 0, 1]})
    s = gs.Survey.from_frame(df, weights="w", strata="h", psu="psu")
    d = s.describe()
    assert d.strata["psus"].tolist() == [2, 1, 1]
    assert d.design.iloc[0]["singleton_strata"] == "b, c"
    assert d.design.iloc[0]["weight_min"] == 1.0 and d.design.iloc[0]["weight_max"] == 5.0
    assert repr(s).startswith("Survey('<DataFrame>', rows=5")


def test_from_frame_overrides_spec_design():
    spec = parse_spec({"design": {"weights": "w", "strata": "h", "psu": "p"}})
    df = pd.DataFrame({"w": [1.0, 2.0], "w2": [3.0, 4.0], "h": [1, 1], "p": [1, 2]})
    s = gs.Survey.from_frame(df, spec=spec, weights="w2")
    assert s.spec.design.weights == "w2" and s.spec.design.strata == "h"
    assert s.describe().design.iloc[0]["weight_sum"] == 7.0


def test_no_weights_is_a_design_error():
    s = gs.Survey.from_frame(pd.DataFrame({"y": [1, 0]}))
    with pytest.raises(gs.DesignError, match=r"no design weights were given"):
        s.design


def test_design_delegation_matches_design_from_frame(survey2024):
    design = gs.Design.from_frame(survey2024.data, weights="weight", strata="stratum", psu="commune")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        a = survey2024.proportion("sought_help_formal", where="gbv_any_ever == 1", by="province")
        b = design.proportion("sought_help_formal", where="gbv_any_ever == 1", by="province")
        m = survey2024.mean("age", by="urban")
        t = survey2024.total("gbv_any_ever")
        r = survey2024.ratio("sought_help_formal", "gbv_any_ever")
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert survey2024.design is survey2024.design  # built once
    assert len(m.frame) == 2 and t.frame["estimate"].iloc[0] > 0 and 0 < r.frame["estimate"].iloc[0] < 1


def test_estimates_near_truth(survey2024):
    import json

    truth = json.loads((EXAMPLE / "truth.json").read_text(encoding="utf-8"))["rounds"]["2024"]["national"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        for name, where in (("gbv_any_ever", None), ("ipv_12m", "ever_partnered == 1"),
                            ("sought_help_formal", "gbv_any_ever == 1")):
            f = survey2024.proportion(name, where=where, level=0.999).frame.iloc[0]
            assert f["ci_low"] <= truth[name] <= f["ci_high"], name


# ---------------------------------------------------------------- property: rows in = rows out + excluded

PROP_SPEC = parse_spec({
    "missing": {"codes": {"8": "refused", "9": "don't know"}},
    "derived": {
        "a": {"type": "yes_no", "source": "q1"},
        "b": {"type": "yes_no", "source": "q2", "universe": "a == 1"},
        "any": {"type": "any_of", "sources": ["a", "q3"], "when": "q4 == 1"},
        "cat": {"type": "categorical", "categories": {"1": "q1 == 1", "2": "q1 == 2 and q2 == 1"}, "universe": "a == 1"},
        "f": {"type": "flag", "when": "q3 == 1", "universe": "b == 1"},
    },
})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.sampled_from([1, 2, 8, 9]) for _ in range(4)]), min_size=1, max_size=40))
def test_every_row_is_counted_once(rows):
    df = pd.DataFrame(rows, columns=["q1", "q2", "q3", "q4"]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        s = gs.Survey.from_frame(df, spec=PROP_SPEC)
    assert len(s.data) == len(df)
    for name in PROP_SPEC.derived:
        excluded = s.exclusions.loc[s.exclusions["variable"] == name, "count"].sum()
        assert s.data[name].notna().sum() + excluded == len(df)
        assert set(s.data[name].dropna().unique()) <= ({1.0, 2.0} if name == "cat" else {0.0, 1.0})
    # any_of: 1 exactly when q4 == 1 and (a or q3 is yes)
    expect_one = (df["q4"] == 1) & ((df["q1"] == 1) | (df["q3"] == 1))
    assert ((s.data["any"] == 1) == expect_one).all()
    # user-missing codes are counted, per code, on the coded variables (sources of derived variables);
    # q4 is only used in a condition, so its 8 and 9 stay values
    c = s.meta.missing_counts
    assert not (c["variable"] == "q4").any()
    for q in ("q1", "q2", "q3"):
        for code in (8, 9):
            got = c.loc[(c["variable"] == q) & (c["code"] == str(code)), "count"].sum()
            assert got == (df[q] == code).sum()


def test_two_stage_design_with_fpc_passes_through():
    clus2 = pd.read_csv(ROOT / "tests" / "reference" / "data" / "apiclus2.csv")
    s = gs.Survey.from_frame(clus2, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    direct = gs.Design.from_frame(clus2, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert len(s.design.clusters) == 2
    pd.testing.assert_frame_equal(s.mean("api00").frame, direct.mean("api00").frame)
    toml = parse_spec({"design": {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}})
    pd.testing.assert_frame_equal(gs.Survey.from_frame(clus2, spec=toml).mean("api00").frame,
                                  direct.mean("api00").frame)
