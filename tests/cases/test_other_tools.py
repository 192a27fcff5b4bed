"""Case files as agencies' programs write them: Excel date cells, text dates, Excel serial numbers and mixed
formats in one column; names in NFC and NFD; .xlsx and .csv mixed; CSV variants and damaged files.

The files are tests/data/other_tools/cases (made by make_text_fixtures.py, from its ``CASES`` list).
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gbvstats as gs
from gbvstats.errors import ExclusionWarning, ReadError

ROOT = Path(__file__).resolve().parents[2]
OT = ROOT / "tests" / "data" / "other_tools"
SCHEMA = ROOT / "surveys" / "example" / "cases.toml"
sys.path.insert(0, str(OT))
from make_text_fixtures import CASES, _to_cp1258  # noqa: E402

FILES = [OT / "cases" / "swc_2024.xlsx", OT / "cases" / "health_2024.csv"]


def read(files, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        return gs.read_cases(files, schema=SCHEMA, **kw)


def test_dates_in_every_style_are_read_as_the_agency_wrote_them():
    c = read(FILES)
    assert c.report.rows_read == 6 and c.report.rows_kept == 6
    rec = c.records.set_index(c.records["incident_id"].astype(str))
    for cid, _ag, rep, inc, _name, _birth, _commune in CASES:
        assert rec.loc[cid, "report_date"] == np.datetime64(rep), cid
        assert rec.loc[cid, "incident_date"] == np.datetime64(inc), cid
    issues = c.report.issues
    serial = issues[issues["reason"] == "excel_serial_date"]
    # the serial numbers: SWC report_date row 3 (an .xlsx number cell), HEALTH row 3 report/incident, row 2 birth
    got = {(Path(f).name, col) for f, col in zip(serial["file"], serial["column"])}
    assert got == {("swc_2024.xlsx", "report_date"), ("health_2024.csv", "report_date"),
                   ("health_2024.csv", "incident_date"), ("health_2024.csv", "birth_date")}
    assert (issues["reason"] == "mixed_date_formats").any()


def test_nfc_and_nfd_names_link_as_the_same_person(key):
    names = (OT / "cases" / "health_2024.csv").read_text(encoding="utf-8")
    assert "Nguye\u0302\u0303n" in names  # the CSV really holds decomposed (NFD) text
    linked = read(FILES).link(key=key)
    # Hoà (SWC + HEALTH, same incident), Huệ (SWC + HEALTH, same incident), Ánh (SWC), Đào (HEALTH)
    assert linked.n_survivors == 4 and linked.n_incidents == 4
    assert "survivors seen by 2+ agencies: 2" in linked.summary()


@pytest.mark.parametrize("variant", ["bom", "semicolon", "utf16", "crlf_tab"])
def test_csv_variants_read_the_same(tmp_path, variant):
    text = (OT / "cases" / "health_2024.csv").read_text(encoding="utf-8")
    p = tmp_path / "health.csv"
    if variant == "bom":
        p.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    elif variant == "semicolon":
        p.write_text(text.replace(",", ";"), encoding="utf-8")
    elif variant == "utf16":  # Excel "Unicode text"
        p.write_bytes(text.replace(",", "\t").encode("utf-16"))
    else:
        p.write_bytes(text.replace(",", "\t").encode("utf-8"))
    c = read([p])
    base = read([OT / "cases" / "health_2024.csv"])
    assert c.report.rows_kept == base.report.rows_kept == 3
    for col in ("incident_id", "report_date", "incident_date", "birth_date"):
        assert c.records[col].astype(str).tolist() == base.records[col].astype(str).tolist(), col


def test_windows_1258_case_file_is_named_with_line_and_fix(tmp_path):
    p = tmp_path / "health.csv"
    p.write_bytes(_to_cp1258((OT / "cases" / "health_2024.csv").read_text(encoding="utf-8")))
    with pytest.raises(ReadError) as e:
        read([p])
    msg = str(e.value)
    assert "health.csv" in msg and "line 2" in msg and "CSV UTF-8" in msg and "encoding" in msg
    # with the encoding named in the schema, the same records as the UTF-8 file; NFD tone marks composed
    schema = tmp_path / "cases.toml"
    schema.write_text(SCHEMA.read_text(encoding="utf-8").replace("[schema]\n", "[schema]\nencoding = \"cp1258\"\n", 1),
                      encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        got = gs.read_cases([p], schema=schema)
    base = read([OT / "cases" / "health_2024.csv"])
    for col in ("incident_id", "report_date", "incident_date", "birth_date"):
        assert got.records[col].astype(str).tolist() == base.records[col].astype(str).tolist(), col
    schema.write_text(SCHEMA.read_text(encoding="utf-8").replace("[schema]\n", "[schema]\nencoding = \"cp9999\"\n", 1),
                      encoding="utf-8")
    from gbvstats.errors import SpecError

    with pytest.raises(SpecError, match="cp9999"):
        gs.read_cases([p], schema=schema)


def test_damaged_and_misnamed_case_files(tmp_path):
    data = (OT / "cases" / "swc_2024.xlsx").read_bytes()
    cut = tmp_path / "swc.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match=r"swc.xlsx.*cannot be read.*not cut short"):
        read([cut])
    text_as_xlsx = tmp_path / "health.xlsx"
    shutil.copy(OT / "cases" / "health_2024.csv", text_as_xlsx)
    with pytest.raises(ReadError, match=r"health.xlsx.*text \(CSV\) file: give it the right extension"):
        read([text_as_xlsx])
    xlsx_as_csv = tmp_path / "swc.csv"
    shutil.copy(OT / "cases" / "swc_2024.xlsx", xlsx_as_csv)
    with pytest.raises(ReadError, match=r"swc.csv.*zip archive"):
        read([xlsx_as_csv])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        read([empty])


def test_serial_numbers_outside_1927_2099_are_not_dates(tmp_path):
    """Serial numbers are read only where no schema format matched, and only for 1927-05-18 .. 2099-12-31."""
    text = (OT / "cases" / "health_2024.csv").read_text(encoding="utf-8")
    p = tmp_path / "h.csv"
    p.write_text(text.replace("06/03/2024,01/03/2024", "99999,01/03/2024"), encoding="utf-8")
    c = read([p])
    assert c.report.rows_kept == 2 and dict(c.report.excluded) == {"bad_date": 1}
    issues = c.report.issues
    bad = issues[(issues["reason"] == "bad_date") & (issues["column"] == "report_date")]
    assert bad["row"].tolist() == [1] and bad["value"].tolist() == ["99999"]


def test_date_time_cells_and_parquet_timestamps_keep_their_date(tmp_path):
    """Hotline logs keep the time of day: an Excel date-time cell, a Parquet timestamp or "06/03/2024 14:30"."""
    import pandas as pd
    from openpyxl import Workbook

    base = pd.read_csv(OT / "cases" / "health_2024.csv", dtype=str)
    df = base.copy()
    df["report_date"] = pd.to_datetime(["2024-03-06 14:30:00", "2024-05-09 00:00:00", "2024-12-12 08:00:01"])
    df["incident_date"] = pd.to_datetime(["2024-03-01", "2024-05-07", "2024-12-01"])
    df["age"] = pd.array([30, None, 25], dtype="Int64")  # nullable integers
    df["district"] = pd.array([9201, 9201, 9201], dtype="Int64")
    df.to_parquet(tmp_path / "h.parquet")
    text = base.copy()
    text["report_date"] = ["06/03/2024 14:30", "09/05/2024 7:05", "12/12/2024 08:00:01"]
    text.to_csv(tmp_path / "h.csv", index=False)
    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    ws.append(list(df.columns))
    for row in df.astype(object).where(df.notna(), None).itertuples(index=False):
        ws.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
    wb.save(tmp_path / "h.xlsx")
    for name in ("h.parquet", "h.csv", "h.xlsx"):
        c = read([tmp_path / name])
        assert c.report.rows_kept == 3, name
        assert c.records["report_date"].astype(str).tolist() == ["2024-03-06", "2024-05-09", "2024-12-12"], name


def test_case_workbook_with_uncalculated_formulas(tmp_path):
    from openpyxl import Workbook

    from gbvstats.errors import ReadError as RE

    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    header = ["incident_id", "agency", "report_date", "incident_date", "name", "commune", "sex", "province",
              "district", "gbv_type", "consent"]
    ws.append(header)
    ws.append(["A1", "SWC", "2024-03-05", "=C2-4", "Lê Thị Giả", "31117", "F", "92", "9201", "rape", "yes"])
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(RE, match=r"f.xlsx' \(sheet 'cases'\): column\(s\) 'incident_date' hold formulas"):
        read([tmp_path / "f.xlsx"])
