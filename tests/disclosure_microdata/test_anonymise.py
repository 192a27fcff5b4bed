"""anonymise: exact small cases, recoding, pseudonyms and keys, log, determinism, bad input."""

import os

import numpy as np
import pandas as pd
import pytest

from gbvstats.disclosure.microdata import anonymise, export_frame
from gbvstats.disclosure.pseudonym import pseudonymise
from gbvstats.disclosure.risk import assess
from gbvstats.errors import DisclosureError, KeyMissingError, SpecError
from gbvstats.keys import Key

SECRET = "s3cret-for-tests-only-7f9a2c41d0e8"


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("GBV_TEST_KEY", SECRET)
    return "env:GBV_TEST_KEY"


def people(n=40, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "name": [f"Person {i}" for i in range(n)],
        "resp_id": [f"R{i:03d}" for i in range(n)],
        "district": rng.choice([9201, 9202, 4201, 4202], n),
        "province": 0,
        "age": rng.integers(15, 65, n),
        "ethnicity": rng.choice([1, 1, 1, 2, 3], n),
        "ever_gbv": rng.integers(0, 2, n),
        "w": rng.uniform(50, 150, n),
    }).assign(province=lambda d: d["district"] // 100)


def published_sizes(out, qis):
    pub = pd.DataFrame({v: np.where(out.suppressed[v], "<S>", out.data[v].astype(str)) for v in qis})
    return pub.groupby(qis, dropna=False)[qis[0]].transform("size")


def test_donation_reaches_k_exactly():
    # one unique a=3; group a=2 has 5 records so it can give 2 without falling below k = 3
    d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "b": [1] * 9})
    out = anonymise(d, ["a", "b"], k=3, method="milp")
    assert out.info_loss.total_suppressed == 3
    assert out.suppressed["a"].tolist() == [False] * 6 + [True] * 3
    assert not out.suppressed["b"].any()
    assert published_sizes(out, ["a", "b"]).min() >= 3
    heur = anonymise(d, ["a", "b"], k=3, method="heuristic")   # donates to the fully suppressed pool
    assert published_sizes(heur, ["a", "b"]).min() >= 3
    assert heur.info_loss.suppression.cost >= out.info_loss.suppression.cost
    assert heur.info_loss.suppression.lower_bound <= out.info_loss.suppression.cost
    assert out.info_loss.suppression.optimal and out.info_loss.suppression.gap == 0
    donors = out.log[out.log["reason"].str.startswith("donor")]
    assert donors["row"].tolist() == [6, 7]


def test_least_important_variable_is_suppressed():
    d = pd.DataFrame({"a": [1, 1, 1, 1, 2], "b": [1, 1, 1, 1, 1], "c": [5, 5, 5, 5, 5]})
    d2 = pd.concat([d, pd.DataFrame({"a": [2, 2], "b": [2, 2], "c": [5, 5]})], ignore_index=True)
    # row 4 (2,1,5) and rows 5,6 (2,2,5): suppressing b pools them into (2,*,5); suppressing a does not
    out = anonymise(d2, ["a", "b", "c"], k=3, importance=["a", "c", "b"], method="milp")
    assert out.suppressed["b"].tolist() == [False] * 4 + [True] * 3
    assert out.info_loss.total_suppressed == 3


def test_no_change_when_already_safe():
    d = pd.DataFrame({"a": [1, 1, 2, 2], "b": [3, 3, 4, 4]})
    out = anonymise(d, ["a", "b"], k=2)
    assert out.log.empty and out.info_loss.total_suppressed == 0
    pd.testing.assert_frame_equal(out.data, d)


