"""Suppressed values must not be readable from other released columns (inference through released columns)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gbvstats.cli import main
from gbvstats.disclosure import anonymise, assess, inferable
from gbvstats.errors import DisclosureError, SpecError
from gbvstats.readers import read_survey
from gbvstats.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "surveys/example/community_2024.sav"
SPEC = ROOT / "surveys/example/survey.toml"
KEY = "throwaway-test-key-for-inference-0123456789"


def locality_attack(df: pd.DataFrame) -> pd.DataFrame:
    """The intruder of the reproducer: province and urban back from the stratum (or from the weight,
    each weight occurring in one stratum only), marital status back from the IPV routing code
    (0 = not asked = never partnered = marital 5)."""
    att = df.copy()
    if "stratum" in att and "weight" in att:
        pub = att["province"].notna()
        w2s = att.loc[pub].groupby("weight")["stratum"].first()
        st_ = att["stratum"].fillna(att["weight"].map(w2s))
        att["province"] = att["province"].fillna(st_ // 10)
        att["urban"] = att["urban"].fillna(st_ % 10)
    if "marital" in att and "ipv_phys_ever" in att:
        att.loc[att["marital"].isna() & (att["ipv_phys_ever"] == 0), "marital"] = 5
    return att


def column_attack(out, qis, k):
    """Independent check: fill each blank quasi-identifier from each released column whose value occurs
    with a single published value (no evidence threshold; one column at a time, then all of them), then
    count classes (suppression marks as a value) among records; returns the smallest class size seen."""
    data, supp = out.data, out.suppressed
    cols = [c for c in data.columns if c not in qis]
    pub_key = {v: np.where(supp[v], "<s>", data[v].astype(str)) for v in qis}

    def fills(c):
        x = data[c].astype(object).where(~supp[c], "<blank>") if c in supp else data[c].astype(object)
        x = x.fillna("<na>")
        got = {}
        for v in qis:
            pub = ~supp[v].to_numpy()
            m = pd.Series(data[v].to_numpy()[pub]).groupby(x.to_numpy()[pub]).agg(["nunique", "first"])
            m = m[(m["nunique"] == 1) & (m.index != "<blank>")]["first"]
            val = x.map(m)
            rows = supp[v].to_numpy() & val.notna().to_numpy()
            got[v] = (rows, val.astype(str).to_numpy())
        return got

    per = {c: fills(c) for c in cols}
    smallest = len(data)
    for group in [[c] for c in cols] + [cols]:
        key = {v: pub_key[v].copy() for v in qis}
        done = {v: np.zeros(len(data), dtype=bool) for v in qis}
        for c in group:
            for v, (rows, vals) in per[c].items():
                new = rows & ~done[v]
                key[v][new] = vals[new]
                done[v] |= new
        sizes = pd.DataFrame(key).groupby(qis, dropna=False)[qis[0]].transform("size")
        smallest = min(smallest, int(sizes.min()))
    return smallest


# --------------------------------------------------------------------------------------------
# the example survey: the reproducer's attack


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    import os

    os.environ.setdefault("GBVSTATS_KEY", KEY)
    out = tmp_path_factory.mktemp("leak") / "a.sav"
    code = main(["anonymise", str(EXAMPLE), "--spec", str(SPEC), "--k", "5", "--out", str(out)])
    assert code == 0
    df, meta = pyreadstat.read_sav(str(out), user_missing=True)  # keep routing codes (0 = not asked)
    for c in df.columns:  # the suppression code (-7, or next to a column's own missing codes) -> NaN
        for code, text in meta.variable_value_labels.get(c, {}).items():
            if text == "suppressed for confidentiality":
                df.loc[df[c] == code, c] = np.nan
    return df, meta


def test_example_release_resists_the_reproducers_attack(released):
    df, _ = released
    qis = list(load_spec(SPEC).disclosure.quasi_identifiers)
    assert assess(df, qis, k=5).summary.records_violating_k == 0
    att = locality_attack(df)
    extra = [c for c in ("ever_partnered", "age_group") if c in df]
    assert assess(att, qis + extra, k=5).summary.records_violating_k == 0
    # the release keeps what estimation needs
    assert {"stratum", "weight", "commune"} <= set(df.columns)
    assert df[["stratum", "weight", "commune"]].notna().all().all()
    # the routing code is still there for the records whose marital status it does not give away
    assert (df["ipv_phys_ever"] == 0).any()


def test_example_release_nothing_recoverable_that_breaks_k(released):
    df, _ = released
    qis = list(load_spec(SPEC).disclosure.quasi_identifiers)
    assert inferable(df, qis, k=5).empty


def test_the_attack_has_teeth_on_the_old_release():
    """The configuration the example used to have (geography suppressible, stratum/weight/recodes released)
    with the check switched off: the same attack breaks k — this is what the test above guards against."""
    survey = read_survey(EXAMPLE, spec=SPEC)
    frame = survey.raw.copy()
    qis = ["province", "district", "urban", "age", "ethnicity", "education", "marital"]
    out = anonymise(frame, qis, k=5, l=1, hierarchies={"age": [[15, 25, 35, 45, 55, 65]], "district": "province"},
                    importance=["province", "urban", "age", "district", "marital", "education", "ethnicity"],
                    identifiers=["full_name", "phone", "birth_date", "resp_id"], weights="weight",
                    method="heuristic", on_inference="ignore")
    df = out.data
    assert df["province"].isna().any()
    att = locality_attack(df)
    assert assess(df, qis, k=5).summary.records_violating_k == 0
    assert assess(att, qis, k=5).summary.records_violating_k > 0
    rep = out.inference
    assert {"stratum", "weight"} <= set(rep["column"])
    assert set(rep["action"]) == {"ignored"}


# --------------------------------------------------------------------------------------------
# policy


def _geo_frame(n_per=12, seed=1):
    rng = np.random.default_rng(seed)
    prov = np.repeat([1, 2, 3], n_per * 2)
    urban = np.tile(np.repeat([1, 2], n_per), 3)
    age = rng.integers(0, 4, prov.size)
    age[::7] = 9  # rare ages: suppression is needed
    return pd.DataFrame({"province": prov.astype(float), "urban": urban.astype(float), "age": age.astype(float),
                         "stratum": prov * 10 + urban, "weight": prov * 100.0 + urban,
                         "answer": rng.integers(1, 3, prov.size)})


def test_ordinary_column_is_blanked_and_logged():
    df = _geo_frame()
    out = anonymise(df, ["province", "urban", "age"], k=3, importance=["age", "urban", "province"])
    assert out.suppressed["province"].any()
    assert out.parameters["inference_suppressed"].get("stratum", 0) > 0
    blanked = out.suppressed["stratum"].to_numpy()
    assert out.data["stratum"].isna().to_numpy()[blanked].all()
    log = out.log[out.log["rule"].astype(str) == "inference suppression"]
    assert set(zip(log["row"], log["column"].astype(str))) >= {(int(r), "stratum") for r in np.flatnonzero(blanked)}
    assert inferable(out, k=3).empty
    assert column_attack(out, ["province", "urban", "age"], 3) >= 3


def test_error_policy_names_column_qi_rows_and_fix():
    df = _geo_frame()
    with pytest.raises(DisclosureError) as e:
        anonymise(df, ["province", "urban", "age"], k=3, importance=["age", "urban", "province"],
                  on_inference="error")
    msg = str(e.value)
    assert "'stratum'" in msg and "'province'" in msg and "record(s)" in msg
    assert "never_suppress" in msg and "drop" in msg


def test_design_column_is_never_blanked():
    """A design column that gives province back: province is suppressed wherever the column takes the
    revealing value (the column stays whole), and nothing is recoverable afterwards."""
    df = _geo_frame()
    out = anonymise(df, ["province", "urban", "age"], k=3, importance=["age", "urban", "province"],
                    weights="weight", design_columns=["stratum"])
    assert "stratum" not in out.suppressed.columns and "weight" not in out.suppressed.columns
    pd.testing.assert_series_equal(out.data["stratum"], df["stratum"])
    assert (out.log["rule"].astype(str) == "inference suppression (design)").any()
    assert inferable(out, k=3).empty
    assert column_attack(out, ["province", "urban", "age"], 3) >= 3


def test_design_column_error_message():
    df = _geo_frame()
    with pytest.raises(DisclosureError) as e:
        anonymise(df, ["province", "urban", "age"], k=3, importance=["age", "urban", "province"],
                  design_columns=["stratum"], on_inference="error")
    msg = str(e.value)
    assert "'stratum'" in msg and "'province'" in msg


def test_never_suppress_keeps_geography_and_stratum_reveals_nothing():
    df = _geo_frame()
    out = anonymise(df, ["province", "urban", "age"], k=3, never_suppress=["province", "urban"],
                    weights="weight", design_columns=["stratum"], on_inference="error")
    assert not out.suppressed["province"].any() and not out.suppressed["urban"].any()
    assert out.suppressed["age"].any()
    assert out.risk_after.summary.records_violating_k == 0
    assert len(out.inference) == 0


def test_never_suppress_refuses_a_cell_below_k():
    df = _geo_frame()
    df.loc[0, "province"] = 7.0  # a province with one record
    with pytest.raises(DisclosureError, match="province = 7"):
        anonymise(df, ["province", "urban", "age"], k=3, never_suppress=["province", "urban"])


def test_ignore_lists_but_keeps():
    df = _geo_frame()
    out = anonymise(df, ["province", "urban", "age"], k=3, importance=["age", "urban", "province"],
                    on_inference="ignore")
    pd.testing.assert_series_equal(out.data["stratum"], df["stratum"])
    assert (out.inference["column"] == "stratum").any()
    assert set(out.inference["action"]) == {"ignored"}


def test_drop_and_bad_arguments():
    df = _geo_frame()
    out = anonymise(df, ["province", "urban", "age"], k=3, never_suppress=["province", "urban"],
                    drop=["stratum"])
    assert "stratum" not in out.data.columns
    with pytest.raises(SpecError, match="not a quasi-identifier"):
        anonymise(df, ["province", "age"], k=3, never_suppress=["urban"])
    with pytest.raises(SpecError, match="on_inference"):
        anonymise(df, ["province", "age"], k=3, on_inference="warn")
    with pytest.raises(SpecError, match="quasi-identifier 'nope'"):
        inferable(df, ["nope"])


def test_inferable_on_a_released_frame():
    d = pd.DataFrame({"province": [1.0] * 8 + [2.0] * 8 + [np.nan] * 2,
                      "stratum": [11] * 8 + [21] * 8 + [21, 11],
                      "routing": [0] * 8 + [1] * 8 + [1, 0]})
    rep = inferable(d, ["province"])
    assert set(rep["column"]) == {"stratum", "routing"}
    assert rep.set_index("column").loc["stratum", "rows_affected"] == 2
    # a column constant within the class of the suppressed records reveals nothing that matters for k
    d2 = d.assign(const=1)
    assert "const" not in set(inferable(d2, ["province"])["column"])
    # pairs: neither column alone, the two together
    e = pd.DataFrame({"q": [1.0, 2, 2, 1] * 6 + [np.nan, np.nan],  # q = 1 exactly when a == b
                      "a": [1, 1, 2, 2] * 6 + [1, 2],
                      "b": [1, 2, 1, 2] * 6 + [1, 1]})
    assert inferable(e, ["q"], chance=1).empty
    pair = inferable(e, ["q"], pairs=True, chance=1)
    assert list(pair["column"]) == ["a + b"]


# --------------------------------------------------------------------------------------------
# property: after the default policy nothing recoverable from any released column breaks k


@st.composite
def surveys(draw):
    n = draw(st.integers(12, 60))
    prov = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    urban = draw(st.lists(st.integers(1, 2), min_size=n, max_size=n))
    age = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    marital = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    noise = draw(st.lists(st.integers(1, 2), min_size=n, max_size=n))
    df = pd.DataFrame({"province": np.asarray(prov, float), "urban": np.asarray(urban, float),
                       "age": np.asarray(age, float), "marital": np.asarray(marital, float)})
    df["stratum"] = df["province"] * 10 + df["urban"]
    df["routing"] = np.where(df["marital"] == 3, 0, noise)  # "not asked" exactly when marital is 3
    df["age_group"] = (df["age"] >= 2).astype(int)  # a recode of age
    df["noise"] = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return df


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(surveys(), st.integers(2, 4))
def test_default_policy_leaves_nothing_recoverable(df, k):
    qis = ["province", "urban", "age", "marital"]
    out = anonymise(df, qis, k=k, l=1, method="heuristic", inference_chance=1.0)
    assert out.risk_after.summary.records_violating_k == 0
    assert inferable(out, k=k, chance=1.0).empty
    assert column_attack(out, qis, k) >= k
    # only suppression: published values are the input's
    for c in df.columns:
        if c in out.suppressed:
            keep = ~out.suppressed[c].to_numpy()
            assert np.array_equal(out.data[c].to_numpy(dtype=float)[keep], df[c].to_numpy(dtype=float)[keep])
