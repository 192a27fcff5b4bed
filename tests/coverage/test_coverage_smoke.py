"""Keeps tests/coverage/coverage_study.py from going stale: a tiny run end to end (writes to tmp)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def _study():
    spec = importlib.util.spec_from_file_location("coverage_study", HERE / "coverage_study.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["coverage_study"] = mod  # worker processes unpickle its functions by module name
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_writes_table_and_markdown(tmp_path):
    study = _study()
    csv, md = tmp_path / "cov.csv", tmp_path / "cov.md"
    assert study.main(["--reps", "3", "--jobs", "1", "--csv", str(csv), "--md", str(md)]) == 0
    table = pd.read_csv(csv)
    # one row per domain size x true proportion x method, every method present
    assert len(table) == len(study.DOMAIN_SIZES) * len(study.TRUE_P) * len(study.METHODS)
    assert set(table["method"]) == set(study.METHODS)
    assert table["coverage"].between(0, 1).all()
    assert (table["invalid"] == 0).all(), "an interval came back NaN or infinite"
    text = md.read_text(encoding="utf-8")
    assert "--reps 3" in text and "korn-graubard" in text and "n_eff" in text


def test_planted_truth_is_the_nominal_proportion():
    study = _study()
    pop, truth = study.build_population()
    assert set(pop["domain"]) == {f"n{n}" for n in study.DOMAIN_SIZES} | {"rest"}
    # thresholds are population quantiles: the true domain proportion is the nominal one up to 1/N
    assert np.all(np.abs(truth["true"] - truth["p"]) <= 1.0 / truth["N"] + 1e-12)
    for p in study.TRUE_P:
        y = pop[study.outcome_name(p)]
        assert set(np.unique(y)) <= {0.0, 1.0}
    # domain sizes in the population are in the planted ratios (10 : 30 : 100 : 500)
    counts = pop["domain"].value_counts()
    assert 30 < counts["n500"] / counts["n10"] < 70


def test_results_do_not_depend_on_the_number_of_workers():
    """Every replicate has its own seed, so --jobs only changes the speed."""
    study = _study()
    one, _ = study.run(2, jobs=1)
    two, _ = study.run(2, jobs=2)
    pd.testing.assert_frame_equal(one.reset_index(drop=True), two.reset_index(drop=True))
