"""Exact counts on hand-built tables: fk, Fk, Benedetti-Franconi risk, l-diversity, safe vs wildcard."""

import math

import numpy as np
import pandas as pd
import pytest

from gbvstats.disclosure.risk import assess, individual_risk
from gbvstats.errors import DataError, SpecError


def tiny():
    return pd.DataFrame({
        "a": [1, 1, 2, 2, 2, 3],
        "b": ["x", "x", "y", "y", "y", "y"],
        "w": [10.0, 20.0, 5.0, 5.0, 5.0, 100.0],
        "yes": [1, 0, 1, 1, 1, 0],
    })


def test_fk_Fk_exact():
    rep = assess(tiny(), ["a", "b"], k=3, weights="w")
    assert rep.frame["fk"].tolist() == [2, 2, 3, 3, 3, 1]
    assert rep.frame["Fk"].tolist() == [30.0, 30.0, 15.0, 15.0, 15.0, 100.0]
    assert rep.frame["violates_k"].tolist() == [True, True, False, False, False, True]
    s = rep.summary
    assert (s.records, s.keys, s.records_violating_k, s.keys_violating_k) == (6, 3, 3, 2)


def test_risk_benedetti_franconi_by_hand():
    rep = assess(tiny(), ["a", "b"], k=3, weights="w")
    # fk = 1, pk = 1/100: pk/(1-pk) * log(1/pk)
    r1 = 0.01 / 0.99 * math.log(100)
    # fk = 2, pk = 2/30: pk/(1-pk) - (pk/(1-pk))^2 log(1/pk)
    p = 2 / 30
    r2 = p / (1 - p) - (p / (1 - p)) ** 2 * math.log(1 / p)
    # fk = 3, pk = 3/15: pk / (fk - (1 - pk))
    r3 = 0.2 / (3 - 0.8)
    expected = [r2, r2, r3, r3, r3, r1]
    assert np.allclose(rep.frame["risk"].to_numpy(), expected, rtol=1e-12)
    assert rep.frame["risk"].iloc[5] == pytest.approx(0.0465169, abs=1e-7)
    assert rep.summary.expected_reidentifications == pytest.approx(sum(expected))
    assert rep.summary.global_risk == pytest.approx(sum(expected) / 6)


def test_unweighted_risk_is_one_over_fk():
    rep = assess(tiny(), ["a", "b"], k=3)
    assert np.allclose(rep.frame["risk"], [0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 1.0])
    assert rep.frame["Fk"].tolist() == rep.frame["fk"].astype(float).tolist()


def test_individual_risk_limits_continuous():
    # as pk -> 1 every branch tends to 1/fk
    fk = np.array([1, 2, 3])
    near = individual_risk(fk, fk * (1 + 1e-9))
    assert np.allclose(near, [1, 0.5, 1 / 3], atol=1e-6)


def test_l_diversity_and_everyone_answered_yes():
    rep = assess(tiny(), ["a", "b"], k=2, sensitive=["yes"], l=2)
    # class (2, y): all three answered yes -> homogeneous, not 2-diverse
    assert rep.frame["l_yes"].tolist() == [2, 2, 1, 1, 1, 1]
    assert rep.frame["homogeneous"].tolist() == [False, False, True, True, True, True]
    assert rep.frame["violates_l"].tolist() == [False, False, True, True, True, True]
    assert rep.summary.records_violating_l == 4 and rep.summary.keys_violating_l == 2


def test_missing_sensitive_is_not_a_value():
    d = pd.DataFrame({"a": [1, 1, 1], "s": [1.0, np.nan, 1.0]})
    rep = assess(d, ["a"], k=2, sensitive=["s"], l=2)
    assert rep.frame["l_s"].tolist() == [1, 1, 1]
    assert rep.frame["violates_l"].all()


def test_safe_versus_wildcard_issue_example():
    # true keys A=(1,1), B=(2,1), C=(1,1); B's first value suppressed
    d = pd.DataFrame({"q1": [1.0, np.nan, 1.0], "q2": [1, 1, 1]})
    safe = assess(d, ["q1", "q2"], k=3)
    wild = assess(d, ["q1", "q2"], k=3, semantics="wildcard")
    assert wild.frame["fk"].tolist() == [3, 3, 3]
    assert not wild.frame["violates_k"].any()          # sdcMicro's rule passes the file ...
    assert safe.frame["fk"].tolist() == [2, 1, 2]      # ... the safe count does not: B is unique
    assert safe.frame["violates_k"].all()


def test_wildcard_counts_two_missing_patterns():
    d = pd.DataFrame({"q1": [1.0, np.nan, 2.0, 1.0], "q2": [1.0, 1.0, np.nan, 2.0]})
    wild = assess(d, ["q1", "q2"], k=2, semantics="wildcard", weights=None)
    # row0 (1,1) matches row1 (.,1) and row2 (2,.)? no: q1 1 != 2 -> matches rows 0,1
    # row1 (.,1) matches 0, 1, 2 (2,.) -> 3; row2 (2,.) matches 1, 2 -> 2; row3 (1,2) matches 2? no (2!=1) -> 1
    assert wild.frame["fk"].tolist() == [2, 3, 2, 1]


def test_bad_input_errors():
    d = tiny()
    with pytest.raises(SpecError, match=r"'bb' is not a column.*did you mean 'b'"):
        assess(d, ["a", "bb"], k=3)
    with pytest.raises(SpecError, match="at least 2"):
        assess(d, ["a"], k=1)
    with pytest.raises(SpecError, match="both sensitive and quasi-identifier"):
        assess(d, ["a", "yes"], sensitive=["yes"])
    with pytest.raises(SpecError, match="semantics"):
        assess(d, ["a"], semantics="sdc")
    bad = d.assign(w=[1.0, 0.0, 1.0, np.nan, 1.0, 1.0])
    with pytest.raises(DataError, match=r"rows 2, 4 \(2 in all\)"):
        assess(bad, ["a"], weights="w")


def test_repr_has_figures():
    text = repr(assess(tiny(), ["a", "b"], k=3))
    assert "3 records" in text and "k=3" in text


def test_class_where_nobody_answered_is_not_a_violation():
    d = pd.DataFrame({"a": [1, 1, 2, 2], "s": [np.nan, np.nan, 1.0, 0.0]})
    rep = assess(d, ["a"], k=2, sensitive=["s"], l=2)
    assert rep.frame["l_s"].tolist() == [0, 0, 2, 2]
    assert not rep.frame["violates_l"].any() and not rep.frame["homogeneous"].any()


def test_wide_keys_are_exact():
    # 12 columns of 1000 codes: the mixed-radix key overflows 62 bits and is re-densified
    rng = np.random.default_rng(0)
    cols = {f"c{j}": rng.integers(0, 1000, 50) for j in range(12)}
    d = pd.DataFrame(cols)
    d = pd.concat([d, d.iloc[:5]], ignore_index=True)      # five duplicated records
    rep = assess(d, list(cols), k=2)
    assert rep.frame["fk"].tolist() == [2] * 5 + [1] * 45 + [2] * 5
