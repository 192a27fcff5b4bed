"""Reading survey files: SPSS, Stata, SAS (through pyreadstat), CSV, Excel and Parquet.

Only this module opens survey files. ``read_survey`` returns a :class:`gbvstats.survey.Survey`;
``read_raw`` returns the frame with every code as stored plus the file's metadata (labels and the codes
the file declares as missing), for callers that want to build something else on top.

User-defined missing values (SPSS ``MISSING VALUES``, Stata ``.a``-``.z``, SAS ``.A``-``.Z``) are read
*as codes* and counted per variable, so refusals, "don't know" and "not asked" stay distinguishable
from each other and from system-missing; the analysis frame then sets them to missing by default.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

import numpy as np
import pandas as pd

from .errors import GbvstatsWarning, ReadError, SpecError, format_rows
from .errors import warn as _warn

__all__ = ["read_survey", "read_raw", "FileMeta", "FORMATS", "UserMissing"]

UserMissing = Literal["missing", "keep"]
#: file suffix -> format name
FORMATS: dict[str, str] = {
    ".sav": "spss", ".zsav": "spss", ".dta": "stata", ".sas7bdat": "sas", ".xpt": "xport",
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet",
}


@dataclass(frozen=True)
class FileMeta:
    """What a file says about its variables.

    Attributes
    ----------
    path, format : the file and its format ("spss", "stata", "sas", "xport", "csv", "excel", "parquet")
    variable_labels : name -> label as stored in the file (SPSS labels are the Vietnamese ones here)
    value_labels : name -> {code: label}
    missing_codes : name -> codes the file declares as user-missing (numbers, or ".a" ... for Stata/SAS)
    missing_ranges : name -> ``(low, high)`` user-missing ranges (SPSS; a single code is ``(c, c)``)
    file_label, encoding : as stored

    Examples
    --------
    :func:`read_raw` returns one with the raw frame (``survey.meta.file`` is the same object):

    >>> frame, meta = read_raw("surveys/example/community_2024.sav")
    >>> meta.format, meta.encoding
    ('spss', 'UTF-8')
    >>> meta.variable_labels["ever_partnered"]
    'Đã từng có chồng/bạn tình'
    >>> meta.value_labels["ever_partnered"]
    {1.0: 'Có', 2.0: 'Không'}
    >>> meta.missing_ranges["sought_help"]
    ((8.0, 8.0), (9.0, 9.0), (0.0, 0.0))
    """

    path: str
    format: str
    variable_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    missing_codes: Mapping[str, tuple] = field(default_factory=dict)
    missing_ranges: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    file_label: str = ""
    encoding: str = ""


def read_raw(path: str | Path, *, sheet: str | int | None = None, encoding: str | None = None,
             delimiter: str | None = None, decimal: str | None = None,
             header_row: int | None = None) -> tuple[pd.DataFrame, FileMeta]:
    """Read a file keeping every code as stored (user-missing codes included).

    Stata/SAS extended missing values come back as strings ``".a"``, ``".b"``, ... in an otherwise
    numeric column (the column is then of object dtype); :func:`gbvstats.survey.Survey` turns them into
    missing and counts them. ``sheet``, ``encoding``, ``delimiter``, ``decimal`` and ``header_row`` are
    as in :func:`read_survey` (``None``: detect).

    Examples
    --------
    >>> frame, meta = read_raw("surveys/example/community_2024.sav")
    >>> meta.missing_codes["sought_help"]
    (8.0, 9.0, 0.0)
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            from .errors import close_matches

            hint = close_matches(p.name, [q.name for q in p.parent.iterdir()])
        raise ReadError(f"{p}: file not found{hint}; check the path")
    if not p.is_file():
        raise ReadError(f"{p}: is a folder, not a file; give the survey file's path")
    if suffix not in FORMATS:
        raise ReadError(f"{p}: gbvstats does not read '{suffix or 'no extension'}' files"
                        f"{_UNSUPPORTED.get(suffix, '')}; save it as one of {', '.join(FORMATS)}"
                        + _looks_like(p, None))
    fmt = FORMATS[suffix]
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: the file is empty (0 bytes); it was not saved completely: export it again")
    if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int)
                                   or header_row < 1):
        raise SpecError(f"header_row={header_row!r}: give the row number of the column names (1 = first row)")
    if decimal not in (None, ".", ","):
        raise SpecError(f"decimal={decimal!r} is not one of '.', ','")
    try:
        if fmt in ("spss", "stata", "sas", "xport"):
            frame, meta = _read_pyreadstat(p, fmt, encoding)
            if not len(frame):
                raise ReadError(f"{p}: the file has its variables but no rows (no respondents); export the data "
                                "again")
            return frame, meta
        if fmt == "csv":
            frame = _read_text(p, encoding, delimiter, decimal, header_row)
        elif fmt == "excel":
            frame = _read_excel(p, sheet, header_row)
        else:
            frame = pd.read_parquet(p)
            for name in frame.columns:  # dictionary (categorical) columns: their values
                if isinstance(frame[name].dtype, pd.CategoricalDtype):
                    frame[name] = frame[name].astype(frame[name].cat.categories.dtype)
    except (ReadError, SpecError):
        raise
    except Exception as exc:  # the libraries raise many types for a damaged file
        raise ReadError(f"{p}: cannot be read as a {fmt} file ({type(exc).__name__}: {exc}); "
                        "check that the file is complete and of the type its extension says"
                        + _looks_like(p, fmt)) from None
    frame.columns = [str(c) for c in frame.columns]
    if not len(frame):
        raise ReadError(f"{p}: the file has its columns but no rows (no respondents); export the data again")
    return frame, FileMeta(path=str(p), format=fmt, encoding=frame.attrs.pop("encoding", ""))


