"""End to end: the example plan publishes every format; a second run is byte-identical (check passes);
one changed input byte makes --check fail naming the affected outputs; no identifier or suppressed value
leaks; the published help-seeking intervals cover the generator's true values for most localities."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gbvstats.cli import main
from gbvstats.publish import check, load_plan, publish

EXAMPLE = Path(__file__).resolve().parents[2] / "surveys" / "example"
TABLE_IDS = ["profile", "prevalence", "help_seeking", "help_seeking_by_age", "help_sources", "formal_help_by_district", "target_tracker",
             "cases_by_type", "services", "help_received_tracker", "next_round_sample_size"]
FIGURE_IDS = ["progress_help_seeking_formal", "districts_help_seeking_formal", "trend_help_seeking_formal"]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """A private copy of the example inputs (so one byte can be changed) and one publication of it."""
    root = tmp_path_factory.mktemp("example")
    for name in ("plan.toml", "survey.toml", "cases.toml", "community_2022.sav", "community_2023.sav",
                 "community_2024.sav"):
        shutil.copy(EXAMPLE / name, root / name)
    shutil.copytree(EXAMPLE / "cases", root / "cases")
    out = root / "published"
    result = publish(root / "plan.toml", out=out)
    return root, out, result


def test_every_format_is_written(example):
    root, out, result = example
    files = set(result.files)
    for t in TABLE_IDS:
        assert f"csv/{t}.csv" in files and f"md/{t}.md" in files
    for f in FIGURE_IDS:
        assert f"figures/{f}.png" in files and f"figures/{f}.svg" in files
    assert {"tables.xlsx", "index.html", "tables.md", "manifest.json"} <= files
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert on_disk == files
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".published")]  # no temp folders left
    # workbook: a sheet per table, frozen header, footnotes under the table, fixed dates
    from openpyxl import load_workbook

    wb = load_workbook(out / "tables.xlsx")
    assert wb.sheetnames == TABLE_IDS
    ws = wb["target_tracker"]
    assert ws.freeze_panes == "B3" and "Verdict" in " ".join(str(c.value) for c in ws[2])
    assert any("Decision 2232" in str(r[0].value) for r in ws.iter_rows() if r[0].value)
    core = zipfile.ZipFile(out / "tables.xlsx").read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert b"Software" not in (out / f"figures/{FIGURE_IDS[0]}.png").read_bytes()
    # manifest: inputs, specs, plan and every output with SHA-256, versions and parameters
    man = json.loads((out / "manifest.json").read_text())
    assert {i["path"] for i in man["inputs"]} >= {"community_2024.sav", "cases/police_2024.csv"}
    assert {s["path"] for s in man["specs"]} == {"survey.toml", "cases.toml"}
    assert man["plan"]["path"] == "plan.toml" and len(man["plan"]["sha256"]) == 64
    assert {o["path"] for o in man["outputs"]} == files - {"manifest.json"}
    assert {"gbvstats", "numpy", "pandas", "scipy", "matplotlib", "openpyxl"} <= set(man["versions"])
    assert man["parameters"]["level"] == 0.95


def test_tables_read_as_intended(example):
    _, out, _ = example
    tracker = pd.read_csv(out / "csv/target_tracker.csv", dtype=str, keep_default_na=False)
    verdicts = set(tracker["Đánh giá / Verdict"])
    assert verdicts <= {"Đạt / Met", "Chưa đạt / Not met", "Chưa kết luận được / Cannot tell yet",
                        "Không có ước lượng / No estimate", "Không có chỉ tiêu / No target"}
    ct = tracker[tracker.iloc[:, 0] == "Cần Thơ"].iloc[0]
    assert ct.iloc[4] == "≥ 70% (2024, Cần Thơ)"           # its own plan for the survey year
    assert ct.iloc[8] == "≥ 50% (2025, Việt Nam)"          # after 2024: the national programme's end target
    assert list(tracker.columns)[4] == "Chỉ tiêu / Target"
    kg = tracker[tracker.iloc[:, 0] == "Kiên Giang"].iloc[0]
    assert kg.iloc[4] == "≥ 50% (2025, Việt Nam)"          # no plan of its own in the seeds: inherits
    hk = tracker[tracker.iloc[:, 0].str.strip() == "Hương Khê (Hà Tĩnh)"].iloc[0]
    assert hk.iloc[4] == "≥ 50% (2025, Hương Khê)" and hk.iloc[1] == "*"  # its own plan; too few cases
    district = pd.read_csv(out / "csv/formal_help_by_district.csv", dtype=str, keep_default_na=False)
    n = district["Số trường hợp (chưa gia quyền) / Unweighted n"].astype(int)
    est = district["Tỷ lệ (%) / Percent"]
    assert (est[n < 25] == "*").all()
    assert est[(n >= 25) & (n < 50)].str.match(r"^\(\d+\.\d\)$").all()
    assert est[n >= 50].str.match(r"^\d+\.\d$").all()
    cases = pd.read_csv(out / "csv/cases_by_type.csv", dtype=str, keep_default_na=False)
    shown = cases.iloc[:, 1:].to_numpy().ravel()
    numeric = [int(v) for v in shown if v.isdigit()]
    assert min(numeric) >= 10  # every published case count respects the minimum frequency
    assert {"x", "xx"} & set(shown)


def test_second_run_is_byte_identical_and_check_passes(example):
    root, out, _ = example
    res = check(root / "plan.toml", out)
    assert res.ok, res.report()


def test_check_fails_after_one_input_byte_changes(example, tmp_path, capsys):
    root, out, _ = example
    copy = tmp_path / "example"
    shutil.copytree(root, copy)
    import struct

    import pyreadstat

    sav = copy / "community_2024.sav"
    weight = pyreadstat.read_sav(sav, usecols=["weight"])[0]["weight"].iloc[0]
    data = bytearray(sav.read_bytes())
    i = data.index(struct.pack("<d", weight))
    data[i + 6] += 0x10  # one byte: the exponent of the first respondent's weight + 1, so her weight doubles
    sav.write_bytes(bytes(data))
    code = main(["publish", str(copy / "plan.toml"), "--check", str(copy / "published"), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "changed: manifest.json" in printed
    assert "changed: csv/profile.csv" in printed and "changed: tables.xlsx" in printed
    assert "csv/cases_by_type.csv" not in printed  # the case tables do not depend on the survey


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["publish", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "no such table plan" in capsys.readouterr().err
    bad = tmp_path / "plan.toml"
    bad.write_text('[publication]\nformats = ["pdf"]\n', encoding="utf-8")
    assert main(["publish", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "'pdf' is not one of" in capsys.readouterr().err
    bad.write_text('[[table]]\nid = "t"\ntype = "prevalance"\n', encoding="utf-8")
    with pytest.raises(Exception, match="did you mean 'estimates'|is not one of"):
        load_plan(bad)


def test_no_identifier_or_suppressed_value_leaks(example):
    _, out, _ = example
    text = "\n".join(
        p.read_bytes().decode("utf-8", "ignore") for p in out.rglob("*") if p.suffix in (".csv", ".md", ".html", ".json")
    )
    with zipfile.ZipFile(out / "tables.xlsx") as z:
        text += "\n".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist())
    records = pd.concat([pd.read_csv(p, dtype=str) for p in sorted((EXAMPLE / "cases").glob("*.csv"))])
    names = {" ".join(str(n).split()) for n in records["name"].dropna()}
    flat = " ".join(text.split())
    assert not [n for n in names if len(n) > 6 and n in flat]
    ids = set(records["incident_id"].dropna())
    assert not [i for i in ids if i in text]
    births = {b for b in records["birth_date"].dropna() if len(b) >= 8}
    assert not [b for b in births if b in text]


def test_help_seeking_intervals_cover_the_true_values(example, record_property):
    """Coverage of the generator's truth by the published 95% intervals (nominal 95%)."""
    root, _, _ = example
    from gbvstats.indicators import catalogue
    from gbvstats.publish import _Context
    from gbvstats.targets import targets

    truth = json.loads((EXAMPLE / "truth.json").read_text())
    plan = load_plan(root / "plan.toml")
    ctx = _Context(plan=plan, catalogue=catalogue(), target_set=targets())
    covered = total = 0
    per_level = {}
    for year in sorted(plan.rounds):
        t = truth["rounds"][str(year)]
        for iid, key in (("help_seeking_formal", "sought_help_formal"), ("sought_help_any", "sought_help_any")):
            f = ctx.hierarchy(year, ctx.catalogue[iid], "district")
            f = f[f["n"] >= 25]  # published estimates only
            for _, r in f.iterrows():
                if r["geo"] == "all":
                    true = t["national"][key]
                elif r["geo"] == "province":
                    true = t["province"][str(int(r["province"]))][key]
                else:
                    true = t["district"][str(int(r["district"]))][key]
                hit = r["ci_low"] <= true <= r["ci_high"]
                covered += hit
                total += 1
                c, n = per_level.get(r["geo"], (0, 0))
                per_level[r["geo"]] = (c + hit, n + 1)
    record_property("coverage", f"{covered}/{total}")
    print(f"help-seeking coverage: {covered}/{total} published intervals contain the true value; by level {per_level}")
    assert total > 50
    assert covered / total >= 0.85


