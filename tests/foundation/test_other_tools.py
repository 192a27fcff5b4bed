"""Survey files written by other tools (R haven/foreign, GNU PSPP, Excel-style CSV, openpyxl, pyarrow).

The files are in tests/data/other_tools, made by the scripts there (see its README.md). What a file holds
is taken from the writing tool itself: ``<file>.truth.json`` is what R says the data are, the PSPP data are
the ``BEGIN DATA`` block of make_fixtures.sps, and the CSV/Excel rows are ``ROWS`` of make_text_fixtures.py.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.errors import DataError, GbvstatsError, GbvstatsWarning, ReadError, SpecError
from gbvstats.readers import read_raw
from gbvstats.spec import parse_spec

OT = Path(__file__).resolve().parents[1] / "data" / "other_tools"
sys.path.insert(0, str(OT))
from make_text_fixtures import HEADER, ROWS  # noqa: E402

DESIGN = {"design": {"weights": "weight", "strata": "stratum", "psu": "psu"}}


def truth(name: str) -> dict:
    return json.loads((OT / f"{name}.truth.json").read_text(encoding="utf-8"))


def as_list(col: pd.Series) -> list:
    """Values as R's JSON writes them: numbers, strings, None for missing, dates as ISO text."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in col]
    return [None if pd.isna(v) else (v if isinstance(v, str) else float(v)) for v in col]


# ------------------------------------------------------------------------------------------------ R haven


@pytest.mark.parametrize("name", ["haven_survey.sav", "haven_survey.zsav"])
def test_haven_spss_values_labels_and_user_missing_match_r(name):
    t = truth("haven_survey.sav")
    s = gs.read_survey(OT / name)
    assert list(s.raw.columns) == t["columns"]  # the 51-character name survives
    counts = s.meta.missing_counts
    for var, rec in t["variables"].items():
        assert as_list(s.data[var]) == [v if not isinstance(v, (int, float)) else float(v) for v in rec["values"]], var
        assert s.label(var) == rec["label"], var
        if "value_labels" in rec:
            got = {f"{k:g}": v for k, v in s.value_labels(var).items()}
            assert got == rec["value_labels"], var
        seen = counts[counts["variable"] == var]
        assert dict(zip(seen["code"], seen["count"])) == rec.get("user_missing", {}), var
    # user-missing (per code) apart from system-missing
    d = s.describe().variables.set_index("name")
    assert d.loc["sought_help", "n_user_missing"] == 7 and d.loc["sought_help", "n_system_missing"] == 0
    # codes are kept in raw; "keep" keeps them in data too
    assert (s.raw["income"] == 99).sum() == 2
    kept = gs.read_survey(OT / name, user_missing="keep")
    assert (kept.data["sought_help"] == 0).sum() == 5
    assert d.loc["interview_date", "kind"] == "date" and d.loc["sex", "kind"] == "text"
    # Vietnamese text as written (NFC)
    prov = s.data["tinh_thanh_pho_noi_phong_van_nguoi_tra_loi_nam_2024"]
    assert prov.iloc[0] == "Cần Thơ" and all(unicodedata.is_normalized("NFC", v) for v in prov)


@pytest.mark.parametrize("version", range(8, 16))
def test_haven_stata_versions_tagged_missing_and_labels_match_r(version):
    name = f"haven_stata{version}.dta"
    t = truth(name)
    s = gs.read_survey(OT / name)
    assert list(s.raw.columns) == t["columns"]
    counts = s.meta.missing_counts
    for var, rec in t["variables"].items():
        want = [v if not isinstance(v, (int, float)) else float(v) for v in rec["values"]]
        assert as_list(s.data[var]) == want, var
        assert s.label(var) == rec["label"], var
        seen = counts[counts["variable"] == var]
        assert dict(zip(seen["code"], seen["count"])) == rec.get("user_missing", {}), var
        if "value_labels" in rec:  # tagged missing labelled ".a", ".b" as the codes read
            want_labels = rec["value_labels"]
            got = {(k if isinstance(k, str) else f"{k:g}"): v for k, v in s.value_labels(var).items()}
            assert got == want_labels, var
    # a string column of single letters is text, not Stata missing codes
    assert s.data["sex"].tolist()[:3] == ["F", "M", "F"] and "sex" not in set(counts["variable"])


