"""Targets: lookup and inheritance, verdicts on constructed cases, probabilities, growth ratio, projection
(against statsmodels WLS), next target, sample size and MDE (against hand calculations and statsmodels)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pathlib import Path
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import gbvstats as gs
from gbvstats.errors import SpecError
from gbvstats.targets import (
    growth_ratio, minimum_detectable_change, next_target, probability_meets, progress_status, project,
    sample_size, verdict,
)


# ------------------------------------------------------------------ lookup

def test_bundled_targets_from_the_plans():
    hs = {(t.locality, t.year): t.value for t in gs.targets("help_seeking_formal")}
    assert hs[("Việt Nam", 2023)] == 0.40 and hs[("Việt Nam", 2025)] == 0.50
    assert hs[("Cần Thơ", 2024)] == 0.70 and hs[("Quảng Nam", 2025)] == 0.50
    assert hs[("Hương Khê", 2023)] == 0.40 and hs[("Hương Khê", 2025)] == 0.50
    hr = {(t.locality, t.year): t.value for t in gs.targets("help_received")}
    assert hr[("Việt Nam", 2023)] == 0.90 and hr[("Việt Nam", 2025)] == 1.0 and hr[("Cần Thơ", 2024)] == 1.0
    r28 = {t.year: t.value for t in gs.targets("victims_supported")}
    assert r28 == {2025: 0.80, 2030: 0.90}


def test_inheritance_and_codes():
    (t,) = gs.targets("help_seeking_formal", year=2025, locality="Kiên Giang")
    assert t.locality == "Việt Nam" and t.inherited
    (t,) = gs.targets("help_seeking_formal", year=2024, locality=92)  # GSO code of Cần Thơ
    assert t.locality == "Cần Thơ" and not t.inherited
    (t,) = gs.targets("help_seeking_formal", year=2024, locality="hương khê", year_rule="next")
    assert (t.locality, t.year) == ("Hương Khê", 2025)
    (t,) = gs.targets("help_seeking_formal", year=2025, locality="Can Lộc", province="Quảng Nam")
    assert t.locality == "Quảng Nam"
    assert len(gs.targets("help_seeking_formal", year=2025, locality="Kiên Giang", inherit=False)) == 0


def test_user_targets_extend_and_replace(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[[target]]\nindicator = "help_seeking_formal"\nlocality = "Kiên Giang"\nlevel = "province"\n'
                 'code = 91\nyear = 2025\nvalue = 0.3\n\n[[target]]\nindicator = "help_seeking_formal"\n'
                 'locality = "Cần Thơ"\nyear = 2024\nvalue = 0.6\n', encoding="utf-8")
    (t,) = gs.targets("help_seeking_formal", year=2025, locality=91, extra=f)
    assert t.value == 0.3
    (t,) = gs.targets("help_seeking_formal", year=2024, locality="Cần Thơ", extra=f)
    assert t.value == 0.6


def test_bad_targets_are_clear(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[target]]\nindicator = "x"\nlocality = "A"\nyear = 2025\nvalue = 50\n', encoding="utf-8")
    with pytest.raises(SpecError, match="between 0 and 1"):
        gs.targets(extra=f)
    with pytest.raises(SpecError, match="year_rule"):
        gs.targets(year_rule="soon")
    with pytest.raises(SpecError, match="help_seeking_formal"):
        gs.targets("help_seeking_formall")


# ------------------------------------------------------------------ verdicts

def test_verdicts_on_constructed_cases():
    est = pd.DataFrame({
        "province": ["above", "below", "straddle", "touching"],
        "estimate": [0.60, 0.30, 0.50, 0.55],
        "se": [0.03, 0.03, 0.05, 0.025],
        "ci_low": [0.54, 0.24, 0.40, 0.50],
        "ci_high": [0.66, 0.36, 0.60, 0.60],
    })
    a = gs.assess(est, 0.5)
    assert list(a.frame["verdict"]) == ["met", "not met", "cannot tell", "met"]
    p = a.frame["p_meets"].to_numpy()
    assert p[0] > 0.99 and p[1] < 0.01 and abs(p[2] - 0.5) < 1e-12
    # a target of 100% can never be shown met by a sample
    b = gs.assess(est.assign(ci_high=[1.0, 1.0, 1.0, 1.0]), 1.0)
    assert set(b.frame["verdict"]) == {"cannot tell"} and (b.frame["p_meets"] == 0).all()


def test_at_most_direction():
    assert list(verdict([0.1, 0.3, 0.15], [0.18, 0.4, 0.25], 0.2, "at_most")) == ["met", "not met", "cannot tell"]
    assert probability_meets(0.1, 0.02, 0.2, "at_most")[0] > 0.99


def test_administrative_met_or_not():
    adm = pd.DataFrame({"province": ["Cần Thơ", "Quảng Nam"], "estimate": [1.0, 0.97]})
    a = gs.assess(adm, gs.targets("help_received"), year=2024)
    assert list(a.frame["verdict"]) == ["met", "not met"]
    assert a.frame["p_meets"].isna().all() and a.frame["ci_low"].isna().all()


def test_assess_with_target_lookup_and_missing():
    est = pd.DataFrame({"province": ["Cần Thơ", "Kiên Giang", "Nowhere"], "estimate": [0.12, 0.55, np.nan],
                        "se": [0.02, 0.02, np.nan], "ci_low": [0.08, 0.51, np.nan], "ci_high": [0.16, 0.59, np.nan]})
    f = gs.assess(est, gs.targets("help_seeking_formal"), year=2024).frame
    assert list(f["target"]) == [0.7, 0.5, 0.5]
    assert list(f["target_locality"]) == ["Cần Thơ", "Việt Nam", "Việt Nam"]
    assert list(f["verdict"]) == ["not met", "met", "no estimate"]


@settings(max_examples=200, deadline=None)
@given(p=st.floats(0.02, 0.98), se=st.floats(0.005, 0.1), t=st.floats(0.02, 0.98))
def test_met_iff_probability_beyond_level(p, se, t):
    # with logit intervals from the same se, "met" <=> P(true >= T) >= 0.975 and "not met" <=> <= 0.025
    z = stats.norm.ppf(0.975)
    s = se / (p * (1 - p))
    eta = math.log(p / (1 - p))
    lo, hi = 1 / (1 + math.exp(-(eta - z * s))), 1 / (1 + math.exp(-(eta + z * s)))
    v = verdict([lo], [hi], t)[0]
    pm = probability_meets(p, se, t)[0]
    if abs(pm - 0.975) > 1e-9 and abs(pm - 0.025) > 1e-9:
        assert (v == "met") == (pm > 0.975)
        assert (v == "not met") == (pm < 0.025)


# ------------------------------------------------------------------ progress

def test_growth_ratio_by_hand():
    # observed CAGR (0.3/0.2)^(1/3) - 1, required (0.5/0.2)^(1/5) - 1
    hand = (1.5 ** (1 / 3) - 1) / (2.5 ** (1 / 5) - 1)
    assert growth_ratio(0.2, 2020, 0.3, 2023, 0.5, 2025)[0] == pytest.approx(hand, rel=1e-12)
    assert growth_ratio(0.2, 2020, 0.1, 2023, 0.5, 2025)[0] < 0
    assert np.isnan(growth_ratio(0.0, 2020, 0.1, 2023, 0.5, 2025)[0])
    assert list(progress_status([0.95, 0.6, 0.0, -0.01])) == ["substantial", "moderate", "limited", "deterioration"]
    assert list(progress_status([0.1], [0.6], [0.5])) == ["achieved"]


def test_assess_with_baseline():
    cur = pd.DataFrame({"province": ["A"], "estimate": [0.3], "se": [0.02], "ci_low": [0.26], "ci_high": [0.34]})
    base = pd.DataFrame({"province": ["A"], "estimate": [0.2]})
    t = gs.targets("help_seeking_formal", year=2025, locality="Việt Nam")[0]
    f = gs.assess(cur, t, year=2023, baseline=base, baseline_year=2020).frame
    assert f["growth_ratio"].iloc[0] == pytest.approx((1.5 ** (1 / 3) - 1) / (2.5 ** (1 / 5) - 1))
    assert f["progress"].iloc[0] == "moderate"


# ------------------------------------------------------------------ projection

@pytest.mark.parametrize("scale", ["known", "estimated"])
def test_projection_matches_statsmodels_wls(scale):
    import statsmodels.api as sm

    years = np.array([2019, 2021, 2022, 2024.0])
    p = np.array([0.08, 0.11, 0.10, 0.15])
    se = np.array([0.012, 0.015, 0.011, 0.02])
    pr = project(years, p, se, target_year=2027, level=0.9, scale=scale)
    eta = np.log(p / (1 - p))
    w = 1 / (se / (p * (1 - p))) ** 2
    X = sm.add_constant(years)
    model = sm.WLS(eta, X, weights=w)
    res = model.fit(cov_type="fixed scale", cov_kwds={"scale": 1.0}) if scale == "known" else model.fit()
    pred = res.get_prediction(np.array([[1.0, 2027.0]]))
    lo, hi = pred.conf_int(alpha=0.1)[0]
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert pr.projected == pytest.approx(expit(pred.predicted_mean[0]), rel=1e-10)
    assert pr.pi_low == pytest.approx(expit(lo), rel=1e-8)
    assert pr.pi_high == pytest.approx(expit(hi), rel=1e-8)
    assert pr.slope == pytest.approx(res.params[1], rel=1e-10)
    curve = pr.curve([2027])
    assert curve["low"].iloc[0] == pytest.approx(pr.pi_low) and curve["high"].iloc[0] == pytest.approx(pr.pi_high)


def test_projection_two_rounds_is_the_line_through_them():
    pr = project([2022, 2024], [0.2, 0.3], [0.02, 0.03], target_year=2026)
    eta = lambda q: math.log(q / (1 - q))  # noqa: E731
    expected = 1 / (1 + math.exp(-(eta(0.3) + (eta(0.3) - eta(0.2)))))
    assert pr.projected == pytest.approx(expected, rel=1e-12)
    assert 0 < pr.probability_meets(0.5) < 0.5
    with pytest.raises(SpecError, match="three rounds"):
        project([2022, 2024], [0.2, 0.3], [0.02, 0.03], target_year=2026, scale="estimated")
    with pytest.raises(SpecError, match="strictly between 0 and 1"):
        project([2022, 2024], [0.0, 0.3], [0.02, 0.03], target_year=2026)


# ------------------------------------------------------------------ next target, sample size, MDE

def test_next_target_paths():
    nt = next_target(0.10, 2024, 0.50, 2028)
    assert (nt.year, nt.value) == (2025, pytest.approx(0.20))
    lg = next_target(0.10, 2024, 0.50, 2028, path="logit")
    eta0, eta1 = math.log(0.1 / 0.9), 0.0
    assert lg.value == pytest.approx(1 / (1 + math.exp(-(eta0 + (eta1 - eta0) / 4))))
    assert next_target(0.6, 2024, 0.5, 2025).value == 0.6  # no backsliding
    assert next_target(0.10, 2024, 0.50, 2028, year=2028).value == pytest.approx(0.5)
    with pytest.raises(SpecError, match="end_year"):
        next_target(0.1, 2025, 0.5, 2025)
    with pytest.raises(SpecError, match="path"):
        next_target(0.1, 2024, 0.5, 2025, path="cubic")


def test_sample_size_against_statsmodels_and_hand():
    from statsmodels.stats.proportion import samplesize_confint_proportion

    ss = sample_size(0.3, margin=0.04, deff=1.0)
    assert ss.n_effective == math.ceil(samplesize_confint_proportion(0.3, 0.04, alpha=0.05))
    ss = sample_size(0.3, margin=0.05, deff=2.0, eligibility=0.35, response_rate=0.9, power=0.8)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    raw = z * z * 0.21 / 0.0025
    assert (ss.n_effective, ss.n_eligible, ss.n_interviews, ss.n_sampled) == (
        math.ceil(raw), math.ceil(raw * 2), math.ceil(raw * 2 / 0.35), math.ceil(raw * 2 / 0.35 / 0.9))
    with pytest.raises(SpecError, match="eligibility"):
        sample_size(0.3, margin=0.05, eligibility=0)


def test_minimum_detectable_change_against_statsmodels():
    from statsmodels.stats.power import NormalIndPower

    p, n1, n2, deff, elig = 0.25, 1200, 1500, 1.8, 0.4
    mdc = minimum_detectable_change(p, n1, n2, deff=deff, eligibility=elig)
    m1, m2 = n1 * elig / deff, n2 * elig / deff  # effective sizes
    es = NormalIndPower().solve_power(nobs1=m1, alpha=0.05, power=0.8, ratio=m2 / m1, alternative="two-sided")
    # statsmodels' two-sided power counts both tails; the closed form ignores the far tail (negligible here)
    assert mdc == pytest.approx(es * math.sqrt(p * (1 - p)), rel=1e-3)
    assert minimum_detectable_change(p, 4 * n1, 4 * n2, deff=deff, eligibility=elig) == pytest.approx(mdc / 2)


def test_public_names_are_callable_even_after_submodule_import():
    import importlib

    import gbvstats

    importlib.import_module("gbvstats.targets")
    importlib.import_module("gbvstats.publish")
    assert callable(gbvstats.targets) and callable(gbvstats.publish)
    assert len(gbvstats.targets("help_seeking_formal", year=2025)) == 3


def test_assessment_plot_is_a_figure():
    est = pd.DataFrame({"province": [92, 49], "estimate": [0.2, 0.55], "se": [0.02, 0.02],
                        "ci_low": [0.16, 0.51], "ci_high": [0.24, 0.59]})
    a = gs.assess(est, gs.targets("help_seeking_formal"), year=2024)
    fig = a.plot()
    assert fig.axes and [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["92", "49"]


def test_probability_meets_uses_the_intervals_df_rule_when_df_below_one():
    # A domain inside one PSU has df = 0; its interval uses df = 1, and so must the probability,
    # otherwise 'cannot tell' (interval straddles the target) would sit beside p_meets ~ 1.
    from gbvstats.intervals import logit_interval

    lo, hi = logit_interval(0.8, 0.05, 0)
    assert float(lo) < 0.5 < float(hi)
    p0 = probability_meets(0.8, 0.05, 0.5, df=0)[0]
    assert p0 == pytest.approx(probability_meets(0.8, 0.05, 0.5, df=1)[0])
    assert p0 < 0.975


def test_text_province_codes_match_their_own_targets():
    # Case indicators and CSV files carry GSO codes as text ("92"); they must find the province's own
    # target, not fall back silently to the national one.
    ts = gs.targets("help_received")
    as_text = gs.assess(pd.DataFrame({"province": ["92"], "estimate": [0.95]}), ts, year=2024, by="province").frame
    as_int = gs.assess(pd.DataFrame({"province": [92], "estimate": [0.95]}), ts, year=2024, by="province").frame
    assert as_text["target_locality"].iloc[0] == as_int["target_locality"].iloc[0]
    assert as_text["target_locality"].iloc[0] != "national"


def test_assess_takes_a_case_indicator_directly():
    example = Path(__file__).resolve().parents[2] / "surveys" / "example"
    linked = gs.read_cases(example / "cases", schema=example / "cases.toml").link(key=gs.keys.Key(b"k" * 32, "t"))
    ind = linked.indicator("help_received", by="province")
    a = gs.assess(ind, gs.targets("help_received"), year=2024, by="province").frame
    assert list(a["estimate"]) == list(ind.frame["value"])
    assert (a["target_locality"] != "national").all()


def test_next_target_rejects_percentages_like_sample_size_does():
    with pytest.raises(gs.errors.SpecError, match="0.15"):
        gs.next_target(15, 2024, 50, 2027)