def test_output_k_anonymous_l_diverse_and_logged(key_env):
    d = people(200)
    qis = ["district", "age", "ethnicity"]
    out = anonymise(d, qis, k=3, l=2, sensitive=["ever_gbv"], identifiers=["name"],
                    pseudonymise={"resp_id": key_env}, weights="w", hierarchies={"age": [15, 25, 35, 50, 65]},
                    recode={"age": 1})
    assert len(out.data) == len(d) and out.data.index.equals(d.index)
    assert "name" not in out.data.columns
    assert published_sizes(out, qis).min() >= 3
    key = (pd.DataFrame({v: np.where(out.suppressed[v], "<S>", out.data[v].astype(str)) for v in qis}))
    nun = d.groupby([key[v] for v in qis])["ever_gbv"].transform("nunique")
    assert nun.min() >= 2
    supp_log = out.log[out.log["rule"].astype(str).str.contains("suppression")]
    assert len(supp_log) == int(out.suppressed.to_numpy().sum())
    recoded = out.log[out.log["rule"] == "global recoding"]
    assert set(recoded["column"]) == {"age"}
    assert (out.data["age"].isin([15.0, 25.0, 35.0, 50.0]) | out.suppressed["age"]).all()
    assert out.value_labels["age"][25.0] == "25–34"
    assert out.risk_after.summary.records_violating_k == 0
    assert out.risk_before.summary.records_violating_k > 0


def test_pseudonyms_use_the_key_and_never_leak_it(key_env):
    d = people(30)
    out = anonymise(d, ["province"], k=2, pseudonymise={"resp_id": key_env}, identifiers=["name"])
    expected = pseudonymise(d["resp_id"], Key(SECRET.encode(), "x"))
    assert out.data["resp_id"].tolist() == expected.tolist()
    everything = "".join([repr(out), out.log.to_csv(), out.data.to_csv(), repr(out.parameters),
                          repr(out.info_loss), repr(out.risk_after), out._repr_html_()])
    assert SECRET not in everything
    assert "Person 1" not in out.log.to_csv()
    assert out.parameters["pseudonymised"] == {"resp_id": "env:GBV_TEST_KEY"}


def test_missing_key_refuses(monkeypatch):
    monkeypatch.delenv("GBV_ABSENT_KEY", raising=False)
    with pytest.raises(KeyMissingError, match="GBV_ABSENT_KEY"):
        anonymise(people(), ["province"], k=2, pseudonymise={"resp_id": "env:GBV_ABSENT_KEY"})
    monkeypatch.delenv("GBVSTATS_KEY", raising=False)
    with pytest.raises(KeyMissingError, match="never falls back"):
        anonymise(people(), ["province"], k=2, pseudonymise=["resp_id"])


def test_short_key_error_does_not_show_it(monkeypatch):
    monkeypatch.setenv("GBV_SHORT", "tiny-key")
    with pytest.raises(SpecError) as exc:
        anonymise(people(), ["province"], k=2, pseudonymise={"resp_id": "env:GBV_SHORT"})
    assert "tiny-key" not in str(exc.value)


def test_column_hierarchy_and_auto_recoding():
    d = people(120, seed=3)
    qis = ["district", "age", "ethnicity"]
    out = anonymise(d, qis, k=3, hierarchies={"district": "province", "age": [[15, 25, 35, 50, 65], [15, 65]]},
                    max_suppressed_share=0.05)
    lv = out.parameters["recode_levels"]
    assert set(lv) == {"district", "age"} and lv["age"] >= 1
    assert out.info_loss.frame.loc["age", "recode_level"] == lv["age"]
    none = anonymise(d, qis, k=3, hierarchies={"age": [15, 25, 35, 50, 65]}, recode="none")
    assert none.parameters["recode_levels"] == {"age": 0}
    assert none.info_loss.total_suppressed >= out.info_loss.total_suppressed


def test_deterministic():
    d = people(150, seed=7)
    a = anonymise(d, ["district", "age", "ethnicity"], k=3, l=2, sensitive=["ever_gbv"])
    b = anonymise(d, ["district", "age", "ethnicity"], k=3, l=2, sensitive=["ever_gbv"])
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.log, b.log)