@pytest.mark.parametrize("name", ["haven_v5.xpt", "haven_v8.xpt", "haven_survey.sas7bdat"])
def test_haven_sas_files_match_r(name):
    """Including SAS special missing values .A-.Z, which ReadStat drops to NaN in transport files."""
    t = truth(name)
    s = gs.read_survey(OT / name)
    assert list(s.raw.columns) == t["columns"]
    counts = s.meta.missing_counts
    for var, rec in t["variables"].items():
        want = [v if not isinstance(v, (int, float)) else float(v) for v in rec["values"]]
        assert as_list(s.data[var]) == want, var
        assert s.label(var) == rec["label"], var
        seen = counts[counts["variable"] == var]
        assert dict(zip(seen["code"], seen["count"])) == rec.get("user_missing", {}), var
    assert t["variables"]["VIOL"]["user_missing"] == {".a": 1, ".b": 1, ".c": 1}


@pytest.mark.parametrize("name", ["haven_survey.sav", "haven_stata15.dta", "haven_stata8.dta"])
def test_estimates_from_other_tools_files_match_r_survey(name):
    """R survey 4.1.1 on the same files (make_fixtures.R prints the call and values: r_output.txt)."""
    ref = json.loads((OT / "r_estimates.json").read_text())["files"][name]
    s = gs.read_survey(OT / name, spec=parse_spec(DESIGN))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GbvstatsWarning)
        inc = s.mean("income")
        s.data["viol_yes"] = (s.data["violence"] == 1).astype(float).where(s.data["violence"].notna())
        s.__dict__.pop("design", None)
        vio = s.mean("viol_yes")
    assert inc.estimate[0] == pytest.approx(ref["income"]["mean"], rel=1e-9)
    assert inc.se[0] == pytest.approx(ref["income"]["se"], rel=1e-9)
    assert vio.estimate[0] == pytest.approx(ref["violence_yes"]["mean"], rel=1e-9)
    assert vio.se[0] == pytest.approx(ref["violence_yes"]["se"], rel=1e-9)


# ------------------------------------------------------------------------------------------------ R foreign


@pytest.mark.parametrize("name", ["foreign_stata7.dta", "foreign_stata10.dta", "foreign_spss.sav"])
def test_foreign_written_files_match_r(name):
    t = json.loads((OT / "foreign.truth.json").read_text())
    s = gs.read_survey(OT / name)
    assert list(s.raw.columns) == t["columns"]
    for var, rec in t["variables"].items():
        want = [None if v is None else float(v) for v in rec["values"]]
        assert as_list(s.data[var]) == want, var
        if rec.get("labels"):
            assert [s.value_labels(var)[k] for k in (1, 2)] == rec["labels"]
    if name.endswith(".dta"):
        assert s.label("psu") == "Commune"


# ------------------------------------------------------------------------------------------------ PSPP


def pspp_rows() -> list[list[str]]:
    """The BEGIN DATA block of make_fixtures.sps: what PSPP was given."""
    text = (OT / "make_fixtures.sps").read_text(encoding="utf-8")
    block = text.split("BEGIN DATA")[1].split("END DATA.")[0]
    return [shlex.split(line) for line in block.strip().splitlines()]


@pytest.mark.parametrize("name, violence_missing", [("pspp_ranges.sav", lambda v: v <= -1),
                                                    ("pspp_ranges_hi.sav", lambda v: v >= 9)])