#: why a known but unread format is not read
_UNSUPPORTED = {
    ".por": " (SPSS portable files lose Vietnamese text and user-missing codes when read: open it in "
            "SPSS or PSPP and save it as .sav)",
    ".xls": " (old Excel workbooks: open it in Excel or LibreOffice and save it as .xlsx)",
    ".ods": " (open it in LibreOffice and save it as .xlsx)",
}

_MAGIC = (
    (b"$FL2", "an SPSS .sav file"), (b"$FL3", "an SPSS .zsav file"), (b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"),
    (b"PAR1", "a Parquet file"), (b"<stata_dta>", "a Stata .dta file"),
    (b"HEADER RECORD*******LIB", "a SAS transport (.xpt) file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2\xea\x81\x60", "a SAS .sas7bdat file"),
)


def _looks_like(p: Path, fmt: str | None) -> str:
    """' (the file looks like ...)' when its first bytes say it is another format than its extension."""
    try:
        with p.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return ""
    what = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if what is None and len(head) and head[:1] in (b"\x72", b"\x71", b"\x73", b"\x6e", b"\x6f", b"\x6c") \
            and head[1:2] in (b"\x01", b"\x02"):
        what = "a Stata .dta file (before Stata 13)"
    if what is None and b"SPSSPORT" in head[:512]:
        what = "an SPSS portable (.por) file"
    if what is None:
        # text in any 8-bit encoding has no NUL byte; UTF-16 text starts with its byte-order mark
        text = b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff"))
        if text and head.strip() and fmt not in ("csv", None):
            what = "a text (CSV) file"
    same = {"spss": "SPSS .", "stata": "Stata", "excel": "zip", "parquet": "Parquet", "xport": "SAS transport",
            "sas": "SAS .sas7bdat", "csv": "text"}
    if what is None or (fmt in same and same[fmt] in what):
        return ""
    return f" (its first bytes say it is {what}: give it the right extension)"


_DELIMITERS = (",", ";", "\t", "|")
_ENCODING_FIX = ("save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)'), or name its encoding: "
                 "encoding='cp1258' (Windows Vietnamese), 'cp1252' (Windows Western European) or 'utf-16' "
                 "(read_survey argument, or encoding = ... under [file] in the spec)")


def _read_text(p: Path, encoding: str | None, delimiter: str | None, decimal: str | None,
               header_row: int | None) -> pd.DataFrame:
    """A CSV/text file as written by Excel and office programs, every value checked, nothing dropped silently."""
    import codecs
    import io
    import unicodedata

    data = p.read_bytes()
    enc = encoding
    if enc is None:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            enc = "utf-16"
        elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            enc = "utf-32"
        else:
            enc = "utf-8-sig"
    elif enc.lower().replace("_", "-") in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    try:
        text = data.decode(enc)
    except LookupError:
        raise SpecError(f"{p}: encoding={encoding!r} is not a known text encoding; {_ENCODING_FIX}") from None
    except UnicodeDecodeError as exc:
        other = _looks_like(p, None)
        if other:
            raise ReadError(f"{p}: is not a text file{other}") from None
        line = data[:exc.start].count(b"\n") + 1
        raise ReadError(f"{p}: the text is not {encoding or 'UTF-8'} (byte {exc.start}, line {line}: "
                        f"{data[max(0, exc.start - 10):exc.start + 10]!r}); {_ENCODING_FIX}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\ufffd" in text and encoding is None:
        line = text[:text.index("\ufffd")].count("\n") + 1
        raise ReadError(f"{p}: line {line} holds a replacement character (\ufffd): the text was damaged when "
                        f"it was converted to UTF-8; {_ENCODING_FIX}")
    # Windows-1258 and some Mac programs store Vietnamese tone marks as separate (combining) characters
    source: Any = None
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    elif enc == "utf-8-sig":
        source = io.BytesIO(data)  # the bytes as they are: no second encoding pass
    if not text.strip():
        raise ReadError(f"{p}: the file holds no text (only blank lines); export the data again")
    skip = (header_row or 1) - 1
    lines = text.split("\n", skip + 1)[: skip + 1]
    if skip >= len(lines):
        raise SpecError(f"{p}: header_row={header_row} but the file has {len(lines)} lines")
    head = lines[skip].rstrip("\r")
    if delimiter is None:
        counts = {d: head.count(d) for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            delimiter = ","
    if decimal is None:
        decimal = "," if delimiter == ";" and _DECIMAL_COMMA.search(text) else "."
    import csv

    header = next(csv.reader([head], delimiter=delimiter), [])
    # pandas' C parser reads the plain numbers; columns it leaves as text are checked below (thousands
    # separators, decimal marks), each as a whole
    frame = pd.read_csv(source or io.StringIO(text), sep=delimiter, skiprows=skip + 1, skip_blank_lines=False,
                        header=None, names=list(range(len(header))), decimal=decimal,
                        encoding="utf-8-sig" if source is not None else None)
    frame.columns = _header_names(header, p, f"line {skip + 1}")
    frame.attrs["encoding"] = "utf-8" if enc == "utf-8-sig" else enc
    frame = _tidy(frame, p, f"(line {skip + 1} holds the column names)", skip + 2)
    for name in frame.columns:  # a handful of columns, each converted as a whole
        if not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = _to_number(frame[name].astype("str"), decimal)
    _warn_lost_letters(frame, p, skip + 2)
    return frame


def _warn_lost_letters(frame: pd.DataFrame, p: Path, first_line: int) -> None:
    """Warn where '?' stands inside words: the program that saved the file had no code for those letters."""
    import warnings


    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col):
            continue
        hit = _regex(col, r"[\pL\pN]\?|\?[\pL\pN]")
        if hit.any():
            idx = np.flatnonzero(hit)
            lines = format_rows(idx, base=first_line, noun="line", total=False)
            _warn(f"{p}: column {name!r} has '?' inside words ({lines}, e.g. {col.iloc[idx[0]]!r}): letters were "
                  "lost when the file was saved in an encoding without them (Windows-1252 has no Vietnamese); "
                  "save it again as 'CSV UTF-8'", GbvstatsWarning)


_DECIMAL_COMMA = re.compile(r"(^|[;\n])\s*\"?[+-]?\d+(\.\d{3})*,\d+\"?\s*(?=[;\r\n]|$)")


def _regex(col: pd.Series, pattern: str) -> np.ndarray:
    """Cells (as text) matching ``pattern`` anywhere (RE2 syntax, in arrow); missing cells are False."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(col.array) if isinstance(col.dtype, pd.StringDtype) else None
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(col.astype("str").to_numpy(dtype=object, na_value=None), type=pa.string())
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _to_number(col: pd.Series, decimal: str) -> pd.Series:
    """A text column as numbers when every non-blank value is a number written with ``decimal``
    (and, optionally, the other mark grouping thousands: 1,250.5 or 1.250,5); else unchanged."""
    vals = col.dropna().str.strip()
    vals = vals[vals != ""]
    if not len(vals):
        return pd.to_numeric(col.where(col.str.strip() != ""), errors="coerce") if col.isna().all() else col
    sep = "," if decimal == "." else "."
    d, t = re.escape(decimal), re.escape(sep)
    pattern = rf"[+-]?(\d+|\d{{1,3}}({t}\d{{3}})+)({d}\d*)?([eE][+-]?\d+)?|[+-]?{d}\d+|[+-]?(?i:inf|infinity)"
    if not _regex(vals, f"^(?:{pattern})$").all():
        return col
    clean = col.str.strip()
    clean = clean.where(clean.str.lower().str.lstrip("+-").str.startswith("inf"), clean.str.replace(sep, "", regex=False))
    if decimal == ",":
        clean = clean.str.replace(",", ".", regex=False)
    out = pd.to_numeric(clean.where(clean != ""), errors="coerce")
    if out.notna().all() and np.isfinite(out).all() and (out == out.round()).all() and out.abs().max() < 2**53:
        return out.astype("int64")
    return out


def _set_header(frame: pd.DataFrame, p: Path, where: str) -> pd.DataFrame:
    """Take the first row as the column names (see :func:`_header_names`)."""
    out = frame.iloc[1:].reset_index(drop=True)
    out.columns = _header_names(frame.iloc[0].tolist(), p, where)
    return out


def _header_names(cells: list, p: Path, where: str) -> list[str]:
    """Header cells as column names (stripped; blank -> "Unnamed: i"); a name given twice is an error
    (pandas would rename it silently)."""
    names = []
    for i, v in enumerate(cells):  # the header cells
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        text = unicodedata.normalize("NFC", text)
        names.append(text or f"Unnamed: {i}")
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i + 1)
    dup = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dup:
        which = "; ".join(f"{n!r} in columns {', '.join(map(str, pos))}" for n, pos in dup.items())
        raise ReadError(f"{p}: the column names on {where} repeat ({which}); give each column its own name")
    return names


def _text_numbers(col: pd.Series) -> pd.Series:
    """An object column whose non-blank cells are all numbers or numeric text, as numbers; else unchanged."""
    blank = _blank(col)
    if blank.all():
        return col
    num = pd.to_numeric(col.where(~blank).astype("str").str.strip(), errors="coerce")
    if num.notna().sum() != (~blank).sum() or "bool" in pd.api.types.infer_dtype(col, skipna=True):
        return col
    if num.notna().all() and (num == num.round()).all() and num.abs().max() < 2**53:
        return num.astype("int64")
    return num


def _tidy(frame: pd.DataFrame, p: Path, where_header: str, first_data_line: int, word: str = "line") -> pd.DataFrame:
    """Drop empty columns without a header and wholly empty rows (with a warning); refuse data without a header."""
    import warnings


    blank = pd.DataFrame({c: _blank(frame[c]) for c in frame.columns}, index=frame.index)
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ") or str(c).strip() == ""]
    empty_cols = [c for c in unnamed if blank[c].all()]
    frame = frame.drop(columns=empty_cols)
    blank = blank.drop(columns=empty_cols)
    headless = [c for c in frame.columns if c in unnamed]
    if headless and headless[0] == frame.columns[0]:
        # row names written by R's write.csv (1..n) or pandas' to_csv (0..n-1): not data
        first = pd.to_numeric(frame[headless[0]], errors="coerce").to_numpy(dtype="float64")
        n = len(frame)
        if n and (np.array_equal(first, np.arange(1, n + 1)) or np.array_equal(first, np.arange(n))):
            _warn(f"{p}: the first column has no name and holds the row numbers {int(first[0])}..."
                  f"{int(first[-1])} (row names written by R's write.csv or pandas' to_csv); it was dropped",
                  GbvstatsWarning)
            frame = frame.drop(columns=[headless[0]])
            blank = blank.drop(columns=[headless[0]])
            headless = headless[1:]
    if headless:
        pos = [list(frame.columns).index(c) + 1 for c in headless]
        rows = np.flatnonzero(~blank[headless[0]].to_numpy())
        raise ReadError(f"{p}: column(s) {', '.join(map(str, pos))} hold values but have no name {where_header}"
                        f" (first values in {format_rows(rows, base=first_data_line, noun=word, total=False)}); put the column names on one row: if a "
                        "title or merged cells sit above them, give header_row = the row of the names "
                        "(read_survey argument, or header_row under [file] in the spec)"
                        + _header_hint(frame))
    empty = blank.all(axis=1).to_numpy()
    if empty.any():
        idx = np.flatnonzero(empty)
        skipped = format_rows(idx, base=first_data_line, noun=word, total=False)
        _warn(f"{p}: {len(idx)} wholly empty row(s) were skipped ({skipped})", GbvstatsWarning)
        frame = frame.loc[~empty].reset_index(drop=True)
    if not len(frame):
        raise ReadError(f"{p}: the file has column names but no data rows; export the data again")
    return frame


def _blank(col: pd.Series) -> np.ndarray:
    """Missing or empty-text cells of one column."""
    out = col.isna().to_numpy(dtype=bool).copy()
    if not pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_datetime64_any_dtype(col):
        out |= (col.astype("str").str.strip() == "").fillna(False).to_numpy(dtype=bool)
    return out


def _header_hint(frame: pd.DataFrame) -> str:
    """'; row N looks like the column names' where a row of the frame is all text and has no blank."""
    cells = frame.astype(object)
    filled = cells.notna().all(axis=1) & cells.apply(
        lambda c: c.map(lambda v: isinstance(v, str) and v.strip() != "" and not v.strip().lstrip("+-").replace(".", "", 1).isdigit())).all(axis=1)
    hits = np.flatnonzero(filled.to_numpy())
    if not len(hits):
        return ""
    return f"; the names seem to be on data row {int(hits[0]) + 1} below the first row, i.e. header_row = {int(hits[0]) + frame.attrs.get('header_row', 1) + 1}"


_FORMULA_NO_VALUE = re.compile(
    rb'<c r="([A-Z]+)(\d+)"[^>]*>\s*<f(?:[^>]*/>|[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>')


def _check_formulas(p: Path, sheet: str, where: str, header: list, header_row: int) -> None:
    """Refuse cells holding a formula whose value was never computed (a workbook written by a program such
    as openpyxl and not saved by Excel): they would read as empty."""
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(p) as z:
            ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                  "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rid = next(e.get(f"{{{ns['r']}}}id") for e in book.iter(f"{{{ns['m']}}}sheet") if e.get("name") == sheet)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next(e.get("Target") for e in rels if e.get("Id") == rid)
            name = target.lstrip("/") if target.startswith("/") else "xl/" + target
            xml = z.read(name)
    except (KeyError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError):
        return
    hits = [(col.decode(), int(row)) for col, row in _FORMULA_NO_VALUE.findall(xml) if int(row) > header_row]
    if not hits:
        return

    def index(letters: str) -> int:
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        return n - 1

    cols = sorted({c for c, _ in hits}, key=index)
    names = [str(header[index(c)]) if index(c) < len(header) else c for c in cols]
    rows = sorted({r for _, r in hits})
    shown = ", ".join(map(str, rows[:10])) + (f", … ({len(rows)} in all)" if len(rows) > 10 else "")
    raise ReadError(f"{where}: column(s) {', '.join(repr(n) for n in names)} hold formulas whose values were never "
                    f"calculated (rows {shown}): the workbook was written by a program, not saved by Excel, so these "
                    "cells would read as empty; open it in Excel or LibreOffice and save it, or write the values "
                    "instead of formulas")


def _read_excel(p: Path, sheet: str | int | None, header_row: int | None) -> pd.DataFrame:
    with pd.ExcelFile(p, engine="openpyxl") as book:
        return _read_sheet(p, book, sheet, header_row)


def _read_sheet(p: Path, book: pd.ExcelFile, sheet: str | int | None, header_row: int | None) -> pd.DataFrame:
    import warnings

    names = [str(n) for n in book.sheet_names]
    if sheet is None:
        sheet = 0
    if isinstance(sheet, str) and sheet not in names:
        from .errors import close_matches

        raise ReadError(f"{p}: the workbook has no sheet {sheet!r} (it has {names}){close_matches(sheet, names)}; "
                        "give one of those names as sheet=")
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise ReadError(f"{p}: sheet={sheet} but the workbook has {len(names)} sheet(s) {names} (sheet numbers start "
                        "at 0); give sheet= a name or number from that list")
    label = sheet if isinstance(sheet, str) else names[sheet]
    where = f"{p} (sheet {label!r})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl's notes on styles and data validation
        frame = pd.read_excel(book, sheet_name=sheet, header=None, skiprows=(header_row or 1) - 1)
    if not len(frame):
        raise ReadError(f"{where}: the sheet is empty" + (f" from row {header_row} on" if header_row else ""))
    _check_formulas(p, label, where, frame.iloc[0].tolist(), header_row or 1)
    frame = _set_header(frame, Path(where), f"row {header_row or 1}").infer_objects()
    for name in frame.columns:  # numbers stored as text ("12" in a column of numbers): numbers
        if frame[name].dtype == object:
            frame[name] = _text_numbers(frame[name])
    frame.attrs["header_row"] = header_row or 1
    others = f"; the workbook's sheets are {names}: give sheet= if the data are on another" if len(names) > 1 else ""
    if frame.shape[1] == 0 or (not len(frame) and frame.shape[1] <= 1):
        raise ReadError(f"{where}: the sheet holds no data rows{others}")
    try:
        return _tidy(frame, Path(where), f"(row {header_row or 1} of the sheet holds the column names)",
                     (header_row or 1) + 1, "row")
    except ReadError as exc:
        raise ReadError(f"{exc}{others}") from None


#: encodings whose conversion in ReadStat (iconv) is stateful and garbles fixed-width fields: a file in one of
#: them is read byte for byte (latin-1) and its text decoded by Python. Windows-1258 is the code page of
#: Vietnamese SPSS files saved by SPSS before Unicode mode (and by PSPP with SET LOCALE='windows-1258').
_STATEFUL = {"WINDOWS-1258": "cp1258", "CP1258": "cp1258"}


def _redecode(frame: pd.DataFrame, m: Any, codec: str):
    """Text of a file read as latin-1, decoded with ``codec`` and composed (NFC)."""
    import unicodedata

    def fix(v: Any) -> Any:
        return unicodedata.normalize("NFC", v.encode("latin1").decode(codec)) if isinstance(v, str) else v

    names = {c: fix(c) for c in frame.columns}
    frame = frame.rename(columns=names)
    for name in frame.columns:  # columns, not rows: each string column decoded as a whole
        col = frame[name]
        if pd.api.types.is_string_dtype(col):
            frame[name] = col.str.encode("latin1").str.decode(codec).str.normalize("NFC")
    m.column_names_to_labels = {names.get(k, k): fix(v) for k, v in (m.column_names_to_labels or {}).items()}
    m.variable_value_labels = {names.get(k, k): {fix(c): fix(lab) for c, lab in labs.items()}
                               for k, labs in (m.variable_value_labels or {}).items()}
    m.missing_ranges = {names.get(k, k): [{"lo": fix(r["lo"]), "hi": fix(r["hi"])} for r in rs]
                        for k, rs in (getattr(m, "missing_ranges", None) or {}).items()}
    m.missing_user_values = {names.get(k, k): v for k, v in (getattr(m, "missing_user_values", None) or {}).items()}
    m.file_label = fix(getattr(m, "file_label", None) or "")
    m.file_encoding = codec
    return frame, m


def _xport_special_missing(p: Path, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """SAS special missing values (.A-.Z, ._) of a transport file (v5 or v8), as ".a" ... codes.

    The observations are fixed-width records after the OBS header; a numeric cell holding a special
    missing value is the letter (or '_') followed by zero bytes. Only the first member is read, as ReadStat does.
    """
    data = p.read_bytes()
    v8 = data[20:28] == b"LIBV8   " or b"NAMSTV8" in data[:2000]
    head = data.find(b"HEADER RECORD*******NAMSTV8 " if v8 else b"HEADER RECORD*******NAMESTR ")
    if head < 0 or not len(frame):
        return frame, {}
    nvar = int(data[head + 54:head + 58])
    member = data.rfind(b"HEADER RECORD*******MEMB", 0, head)
    size = 136 if member >= 0 and data[member + 74:member + 78] == b"0136" else 140  # 136: VAX/VMS
    names, numeric, pos, width = [], [], [], []
    for k in range(nvar):  # the variables' descriptors (a handful), never rows
        rec = data[head + 80 + k * size: head + 80 + (k + 1) * size]
        numeric.append(int.from_bytes(rec[0:2], "big") == 1)
        width.append(int.from_bytes(rec[4:6], "big"))
        pos.append(int.from_bytes(rec[84:88], "big"))
        names.append(rec[8:16])
    obs = data.find(b"HEADER RECORD*******OBSV8   " if v8 else b"HEADER RECORD*******OBS     ", head)
    if obs < 0:
        return frame, {}
    reclen = max(p_ + w for p_, w in zip(pos, width))
    start = obs + 80
    n = len(frame)
    if start + n * reclen > len(data):
        return frame, {}
    rows = np.frombuffer(data, dtype=np.uint8, count=n * reclen, offset=start).reshape(n, reclen)
    codes: dict[str, tuple] = {}
    for j, name in enumerate(frame.columns[:nvar]):
        if not numeric[j] or not pd.api.types.is_numeric_dtype(frame[name]):
            continue
        cell = rows[:, pos[j]:pos[j] + width[j]]
        first = cell[:, 0]
        special = ((first >= ord("A")) & (first <= ord("Z")) | (first == ord("_"))) & (cell[:, 1:] == 0).all(axis=1)
        special &= frame[name].isna().to_numpy()
        if not special.any():
            continue
        letters = np.char.lower(first[special].view("S1").astype(str))
        col = frame[name].astype(object)
        col[special] = np.char.add(".", letters).astype(object)
        frame[name] = col
        codes[name] = tuple(sorted(set("." + letters)))
    return frame, codes


_DTA_WIDTH = {32768: 8, 65526: 8, 65527: 4, 65528: 4, 65529: 2, 65530: 1}


def _dta_strls(p: Path, frame: pd.DataFrame, names: list[str], codec: str | None) -> pd.DataFrame:
    """The values of Stata strL columns (format 117-119), which ReadStat returns as empty strings."""
    data = p.read_bytes()
    try:
        release = int(data[data.index(b"<release>") + 9:data.index(b"</release>")])
        order = "<" if data[data.index(b"<byteorder>") + 11:][:3] == b"LSF" else ">"
        k_at = data.index(b"<K>") + 3
        k = int(np.frombuffer(data, f"{order}u{4 if release >= 119 else 2}", 1, k_at)[0])
        n_at = data.index(b"<N>") + 3
        n = int(np.frombuffer(data, f"{order}u{8 if release >= 118 else 4}", 1, n_at)[0])
        offsets = np.frombuffer(data, f"{order}u8", 14, data.index(b"<map>") + 5)
        vt = np.frombuffer(data, f"{order}u2", k, int(offsets[2]) + len(b"<variable_types>"))
    except (ValueError, IndexError):
        raise ReadError(f"{p}: the file has Stata long strings (strL) in {names} but its layout could not be read; "
                        "in Stata, compress the strings or save with saveold, and read again") from None
    if n != len(frame) or k != frame.shape[1]:
        return frame
    width = np.array([int(t) if t <= 2045 else _DTA_WIDTH.get(int(t), 0) for t in vt])  # per variable
    start = int(offsets[9]) + len(b"<data>")
    rows = np.frombuffer(data, np.uint8, n * int(width.sum()), start).reshape(n, int(width.sum()))
    # the long strings: GSO blocks, each "GSO" v o t len contents (variable-length: read one after another)
    table: dict[tuple[int, int], str] = {}
    pos = int(offsets[10]) + len(b"<strls>")
    o_size = 8 if release >= 118 else 4
    enc = codec or ("utf-8" if release >= 118 else "cp1252")
    while data[pos:pos + 3] == b"GSO":
        v = int(np.frombuffer(data, f"{order}u4", 1, pos + 3)[0])
        o = int(np.frombuffer(data, f"{order}u{o_size}", 1, pos + 7)[0])
        t = data[pos + 7 + o_size]
        length = int(np.frombuffer(data, f"{order}u4", 1, pos + 8 + o_size)[0])
        raw = data[pos + 12 + o_size:pos + 12 + o_size + length]
        table[(v, o)] = (raw[:-1] if t == 130 and raw.endswith(b"\0") else raw).decode(enc, errors="replace")
        pos += 12 + o_size + length
    where = np.concatenate([[0], np.cumsum(width)[:-1]])
    cols = list(frame.columns)
    for name in names:
        j = cols.index(name)
        cell = rows[:, where[j]:where[j] + 8].copy()
        if release >= 118:  # v: 2 bytes, o: 6 bytes
            vb, ob = (cell[:, :2], cell[:, 2:]) if order == "<" else (cell[:, :2], cell[:, 2:])
            pad = np.zeros((n, 2), np.uint8)
            v = np.ascontiguousarray(vb).view(f"{order}u2").ravel().astype(np.int64)
            o8 = np.hstack([ob, pad]) if order == "<" else np.hstack([pad, ob])
            o = np.ascontiguousarray(o8).view(f"{order}u8").ravel().astype(np.int64)
        else:
            v = np.ascontiguousarray(cell[:, :4]).view(f"{order}u4").ravel().astype(np.int64)
            o = np.ascontiguousarray(cell[:, 4:]).view(f"{order}u4").ravel().astype(np.int64)
        keys = pd.MultiIndex.from_arrays([v, o])
        lookup = pd.Series(list(table.values()), index=pd.MultiIndex.from_tuples(list(table), names=None)
                           if table else pd.MultiIndex.from_arrays([[], []]), dtype=object)
        got = lookup.reindex(keys).to_numpy(dtype=object).copy()
        got[(v == 0) & (o == 0)] = ""
        frame[name] = pd.Series(got, index=frame.index).astype("str")
    return frame


def _read_pyreadstat(p: Path, fmt: str, encoding: str | None) -> tuple[pd.DataFrame, FileMeta]:
    import pyreadstat

    reader = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta,
              "sas": pyreadstat.read_sas7bdat, "xport": pyreadstat.read_xport}[fmt]
    kwargs: dict[str, Any] = {"dates_as_pandas_datetime": True}
    if fmt != "xport":
        kwargs["user_missing"] = True
    redecode = _STATEFUL.get(encoding.upper().replace("_", "-")) if encoding else None
    if encoding:
        kwargs["encoding"] = "latin1" if redecode else encoding
    try:
        frame, m = reader(str(p), **kwargs)
        if not redecode:
            redecode = _STATEFUL.get(str(getattr(m, "file_encoding", None) or "").upper())
            if redecode:  # read again byte for byte, and decode the text here
                frame, m = reader(str(p), **dict(kwargs, encoding="latin1"))
    except Exception as exc:
        raise ReadError(f"{p}: cannot be read as a {fmt} file ({type(exc).__name__}: {exc}); "
                        "check that the file is complete (not cut short by a copy or download) and was saved by "
                        "the program its extension says" + _looks_like(p, fmt)) from None
    if redecode:
        frame, m = _redecode(frame, m, redecode)
    widths = getattr(m, "variable_storage_width", None) or {}
    types = getattr(m, "readstat_variable_types", None) or {}
    strl = [c for c in frame.columns if types.get(c) == "string" and widths.get(c) == 0]
    if fmt == "stata" and strl:  # ReadStat returns Stata long strings (strL) as empty text: read them here
        frame = _dta_strls(p, frame, strl, redecode)
    xport_missing: dict[str, tuple] = {}
    if fmt == "xport":  # ReadStat turns SAS special missing .A-.Z into NaN here: recover them from the bytes
        frame, xport_missing = _xport_special_missing(p, frame)
    missing_codes: dict[str, tuple] = {}
    ranges: dict[str, tuple[tuple[float, float], ...]] = {}
    for name, rs in (getattr(m, "missing_ranges", None) or {}).items():
        pairs = tuple((r["lo"], r["hi"]) for r in rs)
        ranges[name] = pairs
        missing_codes[name] = tuple(lo for lo, hi in pairs if lo == hi)
    missing_codes.update(xport_missing)
    for name, letters in (getattr(m, "missing_user_values", None) or {}).items():
        missing_codes[name] = tuple(missing_codes.get(name, ())) + tuple(f".{str(c).lower()}" for c in letters)
    # Stata/SAS letters come back as "a"/"A": mark them as ".a"
    if fmt in ("stata", "sas"):
        for name in frame.columns:
            col = frame[name]
            if col.dtype == object:
                vals = col.dropna()
                is_letter = vals.map(lambda v: isinstance(v, str) and len(v) == 1 and (v.isalpha() or v == "_"))
                if len(vals) and is_letter.any() and not vals[~is_letter].map(lambda v: isinstance(v, str)).any():
                    frame[name] = col.map(lambda v: f".{v.lower()}" if isinstance(v, str) and len(v) == 1 else v)
                    codes = set(missing_codes.get(name, ()))
                    codes |= {f".{v.lower()}" for v in vals[is_letter].unique()}
                    missing_codes[name] = tuple(sorted(codes))
    labels = {k: v for k, v in (m.column_names_to_labels or {}).items() if v}
    value_labels = {k: dict(v) for k, v in (m.variable_value_labels or {}).items()}
    if fmt in ("stata", "sas"):  # labels of extended missing values: "a" -> ".a", as the codes read
        for name, labs in value_labels.items():
            if pd.api.types.is_numeric_dtype(frame[name]) or frame[name].dtype == object:
                value_labels[name] = {(f".{k.lower()}" if isinstance(k, str) and len(k) == 1 else k): v
                                      for k, v in labs.items()}
    return frame, FileMeta(
        path=str(p),
        format=fmt,
        variable_labels=labels,
        value_labels=value_labels,
        missing_codes=missing_codes,
        missing_ranges=ranges,
        file_label=getattr(m, "file_label", None) or "",
        encoding=getattr(m, "file_encoding", None) or "",
    )


def read_survey(
    path: str | Path,
    spec: "str | Path | Any | None" = None,
    *,
    user_missing: UserMissing = "missing",
    checks: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    **options: Any,
):
    """Read a survey file into a :class:`~gbvstats.survey.Survey`.

    Parameters
    ----------
    path : str or Path
        ``.sav``, ``.zsav``, ``.dta``, ``.sas7bdat``, ``.xpt``, ``.csv`` (also ``.txt``, ``.tsv``),
        ``.xlsx``/``.xlsm`` or ``.parquet``. SPSS portable ``.por`` and old ``.xls`` files are refused with the fix.
    spec : str, Path, SurveySpec or None
        The survey spec (TOML path or a loaded :class:`~gbvstats.spec.SurveySpec`): design variables,
        derived analysis variables, checks, labels. Without one, only the file's own metadata is used.
    user_missing : {"missing", "keep"}
        ``"missing"`` (default): user-missing codes (8 refused, 9 don't know, ...) become missing in
        ``survey.data``; ``"keep"``: they stay as codes. Either way ``survey.raw`` keeps the codes and
        ``survey.describe()`` counts each code per variable.
    checks : dict, optional
        Override the spec's ``[checks]``, e.g. ``{"skip_pattern": "report"}``.
    sheet, encoding : for Excel / text files.
    **options
        ``delimiter``, ``decimal``, ``header_row``: how to read a text or Excel file; each also under
        ``[file]`` in the spec (an argument wins). See :class:`~gbvstats.spec.FileSpec`.

    Returns
    -------
    Survey

    Raises
    ------
    ReadError
        The file is missing, unreadable or of an unknown type.
    DataError
        A check failed: a spec column is absent, weights are missing or not positive, codes outside the
        value labels, duplicated respondent ids, a skip-pattern breach.

    Examples
    --------
    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav",
    ...                         spec="surveys/example/survey.toml")
    >>> survey.design.weights.shape
    (3136,)
    >>> survey.label("sought_help_formal", "en")
    'Sought help from a formal service provider'
    """
    if user_missing not in get_args(UserMissing):
        raise SpecError(f"user_missing={user_missing!r} is not one of 'missing', 'keep'")
    from .spec import SurveySpec, load_spec
    from .survey import Survey

    if spec is not None and not isinstance(spec, SurveySpec):
        spec = load_spec(spec)
    unknown = sorted(set(options) - {"delimiter", "decimal", "header_row"})
    if unknown:
        raise SpecError(f"read_survey got unknown argument(s) {unknown}; file options are sheet, encoding, "
                        "delimiter, decimal, header_row")
    opts = dict(spec.file.options()) if spec is not None else {}
    opts.update({k: v for k, v in dict(options, sheet=sheet, encoding=encoding).items() if v is not None})
    frame, meta = read_raw(path, **opts)
    return Survey._build(frame, meta, spec, user_missing=user_missing, checks=checks)


def numeric_codes(col: pd.Series) -> pd.Series:
    """A column as float64 where it is numeric; Stata-style ``".a"`` codes become NaN."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col.astype("float64")
    return pd.to_numeric(col.where(~col.map(lambda v: isinstance(v, str) and v.startswith("."))), errors="coerce")


def is_numeric_like(col: pd.Series) -> bool:
    """True when a column holds numbers (possibly with ``.a``-style missing strings)."""
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    if col.dtype == object:
        vals = col.dropna()
        return bool(len(vals)) and bool(vals.map(lambda v: isinstance(v, (int, float, np.number))
                                               or (isinstance(v, str) and len(v) == 2 and v[0] == ".")).all())
    return False
