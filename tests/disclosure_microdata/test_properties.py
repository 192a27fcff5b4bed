"""Property tests: for random data, k and l the output is k-anonymous under the safe count,
l-diverse, keeps every row, changes only quasi-identifiers, and logs every change."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gbvstats.disclosure.microdata import anonymise
from gbvstats.errors import DisclosureError


@st.composite
def frames(draw):
    n = draw(st.integers(1, 45))
    q = draw(st.integers(1, 4))
    data = {}
    for j in range(q):
        levels = draw(st.integers(1, 5))
        col = draw(st.lists(st.integers(0, levels - 1), min_size=n, max_size=n))
        col = [np.nan if (v == 0 and draw(st.booleans()) and levels > 2) else float(v) for v in col]
        data[f"q{j}"] = col
    data["s"] = draw(st.lists(st.sampled_from([0, 1, 2, np.nan]), min_size=n, max_size=n))
    data["other"] = list(range(n))
    return pd.DataFrame(data), [f"q{j}" for j in range(q)]


def check(out, df, qis, k, sens, l):
    # rows preserved, non-QI columns untouched
    assert len(out.data) == len(df)
    pd.testing.assert_series_equal(out.data["other"], df["other"])
    pd.testing.assert_series_equal(out.data["s"], df["s"])
    supp = out.suppressed[qis].to_numpy()
    # safe count, computed independently: a suppressed value is its own symbol, a blank is a blank
    pub = pd.DataFrame({v: np.where(out.suppressed[v], "<suppressed>", out.data[v].astype(str)) for v in qis})
    size = pub.groupby(qis, dropna=False)[qis[0]].transform("size")
    assert size.min() >= k
    if sens:
        distinct = df["s"].groupby([pub[v] for v in qis], dropna=False).transform("nunique")
        # a class where nobody answered discloses nothing about the answer (see risk.py)
        assert ((distinct >= l) | (distinct == 0)).all()
    # every suppressed cell is in the log, nothing else is logged as suppression
    log = out.log[out.log["rule"].astype(str) != "global recoding"]
    logged = set(zip(log["row"], log["column"].astype(str)))
    cells = {(int(r), qis[c]) for r, c in zip(*np.nonzero(supp))}
    assert logged == cells
    # unsuppressed values are the input values
    for v in qis:
        keep = ~out.suppressed[v].to_numpy()
        a, b = out.data[v].to_numpy()[keep], df[v].to_numpy()[keep]
        assert np.array_equal(a, b, equal_nan=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(2, 5), st.sampled_from(["milp", "heuristic"]), st.booleans(), st.integers(1, 3))
def test_output_is_safe(frame, k, method, use_l, l):
    df, qis = frame
    sens = ["s"] if use_l else []
    distinct_s = df["s"].dropna().nunique()
    try:
        # the suppression machinery alone: columns that give suppressed values back are blanked by the
        # default on_inference="suppress", which test_inference.py checks
        out = anonymise(df, qis, k=k, l=l, sensitive=sens, method=method, on_inference="ignore")
    except DisclosureError:
        assert len(df) < k or (use_l and distinct_s < l)
        return
    assert len(df) >= k
    check(out, df, qis, k, sens, l)
    assert out.risk_after.summary.records_violating_k == 0
    s = out.info_loss.suppression
    assert s.lower_bound <= s.cost + 1e-9


@settings(max_examples=30, deadline=None)
@given(frames(), st.integers(2, 4))
def test_wildcard_option_meets_its_own_weaker_rule(frame, k):
    df, qis = frame
    if len(df) < k:
        return
    out = anonymise(df, qis, k=k, semantics="wildcard")
    assert len(out.data) == len(df)
    assert out.risk_after.summary.semantics == "wildcard"
    assert out.risk_after.summary.records_violating_k == 0
    safe = anonymise(df, qis, k=k)
    # the safe file is never less protective: under the safe count it has no violations at all
    assert safe.parameters["safe_records_violating_k"] == 0


@settings(max_examples=25, deadline=None)
@given(frames(), st.integers(2, 4))
def test_milp_never_worse_than_heuristic(frame, k):
    df, qis = frame
    if len(df) < k:
        return
    m = anonymise(df, qis, k=k, method="milp")
    h = anonymise(df, qis, k=k, method="heuristic")
    assert m.info_loss.suppression.cost <= h.info_loss.suppression.cost + 1e-9
    if m.info_loss.suppression.optimal:
        assert m.info_loss.suppression.lower_bound <= h.info_loss.suppression.cost + 1e-9


@settings(max_examples=40, deadline=None)
@given(frames(), st.integers(2, 6), st.booleans())
def test_assess_counts_agree_with_groupby(frame, k, wildcard):
    from gbvstats.disclosure.risk import assess

    df, qis = frame
    w = pd.Series(np.linspace(1.0, 3.0, len(df)), index=df.index)
    d = df.assign(w=w)
    rep = assess(d, qis, k=k, weights="w", semantics="wildcard" if wildcard else "safe")
    if not wildcard:
        grp = d.groupby(qis, dropna=False)
        assert rep.frame["fk"].tolist() == grp["w"].transform("size").tolist()
        assert np.allclose(rep.frame["Fk"], grp["w"].transform("sum"))
        assert (1.0 / rep.frame["fk"]).sum() == np.float64(rep.summary.keys) or np.isclose(
            (1.0 / rep.frame["fk"]).sum(), rep.summary.keys)
    else:
        # brute force: a blank matches anything
        x = d[qis].to_numpy()
        match = np.ones((len(d), len(d)), dtype=bool)
        for j in range(len(qis)):
            a, b = x[:, j][:, None], x[:, j][None, :]
            match &= (a == b) | np.isnan(a) | np.isnan(b)
        assert rep.frame["fk"].tolist() == match.sum(axis=1).tolist()
        assert np.allclose(rep.frame["Fk"], match @ w.to_numpy())
    assert ((rep.frame["risk"] > 0) & (rep.frame["risk"] <= 1)).all()
    assert rep.frame["violates_k"].tolist() == (rep.frame["fk"] < k).tolist()