def test_pspp_missing_ranges_and_string_user_missing(name, violence_missing):
    rows = pspp_rows()
    violence = [float(r[4]) for r in rows]
    children = [float(r[5]) for r in rows]
    consent = [r[7] for r in rows]
    s = gs.read_survey(OT / name)
    c = s.meta.missing_counts
    got = {(v, k): n for v, k, n in zip(c["variable"], c["code"], c["count"])}
    want_v = Counter(f"{v:g}" for v in violence if violence_missing(v))
    want_c = Counter(f"{v:g}" for v in children if v >= 98)
    want_s = Counter(v for v in consent if v in ("NA", "DK"))
    assert {k: n for (v, k), n in got.items() if v == "violence"} == dict(want_v)
    assert {k: n for (v, k), n in got.items() if v == "n_children"} == dict(want_c)
    assert {k: n for (v, k), n in got.items() if v == "consent"} == dict(want_s)
    # set to missing in data, kept in raw
    assert as_list(s.data["violence"]) == [None if violence_missing(v) else v for v in violence]
    assert as_list(s.data["consent"]) == [None if v in ("NA", "DK") else v for v in consent]
    assert s.raw["consent"].tolist() == consent
    assert s.value_labels("consent")["DK"] == "Không biết"
    assert s.data["region"].tolist() == [r[6] for r in rows]  # "Bắc" in UTF-8


def test_spss_file_in_windows_1258_code_page():
    """Vietnamese SPSS files saved before Unicode mode: ReadStat alone garbles them (names and text shift),
    gbvstats decodes them. Compared with what PSPP itself reads back (pspp_windows_1258.truth.csv)."""
    want = pd.read_csv(OT / "pspp_windows_1258.truth.csv", dtype=str)
    s = gs.read_survey(OT / "pspp_windows_1258.sav")
    assert list(s.raw.columns) == list(want.columns)
    assert s.raw["province"].tolist() == want["province"].tolist()
    assert s.raw["note"].tolist() == want["note"].tolist()
    assert as_list(s.raw["violence"]) == [float(v) for v in want["violence"]]
    assert s.label("violence") == "Từng bị bạo lực thể xác hoặc tình dục"
    assert s.value_labels("violence")[9.0] == "Không biết" and s.value_labels("note") == {"?": "Không rõ"}
    c = s.meta.missing_counts
    assert dict(zip(zip(c["variable"], c["code"]), c["count"])) == {("violence", "9"): 1, ("note", "?"): 2}
    assert s.meta.file.encoding == "cp1258"


def test_spss_portable_file_is_refused_with_the_fix():
    with pytest.raises(ReadError) as e:
        gs.read_survey(OT / "pspp_ranges.por")
    msg = str(e.value)
    assert "pspp_ranges.por" in msg and ".sav" in msg and "PSPP" in msg and ".csv" in msg


# ------------------------------------------------------------------------------------------------ CSV


def assert_rows(frame: pd.DataFrame, rows=ROWS) -> None:
    assert list(frame.columns) == HEADER
    for j, name in enumerate(HEADER):
        want = [r[j] for r in rows]
        got = frame[name].tolist()
        if isinstance(want[0], (int, float)):
            assert pd.api.types.is_numeric_dtype(frame[name]), name
            assert np.allclose(np.asarray(got, float), np.asarray(want, float)), name
        else:
            assert got == want, name


@pytest.mark.parametrize("name", ["excel_utf8_bom_crlf.csv", "excel_semicolon_decimal_comma.csv",
                                  "thousands_separator.csv", "excel_unicode_text.csv"])
def test_csv_as_excel_writes_them(name):
    frame, meta = read_raw(OT / name)
    assert_rows(frame)
    assert frame["resp_id"].dtype == "int64"
    s = gs.read_survey(OT / name, spec=parse_spec(DESIGN))
    assert s.design.weights.sum() == pytest.approx(sum(r[3] for r in ROWS))


