"""Indicators on a hand-built set of records, with exact expected numbers."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases_helpers import SCHEMA, row, test_key, write_csv  # noqa: E402

import gbvstats as gs  # noqa: E402
from gbvstats.cases import AGE_BANDS, REPORT_BANDS, _band  # noqa: E402


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ind")
    a = dict(name="Lê Thị Mẫu Giả", birth_date="1990-05-17", commune="920101")
    police = [
        # survivor A, incident 1: police first (2 days after), self-referred; health referred
        row(incident_id="P1", agency="POLICE", report_date="2024-03-10", incident_date="2024-03-08",
            referral_source="self", service_health="referred", **a),
    ]
    swc = [
        # the same incident at the SWC, written differently; health provided, legal declined
        row(incident_id="S1", agency="SWC", report_date="12/03/2024", incident_date="08/03/2024",
            name="LE THI MAU GIA", birth_date="17/05/1990", commune="0920101", referral_source="police",
            service_health="provided", service_legal="declined"),
        # survivor B: psychosocial declined; reported 19 days after; family referral
        row(incident_id="S2", agency="SWC", report_date="2024-05-20", incident_date="2024-05-01",
            name="Trần Thị Hai Giả", birth_date="1985-01-01", commune="420101", province="42", district="4201",
            referral_source="family", service_psychosocial="declined"),
    ]
    other = [
        # survivor C: a boy of 12, no stated need, 4 days, self-referred
        row(incident_id="H1", agency="HEALTH", report_date="2024-06-05", incident_date="2024-06-01",
            name="Phạm Văn Ba Giả", birth_date="2012-01-01", commune="420102", province="42", district="4201",
            sex="M", referral_source="self"),
        # survivor A, incident 2: same day, women's union, safe house unavailable
        row(incident_id="W1", agency="WU", report_date="2024-09-01", incident_date="2024-09-01",
            referral_source="community", service_safe_house="unavailable", **a),
    ]
    files = [write_csv(tmp / "police.csv", police), write_csv(tmp / "swc.csv", swc),
             write_csv(tmp / "other.csv", other)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        return gs.read_cases(files, schema=SCHEMA).link(key=test_key())


def cell(ind, **where):
    f = ind.frame
    for k, v in where.items():
        f = f[f[k].astype(str) == str(v)]
    assert len(f) == 1, f
    return f.iloc[0]


def test_counts_of_records_incidents_survivors(linked):
    assert (linked.n_records, linked.n_incidents, linked.n_survivors) == (5, 4, 3)
    a = linked.survivors.sort_values("n_records").iloc[-1]
    assert (a["n_records"], a["n_incidents"], a["agencies"], a["n_agencies"]) == (3, 2, "SWC;POLICE;WU", 3)
    assert linked.overlap.loc["POLICE", "SWC"] == 1 and linked.overlap.loc["SWC", "SWC"] == 2
    assert linked.possible_matches.empty


def test_cases_new_and_survivors_unique(linked):
    assert cell(linked.indicator("cases_new"))["numerator"] == 4
    by_sex = linked.indicator("cases_new", by="sex")
    assert (cell(by_sex, sex="F")["numerator"], cell(by_sex, sex="M")["numerator"]) == (3, 1)
    surv = linked.indicator("survivors_unique", by=["sex"])
    assert (cell(surv, sex="F")["numerator"], cell(surv, sex="M")["numerator"]) == (2, 1)
    age = linked.indicator("cases_new", by=["age_band"])
    assert cell(age, age_band="12-17")["numerator"] == 1 and cell(age, age_band="26-40")["numerator"] == 3
    assert cell(age, age_band="61+")["numerator"] == 0  # zero cells are listed


def test_help_received_counts_an_incident_once_across_agencies(linked):
    # A1 helped (provided by SWC after a police referral); B declined; C no need; A2 unavailable
    ind = linked.indicator("help_received", ci="clopper-pearson")
    c = cell(ind)
    assert (c["numerator"], c["denominator"]) == (1, 3)
    assert c["value"] == pytest.approx(1 / 3)
    ref = stats.binomtest(1, 3).proportion_ci(0.95, method="exact")
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((ref.low, ref.high))
    assert "realisation" in ind.note and "never reported" in ind.note


def test_service_status_takes_the_best_status_any_agency_recorded(linked):
    ind = linked.indicator("service_status")
    assert cell(ind, service="health", status="provided")[["numerator", "denominator"]].tolist() == [1, 1]
    assert cell(ind, service="health", status="referred")["numerator"] == 0
    assert cell(ind, service="legal", status="declined")[["numerator", "denominator"]].tolist() == [1, 1]
    assert cell(ind, service="safe_house", status="unavailable")["numerator"] == 1
    assert np.isnan(cell(ind, service="livelihoods", status="provided")["value"])  # no one needed it


def test_time_to_report_bands_and_self_referral(linked):
    ind = linked.indicator("time_to_report")
    got = dict(zip(ind.frame["time_to_report"].astype(str), ind.frame["numerator"]))
    assert got == {"0-3 days": 2, "4-5 days": 1, "6-14 days": 0, "15-30 days": 1, "over 30 days": 0}
    assert (ind.frame["denominator"] == 4).all()
    s = cell(linked.indicator("self_referred"))
    assert (s["numerator"], s["denominator"]) == (2, 4)  # A1 (police first: self) and C


def test_band_edges():
    days = np.array([0, 3, 4, 5, 6, 14, 15, 30, 31, 400, np.nan])
    bands = _band(days, REPORT_BANDS)
    assert list(bands[:-1].astype(str)) == [
        "0-3 days", "0-3 days", "4-5 days", "4-5 days", "6-14 days", "6-14 days", "15-30 days", "15-30 days",
        "over 30 days", "over 30 days"]
    assert bands.isna()[-1]
    assert list(_band(np.array([11, 12, 17, 18, 25, 26, 61.0]), AGE_BANDS).astype(str)) == [
        "0-11", "12-17", "12-17", "18-25", "18-25", "26-40", "61+"]


def test_periods_and_months(linked):
    assert cell(linked.indicator("cases_new", period="2024-Q1"))["numerator"] == 1
    assert cell(linked.indicator("cases_new", period="2024-09"))["numerator"] == 1
    assert cell(linked.indicator("cases_new", period="2023"))["numerator"] == 0
    months = linked.indicator("cases_new", by=["month"], period="2024").frame
    assert len(months) == 12 and months["numerator"].sum() == 4
    assert cell(linked.indicator("cases_new", by=["month"], period="2024"), month="2024-03")["numerator"] == 1


def test_poisson_exact_interval_for_counts(linked):
    c = cell(linked.indicator("cases_new", ci="poisson-exact"))
    assert (c["ci_low"], c["ci_high"]) == pytest.approx((1.0899, 10.2416), abs=1e-4)  # Garwood, x = 4


def test_protected_suppresses_small_cells_and_their_complements(linked):
    ind = linked.indicator("cases_new", by=["sex"])
    safe = ind.protected(min_frequency=2)
    f = safe.frame.set_index(safe.frame["sex"].astype(str))
    assert f.loc["M", "numerator_status"] == "primary" and np.isnan(f.loc["M", "numerator"])
    assert f.loc["F", "numerator_status"] == "secondary" and np.isnan(f.loc["F", "value"])
    assert safe.protection.ok and safe.min_frequency == 2
    # nothing below the threshold: everything published, no solver needed
    same = ind.protected(min_frequency=1)
    assert (same.frame["numerator_status"] == "published").all()
    assert same.frame["numerator"].tolist() == ind.frame["numerator"].tolist()


def test_protected_share_hides_value_when_a_count_is_suppressed(linked):
    safe = linked.indicator("help_received", by=["province"], ci="clopper-pearson").protected(min_frequency=2)
    f = safe.frame
    hidden = f["numerator_status"].ne("published") | f["denominator_status"].ne("published")
    assert f.loc[hidden, ["value", "ci_low", "ci_high"]].isna().all().all()
    assert safe.protection is None or safe.protection.ok


def test_results_are_frozen_and_readable(linked):
    ind = linked.indicator("help_received", by=["province"])
    with pytest.raises(Exception):
        ind.name = "x"
    assert "help_received" in repr(ind) and "numerator" in repr(ind) and "<table" in ind._repr_html_()
    assert "Linked(" in repr(linked) and "survivors=3" in repr(linked)


def test_victims_supported_counts_survivors_with_a_service_provided(linked):
    # A: health provided at the SWC (incident 1); B: declined; C: no service -> 1 of 3 survivors
    c = cell(linked.indicator("victims_supported", ci="clopper-pearson"))
    assert (c["numerator"], c["denominator"]) == (1, 3)
    q1 = cell(linked.indicator("victims_supported", period="2024-Q3"))
    assert (q1["numerator"], q1["denominator"]) == (0, 1)  # only A (safe house unavailable) in Jul-Sep
    by_sex = linked.indicator("victims_supported", by=["sex"])
    assert cell(by_sex, sex="M")[["numerator", "denominator"]].tolist() == [0, 1]