def test_published_indicator_equals_the_spec_variable(example):
    # One definition: the tracker's formal help-seeking (indicator catalogue, any-of its sources) must
    # equal the spec's derived variable, including women who answered "don't know" to a source
    # (unknown, not "no", in both).
    import warnings

    import gbvstats as gs

    root, out, _ = example
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = gs.read_survey(root / "community_2024.sav", spec=root / "survey.toml")
        est = s.proportion("sought_help_formal", where="gbv_any_ever == 1", by="province").frame
        total = s.proportion("sought_help_formal", where="gbv_any_ever == 1").frame
    tracker = pd.read_csv(out / "csv" / "target_tracker.csv")
    n_col = next(c for c in tracker.columns if "Unweighted n" in c)
    pct_col = next(c for c in tracker.columns if "Percent" in c)
    names = {int(r.province): s.value_labels("province").get(int(r.province), str(r.province)) for r in est.itertuples()}
    for r in est.itertuples():
        row = tracker[tracker.iloc[:, 0] == names[int(r.province)]]
        assert len(row) == 1, names[int(r.province)]
        assert int(row[n_col].iloc[0]) == r.n
        assert float(row[pct_col].iloc[0]) == pytest.approx(round(100 * r.estimate, 1))
    assert int(tracker[n_col].iloc[0]) == int(total["n"].iloc[0])


def test_no_published_row_has_a_blank_label(example):
    _, out, _ = example
    blank = []
    for md in sorted((out / "md").glob("*.md")):
        for line in md.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) > 1 and cells[0] == "" and any(cells[1:]):
                blank.append(f"{md.name}: {line}")
    assert not blank, blank