def test_csv_empty_trailing_rows_and_columns_are_dropped_with_a_warning():
    with pytest.warns(GbvstatsWarning, match=r"trailing_empty.csv: 2 wholly empty row\(s\) were skipped \(lines 10, 11\)"):
        frame, _ = read_raw(OT / "trailing_empty.csv")
    assert_rows(frame)


def test_windows_1258_csv_needs_its_encoding_and_then_reads_as_nfc():
    with pytest.raises(ReadError) as e:
        read_raw(OT / "windows_1258.csv")
    msg = str(e.value)
    assert "windows_1258.csv" in msg and "line 2" in msg and "cp1258" in msg and "CSV UTF-8" in msg
    frame, meta = read_raw(OT / "windows_1258.csv", encoding="cp1258")
    assert_rows(frame)  # tone marks stored as combining characters come back composed (NFC)
    assert meta.encoding == "cp1258"
    # the same through the spec's [file] table
    spec = parse_spec({**DESIGN, "file": {"encoding": "cp1258"}})
    s = gs.read_survey(OT / "windows_1258.csv", spec=spec)
    assert s.data["province"].tolist() == [r[6] for r in ROWS]


def test_windows_1252_csv_with_lost_letters_warns():
    with pytest.raises(ReadError, match="cp1252"):
        read_raw(OT / "windows_1252.csv")
    with pytest.warns(GbvstatsWarning, match=r"column 'province' has '\?' inside words .*CSV UTF-8"):
        frame, _ = read_raw(OT / "windows_1252.csv", encoding="cp1252")
    assert frame["income"].tolist() == [r[4] for r in ROWS]


def test_csv_options_override_detection(tmp_path):
    # a semicolon file with decimal points (no decimal comma anywhere): numbers read as numbers
    p = tmp_path / "dots.csv"
    p.write_text("a;b\n1.5;x\n2.25;y\n", encoding="utf-8")
    assert read_raw(p)[0]["a"].tolist() == [1.5, 2.25]
    # a comma-delimited file, told its decimal mark is a comma: "1,5" quoted
    p = tmp_path / "q.csv"
    p.write_text('a,b\n"1,5",x\n"2,25",y\n', encoding="utf-8")
    assert read_raw(p)[0]["a"].tolist() == ["1,5", "2,25"]  # ambiguous: left as text
    assert read_raw(p, decimal=",")[0]["a"].tolist() == [1.5, 2.25]
    # pipe-delimited, header on line 2
    p = tmp_path / "pipe.csv"
    p.write_text("Survey export\nx|y\n1|2\n", encoding="utf-8")
    assert read_raw(p, header_row=2)[0].to_dict("list") == {"x": [1], "y": [2]}


# ------------------------------------------------------------------------------------------------ Excel


def test_xlsx_plain_with_date_cells_and_a_notes_sheet():
    frame, meta = read_raw(OT / "openpyxl_plain.xlsx")
    assert_rows(frame[HEADER])
    assert pd.api.types.is_datetime64_any_dtype(frame["interview_date"])
    assert frame["interview_date"].iloc[2] == pd.Timestamp("2024-03-07")


@pytest.mark.parametrize("name, row", [("openpyxl_title_rows.xlsx", 3), ("openpyxl_merged_header.xlsx", 2)])
def test_xlsx_header_not_on_first_row(name, row):
    with pytest.raises(ReadError) as e:
        read_raw(OT / name)
    msg = str(e.value)
    assert name in msg and "sheet 'data'" in msg and "no name" in msg and f"header_row = {row}" in msg
    frame, _ = read_raw(OT / name, header_row=row)
    assert_rows(frame)
    s = gs.read_survey(OT / name, spec=parse_spec({**DESIGN, "file": {"header_row": row}}))
    assert len(s) == len(ROWS)


