"""Writes CSV, Excel and Parquet files the way other programs write them (synthetic data).

Run from the repository root:  python tests/data/other_tools/make_text_fixtures.py

- CSV as Excel and Vietnamese offices save them: "CSV UTF-8" (BOM, CRLF), the semicolon/decimal-comma
  CSV of a Vietnamese or European locale, Windows-1258 / Windows-1252 / UTF-16 ("Unicode text") files,
  thousands separators, empty trailing lines and columns. Written byte by byte here, as those programs do.
- XLSX written by openpyxl: a title above the header, several sheets, date cells, merged header cells.
- Parquet written by pyarrow: dictionary (categorical) columns and nullable integers.
- Case files: dates as dd/mm/yyyy, yyyy-mm-dd, Excel serial numbers and mixed; names in NFC and NFD.

The values every file holds are those of ``ROWS`` below; the tests compare what gbvstats reads with them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADER = ["resp_id", "stratum", "psu", "weight", "income", "violence", "province"]
# income in thousand dong, with a fractional part, large enough to need a thousands separator
ROWS = [
    (1, 1, 11, 1.5, 1250.5, 1, "Cần Thơ"),
    (2, 1, 11, 1.5, 980.25, 2, "Hà Tĩnh"),
    (3, 1, 12, 2.0, 15300.0, 1, "Quảng Nam"),
    (4, 1, 12, 2.0, 2200.75, 9, "Kiên Giang"),
    (5, 2, 21, 1.25, 4100.0, 2, "Đồng Tháp"),
    (6, 2, 21, 1.25, 12000.5, 1, "Thừa Thiên Huế"),
    (7, 2, 22, 3.0, 760.0, 8, "Bắc Ninh"),
    (8, 2, 22, 3.0, 1999.99, 2, "Hà Nội"),
]


def _fmt(v, decimal=".", thousands=""):
    if isinstance(v, float):
        whole, frac = f"{v:.2f}".split(".")
        if thousands:
            whole = f"{int(whole):,}".replace(",", thousands)
        frac = frac.rstrip("0")
        return whole + (decimal + frac if frac else "")
    return str(v)


def _line(row, sep=",", decimal=".", thousands="", quote_all=False):
    cells = [_fmt(v, decimal, thousands) for v in row]
    out = []
    for c in cells:
        if quote_all or sep in c or '"' in c:
            c = '"' + c.replace('"', '""') + '"'
        out.append(c)
    return sep.join(out)


def _to_cp1258(text: str) -> bytes:
    """Windows-1258 bytes: base letters with circumflex, breve or horn are precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = parts[0]
        shape = [m for m in parts[1:] if m in "\u0302\u0306\u031b"]  # circumflex, breve, horn
        tones = [m for m in parts[1:] if m not in shape]
        if shape:
            base = unicodedata.normalize("NFC", base + "".join(shape))
        out.append((base + "".join(tones)).encode("cp1258"))
    return b"".join(out)


def write_csvs() -> None:
    # Excel "CSV UTF-8 (Comma delimited)": BOM, CRLF
    text = "\r\n".join([",".join(HEADER)] + [_line(r) for r in ROWS]) + "\r\n"
    (HERE / "excel_utf8_bom_crlf.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    # Excel with a Vietnamese (or European) list separator: semicolons, decimal comma, thousands dot
    text = "\r\n".join([";".join(HEADER)] + [_line(r, ";", ",", ".") for r in ROWS]) + "\r\n"
    (HERE / "excel_semicolon_decimal_comma.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    # comma separated with quoted thousands separators ("1,250.5")
    text = "\n".join([",".join(HEADER)] + [_line(r, ",", ".", ",") for r in ROWS]) + "\n"
    (HERE / "thousands_separator.csv").write_text(text, encoding="utf-8")
    # Windows code pages of old office PCs (plain "CSV (Comma delimited)" in Excel)
    text = "\r\n".join([",".join(HEADER)] + [_line(r) for r in ROWS]) + "\r\n"
    # Windows-1258 stores Vietnamese with combining tone marks (decomposed) for most letters
    (HERE / "windows_1258.csv").write_bytes(_to_cp1258(text))
    # Excel on a Western-European Windows: letters Windows-1252 lacks become '?'
    (HERE / "windows_1252.csv").write_bytes(text.encode("cp1252", errors="replace"))
    # Excel "Unicode Text": UTF-16 LE with BOM, tab separated
    text = "\r\n".join(["\t".join(HEADER)] + [_line(r, "\t") for r in ROWS]) + "\r\n"
    (HERE / "excel_unicode_text.csv").write_bytes(text.encode("utf-16"))
    # empty trailing columns (",,") and empty trailing lines, as a sheet with stray formatting exports
    lines = [",".join(HEADER) + ",,"] + [_line(r) + ",," for r in ROWS] + [",,,,,,,,", ",,,,,,,,", ""]
    (HERE / "trailing_empty.csv").write_bytes("\r\n".join(lines).encode("utf-8"))


def write_xlsx() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(HEADER + ["interview_date"])
    for i, r in enumerate(ROWS):
        ws.append(list(r) + [dt.date(2024, 3, 1) + dt.timedelta(days=3 * i)])
    for row in ws.iter_rows(min_row=2, min_col=8, max_col=8):
        row[0].number_format = "dd/mm/yyyy"
    notes = wb.create_sheet("notes")
    notes.append(["Synthetic data; income in thousand dong"])
    wb.save(HERE / "openpyxl_plain.xlsx")

    # the records on a second sheet, first sheet a cover page
    wb = Workbook()
    wb.active.title = "cover"
    wb.active.append(["Điều tra cộng đồng (dữ liệu giả lập)"])
    ws = wb.create_sheet("survey")
    ws.append(HEADER)
    for r in ROWS:
        ws.append(list(r))
    wb.save(HERE / "openpyxl_two_sheets.xlsx")

    # a title and a blank line above the header (header on row 3)
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["Bảng 1. Dữ liệu điều tra (giả lập)"])
    ws.append([])
    ws.append(HEADER)
    for r in ROWS:
        ws.append(list(r))
    wb.save(HERE / "openpyxl_title_rows.xlsx")

    # merged header cells: a group heading over two columns, the names on the second row
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["Thiết kế mẫu", None, None, None, "Câu hỏi", None, None])
    ws.merge_cells("A1:D1")
    ws.merge_cells("E1:G1")
    ws.append(HEADER)
    for r in ROWS:
        ws.append(list(r))
    wb.save(HERE / "openpyxl_merged_header.xlsx")

    # weights as formulas: openpyxl stores the formula but no value (only Excel computes it on saving)
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(HEADER[:3] + ["base_weight", "weight"])
    for i, r in enumerate(ROWS):
        ws.append(list(r[:3]) + [r[3] * 2, f"=D{i + 2}/2"])
    wb.save(HERE / "openpyxl_formulas.xlsx")


