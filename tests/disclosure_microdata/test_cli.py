"""The anonymise command: formats, codes, reports, keys, determinism, bad input."""

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from gbvstats.cli import main

SECRET = "cli-test-secret-5b7e9d1c3a2f4e6d"


@pytest.fixture
def survey_csv(tmp_path):
    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({
        "full_name": [f"Name {i}" for i in range(n)],
        "resp_id": [f"ID{i:04d}" for i in range(n)],
        "district": rng.choice([9201, 9202, 9203, 4201], n),
        "age": rng.integers(15, 65, n),
        "ethnicity": rng.choice([1, 1, 1, 2, 3], n),
        "ever_gbv": rng.integers(0, 2, n),
        "w": rng.uniform(50, 150, n),
    })
    p = tmp_path / "in.csv"
    df.to_csv(p, index=False)
    return p


def run(survey_csv, out, *extra):
    return main(["anonymise", str(survey_csv), "--out", str(out), "--quasi-identifiers",
                 "district,age,ethnicity", "--sensitive", "ever_gbv", "--identifiers", "full_name",
                 "--pseudonymise", "resp_id", "--weights", "w", "--k", "3", "--l", "2",
                 "--key-env", "GBV_CLI_KEY", *extra])


@pytest.mark.parametrize("ext", [".sav", ".dta", ".csv", ".parquet"])
def test_writes_each_format_deterministically(survey_csv, tmp_path, monkeypatch, ext):
    monkeypatch.setenv("GBV_CLI_KEY", SECRET)
    a, b = tmp_path / f"a{ext}", tmp_path / f"b{ext}"
    assert run(survey_csv, a, "--report", str(tmp_path / "r.md")) == 0
    assert run(survey_csv, b) == 0
    assert a.read_bytes() == b.read_bytes()
    for f in tmp_path.iterdir():
        assert SECRET.encode() not in f.read_bytes()
        assert b"Name 1" not in f.read_bytes() or f.name == "in.csv"


def test_sav_marks_suppressed_values(survey_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("GBV_CLI_KEY", SECRET)
    out = tmp_path / "o.sav"
    assert run(survey_csv, out, "--recode", "none") == 0
    df, meta = pyreadstat.read_sav(str(out), user_missing=True)
    assert "full_name" not in df.columns
    assert df["resp_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    suppressed = (df[["district", "age", "ethnicity"]] == -7).to_numpy().sum()
    assert suppressed > 0
    assert meta.variable_value_labels["age"][-7.0] == "suppressed for confidentiality"
    assert meta.missing_ranges["age"] == [{"lo": -7.0, "hi": -7.0}]
    plain, _ = pyreadstat.read_sav(str(out))   # user-missing -> NaN for analysis software
    assert plain[["district", "age", "ethnicity"]].isna().to_numpy().sum() == suppressed
    pub = df[["district", "age", "ethnicity"]].astype(str)
    assert pub.groupby(list(pub.columns)).size().min() >= 3


def test_report_and_log(survey_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("GBV_CLI_KEY", SECRET)
    rep, log = tmp_path / "r.html", tmp_path / "log.csv"
    assert run(survey_csv, tmp_path / "o.csv", "--report", str(rep), "--log", str(log)) == 0
    text = rep.read_text()
    assert "Anonymisation report" in text and "records_violating_k" in text
    assert "ID0001" not in text and SECRET not in text
    changes = pd.read_csv(log)
    assert {"row", "column", "old_value", "reason", "rule", "group", "cost"} <= set(changes.columns)
    assert "ID0001" not in log.read_text()     # ids are logged per column, never per row


def test_errors_exit_2(survey_csv, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GBV_CLI_KEY", raising=False)
    assert run(survey_csv, tmp_path / "o.csv") == 2
    assert "GBV_CLI_KEY" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
    monkeypatch.setenv("GBV_CLI_KEY", SECRET)
    assert run(survey_csv, tmp_path / "o.xlsx") == 2
    assert main(["anonymise", str(survey_csv), "--out", str(tmp_path / "o.csv"),
                 "--quasi-identifiers", "distict", "--k", "3"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'district'" in err and SECRET not in err


def test_example_survey_with_its_spec(tmp_path, monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("GBV_CLI_KEY", SECRET)
    out = tmp_path / "example.sav"
    code = main(["anonymise", str(root / "surveys/example/community_2024.sav"), "--spec",
                 str(root / "surveys/example/survey.toml"), "--out", str(out), "--key-env", "GBV_CLI_KEY",
                 "--method", "heuristic", "--report", str(tmp_path / "r.md")])
    assert code == 0
    df, meta = pyreadstat.read_sav(str(out), user_missing=True)
    assert not {"full_name", "phone", "birth_date"} & set(df.columns)
    assert len(df) == 3136
    from gbvstats.spec import load_spec

    disc = load_spec(root / "surveys/example/survey.toml").disclosure
    qis = list(disc.quasi_identifiers)
    assert not set(disc.drop) & set(df.columns)
    pub = df[qis].astype(str)
    assert pub.groupby(qis).size().min() >= 3
    assert meta.variable_value_labels["age"][-7.0] == "suppressed for confidentiality"
    assert SECRET.encode() not in out.read_bytes()