def test_xlsx_data_on_another_sheet():
    with pytest.raises(ReadError) as e:
        read_raw(OT / "openpyxl_two_sheets.xlsx")
    msg = str(e.value)
    assert "sheet 'cover'" in msg and "['cover', 'survey']" in msg and "sheet=" in msg
    assert_rows(read_raw(OT / "openpyxl_two_sheets.xlsx", sheet="survey")[0])
    assert_rows(gs.read_survey(OT / "openpyxl_two_sheets.xlsx", sheet=1).raw)
    with pytest.raises(ReadError, match="did you mean 'survey'"):
        read_raw(OT / "openpyxl_two_sheets.xlsx", sheet="surveys")
    with pytest.raises(ReadError, match="sheet=5 but the workbook has 2 sheet"):
        read_raw(OT / "openpyxl_two_sheets.xlsx", sheet=5)


# ------------------------------------------------------------------------------------------------ Parquet


def test_parquet_dictionary_and_nullable_integer_columns():
    s = gs.read_survey(OT / "pyarrow_dictionary_nullable.parquet", spec=parse_spec(DESIGN))
    assert s.data["province"].tolist() == [r[6] for r in ROWS]
    assert not isinstance(s.data["province"].dtype, pd.CategoricalDtype)
    assert as_list(s.data["violence"]) == [float(r[5]) if r[5] < 8 else None for r in ROWS]
    d = s.describe()
    assert d.design.iloc[0]["n_strata"] == 2 and d.design.iloc[0]["n_psu"] == 4


# ------------------------------------------------------------------------------------------------ bad input


@pytest.fixture
def survey_csv(tmp_path):
    def write(text: str, name: str = "s.csv") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p
    return write


def test_spec_column_not_in_file_suggests_close_matches():
    spec = parse_spec({"design": {"weights": "weigth", "strata": "stratum", "psu": "psu"}})
    with pytest.raises(DataError) as e:
        gs.read_survey(OT / "haven_survey.sav", spec=spec)
    msg = str(e.value)
    assert "haven_survey.sav" in msg and "'weigth'" in msg and "design.weights" in msg and "did you mean 'weight'" in msg


def test_weights_negative_missing_and_text_all_named_with_rows(survey_csv):
    p = survey_csv("stratum,psu,weight\n1,1,1.5\n1,1,-2\n1,2,\n1,2,abc\n2,3,2\n2,4,0\n")
    with pytest.raises(DataError) as e:
        gs.read_survey(p, spec=parse_spec(DESIGN))
    msg = str(e.value)
    assert "s.csv" in msg and "'weight'" in msg
    assert "not a number in row 4 (1 in all) (e.g. 'abc')" in msg
    assert "missing or not finite in row 3 (1 in all)" in msg
    assert "negative in row 2 (1 in all) (e.g. '-2')" in msg and "row 6" not in msg  # zero is a valid weight
    assert "finite weight of zero or more" in msg


def test_psu_missing_for_some_rows(survey_csv):
    p = survey_csv("stratum,psu,weight\n1,1,1\n1,,1\n1,2,1\n2,3,1\n2,,1\n")
    with pytest.raises(DataError) as e:
        gs.read_survey(p, spec=parse_spec(DESIGN))
    msg = str(e.value)
    assert "s.csv" in msg and "'psu'" in msg and "rows 2, 5 (2 in all)" in msg and "sample frame" in msg


@pytest.mark.parametrize("name", ["haven_survey.sav", "haven_stata15.dta", "haven_v8.xpt", "openpyxl_plain.xlsx",
                                  "pyarrow_dictionary_nullable.parquet"])
def test_truncated_file(tmp_path, name):
    data = (OT / name).read_bytes()
    p = tmp_path / name
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as e:
        gs.read_survey(p)
    msg = str(e.value)
    assert name in msg and "cannot be read" in msg and "complete" in msg


