"""The example case files link back to the generator's truth: exact numbers."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import warnings

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases_helpers import EXAMPLE, ROOT, SCHEMA, test_key  # noqa: E402

import gbvstats as gs
from gbvstats.errors import ExclusionWarning

FILES = sorted((EXAMPLE / "cases").iterdir())


def _generator():
    spec = importlib.util.spec_from_file_location("generate_cases", ROOT / "surveys" / "generate_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(files, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return gs.read_cases(files, schema=SCHEMA, **kw)


@pytest.fixture(scope="module")
def truth():
    return json.loads((EXAMPLE / "cases_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cases():
    return _read(FILES)


@pytest.fixture(scope="module")
def linked(cases):
    return cases.link(key=test_key())


def test_example_has_eight_agencies_and_an_excel_file():
    assert len(FILES) == 8
    assert any(f.suffix == ".xlsx" for f in FILES)


def test_validation_counts_match_truth(cases, truth):
    rep = cases.report
    assert rep.rows_read == truth["rows_read"]
    assert rep.rows_kept == truth["rows_kept"]
    assert dict(rep.excluded) == truth["excluded"]
    assert rep.rows_read == rep.rows_kept + rep.excluded_total
    mixed = rep.issues[rep.issues["reason"] == "mixed_date_formats"]
    assert len(mixed) == truth["mixed_date_format_rows"]
    assert set(mixed["file"]) == {str(EXAMPLE / "cases" / "health_2024.csv")}
    per_file = {f.split("/")[-1]: n for f, _, n in rep.files}
    table = rep.per_file()
    assert table["rows"].sum() == rep.rows_read and table["kept"].sum() == rep.rows_kept
    for reason, n in rep.excluded:
        assert table[reason].sum() == n
    assert (table["rows"] == table["kept"] + table[[r for r, _ in rep.excluded]].sum(axis=1)).all()
    assert "Per file:" in rep.to_text()
    no_birth = rep.issues[rep.issues["reason"] == "missing_identifier"]
    # three kept records without a birth date, and the two age-out-of-range rows (birth date blanked)
    assert len(no_birth) == truth["records_without_birth_date"] + truth["excluded"]["age_out_of_range"]
    assert set(no_birth["column"]) == {"birth_date"} and (no_birth["value"] == "").all()
    gen = _generator()
    assert {gen.FILES[a]: n for a, n in truth["rows_per_agency"].items()} == per_file


def test_excluded_rows_are_warned_about():
    with pytest.warns(ExclusionWarning, match="excluded"):
        gs.read_cases(FILES, schema=SCHEMA)


def test_linkage_recovers_true_survivor_count(linked, truth):
    assert linked.n_survivors == truth["survivors_true"]
    assert linked.n_incidents == truth["incidents_true"]
    assert int((linked.survivors["n_agencies"] > 1).sum()) == truth["survivors_seen_by_2plus_agencies"]
    assert len(linked.possible_matches) == truth["possible_match_pairs"]
    assert int((~linked.survivors["key_complete"]).sum()) == truth["records_without_birth_date"]
    assert linked.n_records == truth["rows_kept"]


def test_help_received_matches_truth(linked, truth):
    f = linked.indicator("help_received", period="2024").frame
    assert int(f["numerator"].iloc[0]) == truth["help_received"]["numerator"]
    assert int(f["denominator"].iloc[0]) == truth["help_received"]["denominator"]


def test_incidents_by_type_match_truth(linked, truth):
    f = linked.indicator("cases_by_type", period="2024").frame
    assert dict(zip(f["gbv_type"].astype(str), f["numerator"].astype(int))) == truth["incidents_by_type"]
    assert (f["denominator"] == truth["incidents_true"]).all()


def test_overlap_matrix_is_symmetric_and_counts_survivors(linked):
    ov = linked.overlap.to_numpy()
    assert (ov == ov.T).all()
    seen = linked.survivors["agencies"].str.split(";")
    for k, a in enumerate(linked.overlap.index):
        assert ov[k, k] == int(seen.map(lambda s, a=a: a in s).sum())


def test_survivor_ids_depend_on_key_but_counts_do_not(cases, linked):
    other = cases.link(key=gs.keys.Key(b"another-key-0123456789abcdef", "other"))
    assert other.n_survivors == linked.n_survivors
    assert not set(other.survivors["survivor_id"]) & set(linked.survivors["survivor_id"])
    again = cases.link(key=gs.keys.Key(b"another-key-0123456789abcdef", "other"))
    assert list(again.survivors["survivor_id"]) == list(other.survivors["survivor_id"])


def test_generator_is_reproducible_and_committed_files_are_its_output(tmp_path):
    gen = _generator()
    gen.main(tmp_path, 2024)
    for f in FILES:
        assert hashlib.sha256((tmp_path / "cases" / f.name).read_bytes()).hexdigest() == \
            hashlib.sha256(f.read_bytes()).hexdigest(), f.name
    assert json.loads((tmp_path / "cases_truth.json").read_text()) == json.loads(
        (EXAMPLE / "cases_truth.json").read_text())


@pytest.mark.parametrize("seed", [1, 99])
def test_linkage_recovers_truth_for_other_seeds(tmp_path, seed, key):
    truth = _generator().main(tmp_path, seed)
    cases = _read(sorted((tmp_path / "cases").iterdir()))
    linked = cases.link(key=key)
    assert linked.n_survivors == truth["survivors_true"]
    assert linked.n_incidents == truth["incidents_true"]
    assert len(linked.possible_matches) == truth["possible_match_pairs"]
    f = linked.indicator("help_received").frame
    assert (int(f["numerator"].iloc[0]), int(f["denominator"].iloc[0])) == (
        truth["help_received"]["numerator"], truth["help_received"]["denominator"])


def test_every_indicator_runs_on_the_example(linked):
    for name in gs.cases.INDICATORS:
        ind = linked.indicator(name, by=["province"], period="2024")
        assert len(ind.frame) > 0
        assert (ind.frame["numerator"] >= 0).all()
        shares = ind.frame["value"].dropna()
        if name not in ("cases_new", "survivors_unique"):
            assert ((shares >= 0) & (shares <= 1)).all()
    total = linked.indicator("cases_new", period="2024").frame["numerator"].iloc[0]
    by_prov = linked.indicator("cases_new", by=["province"], period="2024").frame["numerator"].sum()
    assert total == by_prov == linked.n_incidents
    surv = linked.indicator("survivors_unique", by=["district"], period="2024").frame["numerator"].sum()
    assert surv == linked.n_survivors
    assert np.isclose(linked.indicator("time_to_report").frame["value"].sum(), 1.0)


def test_a_folder_stands_for_its_case_files():
    assert _read(EXAMPLE / "cases").report.rows_read == _read(FILES).report.rows_read