def test_export_frame_codes_suppressed_values():
    d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "t": ["x"] * 9, "m": [np.nan] + [1.0] * 8})
    out = anonymise(d, ["a", "t"], k=3)
    frame, labels, missing = export_frame(out)
    assert frame["a"].tolist()[-3:] == [-7.0, -7.0, -7.0]
    assert labels["a"][-7.0] == "suppressed for confidentiality" and missing["a"] == [-7.0]
    d2 = d.assign(a=[-7, -7, -7, 2, 2, 2, 2, 2, 3])
    with pytest.raises(SpecError, match="suppressed_code"):
        export_frame(anonymise(d2, ["a", "t"], k=3))


def test_bad_input_errors(key_env):
    d = people()
    with pytest.raises(SpecError, match=r"'distrct' is not a column.*did you mean 'district'"):
        anonymise(d, ["distrct"], k=3)
    with pytest.raises(SpecError, match="at least 2"):
        anonymise(d, ["district"], k=1)
    with pytest.raises(SpecError, match="both sensitive and quasi-identifier"):
        anonymise(d, ["district", "ever_gbv"], sensitive=["ever_gbv"])
    with pytest.raises(SpecError, match=r"do not cover the value 15 in row"):
        anonymise(d.assign(age=15), ["age"], hierarchies={"age": [20, 30, 65]})
    with pytest.raises(SpecError, match="does not cover the value"):
        anonymise(d, ["ethnicity"], hierarchies={"ethnicity": {1: 1, 2: 9}})
    with pytest.raises(SpecError, match="not coarser"):
        anonymise(d, ["province"], hierarchies={"province": "district"})
    with pytest.raises(SpecError, match="method='fast' is not one of"):
        anonymise(d, ["district"], method="fast")
    with pytest.raises(SpecError, match="identifier"):
        anonymise(d, ["district"], identifiers=["district"])
    with pytest.raises(DisclosureError, match="fewer than k"):
        anonymise(d.head(2), ["district"], k=3)
    with pytest.raises(DisclosureError, match="distinct value"):
        anonymise(d.assign(ever_gbv=1), ["district"], k=2, sensitive=["ever_gbv"], l=2)


def test_assess_agrees_with_output_when_no_prior_missing():
    d = people(100, seed=11)
    qis = ["district", "age", "ethnicity"]
    out = anonymise(d, qis, k=4)
    rep = assess(out.data, qis, k=4)    # suppressed values are NaN: own symbol under the safe count
    assert rep.summary.records_violating_k == 0


def test_wildcard_option_is_weaker_and_says_so():
    d = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 2, 2, 3], "b": [1] * 9})
    wild = anonymise(d, ["a", "b"], k=3, semantics="wildcard")
    assert wild.info_loss.total_suppressed == 1            # the blank "matches" every other record ...
    assert wild.parameters["safe_records_violating_k"] == 1  # ... yet the record is unique to an insider
    assert wild.risk_after.summary.semantics == "wildcard"
    with pytest.raises(SpecError, match="safe"):
        anonymise(d.assign(s=[0, 1] * 4 + [0]), ["a", "b"], k=3, sensitive=["s"], semantics="wildcard")


def test_wide_keys_use_the_general_path():
    rng = np.random.default_rng(2)
    d = pd.DataFrame({f"c{j}": rng.integers(0, 1000, 60) for j in range(12)})
    qis = list(d.columns)
    out = anonymise(d, qis, k=3, method="heuristic")
    assert published_sizes(out, qis).min() >= 3
    assert len(out.log) == int(out.suppressed.to_numpy().sum())


def test_spec_hierarchies_are_accepted():
    from gbvstats.spec import Hierarchy

    d = people(150, seed=4)
    hier = {"age": Hierarchy("age", "bands", ((15.0, 25.0, 35.0, 50.0, 65.0), (15.0, 40.0, 65.0))),
            "district": Hierarchy("district", "levels", ("province",))}
    out = anonymise(d, ["district", "age", "ethnicity"], k=3, hierarchies=hier, recode={"age": 2, "district": 1})
    assert set(out.data["age"].dropna()) <= {15.0, 40.0}
    assert set(out.data["district"].dropna()) <= {92, 42}
    assert out.parameters["recoded_from_column"] == {"district": "province"}