@pytest.mark.parametrize("source, target, says", [
    ("haven_survey.sav", "survey.csv", "SPSS .sav"),
    ("haven_survey.sav", "survey.dta", "SPSS .sav"),
    ("excel_utf8_bom_crlf.csv", "survey.sav", "text (CSV)"),
    ("openpyxl_plain.xlsx", "survey.parquet", "zip archive"),
    ("pyarrow_dictionary_nullable.parquet", "survey.xlsx", "Parquet"),
])
def test_wrong_extension_says_what_the_file_is(tmp_path, source, target, says):
    p = tmp_path / target
    shutil.copy(OT / source, p)
    with pytest.raises(ReadError) as e:
        gs.read_survey(p)
    msg = str(e.value)
    assert target in msg and says in msg and "right extension" in msg


@pytest.mark.parametrize("text, says", [("", "empty (0 bytes)"), ("\n\n\n", "only blank lines"),
                                        ("a,b\n", "no data rows")])
def test_empty_files(survey_csv, text, says):
    with pytest.raises(ReadError, match=re.escape(says)):
        gs.read_survey(survey_csv(text))


def test_empty_binary_file(tmp_path):
    (tmp_path / "e.sav").write_bytes(b"")
    with pytest.raises(ReadError, match=r"e.sav: the file is empty"):
        gs.read_survey(tmp_path / "e.sav")


def test_unknown_extension_lists_supported_formats(tmp_path):
    (tmp_path / "s.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(ReadError) as e:
        gs.read_survey(tmp_path / "s.xls")
    msg = str(e.value)
    assert ".xlsx" in msg and ".sav" in msg and ".parquet" in msg and "save it as .xlsx" in msg


def test_column_with_values_but_no_header(survey_csv):
    p = survey_csv("stratum,psu,weight,\n1,1,1,9\n1,2,1,\n2,3,1,7\n")
    with pytest.raises(ReadError) as e:
        read_raw(p)
    msg = str(e.value)
    assert "column(s) 4" in msg and "no name" in msg and "lines 2, 4" in msg


def test_spec_file_table_is_checked():
    with pytest.raises(SpecError, match="file.encoding = 'windows-9999' is not a known text encoding"):
        parse_spec({"file": {"encoding": "windows-9999"}})
    with pytest.raises(SpecError, match="file.header_row"):
        parse_spec({"file": {"header_row": 0}})
    with pytest.raises(SpecError, match="file.decimal"):
        parse_spec({"file": {"decimal": ";"}})
    with pytest.raises(SpecError, match="unknown"):
        gs.read_survey(OT / "excel_utf8_bom_crlf.csv", separator=";")


def test_every_bad_input_error_is_a_gbvstats_error(tmp_path):
    (tmp_path / "bad.dta").write_bytes(b"not a stata file at all")
    with pytest.raises(GbvstatsError):
        gs.read_survey(tmp_path / "bad.dta")


def test_repeated_column_names_are_refused_not_renamed(survey_csv, tmp_path):
    with pytest.raises(ReadError, match=r"s.csv: the column names on line 1 repeat \('weight' in columns 2, 4\)"):
        read_raw(survey_csv("psu,weight,stratum,weight\n1,1,1,2\n"))
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["psu", "weight ", "weight"])  # a trailing space, as typed in Excel
    wb.active.append([1, 2, 3])
    wb.save(tmp_path / "d.xlsx")
    with pytest.raises(ReadError, match=r"d.xlsx \(sheet 'Sheet'\): the column names on row 1 repeat"):
        read_raw(tmp_path / "d.xlsx")