def write_parquet() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "resp_id": pa.array([r[0] for r in ROWS], pa.int32()),
        "stratum": pa.array([str(r[1]) for r in ROWS]).dictionary_encode(),
        "psu": pa.array([r[2] for r in ROWS], pa.int64()),
        "weight": pa.array([r[3] for r in ROWS], pa.float64()),
        # nullable integers: two nulls
        "violence": pa.array([r[5] if r[5] < 8 else None for r in ROWS], pa.int8()),
        "province": pa.array([r[6] for r in ROWS]).dictionary_encode(),
    })
    pq.write_table(table, HERE / "pyarrow_dictionary_nullable.parquet")


# ------------------------------------------------------------------------------------------- cases
CASE_HEADER = ["incident_id", "agency", "report_date", "incident_date", "name", "birth_date", "commune", "sex",
               "age", "province", "district", "gbv_type", "consent"]
# (id, agency, report, incident, name, birth, commune); report/incident written in several styles below
CASES = [
    ("S1", "SWC", dt.date(2024, 3, 5), dt.date(2024, 3, 1), "Nguyễn Thị Hoà", dt.date(1990, 4, 12), "31117"),
    ("S2", "SWC", dt.date(2024, 4, 20), dt.date(2024, 4, 18), "Trần Thị Ánh", dt.date(1985, 11, 2), "31120"),
    ("S3", "SWC", dt.date(2024, 12, 11), dt.date(2024, 12, 1), "Lê Thị Huệ", dt.date(2001, 1, 30), "31117"),
    ("H1", "HEALTH", dt.date(2024, 3, 6), dt.date(2024, 3, 1), "Nguyễn Thị Hoà", dt.date(1990, 4, 12), "31117"),
    ("H2", "HEALTH", dt.date(2024, 5, 9), dt.date(2024, 5, 7), "Phạm Thị Đào", dt.date(1979, 7, 7), "31120"),
    ("H3", "HEALTH", dt.date(2024, 12, 12), dt.date(2024, 12, 1), "Lê Thị Huệ", dt.date(2001, 1, 30), "31117"),
]


def _serial(d: dt.date) -> int:
    return (d - dt.date(1899, 12, 30)).days


def write_cases() -> None:
    from openpyxl import Workbook

    out = HERE / "cases"
    out.mkdir(exist_ok=True)
    styles = [lambda d: d.strftime("%d/%m/%Y"), lambda d: d.isoformat(), lambda d: str(_serial(d))]
    # SWC: an .xlsx whose date columns hold real date cells, text dd/mm/yyyy and Excel serial numbers
    wb = Workbook()
    ws = wb.active
    ws.title = "cases"
    ws.append(CASE_HEADER)
    for i, (cid, ag, rep, inc, name, birth, commune) in enumerate(CASES[:3]):
        report_cell = [rep, rep.strftime("%d/%m/%Y"), _serial(rep)][i]  # a date cell, text, a serial number
        ws.append([cid, ag, report_cell, inc.strftime("%d/%m/%Y"), unicodedata.normalize("NFC", name), birth,
                   commune, "F", None, "92", "9201", "physical_assault", "yes"])
    ws.cell(row=2, column=3).number_format = "dd/mm/yyyy"
    wb.save(out / "swc_2024.xlsx")
    # HEALTH: a CSV with names in NFD (decomposed, as some Mac and web forms send them), dates in three styles
    lines = [",".join(CASE_HEADER)]
    for i, (cid, ag, rep, inc, name, birth, commune) in enumerate(CASES[3:]):
        lines.append(",".join([cid, ag, styles[i](rep), styles[i](inc), unicodedata.normalize("NFD", name),
                               styles[(i + 1) % 3](birth), commune, "F", "", "92", "9201",
                               "physical_assault", "yes"]))
    (out / "health_2024.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


if __name__ == "__main__":
    write_csvs()
    write_xlsx()
    write_parquet()
    write_cases()
