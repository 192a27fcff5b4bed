"""The `gbvstats cases` command: validate, link, indicator; exit codes; nothing identifying written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases_helpers import EXAMPLE, SCHEMA, SECRET  # noqa: E402

from gbvstats.cli import main  # noqa: E402

FILES = [str(p) for p in sorted((EXAMPLE / "cases").iterdir())]


def test_validate_prints_the_report(capsys):
    assert main(["cases", "validate", *FILES, "--schema", str(SCHEMA)]) == 0
    out = capsys.readouterr().out
    assert "824 rows read" in out or "rows read" in out
    assert "duplicate_incident_id" in out and "Fix:" in out


def test_validate_strict_json_and_report_file(tmp_path, capsys):
    report = tmp_path / "report.json"
    assert main(["cases", "validate", *FILES, "--schema", str(SCHEMA), "--json", "--strict",
                 "--report", str(report)]) == 1  # the example has invalid rows on purpose
    data = json.loads(report.read_text())
    truth = json.loads((EXAMPLE / "cases_truth.json").read_text())
    assert data["rows_kept"] == truth["rows_kept"] and data["excluded"] == truth["excluded"]
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_link_writes_pseudonymous_outputs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GBVSTATS_TEST_KEY", SECRET.decode())
    out = tmp_path / "linked"
    assert main(["cases", "link", *FILES, "--schema", str(SCHEMA), "--key-env", "GBVSTATS_TEST_KEY",
                 "--out", str(out), "--records"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"survivors.csv", "incidents.csv", "possible_matches.csv", "overlap.csv", "linkage.txt",
                     "records.csv"}
    truth = json.loads((EXAMPLE / "cases_truth.json").read_text())
    assert len(pd.read_csv(out / "survivors.csv")) == truth["survivors_true"]
    blob = "".join(p.read_text() for p in out.iterdir())
    assert SECRET.decode() not in blob
    assert "Giả" not in blob and "GIẢ" not in blob and "gia," not in blob.lower()  # every fake name ends in Giả
    header = (out / "records.csv").read_text().splitlines()[0].split(",")
    assert not {"name", "birth_date", "commune", "incident_id"} & set(header)


def test_link_without_key_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GBVSTATS_KEY", raising=False)
    assert main(["cases", "link", *FILES, "--schema", str(SCHEMA), "--out", str(tmp_path / "x")]) == 2
    assert "GBVSTATS_KEY" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_indicator_is_protected_by_default(tmp_path, monkeypatch, capsys):
    key_file = tmp_path / "key"
    key_file.write_bytes(SECRET + b"\n")
    out = tmp_path / "help.csv"
    assert main(["cases", "indicator", "help_received", *FILES, "--schema", str(SCHEMA), "--key-file",
                 str(key_file), "--by", "province", "--period", "2024", "--ci", "clopper-pearson",
                 "--out", str(out)]) == 0
    f = pd.read_csv(out)
    assert {"numerator_status", "denominator_status", "ci_low", "ci_high"} <= set(f.columns)
    small = f["numerator_status"] != "published"
    assert f.loc[small, "numerator"].isna().all()
    assert "realisation" in capsys.readouterr().err
    assert main(["cases", "indicator", "help_recieved", *FILES, "--schema", str(SCHEMA), "--key-file",
                 str(key_file)]) == 2
