"""Bad input: fatal structural problems raise a clear DataError; row problems are reported, not fatal."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases_helpers import HEADER, SCHEMA, row, write_csv  # noqa: E402

import gbvstats as gs  # noqa: E402
from gbvstats.errors import DataError, KeyMissingError, ReadError, SpecError  # noqa: E402


def read(files, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        return gs.read_cases(files, schema=SCHEMA, **kw)


def issues_of(cases, reason):
    i = cases.report.issues
    return i[i["reason"] == reason]


# ------------------------------------------------------------------ fatal, structural
def test_missing_required_column_names_file_column_and_fix(tmp_path):
    f = write_csv(tmp_path / "police.csv", [row()], header=[h for h in HEADER if h != "gbv_type"])
    with pytest.raises(DataError) as exc:
        read([f])
    msg = str(exc.value)
    assert "police.csv" in msg and "'gbv_type'" in msg and "add it" in msg


def test_all_structural_problems_are_listed_at_once(tmp_path):
    a = write_csv(tmp_path / "a.csv", [row()], header=[h for h in HEADER if h != "sex"])
    b = write_csv(tmp_path / "b.csv", [row()], header=[h for h in HEADER if h != "consent"])
    with pytest.raises(DataError) as exc:
        read([a, b])
    assert "a.csv" in str(exc.value) and "'sex'" in str(exc.value)
    assert "b.csv" in str(exc.value) and "'consent'" in str(exc.value)


def test_wrong_sheet_lists_the_sheets(tmp_path):
    f = tmp_path / "swc.xlsx"
    with pd.ExcelWriter(f) as xw:
        pd.DataFrame([row(agency="SWC")]).to_excel(xw, sheet_name="records", index=False)
        pd.DataFrame({"note": ["x"]}).to_excel(xw, sheet_name="notes", index=False)
    with pytest.raises(DataError) as exc:
        read([f])  # the schema says sheet = "cases"
    msg = str(exc.value)
    assert "swc.xlsx" in msg and "'cases'" in msg and "records" in msg and "sheet=" in msg
    assert read([f], sheet="records").report.rows_kept == 1


def test_unknown_agency_code_is_fatal_with_rows_and_suggestion(tmp_path):
    f = write_csv(tmp_path / "hotline.csv", [row(incident_id="1", agency="HOTLINE"),
                                             row(incident_id="2", agency="HOTLNE"),
                                             row(incident_id="3", agency="HOTLNE")])
    with pytest.raises(DataError) as exc:
        read([f])
    msg = str(exc.value)
    assert "hotline.csv" in msg and "'agency'" in msg and "HOTLNE" in msg
    assert "rows 2, 3 (2 in all)" in msg and "'HOTLINE'" in msg and "[agencies]" in msg


def test_missing_file_and_unknown_format_are_read_errors(tmp_path):
    with pytest.raises(ReadError, match="does not exist"):
        read([tmp_path / "nope.csv"])
    (tmp_path / "cases.sav").write_bytes(b"x")
    with pytest.raises(ReadError, match="unknown format"):
        read([tmp_path / "cases.sav"])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ReadError, match="empty"):
        read([tmp_path / "empty.csv"])


def test_bad_schema_is_a_spec_error(tmp_path):
    s = tmp_path / "s.toml"
    s.write_text('[agencies]\nA = "a"\n[columns.incident_id]\ntype = "idd"\n')
    with pytest.raises(SpecError, match="type 'idd'"):
        gs.read_cases([tmp_path / "x.csv"], schema=s)
    s.write_text('[agencies]\nA = "a"\n[columns.incident_id]\ntype = "id"\n')
    with pytest.raises(SpecError, match="must define the columns"):
        gs.read_cases([tmp_path / "x.csv"], schema=s)
    with pytest.raises(SpecError, match="does not exist"):
        gs.read_cases([tmp_path / "x.csv"], schema=tmp_path / "none.toml")


# ------------------------------------------------------------------ row-level: reported, row excluded
def test_row_problems_are_collected_not_fatal(tmp_path):
    rows = [
        row(incident_id="1"),                                              # fine
        row(incident_id="2", incident_date="31/02/2024"),                  # bad date
        row(incident_id="3", incident_date="2024-03-20"),                  # after report
        row(incident_id="4", age="130", birth_date=""),                    # age out of range
        row(incident_id="5", gbv_type="assault"),                          # unknown code
        row(incident_id="1", name="Trần Thị Khác Giả"),                    # duplicate id in agency
        row(incident_id="6", consent=""),                                  # missing consent
        row(incident_id="7", consent="no"),                                # no consent
        row(incident_id="8", district="4201"),                             # district not in province
        row(incident_id="9", sex=""),                                      # missing required value
        row(incident_id="10", service_health="given"),                     # unknown status
    ]
    cases = read([write_csv(tmp_path / "police.csv", rows)])
    rep = cases.report
    assert rep.rows_read == 11 and rep.rows_kept == 1
    assert dict(rep.excluded) == {"missing_value": 1, "bad_date": 1, "unknown_code": 2, "age_out_of_range": 1,
                                  "incident_after_report": 1, "locality_mismatch": 1,
                                  "duplicate_incident_id": 1, "missing_consent": 1, "no_consent": 1}
    assert rep.rows_read == rep.rows_kept + rep.excluded_total
    dup = issues_of(cases, "duplicate_incident_id")
    assert dup["row"].tolist() == [6] and dup["file"].iloc[0].endswith("police.csv")
    bad = issues_of(cases, "unknown_code")
    assert set(bad["value"]) == {"assault", "given"}
    text = rep.to_text()
    assert "duplicate_incident_id in row 6. Fix:" in text


def test_identifying_values_are_never_echoed_in_the_report(tmp_path):
    rows = [row(incident_id="1", birth_date="1990-02-31", name="Phạm Thị Bí Mật Giả"),
            row(incident_id="2", name="", commune="")]
    cases = read([write_csv(tmp_path / "police.csv", rows)])
    text = cases.report.to_text() + str(cases.report.to_dict()) + cases.report.issues.to_string()
    assert "1990-02-31" not in text and "Bí Mật" not in text and "920101" not in text
    assert len(issues_of(cases, "bad_identifier_date")) == 1
    assert "Phạm" not in repr(cases)


def test_mixed_date_formats_are_parsed_and_warned(tmp_path):
    rows = [row(incident_id=str(i), report_date="2024-03-10", incident_date="2024-03-08") for i in range(5)]
    rows += [row(incident_id="9", report_date="10/03/2024", incident_date="08/03/2024")]
    cases = read([write_csv(tmp_path / "health.csv", rows)])
    assert cases.report.rows_kept == 6
    mixed = issues_of(cases, "mixed_date_formats")
    assert set(mixed["row"]) == {6} and set(mixed["column"]) == {"report_date", "incident_date"}
    assert (mixed["severity"] == "warning").all()
    assert (cases.records["report_date"] == pd.Timestamp("2024-03-10")).all()


def test_headers_match_by_alias_case_and_spacing(tmp_path):
    header = ["MA_VU", "Agency", "ngay tiep nhan", "ngay_xay_ra", "ho_ten", "ngay_sinh", "ma_xa", "sex", "province",
              "district", "gbv_type", " Consent "]
    r = row()
    vals = [r["incident_id"], r["agency"], r["report_date"], r["incident_date"], r["name"], r["birth_date"],
            r["commune"], r["sex"], r["province"], r["district"], r["gbv_type"], r["consent"]]
    f = tmp_path / "hotline.csv"
    f.write_text(",".join(header) + "\n" + ",".join(vals) + "\n", encoding="utf-8")
    cases = read([f])
    assert cases.report.rows_kept == 1
    missing_cols = issues_of(cases, "missing_column")
    assert "age" in set(missing_cols["column"])  # optional columns absent: warned once per file


def test_whitespace_and_blank_cells(tmp_path):
    cases = read([write_csv(tmp_path / "p.csv", [row(incident_id=" A1 ", gbv_type=" rape "),
                                                 row(incident_id="A1", agency="SWC"), row(incident_id="   ")])])
    assert cases.report.rows_kept == 2  # A1 in two agencies is fine; a blank id is missing
    assert dict(cases.report.excluded) == {"missing_value": 1}


# ------------------------------------------------------------------ API arguments
def test_bad_arguments_are_spec_errors(tmp_path, key):
    cases = read([write_csv(tmp_path / "p.csv", [row()])])
    with pytest.raises(SpecError, match="not a column of the schema"):
        cases.link(key_fields=["nam"], key=key)
    with pytest.raises(SpecError, match="statistical column"):
        cases.link(key_fields=["name", "district"], key=key)
    linked = cases.link(key=key)
    with pytest.raises(SpecError, match="is not one of"):
        linked.indicator("help_recieved")
    with pytest.raises(SpecError, match="ci='lgoit'|ci="):
        linked.indicator("help_received", ci="logit")
    with pytest.raises(SpecError, match="period"):
        linked.indicator("cases_new", period="last year")
    with pytest.raises(SpecError, match="by column"):
        linked.indicator("cases_new", by=["distrct"])
    with pytest.raises(SpecError, match="poisson-exact"):
        linked.indicator("cases_new", ci="clopper-pearson")
    with pytest.raises(SpecError, match="already splits"):
        linked.indicator("cases_by_type", by=["gbv_type"])
    with pytest.raises(SpecError, match="at least one"):
        gs.read_cases([], schema=SCHEMA)


def test_no_key_no_linkage(tmp_path, monkeypatch):
    cases = read([write_csv(tmp_path / "p.csv", [row()])])
    monkeypatch.delenv("GBVSTATS_KEY", raising=False)
    with pytest.raises(KeyMissingError, match="GBVSTATS_KEY"):
        cases.link()


def test_non_utf8_csv_says_how_to_fix(tmp_path):
    f = tmp_path / "legacy.csv"
    # "Lê Thị" as a Windows code page writes it: bytes that are not UTF-8
    f.write_bytes((",".join(HEADER) + "\n").encode() + b"X-1,POLICE,2024-03-10,2024-03-08,L\xea Th\xd2 Gi\xe3\n")
    with pytest.raises(ReadError, match="UTF-8"):
        read([f])


def test_parquet_and_csv_give_the_same_records(tmp_path):
    rows = [row(incident_id=str(i), name=f"Lê Thị Số{i} Giả", age=str(20 + i)) for i in range(5)]
    rows.append(row(incident_id="9", gbv_type="bogus"))
    csv_file = write_csv(tmp_path / "p.csv", rows)
    pq_file = tmp_path / "p.parquet"
    pd.read_csv(csv_file, dtype=str, keep_default_na=False).to_parquet(pq_file)
    a, b = read([csv_file]), read([pq_file])
    assert a.report.rows_kept == b.report.rows_kept == 5
    assert dict(a.report.excluded) == dict(b.report.excluded) == {"unknown_code": 1}
    cols = ["agency", "report_date", "age", "gbv_type", "district"]
    pd.testing.assert_frame_equal(a.records[cols], b.records[cols])