def test_excel_numbers_stored_as_text_are_numbers(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append([" stratum", "psu", "weight", "q"])
    for row in ([1, 1, "1.5", "2"], [1, 2, 2.5, 1], [2, 3, "2", "x"], [2, 4, 1, None]):
        ws.append(row)
    wb.save(tmp_path / "t.xlsx")
    frame, _ = read_raw(tmp_path / "t.xlsx")
    assert list(frame.columns) == ["stratum", "psu", "weight", "q"]  # header cells stripped
    assert frame["weight"].tolist() == [1.5, 2.5, 2.0, 1.0]
    assert frame["q"].tolist()[:3] == ["2", 1, "x"]  # text stays text where one cell is not a number
    s = gs.read_survey(tmp_path / "t.xlsx", spec=parse_spec(DESIGN))
    assert s.design.weights.sum() == 7.0


def test_design_variable_with_a_declared_user_missing_code(tmp_path):
    import pyreadstat

    df = pd.DataFrame({"stratum": [1.0, 1, 1, 2, 2, 2], "psu": [1.0, 2, 99, 3, 4, 4], "weight": [1.0] * 6})
    pyreadstat.write_sav(df, str(tmp_path / "pm.sav"), missing_ranges={"psu": [99]})
    with pytest.raises(DataError) as e:
        gs.read_survey(tmp_path / "pm.sav", spec=parse_spec(DESIGN))
    msg = str(e.value)
    assert "pm.sav" in msg and "'psu'" in msg and "user-missing (99)" in msg and "row 3 (1 in all)" in msg
    assert "sample frame" in msg


@pytest.mark.parametrize("name", ["r_write_csv.csv", "r_write_csv2.csv"])
def test_csv_written_by_r(name):
    """write.csv (row names as an unnamed first column, "NA") and write.csv2 (";" and decimal comma)."""
    t = json.loads((OT / "r_write_csv.truth.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, _ = read_raw(OT / name)
    dropped = [w for w in caught if "row names" in str(w.message)]
    assert len(dropped) == (1 if name == "r_write_csv.csv" else 0)
    assert list(frame.columns) == t["columns"]
    for col, want in t["values"].items():
        assert as_list(frame[col]) == [v if v is None or isinstance(v, str) else float(v) for v in want], col


@pytest.mark.parametrize("version", [13, 14, 15])
def test_stata_long_strings_strl_match_r(version):
    """ReadStat (pyreadstat 1.3.7) returns the strL values of format 119 files (haven's version = 15) as empty
    text; gbvstats reads strL values from the file itself."""
    import pyreadstat

    name = f"haven_strl{version}.dta"
    want = truth(name)["variables"]["note"]["values"]
    alone = pyreadstat.read_dta(str(OT / name))[0]["note"].tolist()
    assert (alone == [""] * 4) if version == 15 else (alone == want)
    s = gs.read_survey(OT / name)
    assert s.data["note"].tolist() == want
    assert len(want[0]) > 2045 and s.data["resp_id"].tolist() == [1, 2, 3, 4]


def test_xlsx_formulas_never_calculated_are_refused():
    """openpyxl writes formulas without their values; pandas would read those cells as empty."""
    with pytest.raises(ReadError) as e:
        gs.read_survey(OT / "openpyxl_formulas.xlsx", spec=parse_spec(DESIGN))
    msg = str(e.value)
    assert "openpyxl_formulas.xlsx (sheet 'data')" in msg and "'weight'" in msg and "never calculated" in msg
    assert "(rows 2, 3, 4, 5, 6, 7, 8, 9)" in msg and "save it" in msg


@pytest.mark.parametrize("suffix", [".sav", ".dta", ".parquet"])
def test_file_with_variables_but_no_rows(tmp_path, suffix):
    import pyreadstat

    df = pd.DataFrame({"stratum": pd.Series([], dtype=float), "weight": pd.Series([], dtype=float)})
    p = tmp_path / f"z{suffix}"
    {".sav": lambda: pyreadstat.write_sav(df, str(p)), ".dta": lambda: pyreadstat.write_dta(df, str(p)),
     ".parquet": lambda: df.to_parquet(p)}[suffix]()
    with pytest.raises(ReadError, match=rf"z{re.escape(suffix)}: the file has its \w+ but no rows"):
        gs.read_survey(p)
