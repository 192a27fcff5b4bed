"""Administrative case records: validated reading, cross-agency linkage and indicators.

Service providers (Social Work Centre, hotlines 18008065 and 111, police, health facilities, trusted
addresses / safe houses, legal aid, women's unions) each keep their own case file, and the same
survivor is often recorded by several of them. This module

1. reads the agencies' files against a case schema (TOML) and validates every row, collecting
   row-level errors and warnings into a :class:`ValidationReport` instead of stopping at the first
   (:func:`read_cases` → :class:`CaseRecords`); fatal structural problems (a missing required column,
   a wrong sheet, an unknown agency code) raise :class:`~gbvstats.errors.DataError`;
2. links records across agencies with keyed hashes of normalised identifying fields
   (:meth:`CaseRecords.link` → :class:`Linked`); the identifying fields are dropped right after keying;
3. computes the administrative indicators on linked incidents (:meth:`Linked.indicator` →
   :class:`CaseIndicator`), with an optional exact interval and a hook to primary + secondary
   suppression (:meth:`CaseIndicator.protected`).

Counting rule: indicators count **linked incidents** — one incident of one survivor, however many
agencies recorded it (records of the same survivor with the same incident date are one incident);
``survivors_unique`` and ``victims_supported`` count distinct survivors. Only valid records with
consent to statistical use enter linkage and statistics; everything excluded is counted by reason.

>>> import gbvstats as gs
>>> cases = gs.read_cases(["surveys/example/cases/police_2024.csv"], schema="surveys/example/cases.toml",
...                       warn=False)
>>> cases.report.rows_read == cases.report.rows_kept + cases.report.excluded_total
True

See docs/cases.md for the rules and their reasons.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import tomllib
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence, get_args

import numpy as np
import pandas as pd

from .errors import warn as _warn
from .errors import DataError, ExclusionWarning, ReadError, SpecError, close_matches, format_rows
from .keys import Key, resolve

__all__ = [
    "CaseSchema",
    "load_schema",
    "read_cases",
    "validate_frames",
    "CaseRecords",
    "ValidationReport",
    "Linked",
    "CaseIndicator",
    "fold_text",
    "INDICATORS",
    "AGE_BANDS",
    "REPORT_BANDS",
]

ColumnType = Literal["id", "agency", "date", "integer", "code", "text", "consent", "service"]
MissingRule = Literal["error", "warn", "allow"]
IndicatorName = Literal[
    "cases_new", "cases_by_type", "help_received", "service_status", "time_to_report",
    "self_referred", "survivors_unique", "victims_supported",
]
CiMethod = Literal["clopper-pearson", "poisson-exact"]

INDICATORS: tuple[str, ...] = get_args(IndicatorName)

#: Columns the indicators and linkage rely on; a schema must define them (aliases are free).
CORE_COLUMNS: tuple[str, ...] = (
    "incident_id", "agency", "report_date", "incident_date", "sex", "province", "district", "gbv_type", "consent",
)

#: GBVIMS age bands (years at the incident).
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 11, "0-11"), (12, 17, "12-17"), (18, 25, "18-25"), (26, 40, "26-40"), (41, 60, "41-60"), (61, 200, "61+"),
)
#: GBVIMS bands of days from incident to first report (2 weeks–1 month = 15–30 days).
REPORT_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 3, "0-3 days"), (4, 5, "4-5 days"), (6, 14, "6-14 days"), (15, 30, "15-30 days"),
    (31, 10**9, "over 30 days"),
)
#: Best status first: an incident's status for a service is the best any agency recorded.
STATUS_ORDER: tuple[str, ...] = ("provided", "referred", "pending", "declined", "unavailable")

_CONSENT_YES = {"yes", "y", "1", "true", "co", "có", "đồng ý", "dong y"}
_CONSENT_NO = {"no", "n", "0", "false", "khong", "không"}

# Order in which a row's first error becomes its exclusion reason (all issues are still listed).
_REASON_ORDER: tuple[str, ...] = (
    "missing_value", "bad_date", "unknown_code", "age_out_of_range", "incident_after_report",
    "locality_mismatch", "duplicate_incident_id", "missing_consent", "no_consent",
)
_FIXES: dict[str, str] = {
    "missing_value": "fill the value in the agency's file, or relax `missing` for this column in the schema",
    "bad_date": "write the date in one of the schema's date_formats",
    "unknown_code": "correct the code, or add it to the column's `codes` in the schema",
    "age_out_of_range": "correct the age, or widen the column's `range` in the schema",
    "incident_after_report": "check both dates: an incident cannot happen after it was reported",
    "locality_mismatch": "the district code must belong to the province code; correct one of them",
    "duplicate_incident_id": "give each incident of an agency its own id (the first occurrence was kept)",
    "missing_consent": "record whether the survivor consented to statistical use; rows without it are excluded",
    "no_consent": "none: the survivor did not consent, so the record is not used for statistics",
    "mixed_date_formats": "use one date format per column; values were parsed with the format each matched",
    "missing_identifier": "without every linkage field the record cannot be linked and counts as its own survivor",
    "bad_identifier_date": "the birth date could not be read, so the record cannot be linked exactly",
    "age_birth_date_mismatch": "the age differs from the age computed from the birth date; check both",
    "missing_column": "an optional column is absent from this file; its values are treated as blank",
    "excel_serial_date": "a number was read as an Excel serial date (days since 1899-12-30); "
                         "check it, and format the column as dates in the agency's file",
}


# --------------------------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class ColumnSpec:
    """One column of the case schema."""

    name: str
    type: ColumnType
    required: bool = False
    missing: MissingRule = "allow"
    role: Literal["data", "identifier"] = "data"
    codes: tuple[str, ...] | None = None
    labels: tuple[tuple[str, str], ...] = ()
    range: tuple[float, float] | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseSchema:
    """A case-record schema (from TOML): columns, agencies, services, date formats.

    Build it with :func:`load_schema`.

    Attributes
    ----------
    path, name : str
        The schema file and its title.
    columns : tuple of ColumnSpec
        Every column: name, type, whether required, the missing-value rule, role (``data`` or
        ``identifier``), codes and labels, range, aliases (other headers accepted for it).
    agencies, services, statuses : tuple of (code, label)
        The agencies whose files are read, the services recorded, and the service statuses.
    date_formats : tuple of str
        ``strptime`` formats tried for date columns, in order.
    sheet : str or None
        The sheet read from Excel files.
    min_frequency : int
        Smallest publishable count (primary suppression threshold).

    Examples
    --------
    >>> schema = load_schema("surveys/example/cases.toml")
    >>> schema.name
    'GBV case records, example provinces (synthetic)'
    >>> schema.agency_codes
    ('SWC', 'HOTLINE', 'CHILD111', 'POLICE', 'HEALTH', 'SAFEHOUSE', 'LEGAL', 'WU')
    >>> schema.date_formats, schema.min_frequency
    (('%Y-%m-%d', '%d/%m/%Y', '%d-%m-%Y', '%d.%m.%Y'), 10)
    """

    path: str
    name: str
    columns: tuple[ColumnSpec, ...]
    agencies: tuple[tuple[str, str], ...]
    services: tuple[tuple[str, str], ...]
    statuses: tuple[tuple[str, str], ...]
    date_formats: tuple[str, ...]
    sheet: str | None
    min_frequency: int
    encoding: str | None = None

    def column(self, name: str) -> ColumnSpec:
        """The specification of column ``name``.

        Parameters
        ----------
        name : str
            A column name of the schema (not an alias).

        Returns
        -------
        ColumnSpec

        Raises
        ------
        SpecError
            If the schema has no such column; the message names close matches.

        Examples
        --------
        >>> schema = load_schema("surveys/example/cases.toml")
        >>> col = schema.column("gbv_type")
        >>> col.type, col.required, col.codes[:3]
        ('code', True, ('rape', 'sexual_assault', 'physical_assault'))
        >>> schema.column("gbvtype")
        Traceback (most recent call last):
        ...
        gbvstats.errors.SpecError: surveys/example/cases.toml: the schema has no column 'gbvtype'...
        """
        for c in self.columns:
            if c.name == name:
                return c
        raise SpecError(f"{self.path}: the schema has no column {name!r}{close_matches(name, self.column_names)}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the schema's columns, in schema order."""
        return tuple(c.name for c in self.columns)

    @property
    def identifiers(self) -> tuple[str, ...]:
        """Columns used for linkage only (dropped after keying)."""
        return tuple(c.name for c in self.columns if c.role == "identifier")

    @property
    def agency_codes(self) -> tuple[str, ...]:
        """Codes of the agencies, in schema order (e.g. ``'POLICE'``, ``'HEALTH'``)."""
        return tuple(code for code, _ in self.agencies)

    @property
    def service_columns(self) -> tuple[str, ...]:
        """Columns of type ``service`` (one status per service per record)."""
        return tuple(c.name for c in self.columns if c.type == "service")


def _code_str(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _encoding(value: object, p: Path) -> str | None:
    """The schema's text encoding of CSV files (`encoding` under [schema]), checked."""
    if value is None:
        return None
    import codecs

    try:
        codecs.lookup(str(value))
    except LookupError:
        raise SpecError(f"case schema {str(p)!r}: [schema] encoding = {value!r} is not a known text encoding; use "
                        "'utf-8', 'cp1258' (Windows Vietnamese), 'cp1252' or 'utf-16'") from None
    return str(value)


def load_schema(path: str | os.PathLike[str]) -> CaseSchema:
    """Read and check a case schema TOML file.

    Parameters
    ----------
    path : path-like
        The TOML file (see ``surveys/example/cases.toml`` for every field, documented).

    Returns
    -------
    CaseSchema

    Raises
    ------
    SpecError
        Unknown column types or missing-value rules, a core column left out, bad ranges.

    Examples
    --------
    >>> schema = load_schema("surveys/example/cases.toml")
    >>> schema.identifiers
    ('name', 'birth_date', 'commune')
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"case schema {str(p)!r} does not exist; give the path of the schema TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"case schema {str(p)!r} is not valid TOML: {exc}") from None
    head = raw.get("schema", {})
    agencies = tuple((str(k), str(v)) for k, v in raw.get("agencies", {}).items())
    if not agencies:
        raise SpecError(f"{p}: the schema lists no [agencies]; add one code = \"name\" line per agency")
    services = tuple((str(k), str(v)) for k, v in raw.get("services", {}).items())
    statuses = tuple((str(k), str(v)) for k, v in raw.get("service_status", {}).items()) or tuple(
        (s, s) for s in STATUS_ORDER)
    bad_status = [s for s, _ in statuses if s not in STATUS_ORDER]
    if bad_status:
        raise SpecError(f"{p}: [service_status] has unknown status {bad_status[0]!r}; use {list(STATUS_ORDER)}")
    cols = []
    for name, spec in raw.get("columns", {}).items():
        where = f"{p}: [columns.{name}]"
        ctype = spec.get("type")
        if ctype not in get_args(ColumnType):
            raise SpecError(f"{where} type {ctype!r} is not one of {list(get_args(ColumnType))}")
        missing = spec.get("missing", "error" if spec.get("required") and ctype != "service" else "allow")
        if missing not in get_args(MissingRule):
            raise SpecError(f"{where} missing = {missing!r} is not one of {list(get_args(MissingRule))}")
        role = spec.get("role", "data")
        if role not in ("data", "identifier"):
            raise SpecError(f"{where} role = {role!r} is not one of ['data', 'identifier']")
        codes_raw = spec.get("codes")
        labels: tuple[tuple[str, str], ...] = ()
        if ctype == "service":
            codes = tuple(s for s, _ in statuses)
            labels = statuses
        elif ctype == "agency":
            codes = tuple(c for c, _ in agencies)
            labels = agencies
        elif isinstance(codes_raw, dict):
            codes = tuple(_code_str(k) for k in codes_raw)
            labels = tuple((_code_str(k), str(v)) for k, v in codes_raw.items())
        elif isinstance(codes_raw, list):
            codes = tuple(_code_str(k) for k in codes_raw)
        elif codes_raw is None:
            codes = None
        else:
            raise SpecError(f"{where} codes must be a table code = label or a list of codes")
        if ctype == "consent" and codes is None:
            codes = ("yes", "no")
        rng = spec.get("range")
        if rng is not None:
            if not (isinstance(rng, list) and len(rng) == 2 and rng[0] <= rng[1]):
                raise SpecError(f"{where} range must be [min, max] with min <= max, got {rng!r}")
            rng = (float(rng[0]), float(rng[1]))
        cols.append(ColumnSpec(
            name=str(name), type=ctype, required=bool(spec.get("required", False)), missing=missing,
            role=role, codes=codes, labels=labels, range=rng,
            aliases=tuple(str(a) for a in spec.get("aliases", [])),
        ))
    names = [c.name for c in cols]
    absent = [c for c in CORE_COLUMNS if c not in names]
    if absent:
        raise SpecError(f"{p}: the schema must define the columns {absent} (under [columns.NAME]); "
                        "the indicators and the linkage rely on them")
    svc_cols = [c.name for c in cols if c.type == "service"]
    for c in svc_cols:
        if not c.startswith("service_") or c[8:] not in dict(services):
            raise SpecError(f"{p}: service column {c!r} must be named service_<name> with <name> listed "
                            f"under [services] ({[s for s, _ in services]})")
    formats = tuple(head.get("date_formats", ["%Y-%m-%d", "%d/%m/%Y"]))
    if "%d/%m/%Y" in formats and "%m/%d/%Y" in formats:
        raise SpecError(f"{p}: date_formats lists both %d/%m/%Y and %m/%d/%Y; 05/03/2024 would be ambiguous. "
                        "Keep the one the agencies use")
    return CaseSchema(
        path=str(p), name=str(head.get("name", p.stem)), columns=tuple(cols), agencies=agencies,
        services=services, statuses=statuses, date_formats=formats, sheet=head.get("sheet"),
        min_frequency=int(head.get("min_frequency", 10)), encoding=_encoding(head.get("encoding"), p),
    )


# -------------------------------------------------------------------------------------- normalising
def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = unicodedata.normalize("NFD", ch)[0]
        if base.isascii() and base != ch:
            table[cp] = base
    table.update({ord("đ"): "d", ord("Đ"): "D", ord("ð"): "d", ord("Ð"): "D"})
    for cp in range(0x0300, 0x0370):  # combining marks (text that arrives decomposed, NFD)
        table[cp] = None  # type: ignore[assignment]
    return table


_FOLD_TABLE = _build_fold_table()
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold_text(values: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Fold text for matching: Vietnamese diacritics removed (đ → d), lower case, spaces and
    punctuation removed. Missing values stay missing (``None``).

    Works on the distinct values only, so its cost does not grow with repeated values.

    Parameters
    ----------
    values : sequence of str, Series or ndarray
        Texts (names, communes); missing values allowed.

    Returns
    -------
    numpy.ndarray
        Object array of folded strings (``None`` where the input was missing or folds to
        nothing).

    Examples
    --------
    >>> fold_text(["Nguyễn Thị  Đào", "NGUYEN THI DAO", "nguyen thi-dao", None]).tolist()
    ['nguyenthidao', 'nguyenthidao', 'nguyenthidao', None]
    """
    s = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    folded = _fold_uniques(np.asarray(uniques, dtype=object))
    out = np.full(len(s), None, dtype=object)
    ok = codes >= 0
    out[ok] = folded[codes[ok]]
    return out


def _fold_uniques(u: np.ndarray) -> np.ndarray:
    """fold_text on an array of distinct, non-missing strings ('' folds to None), in arrow (C++).

    NFD decomposition, combining marks removed, đ/Đ → d, lower case, anything but a-z0-9 removed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(u) == 0:
        return np.zeros(0, dtype=object)
    try:
        x = pa.array(u, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        x = pa.array([str(v) for v in u], type=pa.string())
    x = pc.utf8_normalize(x, "NFD")
    x = pc.replace_substring_regex(x, "[\u0300-\u036f]", "")
    x = pc.replace_substring(pc.replace_substring(x, "đ", "d"), "Đ", "d")
    x = pc.replace_substring_regex(pc.utf8_lower(x), "[^a-z0-9]+", "")
    out = np.asarray(x.to_numpy(zero_copy_only=False), dtype=object)
    out[out == ""] = None
    return out


def _code_uniques(u: np.ndarray) -> np.ndarray:
    """Codes for matching: folded, leading zeros of all-digit codes removed."""
    f = _fold_uniques(u)
    s = pd.Series(f, dtype=object)
    ok = s.notna()
    t = s[ok].astype(str)
    digits = t.str.fullmatch(r"\d+")
    t = t.where(~digits, t.str.lstrip("0").replace("", "0"))
    out = np.full(len(u), None, dtype=object)
    out[ok.to_numpy()] = t.to_numpy(object)
    return out


def _format_regex(fmt: str) -> str:
    parts = {"%Y": r"\d{4}", "%m": r"\d{1,2}", "%d": r"\d{1,2}", "%y": r"\d{2}", "%b": r"[A-Za-z]{3}",
             "%B": r"[A-Za-z]+"}
    out, i = "", 0
    while i < len(fmt):
        tok = fmt[i:i + 2]
        if tok in parts:
            out += parts[tok]
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return out


def _parse_date_uniques(u: np.ndarray, formats: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct date strings: (datetime64[D] with NaT, index of the first format that matched or -1)."""
    s = pd.Series(u, dtype=object).astype(str).str.strip()
    # Excel cells read as text look like "2024-03-05 00:00:00"; a time of day (Excel date-time cells,
    # Parquet timestamps, "06/03/2024 14:30" from a hotline log) is dropped: the columns hold dates
    s = s.str.replace(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$", r"\1", regex=True)
    s = s.str.replace(r"^(\S+)\s+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", r"\1", regex=True)
    days = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[D]")
    fmt_idx = np.full(len(s), -1, dtype=np.int64)
    for i, fmt in enumerate(formats):  # a handful of formats, not rows
        todo = fmt_idx < 0
        if not todo.any():
            break
        cand = todo & s.str.fullmatch(_format_regex(fmt)).fillna(False).to_numpy(dtype=bool)
        if not cand.any():
            continue
        got = pd.to_datetime(s[cand], format=fmt, errors="coerce")
        hit = got.notna().to_numpy()
        idx = np.flatnonzero(cand)[hit]
        days[idx] = got[hit].to_numpy().astype("datetime64[D]")
        fmt_idx[idx] = i
    # Excel serial day numbers (a date cell whose format was lost, or a CSV saved from one), counted from
    # 1899-12-30: five digits up to 73050 (1927-05-18 .. 2099-12-31); only where no format matched
    serial = (fmt_idx < 0) & s.str.fullmatch(r"\d{5}(\.0+)?").fillna(False).to_numpy(dtype=bool)
    if serial.any():
        serial[serial] = s[serial].str.replace(r"\.0+$", "", regex=True).astype("int64").to_numpy() <= 73050
    if serial.any():
        n = s[serial].str.replace(r"\.0+$", "", regex=True).astype("int64").to_numpy()
        days[serial] = np.datetime64("1899-12-30", "D") + n.astype("timedelta64[D]")
        fmt_idx[serial] = len(formats)
    return days, fmt_idx


def _parse_dates(values: pd.Series, formats: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse text dates per row (on distinct values): (datetime64[D], format index; -2 missing, -1 unparsed)."""
    codes, uniques = _factorize_text(values)
    days_u, fmt_u = _parse_date_uniques(uniques, formats)
    ok = codes >= 0
    out = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[D]")
    which = np.full(len(codes), -2, dtype=np.int64)
    out[ok] = days_u[codes[ok]]
    which[ok] = fmt_u[codes[ok]]
    return out, which


def _factorize_text(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = blank or missing) and distinct stripped values, in one hash pass."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if len(uniq) == 0:
        return codes, np.zeros(0, dtype=object)
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.strip()
    u = u.mask(u == "")
    c2, u2 = pd.factorize(u, use_na_sentinel=True)  # " A1" and "A1" are one value
    remap = np.append(np.asarray(c2, dtype=np.int64), -1)
    return remap[codes], np.asarray(u2, dtype=object)


def _remap_uniques(codes: np.ndarray, new_uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a per-unique transformation (None = missing) and merge values that became equal."""
    c2, u2 = pd.factorize(pd.Series(new_uniques, dtype=object), use_na_sentinel=True)
    remap = np.append(np.asarray(c2, dtype=np.int64), -1)
    return remap[codes], np.asarray(u2, dtype=object)


# --------------------------------------------------------------------------------------- reading
def _dict_type():
    import pyarrow as pa

    return pa.dictionary(pa.int32(), pa.string())


def _table_from_frame(df: pd.DataFrame):
    """A DataFrame of text cells as an arrow table of dictionary-encoded strings ('' and NaN -> null)."""
    import pyarrow as pa

    cols, names = [], []
    for c in df.columns:
        s = df[c]
        text = s.astype(object).where(s.notna(), None)
        arr = pa.array([None if v is None else str(v) for v in text.to_numpy(object)], type=pa.string()) \
            if text.dtype == object else pa.array(text.astype(str), type=pa.string())
        cols.append(arr.dictionary_encode())
        names.append(str(c))
    return pa.Table.from_arrays(cols, names=names) if cols else pa.table({})


def _read_csv_table(path: Path, encoding: str | None = None):
    """Read a CSV with every column dictionary-encoded while parsing (one hash pass per column).

    UTF-8 (with or without BOM) and UTF-16 with a BOM (Excel's "Unicode text") are read, other encodings
    when the schema names one; the delimiter (comma, semicolon, tab or bar) is taken from the header line.
    """
    import codecs
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    if encoding and codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise ReadError(f"case file {str(path)!r}: line {line} is not {encoding} text (byte {exc.start}); "
                            "check the encoding under [schema], or save the file as 'CSV UTF-8'") from None
        data = unicodedata.normalize("NFC", text.lstrip("\ufeff")).encode("utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReadError(f"case file {str(path)!r} starts as UTF-16 text but byte {exc.start} is not; "
                            "save it again as 'CSV UTF-8'") from None
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    try:
        first_line = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data, exc) from None
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), None)
    if not header or not any(h.strip() for h in header):
        raise ReadError(f"case file {str(path)!r} is empty (no header row); export the records with their headers")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DataError(f"{path}: the header repeats column(s) {dup}; give each column one header")
    try:
        return pacsv.read_csv(pa.BufferReader(data), parse_options=pacsv.ParseOptions(delimiter=delimiter),
                              convert_options=pacsv.ConvertOptions(
            column_types={h: _dict_type() for h in header}, strings_can_be_null=True, null_values=[""],
            quoted_strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as uexc:
            raise _not_utf8(path, data, uexc) from None
        line = re.search(r"[Rr]ow #(\d+)", str(exc))
        where = f" (line {line.group(1)})" if line else ""
        raise ReadError(f"case file {str(path)!r} cannot be read as {delimiter!r}-separated text{where}: {exc}; "
                        "check that every line has as many cells as the header") from None


def _not_utf8(path: Path, data: bytes, exc: UnicodeDecodeError) -> ReadError:
    from .readers import _looks_like

    other = _looks_like(path, None)
    if other:
        return ReadError(f"case file {str(path)!r} is not a text file{other}")
    line = data[:exc.start].count(b"\n") + 1
    return ReadError(f"case file {str(path)!r}: line {line} is not UTF-8 text (byte {exc.start}: "
                     f"{data[max(0, exc.start - 10):exc.start + 10]!r}); save it as 'CSV UTF-8' in Excel, or "
                     "name its encoding under [schema] (encoding = \"cp1258\" for Windows Vietnamese, "
                     "\"cp1252\" for Windows Western European)")


_CASE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".parquet")


def _read_one(path: Path, sheet: str | None, schema_sheet: str | None, encoding: str | None = None):
    """Read one agency file as an arrow table of dictionary-encoded text columns, and the sheet used."""
    if not path.exists():
        raise ReadError(f"case file {str(path)!r} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return _read_csv_table(path, encoding), None
        if suffix in (".xlsx", ".xlsm"):
            with pd.ExcelFile(path, engine="openpyxl") as book:
                return _read_sheet(path, book, sheet, schema_sheet)
        if suffix == ".parquet":
            return _table_from_frame(pd.read_parquet(path)), None
    except (DataError, SpecError):
        raise
    except Exception as exc:  # pyarrow, openpyxl and zip errors have no common base
        raise _unreadable(path, suffix, exc) from None
    raise ReadError(f"case file {str(path)!r}: unknown format {suffix!r}; give .csv, .xlsx or .parquet files")


def _unreadable(path: Path, suffix: str, exc: Exception) -> ReadError:
    from .readers import _looks_like

    text = f"{type(exc).__name__}: {exc}"
    fix = (f"check it is a valid {suffix} file, not cut short by a copy or download" if "utf" not in text.lower() else
           "save it as UTF-8 (in Excel: 'CSV UTF-8'); Vietnamese text in Windows-1258 or TCVN3 cannot be read")
    return ReadError(f"case file {str(path)!r} cannot be read ({text[:200]}); {fix}{_looks_like(path, {'.parquet': 'parquet', '.xlsx': 'excel', '.xlsm': 'excel'}.get(suffix))}")


def _read_sheet(path: Path, book, sheet: str | None, schema_sheet: str | None):
    names = [str(n) for n in book.sheet_names]
    want = sheet or schema_sheet
    if want is None:
        if len(names) != 1:
            raise DataError(f"{path}: the workbook has sheets {names}; say which holds the records "
                            "(sheet= argument, or `sheet` under [schema])")
        want = names[0]
    if want not in names:
        raise DataError(f"{path}: no sheet {want!r} (the workbook has sheets {names})"
                        f"{close_matches(want, names)}; pass sheet= or correct `sheet` under [schema]")
    frame = pd.read_excel(book, sheet_name=want, dtype=str, keep_default_na=False)
    from .readers import _check_formulas

    _check_formulas(path, want, f"case file {str(path)!r} (sheet {want!r})", list(frame.columns), 1)
    return _table_from_frame(frame), want


def _match_columns(table, schema: CaseSchema, label: str, problems: list[str]):
    """Rename the file's headers to schema names (aliases, case, spacing); note missing ones."""
    def key(h: str) -> str:
        return re.sub(r"[\s_\-]+", "_", str(h).strip().lower())

    lookup: dict[str, str] = {}
    for c in schema.columns:
        for n in (c.name, *c.aliases):
            lookup[key(n)] = c.name
    keep_idx, keep_names = [], []
    for i, h in enumerate(table.column_names):
        target = lookup.get(key(h))
        if target is not None and target not in keep_names:
            keep_idx.append(i)
            keep_names.append(target)
    for c in schema.columns:
        if c.required and c.name not in keep_names:
            problems.append(
                f"{label}: required column {c.name!r} is missing{close_matches(c.name, table.column_names)}; "
                f"add it (accepted headers: {[c.name, *c.aliases]})")
    return table.select(keep_idx).rename_columns(keep_names)


def _merged_column(tables: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One column over all files: (codes per row, -1 = blank; distinct stripped values), unified in arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = []
    for t in tables:
        if name in t.column_names:
            col = t.column(name)
            if col.type != _dict_type():
                col = pc.dictionary_encode(pc.cast(col, pa.string()))
            chunks.extend(col.chunks)
        elif t.num_rows:
            chunks.append(pa.DictionaryArray.from_arrays(pa.nulls(t.num_rows, pa.int32()), pa.array([], pa.string())))
    if not chunks:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object)
    unified = pa.Table.from_arrays([pa.chunked_array(chunks, type=_dict_type())], names=[name]).unify_dictionaries()
    col = unified.column(0)
    codes = pa.chunked_array([c.indices for c in col.chunks], type=pa.int32()).fill_null(-1).to_numpy()
    codes = codes.astype(np.int64)
    dictionary = col.chunk(0).dictionary
    trimmed = pc.utf8_trim_whitespace(dictionary)
    if len(dictionary) and (pc.any(pc.not_equal(dictionary, trimmed)).as_py() or pc.any(pc.equal(trimmed, "")).as_py()):
        values = np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)
        values[values == ""] = None
        return _remap_uniques(codes, values)
    return codes, np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)


# --------------------------------------------------------------------------------------- report
@dataclass(frozen=True, eq=False)  # holds DataFrames: compared by identity
class ValidationReport:
    """What reading the case files found: rows read, kept, excluded by reason, and every issue.

    ``issues`` has one row per (row, column, problem): ``file, sheet, row, column, severity,
    reason, value`` — ``row`` is the 1-based data row of the file (the header is not counted) and
    ``value`` is blank for identifying columns, which are never echoed.
    Rows read = rows kept + sum of ``excluded``.

    Found at ``read_cases(...).report``; ``str(report)`` is :meth:`to_text`.

    Attributes
    ----------
    files : tuple of (file, sheet, rows)
        The files read.
    rows_read, rows_kept : int
        Data rows read, and rows kept for statistics.
    excluded : tuple of (reason, rows)
        Rows excluded, each counted once under its first problem (e.g. ``no_consent``).
    issues : DataFrame
        Every problem found (errors, warnings and exclusions), one row per row × column × problem.
    by_file : DataFrame or None
        The :meth:`per_file` table.

    Examples
    --------
    >>> import gbvstats as gs
    >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
    >>> report = gs.read_cases(files, schema="surveys/example/cases.toml", warn=False).report
    >>> report.rows_read, report.rows_kept, report.excluded_total
    (266, 256, 10)
    >>> dict(report.excluded)
    {'bad_date': 1, 'unknown_code': 2, 'incident_after_report': 1, 'no_consent': 6}
    >>> report.issues[["row", "column", "severity", "reason"]].head(3)
       row         column  severity              reason
    0   11        consent  excluded          no_consent
    1   54     birth_date   warning  missing_identifier
    2   64  incident_date     error            bad_date
    """

    files: tuple[tuple[str, str, int], ...]
    rows_read: int
    rows_kept: int
    excluded: tuple[tuple[str, int], ...]
    issues: pd.DataFrame
    by_file: pd.DataFrame | None = None

    def per_file(self) -> pd.DataFrame:
        """One row per file: ``file, sheet, rows, kept`` and one column per exclusion reason (for
        feedback to each agency).

        Returns
        -------
        DataFrame
            A copy; safe to modify.

        Examples
        --------
        >>> import gbvstats as gs
        >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
        >>> report = gs.read_cases(files, schema="surveys/example/cases.toml", warn=False).report
        >>> report.per_file()[["file", "rows", "kept", "no_consent"]]
                                            file  rows  kept  no_consent
        0  surveys/example/cases/police_2024.csv   143   139           2
        1  surveys/example/cases/health_2024.csv   123   117           4
        """
        if self.by_file is not None:
            return self.by_file.copy()
        return pd.DataFrame({"file": [f for f, _, _ in self.files], "sheet": [s for _, s, _ in self.files],
                             "rows": [n for _, _, n in self.files]})

    @property
    def excluded_total(self) -> int:
        """Rows excluded for any reason (``rows_read - rows_kept``)."""
        return int(sum(n for _, n in self.excluded))

    @property
    def n_errors(self) -> int:
        """Number of issues of severity ``error`` (each excludes its row)."""
        return int((self.issues["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        """Number of issues of severity ``warning`` (the row is kept)."""
        return int((self.issues["severity"] == "warning").sum())

    def to_dict(self) -> dict:
        """A JSON-ready summary (counts per file, column and reason; row numbers up to 10).

        Returns
        -------
        dict
            ``files``, ``rows_read``, ``rows_kept``, ``excluded`` (reason -> rows), ``errors``,
            ``warnings`` and ``issues``: one entry per file × column × severity × reason with
            ``count``, the first ``rows`` and the ``fix``. No identifying value is included.

        Examples
        --------
        >>> import json
        >>> import gbvstats as gs
        >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
        >>> report = gs.read_cases(files, schema="surveys/example/cases.toml", warn=False).report
        >>> d = report.to_dict()
        >>> d["errors"], d["warnings"], d["excluded"]["no_consent"]
        (4, 55, 6)
        >>> d["issues"][1]
        {'file': 'surveys/example/cases/health_2024.csv', 'column': 'gbv_type', 'severity': 'error',
        'reason': 'unknown_code', 'count': 1, 'rows': [57], 'fix': "correct the code, or add it to
        the column's `codes` in the schema"}
        >>> len(json.dumps(d)) > 0
        True
        """
        groups = []
        if len(self.issues):
            for (f, col, sev, reason), g in self.issues.groupby(["file", "column", "severity", "reason"], sort=True):
                groups.append({"file": f, "column": col, "severity": sev, "reason": reason, "count": int(len(g)),
                               "rows": [int(r) for r in g["row"].to_numpy()[:10]], "fix": _FIXES.get(reason, "")})
        per_file = self.per_file()
        return {
            "files": [{k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in r.items()}
                      for r in per_file.to_dict("records")],
            "rows_read": self.rows_read, "rows_kept": self.rows_kept,
            "excluded": dict(self.excluded), "errors": self.n_errors, "warnings": self.n_warnings,
            "issues": groups,
        }

    def to_text(self) -> str:
        """A readable report: totals, exclusions by reason, then each problem with rows and fix.

        Returns
        -------
        str

        Examples
        --------
        >>> import gbvstats as gs
        >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
        >>> report = gs.read_cases(files, schema="surveys/example/cases.toml", warn=False).report
        >>> print(report.to_text())
        Case records: 266 rows read from 2 file(s), 256 kept for statistics, 10 excluded.
        Excluded rows by reason (each row counted once, under its first problem):
          bad_date: 1
          unknown_code: 2
          incident_after_report: 1
          no_consent: 6
        Per file:
                     file  rows  kept  bad_date  unknown_code  incident_after_report  no_consent
          police_2024.csv   143   139         1             1                      0           2
          health_2024.csv   123   117         0             1                      1           4
        Problems (4 errors, 55 warnings):
          excluded: surveys/example/cases/health_2024.csv, column 'consent': no_consent in rows 16, 88, 92, 122 (4 in all). Fix: none: the survivor did not consent, so the record is not used for statistics
        ...
          error: surveys/example/cases/police_2024.csv, column 'incident_date': bad_date in row 64. Fix: write the date in one of the schema's date_formats
        """
        d = self.to_dict()
        lines = [f"Case records: {self.rows_read} rows read from {len(self.files)} file(s), "
                 f"{self.rows_kept} kept for statistics, {self.excluded_total} excluded."]
        show_table = bool(self.excluded) and self.by_file is not None and len(self.files) > 1
        for f, s, n in self.files:
            if not show_table:
                lines.append(f"  {f}{' [sheet ' + s + ']' if s else ''}: {n} rows")
        if self.excluded:
            lines.append("Excluded rows by reason (each row counted once, under its first problem):")
            lines += [f"  {reason}: {n}" for reason, n in self.excluded]
            if show_table:
                lines.append("Per file:")
                lines += ["  " + line for line in self.by_file.drop(columns=["sheet"]).assign(
                    file=self.by_file["file"].map(lambda f: Path(f).name)).to_string(index=False).splitlines()]
        if d["issues"]:
            lines.append(f"Problems ({self.n_errors} errors, {self.n_warnings} warnings):")
            for g in d["issues"]:
                shown = ", ".join(str(r) for r in g["rows"])
                rows = (f"row {shown}" if g["count"] == 1 else
                        f"rows {shown}{', …' if g['count'] > len(g['rows']) else ''} ({g['count']} in all)")
                lines.append(f"  {g['severity']}: {g['file']}, column {g['column']!r}: {g['reason']} "
                             f"in {rows}. Fix: {g['fix']}")
        else:
            lines.append("No problems found.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return (f"ValidationReport(rows_read={self.rows_read}, rows_kept={self.rows_kept}, "
                f"excluded={dict(self.excluded)}, errors={self.n_errors}, warnings={self.n_warnings})")


class _Issues:
    """Collects issues as arrays (no per-row Python work)."""

    def __init__(self, file_labels: np.ndarray, sheet_labels: np.ndarray, file_code: np.ndarray, row_no: np.ndarray):
        self.file_labels, self.sheet_labels, self.file_code, self.row_no = file_labels, sheet_labels, file_code, row_no
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, severity: str, reason: str,
            values: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Record an issue on the rows of ``mask``; ``values`` = (codes, uniques) to echo, or None."""
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return
        if values is not None:
            codes, uniques = values
            c = codes[idx]
            val = np.where(c >= 0, np.append(uniques, "")[c], "").astype(object)
        else:
            val = np.full(idx.size, "", dtype=object)
        fc = self.file_code[idx]
        self.parts.append(pd.DataFrame({
            "file": self.file_labels[fc], "sheet": self.sheet_labels[fc], "row": self.row_no[idx] + 1,
            "column": column, "severity": severity, "reason": reason, "value": val, "_pos": idx,
        }))

    def frame(self) -> pd.DataFrame:
        cols = ["file", "sheet", "row", "column", "severity", "reason", "value"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series([], dtype=object if c != "row" else np.int64) for c in cols})
        df = pd.concat(self.parts, ignore_index=True).sort_values(["_pos", "column"], kind="stable")
        return df[cols].reset_index(drop=True)


# ------------------------------------------------------------------------------------ validation
def _per_row(codes: np.ndarray, per_unique: np.ndarray, fill) -> np.ndarray:
    """Spread a per-unique array to rows (code -1 gets ``fill``)."""
    per_unique = np.asarray(per_unique)
    ext = np.empty(len(per_unique) + 1, dtype=per_unique.dtype)
    ext[:-1] = per_unique
    ext[-1] = fill
    return ext[codes]


def validate_frames(frames: Sequence[tuple[str, str | None, pd.DataFrame]], schema: CaseSchema,
                    ) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate already-read frames (label, sheet, frame of text cells) against ``schema``.

    The checking half of :func:`read_cases`, usable on frames from elsewhere. Returns the kept,
    typed records (identifying columns still present, for linkage) and the report.
    Raises :class:`DataError` listing every structural problem at once.

    Parameters
    ----------
    frames : list of (label, sheet, DataFrame)
        One entry per file: a label used in messages (e.g. the file name), the sheet name or
        None, and the frame as read (text cells; headers may be schema aliases).
    schema : CaseSchema
        From :func:`load_schema`.

    Returns
    -------
    records : DataFrame
        The kept rows, typed (as :attr:`CaseRecords.records`).
    report : ValidationReport
        What was found and excluded.

    Raises
    ------
    DataError
        A required column is missing, an agency code is unknown, or another structural problem.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"incident_id": ["A1"], "agency": ["POLICE"], "report_date": ["2024-03-05"],
    ...                    "incident_date": ["2024-03-01"], "name": ["Lê Thị Mẫu Giả"], "commune": ["920101"],
    ...                    "sex": ["F"], "province": ["92"], "district": ["9201"], "gbv_type": ["rape"],
    ...                    "consent": ["yes"]})
    >>> records, report = validate_frames([("police.csv", None, df)], load_schema("surveys/example/cases.toml"))
    >>> report.rows_kept
    1
    """
    return _validate_tables([(label, sheet, _table_from_frame(df)) for label, sheet, df in frames], schema)


def _validate_tables(files: Sequence[tuple[str, str | None, object]], schema: CaseSchema,
                    ) -> tuple[pd.DataFrame, ValidationReport]:
    """Every column arrives factorised (codes + distinct values); checks run on the distinct values
    and are spread to rows by integer codes: no per-row Python work."""
    problems: list[str] = []
    matched = []
    for label, sheet, coded in files:
        where = f"{label}{' [sheet ' + sheet + ']' if sheet else ''}"
        matched.append((label, sheet, _match_columns(coded, schema, where, problems)))
    if problems:
        raise DataError("the case files cannot be read:\n  " + "\n  ".join(problems))

    n_per = np.array([m.num_rows for _, _, m in matched], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_per)]).astype(np.int64)
    file_labels = np.array([lab for lab, _, _ in matched], dtype=object)
    sheet_labels = np.array([s or "" for _, s, _ in matched], dtype=object)
    file_code = np.repeat(np.arange(len(matched)), n_per)
    row_no = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], n_per)
    n = int(offsets[-1])
    issues = _Issues(file_labels, sheet_labels, file_code, row_no)

    # each column over all files: one arrow dictionary (distinct values), integer codes per row
    tables = [m for _, _, m in matched]
    col: dict[str, tuple[np.ndarray, np.ndarray]] = {c.name: _merged_column(tables, c.name) for c in schema.columns}
    for k, (label, sheet, m) in enumerate(matched):
        for c in schema.columns:
            if c.name not in m.column_names and not c.required and c.type != "service" and n_per[k]:
                first = np.zeros(n, dtype=bool)
                first[offsets[k]] = True
                issues.add(first, c.name, "warning", "missing_column")

    err: dict[str, np.ndarray] = {r: np.zeros(n, dtype=bool) for r in _REASON_ORDER}

    def flag(mask: np.ndarray, name: str, reason: str, severity: str = "error", show: bool = True) -> None:
        if not mask.any():
            return
        echo = show and schema.column(name).role != "identifier"
        issues.add(mask, name, severity, reason, col[name] if echo else None)
        if severity == "error":
            err[reason] |= mask

    # agency codes are structural: records of an unknown agency cannot be linked or overlapped
    a_codes, a_u = col["agency"]
    a_pos_u = pd.Index(list(schema.agency_codes), dtype=object).get_indexer(a_u) if len(a_u) else np.zeros(0, np.int64)
    a_pos = _per_row(a_codes, a_pos_u, -1)
    unknown = (a_codes >= 0) & (a_pos < 0)
    if unknown.any():
        for k in np.unique(file_code[unknown]):
            bad = unknown & (file_code == k)
            vals = sorted(set(a_u[a_codes[bad]].astype(str)))
            problems.append(
                f"{file_labels[k]}, column 'agency': unknown agency code(s) {vals[:5]}"
                f"{close_matches(vals[0], schema.agency_codes)} in {format_rows(np.flatnonzero(bad) - offsets[k])}; "
                f"use one of {list(schema.agency_codes)} or add the agency under [agencies] in {schema.path}")
        raise DataError("the case files cannot be read:\n  " + "\n  ".join(problems))

    out: dict[str, object] = {}
    fmt_used: dict[str, np.ndarray] = {}
    consent_state = np.full(n, -2, dtype=np.int64)
    for c in schema.columns:
        codes, u = col[c.name]
        miss = codes < 0
        if c.type == "consent":
            pass  # a blank consent is its own reason (missing_consent), below
        elif c.missing == "error":
            flag(miss, c.name, "missing_value", show=False)
        elif c.missing == "warn":
            issues.add(miss, c.name, "warning", "missing_identifier" if c.role == "identifier" else "missing_value")
        if c.type == "date":
            d_u, f_u = _parse_date_uniques(u, schema.date_formats)
            which = _per_row(codes, f_u, -2)
            bad = which == -1
            if c.role == "identifier":
                issues.add(bad, c.name, "warning", "bad_identifier_date")
            else:
                flag(bad, c.name, "bad_date")
            out[c.name] = _per_row(codes, d_u, np.datetime64("NaT", "D"))
            fmt_used[c.name] = which
            issues.add(which == len(schema.date_formats), c.name, "warning", "excel_serial_date")
        elif c.type == "integer":
            num_u = pd.to_numeric(pd.Series(u, dtype=object), errors="coerce").to_numpy(dtype=float)
            num = _per_row(codes, num_u, np.nan)
            flag(~miss & np.isnan(num), c.name, "unknown_code")
            if c.range is not None:
                flag(~np.isnan(num) & ((num < c.range[0]) | (num > c.range[1])), c.name,
                     "age_out_of_range" if c.name == "age" else "unknown_code")
            out[c.name] = num
        elif c.type == "agency":
            out[c.name] = pd.Categorical.from_codes(a_pos, categories=list(schema.agency_codes))
        elif c.type == "consent":
            low = pd.Series(u, dtype=object).astype(str).str.lower()
            state_u = np.where(low.isin(_CONSENT_YES), 1, np.where(low.isin(_CONSENT_NO), 0, -1))
            consent_state = _per_row(codes, state_u, -2)
            flag(consent_state == -1, c.name, "unknown_code")
        elif c.type in ("code", "service") and c.codes is not None and c.role != "identifier":
            uu = pd.Series(u, dtype=object).astype(str)
            uu = uu.str.replace(r"\.0$", "", regex=True) if c.type == "code" else uu.str.lower()
            pos_u = pd.Index(list(c.codes), dtype=object).get_indexer(uu) if len(uu) else np.zeros(0, np.int64)
            pos = _per_row(codes, pos_u, -1)
            flag(~miss & (pos < 0), c.name, "unknown_code")
            out[c.name] = pd.Categorical.from_codes(pos, categories=list(c.codes))
        else:  # ids, identifiers, free codes: kept as codes + distinct values
            out[c.name] = pd.Categorical.from_codes(codes, categories=pd.Index(u, dtype=object))

    # mixed date formats within one column of one file: warn on rows in a minority format
    nf = len(schema.date_formats) + 1  # the last: Excel serial day numbers
    for name, which in fmt_used.items():
        ok = which >= 0
        if not ok.any():
            continue
        counts = np.bincount(file_code[ok] * nf + which[ok], minlength=len(matched) * nf).reshape(len(matched), nf)
        n_formats = (counts > 0).sum(axis=1)
        if (n_formats > 1).any():
            main = counts.argmax(axis=1)
            minority = ok & (n_formats[file_code] > 1) & (which != main[file_code])
            issues.add(minority, name, "warning", "mixed_date_formats",
                       None if schema.column(name).role == "identifier" else col[name])

    report_date = out["report_date"]
    incident_date = out["incident_date"]
    flag(incident_date > report_date, "incident_date", "incident_after_report")

    # age: from the column, else from the birth date at the incident
    age = np.asarray(out.get("age", np.full(n, np.nan)), dtype=float)
    if "birth_date" in out:
        bd = out["birth_date"]
        has = ~np.isnat(bd) & ~np.isnat(incident_date)
        derived = np.full(n, np.nan)
        if has.any():
            b, i = bd[has], incident_date[has]
            by, iy = b.astype("datetime64[Y]"), i.astype("datetime64[Y]")
            bm, im = b.astype("datetime64[M]"), i.astype("datetime64[M]")
            b_md = (bm - by).astype(np.int64) * 32 + (b - bm).astype(np.int64)
            i_md = (im - iy).astype(np.int64) * 32 + (i - im).astype(np.int64)
            derived[has] = ((iy - by).astype(np.int64) - (i_md < b_md)).astype(float)
        both = ~np.isnan(age) & ~np.isnan(derived)
        issues.add(both & (np.abs(age - derived) > 1), "age", "warning", "age_birth_date_mismatch")
        fill = np.isnan(age) & ~np.isnan(derived)
        spec_age = schema.column("age") if "age" in schema.column_names else None
        if spec_age is not None and spec_age.range is not None:
            flag(fill & ((derived < spec_age.range[0]) | (derived > spec_age.range[1])), "birth_date",
                 "age_out_of_range", show=False)
        age = np.where(fill, derived, age)

    # district must belong to the province (GSO and synthetic codes: district // 100 == province)
    def numeric(name: str) -> np.ndarray:
        cat = out[name]
        vals = pd.to_numeric(pd.Series(np.asarray(cat.categories, dtype=object)), errors="coerce").to_numpy(float)
        return _per_row(np.asarray(cat.codes, dtype=np.int64), vals, np.nan)

    dnum, pnum = numeric("district"), numeric("province")
    both = ~np.isnan(dnum) & ~np.isnan(pnum) & (dnum >= 100)
    flag(both & (np.floor(dnum / 100) != pnum), "district", "locality_mismatch")

    # duplicate incident ids within an agency (across all its files): later occurrences excluded
    id_codes = col["incident_id"][0]
    has_id = (id_codes >= 0) & (a_pos >= 0)
    dkey = a_pos.astype(np.int64) * (len(col["incident_id"][1]) + 1) + id_codes
    dup = has_id & pd.Series(np.where(has_id, dkey, -1 - np.arange(n))).duplicated(keep="first").to_numpy()
    flag(dup, "incident_id", "duplicate_incident_id")

    flag(consent_state == -2, "consent", "missing_consent", show=False)
    no = consent_state == 0
    issues.add(no, "consent", "excluded", "no_consent")
    err["no_consent"] |= no

    # each excluded row counted once, under its first reason
    reason_code = np.full(n, len(_REASON_ORDER), dtype=np.int64)
    for k in range(len(_REASON_ORDER) - 1, -1, -1):
        reason_code[err[_REASON_ORDER[k]]] = k
    keep = reason_code == len(_REASON_ORDER)
    counts = np.bincount(reason_code, minlength=len(_REASON_ORDER) + 1)
    excluded = tuple((r, int(counts[k])) for k, r in enumerate(_REASON_ORDER) if counts[k])

    frame = {"_file": pd.Categorical.from_codes(file_code, categories=list(dict.fromkeys(file_labels)))
             if len(set(file_labels)) == len(file_labels) else pd.Categorical(file_labels[file_code]),
             "_row": row_no + 1}
    for c in schema.columns:
        if c.type == "consent":
            continue
        frame[c.name] = age if c.name == "age" else out[c.name]
    if "age" not in frame:
        frame["age"] = age
    records = pd.DataFrame(frame)
    if not keep.all():
        records = records.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    nr = len(_REASON_ORDER) + 1
    per = np.bincount(file_code * nr + reason_code, minlength=len(matched) * nr).reshape(len(matched), nr)
    by_file = pd.DataFrame({"file": [str(x) for x in file_labels], "sheet": list(sheet_labels),
                            "rows": n_per, "kept": per[:, -1]})
    for k, r in enumerate(_REASON_ORDER):
        if counts[k]:
            by_file[r] = per[:, k]
    report = ValidationReport(
        files=tuple((str(lab), s or "", int(k)) for (lab, s, _), k in zip(matched, n_per)),
        rows_read=n, rows_kept=int(keep.sum()), excluded=excluded, issues=issues.frame(), by_file=by_file,
    )
    return records, report


def read_cases(files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *,
               schema: str | os.PathLike[str] | CaseSchema, sheet: str | None = None,
               warn: bool = True) -> CaseRecords:
    """Read case files from several agencies, validate every row, keep the consented valid ones.

    Parameters
    ----------
    files : path or list of paths
        ``.csv`` (UTF-8), ``.xlsx`` (the sheet named in the schema, or ``sheet``) or ``.parquet``;
        a folder stands for every such file in it.
        One agency may span several files; a file may hold several agencies (the ``agency`` column).
    schema : path or CaseSchema
        The case schema TOML (see ``surveys/example/cases.toml``).
    sheet : str, optional
        Excel sheet to read, overriding the schema's ``sheet``.
    warn : bool
        Emit an :class:`~gbvstats.errors.ExclusionWarning` when rows were excluded (they are always
        counted in ``.report`` too).

    Returns
    -------
    CaseRecords
        ``.records`` (kept rows, typed), ``.report`` (a :class:`ValidationReport`).

    Raises
    ------
    ReadError
        A file is missing, unreadable or of an unknown format.
    DataError
        Structural problems, all listed at once: a required column missing, a wrong sheet,
        an unknown agency code.

    Examples
    --------
    >>> cases = read_cases("surveys/example/cases/police_2024.csv", schema="surveys/example/cases.toml",
    ...                    warn=False)
    >>> cases.report.rows_read == cases.report.rows_kept + cases.report.excluded_total
    True
    """
    sch = schema if isinstance(schema, CaseSchema) else load_schema(schema)
    given = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    paths: list[Path] = []
    for g in given:  # a folder stands for the case files in it
        p = Path(g)
        if p.is_dir():
            inside = sorted(q for q in p.iterdir() if q.suffix.lower() in _CASE_SUFFIXES and not q.name.startswith("."))
            if not inside:
                raise ReadError(f"folder {str(p)!r} holds no case files ({', '.join(_CASE_SUFFIXES)})")
            paths.extend(inside)
        else:
            paths.append(p)
    if not paths:
        raise SpecError("read_cases needs at least one case file")
    frames = []
    problems = []
    for p in paths:
        path = Path(p)
        try:
            df, used_sheet = _read_one(path, sheet, sch.sheet, sch.encoding)
        except DataError as exc:
            if isinstance(exc, ReadError):
                raise
            problems.append(str(exc))
            continue
        frames.append((str(path), used_sheet, df))
    if problems:
        raise DataError("the case files cannot be read:\n  " + "\n  ".join(problems))
    records, report = _validate_tables(frames, sch)
    if warn and report.excluded_total:
        _warn(f"{report.excluded_total} of {report.rows_read} case rows excluded "
                      f"({dict(report.excluded)}); see .report", ExclusionWarning)
    return CaseRecords(records=records, schema=sch, report=report)


# --------------------------------------------------------------------------------------- records
def _hmac_many(values: Sequence[str], key: Key, context: str, length: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Keyed pseudonyms of distinct values: HMAC-SHA256 of ``context + "\\x1f" + value``.

    The same function as :func:`gbvstats.disclosure.pseudonym.hmac_hex` (a test checks equality),
    computed with the key's inner and outer pads hashed once (RFC 2104) and the context absorbed once,
    which makes it about twice as fast as ``hmac.digest`` per value. Returns the first ``length``
    hex digits and, for sorting, the first 8 bytes as an unsigned integer (same order as the hex).
    """
    secret = key.secret
    if len(secret) > 64:
        secret = hashlib.sha256(secret).digest()
    padded = secret.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    inner.update((context + "\x1f").encode("utf-8"))
    digests = []
    append = digests.append
    for v in values:  # once per distinct value
        i = inner.copy()
        i.update(v.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        append(o.digest())
    hexes = np.array([d.hex()[:length] for d in digests], dtype=object)
    blob = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32) if digests else np.zeros((0, 32), np.uint8)
    order_key = np.ascontiguousarray(blob[:, :8]).view(">u8").ravel().astype(np.uint64)
    return hexes, order_key


@dataclass(frozen=True, eq=False)  # holds DataFrames: compared by identity
class CaseRecords:
    """Validated case records of several agencies (identifying fields still present: link, then drop).

    ``records`` holds the rows kept for statistics; ``report`` what was found and excluded.
    The ``repr`` never shows a record. Made by :func:`read_cases`; the next step is
    :meth:`link`, which drops the identifying fields.

    Attributes
    ----------
    records : DataFrame
        The kept rows: ``_file`` and ``_row`` (where each came from: 1-based data row) and one
        column per schema column (codes as categoricals, dates parsed).
    schema : CaseSchema
    report : ValidationReport

    Examples
    --------
    >>> import gbvstats as gs
    >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
    >>> cases = gs.read_cases(files, schema="surveys/example/cases.toml", warn=False)
    >>> cases
    CaseRecords(256 records kept of 266 read; agencies={'SWC': 0, 'HOTLINE': 0, 'CHILD111': 0,
    'POLICE': 139, 'HEALTH': 117, 'SAFEHOUSE': 0, 'LEGAL': 0, 'WU': 0}; excluded={'bad_date': 1,
    'unknown_code': 2, 'incident_after_report': 1, 'no_consent': 6})
    >>> cases.records["gbv_type"].value_counts().head(2).to_dict()
    {'physical_assault': 101, 'psychological_abuse': 66}
    >>> {"name", "birth_date", "commune"} <= set(cases.records.columns)  # until linked
    True
    """

    records: pd.DataFrame
    schema: CaseSchema
    report: ValidationReport

    def __repr__(self) -> str:
        by_agency = self.records["agency"].value_counts().sort_index().to_dict() if len(self.records) else {}
        return (f"CaseRecords({len(self.records)} records kept of {self.report.rows_read} read; "
                f"agencies={by_agency}; excluded={dict(self.report.excluded)})")

    __str__ = __repr__

    def link(self, key_fields: Sequence[str] = ("name", "birth_date", "commune"), key: Key | str | None = None, *,
             env: str = "GBVSTATS_KEY") -> Linked:
        """Link records of the same survivor across agencies, then drop the identifying fields.

        Each key field is normalised (text: Vietnamese diacritics folded, đ → d, case, spaces and
        punctuation removed; dates: parsed with the schema's formats to ISO; codes: leading zeros
        removed). Records whose normalised fields are all equal belong to one survivor
        (deterministic linkage); her pseudonymous id is the keyed HMAC-SHA256 of those values,
        computed once per distinct survivor. Survivors agreeing on all but one field are listed in
        ``possible_matches`` for review, by pseudonymous ids only. A record missing a key field
        cannot be linked and counts as its own survivor (listed in ``possible_matches`` if it agrees
        with someone on the fields it has).

        Records of one survivor with the same incident date are one incident.

        Parameters
        ----------
        key_fields : list of str
            Schema columns to link on (identifiers, usually ``name, birth_date, commune``).
        key : Key, "env:NAME", "file:PATH", path or None
            The run-time HMAC key (see :mod:`gbvstats.keys`); ``None`` reads the variable ``env``.

        Returns
        -------
        Linked

        Examples
        --------
        >>> import os, gbvstats as gs
        >>> os.environ["GBVSTATS_DOCTEST_KEY"] = "a doctest key, never a real one"
        >>> cases = gs.read_cases(["surveys/example/cases/police_2024.csv"],
        ...                       schema="surveys/example/cases.toml", warn=False)
        >>> linked = cases.link(key=gs.keys.from_env("GBVSTATS_DOCTEST_KEY"))
        >>> set(linked.records.columns) & {"name", "birth_date", "commune"}
        set()
        """
        key = resolve(key, env=env)
        fields = list(key_fields)
        if not fields:
            raise SpecError("link needs at least one key field, e.g. key_fields=['name', 'birth_date', 'commune']")
        for f in fields:
            if f not in self.schema.column_names:
                raise SpecError(f"key field {f!r} is not a column of the schema {self.schema.path}"
                                f"{close_matches(f, self.schema.column_names)}")
            if f in CORE_COLUMNS:
                raise SpecError(f"key field {f!r} is a statistical column, not an identifier; "
                                f"link on identifying fields such as {list(self.schema.identifiers)}")
        return _link(self, fields, key)


def _key_codes(values: pd.Series, spec: ColumnSpec, formats: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the normalised key field (-1 missing) and the normalised distinct values."""
    if spec.type == "date":
        if np.issubdtype(values.dtype, np.datetime64):
            d = values.to_numpy().astype("datetime64[D]")
        else:
            d = _parse_dates(values, formats)[0]
        ok = ~np.isnat(d)
        codes, u = pd.factorize(np.where(ok, d.view(np.int64), np.iinfo(np.int64).min))
        codes = np.where(ok, codes, -1).astype(np.int64)
        return codes, np.asarray(np.datetime_as_string(np.asarray(u, dtype=np.int64).view("datetime64[D]")), dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.asarray(values.cat.codes, dtype=np.int64)
        u = np.asarray(values.cat.categories, dtype=object)
    else:
        codes, u = _factorize_text(values)
    norm = _code_uniques(u) if spec.type in ("code", "integer", "id") else _fold_uniques(u)
    return _remap_uniques(codes, norm)


def _band(values: np.ndarray, bands: tuple[tuple[int, int, str], ...]) -> pd.Categorical:
    edges = np.array([lo for lo, _, _ in bands[1:]], dtype=float)
    labels = [lab for _, _, lab in bands]
    idx = np.searchsorted(edges, values, side="right")
    codes = np.where(np.isnan(values), -1, idx)
    return pd.Categorical.from_codes(codes, categories=labels)


def _link(cases: CaseRecords, fields: list[str], key: Key) -> Linked:
    schema = cases.schema
    rec = cases.records
    n = len(rec)
    # 1. normalise and integer-code each key field (distinct values only)
    codes = np.empty((len(fields), n), dtype=np.int64)
    uniques = []
    for j, f in enumerate(fields):
        codes[j], u = _key_codes(rec[f], schema.column(f), schema.date_formats)
        uniques.append(u)
    complete = (codes >= 0).all(axis=0)

    # 2. one group per distinct complete key; one HMAC per group
    sizes = [len(u) + 1 for u in uniques]
    if float(np.prod(np.array(sizes, dtype=float))) < 2.0**62:
        combined = np.zeros(n, dtype=np.int64)
        for j in range(len(fields)):
            combined = combined * sizes[j] + codes[j]
    else:  # pragma: no cover - astronomically many distinct values
        combined = pd.DataFrame(codes.T).groupby(list(range(len(fields))), sort=False).ngroup().to_numpy()
    pos_c = np.flatnonzero(complete)
    grp, _ = pd.factorize(combined[pos_c])
    grp = np.asarray(grp, dtype=np.int64)
    n_groups = int(grp.max()) + 1 if grp.size else 0
    # pd.factorize numbers groups in order of first appearance: a group starts where the running max grows
    running = np.maximum.accumulate(np.concatenate([[-1], grp[:-1]])) if grp.size else grp
    first_idx = np.flatnonzero(grp > running)
    rep = pos_c[first_idx]
    parts = [np.asarray(uniques[j], dtype=object)[codes[j, rep]] for j in range(len(fields))]
    joined = ["\x1f".join(t) for t in zip(*parts)]  # once per distinct survivor
    hexes, order_key = _hmac_many(joined, key, "gbvstats.cases.survivor|" + "|".join(fields))
    order = np.argsort(order_key, kind="stable")
    rank = np.empty(n_groups, dtype=np.int64)
    rank[order] = np.arange(n_groups)
    sc = np.full(n, -1, dtype=np.int64)
    sc[pos_c] = rank[grp]
    categories = list(hexes[order])
    # records with an incomplete key: their own survivor, keyed on agency + case number
    pos_i = np.flatnonzero(~complete)
    if pos_i.size:
        text = (rec["agency"].astype(str).to_numpy(object)[pos_i] + "\x1f"
                + rec["incident_id"].astype(str).to_numpy(object)[pos_i])
        h_i, k_i = _hmac_many(text, key, "gbvstats.cases.record", length=15)
        o_i = np.argsort(k_i, kind="stable")
        r_i = np.empty(pos_i.size, dtype=np.int64)
        r_i[o_i] = np.arange(pos_i.size)
        sc[pos_i] = n_groups + r_i
        categories += ["r" + h for h in h_i[o_i]]
    n_surv = len(categories)
    survivor_ids = np.array(categories, dtype=object)

    # 3. possible matches: distinct survivors agreeing on every key field but one
    first_row = np.full(n_surv, -1, dtype=np.int64)
    if n:
        first_row[:] = n
        np.minimum.at(first_row, sc, np.arange(n, dtype=np.int64))
    s_codes = codes[:, first_row] if n else np.zeros((len(fields), 0), np.int64)
    pairs = []
    if len(fields) >= 2 and n_surv > 1:
        for drop in range(len(fields)):  # a few fields, not rows
            keep_f = [j for j in range(len(fields)) if j != drop]
            have = (s_codes[keep_f] >= 0).all(axis=0)
            kcomb = np.zeros(n_surv, dtype=np.int64)
            for j in keep_f:
                kcomb = kcomb * sizes[j] + s_codes[j]
            cand = np.flatnonzero(have)
            dupl = pd.Series(kcomb[cand]).duplicated(keep=False).to_numpy()
            cand = cand[dupl]
            if cand.size < 2:
                continue
            sub = pd.DataFrame({"g": kcomb[cand], "s": cand})
            m = sub.merge(sub, on="g", suffixes=("_a", "_b"))
            m = m[m["s_a"] < m["s_b"]]
            if len(m):
                pairs.append(pd.DataFrame({"a": m["s_a"].to_numpy(), "b": m["s_b"].to_numpy(),
                                           "agree_on": "+".join(fields[j] for j in keep_f),
                                           "differs_on": fields[drop]}))
    if pairs:
        pm = pd.concat(pairs, ignore_index=True).drop_duplicates(["a", "b"]).sort_values(["a", "b"])
    else:
        pm = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "agree_on": [], "differs_on": []})

    # 4. the linked records: identifying fields and agency case numbers dropped here
    drop = set(schema.identifiers) | set(fields) | {"incident_id", "_row", "_file"}
    out = rec.drop(columns=[c for c in rec.columns if c in drop])
    out.insert(0, "survivor_id", pd.Categorical.from_codes(sc, categories=survivor_ids) if n else
               pd.Categorical([], categories=survivor_ids))
    out["key_complete"] = complete
    out["age_band"] = _band(out["age"].to_numpy(dtype=float), AGE_BANDS)
    return Linked.build(out, sc, pm, schema, fields)


def _sort_order(*keys: np.ndarray) -> np.ndarray:
    """Stable order by several integer keys, most significant first: one int64 sort when they fit."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - lo + 1 for k, lo in zip(keys, lows)]
    if float(np.prod(np.array(spans, dtype=float))) < 2.0**62:
        combined = np.zeros(n, dtype=np.int64)
        for k, lo, span in zip(keys, lows, spans):
            combined = combined * span + (k.astype(np.int64) - lo)
        return np.argsort(combined, kind="stable")
    return np.lexsort(tuple(reversed(keys)))  # pragma: no cover - very wide keys


# --------------------------------------------------------------------------------------- linked
@dataclass(frozen=True, eq=False)  # holds DataFrames: compared by identity
class Linked:
    """Case records linked across agencies; no identifying field is left.

    Attributes
    ----------
    records : DataFrame
        One row per kept record: ``survivor_id`` (keyed pseudonym), ``incident`` (linked incident number), agency, dates,
        codes, services.
    incidents : DataFrame
        One row per linked incident (a survivor's records with the same incident date): first report
        date and agency, agencies, codes from the first report, ``days_to_report``, best status per
        service across agencies, ``needs_any``, ``helped``, ``self_referred``.
    survivors : DataFrame
        One row per distinct survivor: ``survivor_id, n_records, n_incidents, n_agencies, agencies``,
        locality, sex and age band from her first report, ``key_complete``.
    possible_matches : DataFrame
        Pairs of survivors agreeing on all key fields but one (``agree_on``, ``differs_on``), for
        review. Pseudonymous ids only.
    overlap : DataFrame
        Agency × agency: distinct survivors seen by both (diagonal: by the agency).
    key_fields : tuple of str
        The identifying fields the records were linked on (the fields themselves are gone).
    schema : CaseSchema

    Examples
    --------
    Police and health-facility records of 2024: 256 records are 232 incidents of 218 women,
    28 of whom were seen by both agencies:

    >>> import gbvstats as gs
    >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
    >>> linked = gs.read_cases(files, schema="surveys/example/cases.toml",
    ...                        warn=False).link(key=gs.keys.Key(b"k" * 32, "example"))
    >>> linked
    Linked(records=256, incidents=232, survivors=218, possible_matches=2, key_fields=['name',
    'birth_date', 'commune'])
    >>> linked.overlap.loc[["POLICE", "HEALTH"], ["POLICE", "HEALTH"]]
            POLICE  HEALTH
    agency
    POLICE     135      28
    HEALTH      28     111
    >>> linked.survivors[["n_records", "n_incidents", "agencies", "key_complete"]].head(3)
       n_records  n_incidents       agencies  key_complete
    0          1            1         POLICE          True
    1          2            1  POLICE;HEALTH          True
    2          2            1  POLICE;HEALTH          True
    >>> linked.possible_matches[["agree_on", "differs_on", "agencies_a", "agencies_b"]]
              agree_on  differs_on agencies_a agencies_b
    0  name+birth_date     commune     HEALTH     HEALTH
    1     name+commune  birth_date     POLICE     HEALTH
    >>> {"name", "birth_date", "commune"} & set(linked.records.columns)
    set()
    """

    records: pd.DataFrame
    incidents: pd.DataFrame
    survivors: pd.DataFrame
    possible_matches: pd.DataFrame
    overlap: pd.DataFrame
    key_fields: tuple[str, ...]
    schema: CaseSchema

    @classmethod
    def build(cls, records: pd.DataFrame, sc: np.ndarray, pairs: pd.DataFrame, schema: CaseSchema,
              fields: Sequence[str]) -> Linked:
        """Assemble incidents, survivors and the overlap from linked records (``sc``: survivor codes).

        :meth:`CaseRecords.link` calls this after keying; it can also rebuild the incident and
        survivor tables from a subset of linked records (identifying fields are not needed).

        Parameters
        ----------
        records : DataFrame
            Linked records (as in :attr:`records`, without its ``incident`` column): ``survivor_id``
            (categorical), ``agency`` (categorical), ``report_date``, ``incident_date``,
            ``key_complete``, the code and service columns.
        sc : numpy.ndarray of int
            Survivor code of each record (equal codes: one survivor), e.g. the codes of
            ``survivor_id``.
        pairs : DataFrame
            Possible matches as survivor codes: columns ``a``, ``b``, ``agree_on``, ``differs_on``.
        schema : CaseSchema
        fields : list of str
            The key fields the records were linked on.

        Returns
        -------
        Linked

        Examples
        --------
        The police records alone, as that agency would count them:

        >>> import pandas as pd
        >>> import gbvstats as gs
        >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
        >>> linked = gs.read_cases(files, schema="surveys/example/cases.toml",
        ...                        warn=False).link(key=gs.keys.Key(b"k" * 32, "example"))
        >>> rec = linked.records
        >>> police = rec[rec["agency"] == "POLICE"].drop(columns="incident")
        >>> no_pairs = pd.DataFrame({"a": [], "b": [], "agree_on": [], "differs_on": []})
        >>> Linked.build(police, police["survivor_id"].cat.codes.to_numpy(), no_pairs,
        ...              linked.schema, linked.key_fields)
        Linked(records=139, incidents=139, survivors=135, possible_matches=0, key_fields=['name',
        'birth_date', 'commune'])
        """
        n = len(records)
        agencies = list(schema.agency_codes)
        a_code = np.asarray(records["agency"].cat.codes, dtype=np.int64)
        rep_day = records["report_date"].to_numpy().astype("datetime64[D]").view(np.int64)
        inc_day = records["incident_date"].to_numpy().astype("datetime64[D]").view(np.int64)
        # sort by survivor, incident date, report date, agency: integers only
        order = _sort_order(sc, inc_day, rep_day, a_code)
        rec = records.iloc[order].reset_index(drop=True)
        sc, a_code, rep_day, inc_day = sc[order], a_code[order], rep_day[order], inc_day[order]
        new = np.ones(n, dtype=bool)
        if n:
            new[1:] = (sc[1:] != sc[:-1]) | (inc_day[1:] != inc_day[:-1])
        rec.insert(1, "incident", np.cumsum(new) - 1)
        starts = np.flatnonzero(new)
        n_inc = starts.size
        first = rec.iloc[starts].reset_index(drop=True)

        bits = np.left_shift(np.int64(1), a_code)
        inc_bits = np.bitwise_or.reduceat(bits, starts) if n else np.zeros(0, np.int64)

        def names_of(mask_bits: np.ndarray) -> pd.Categorical:
            if len(agencies) <= 16:  # a lookup table over the 2^agencies possible sets, no sort
                u = np.flatnonzero(np.bincount(mask_bits, minlength=1 << len(agencies)))
                lookup = np.full(1 << len(agencies), -1, dtype=np.int64)
                lookup[u] = np.arange(u.size)
                inv = lookup[mask_bits]
            else:
                u, inv = np.unique(mask_bits, return_inverse=True)
            lab = [";".join(a for k, a in enumerate(agencies) if (int(b) >> k) & 1) for b in u]
            return pd.Categorical.from_codes(inv.ravel(), categories=lab)

        def popcount(b: np.ndarray) -> np.ndarray:
            return ((b[:, None] >> np.arange(len(agencies))) & 1).sum(axis=1).astype(np.int64)

        inc = pd.DataFrame({
            "incident": np.arange(n_inc),
            "survivor_id": first["survivor_id"],
            "incident_date": first["incident_date"],
            "report_date": first["report_date"],
            "first_agency": first["agency"],
            "agencies": names_of(inc_bits),
            "n_agencies": popcount(inc_bits),
            "n_records": np.diff(np.append(starts, n)),
        })
        for col in ("sex", "age", "age_band", "province", "district", "gbv_type", "context", "perpetrator",
                    "referral_source"):
            if col in first.columns:
                inc[col] = first[col]
        days = (rep_day[starts] - inc_day[starts]).astype(float)
        inc["days_to_report"] = days
        inc["time_to_report"] = _band(days, REPORT_BANDS)
        if "referral_source" in inc and "self" in list(inc["referral_source"].cat.categories):
            rcode = np.asarray(inc["referral_source"].cat.codes)
            self_code = list(inc["referral_source"].cat.categories).index("self")
            inc["self_referred"] = pd.array(np.where(rcode < 0, None, rcode == self_code), dtype="boolean")
        else:
            inc["self_referred"] = pd.array([None] * n_inc, dtype="boolean")
        # services: best status any agency recorded (provided > referred > pending > declined > unavailable)
        needs_any = np.zeros(n_inc, dtype=bool)
        helped = np.zeros(n_inc, dtype=bool)
        provided_any = np.zeros(n_inc, dtype=bool)
        statuses = [s for s in STATUS_ORDER if s in dict(schema.statuses)]
        for col in schema.service_columns:  # a few services, not rows
            cats = list(rec[col].cat.categories)
            rank_of_cat = np.array([len(STATUS_ORDER) - STATUS_ORDER.index(c) for c in cats], dtype=np.int64)
            r = _per_row(np.asarray(rec[col].cat.codes, dtype=np.int64), rank_of_cat, 0)
            best = np.maximum.reduceat(r, starts) if n else np.zeros(0, np.int64)
            status_of_rank = np.array([-1] + [statuses.index(s) if s in statuses else -1
                                              for s in reversed(STATUS_ORDER)], dtype=np.int64)
            inc[col] = pd.Categorical.from_codes(status_of_rank[best], categories=statuses)
            needs_any |= best > 0
            helped |= best >= len(STATUS_ORDER) - STATUS_ORDER.index("referred")
            provided_any |= best == len(STATUS_ORDER) - STATUS_ORDER.index("provided")
        inc["needs_any"] = needs_any
        inc["helped"] = helped
        inc["provided_any"] = provided_any

        # survivors (incidents are sorted by survivor)
        isc = sc[starts]
        s_new = np.ones(n_inc, dtype=bool)
        if n_inc:
            s_new[1:] = isc[1:] != isc[:-1]
        s_starts = np.flatnonzero(s_new)
        s_bits = np.bitwise_or.reduceat(inc_bits, s_starts) if n_inc else np.zeros(0, np.int64)
        sfirst = inc.iloc[s_starts]
        surv = pd.DataFrame({
            "survivor_id": sfirst["survivor_id"].reset_index(drop=True),
            "n_records": np.add.reduceat(inc["n_records"].to_numpy(), s_starts) if n_inc else np.zeros(0, np.int64),
            "n_incidents": np.diff(np.append(s_starts, n_inc)),
            "n_agencies": popcount(s_bits),
            "agencies": names_of(s_bits),
            "first_report_date": sfirst["report_date"].to_numpy(),
            "key_complete": rec["key_complete"].to_numpy()[starts[s_starts]],
        })
        for col in ("sex", "age_band", "province", "district"):
            if col in sfirst:
                surv[col] = sfirst[col].to_numpy()

        # overlap: survivor x agency incidence M, then M'M
        m = ((s_bits[:, None] >> np.arange(len(agencies))) & 1).astype(np.int64)
        ov = pd.DataFrame(m.T @ m, index=pd.Index(agencies, name="agency"), columns=agencies)

        # possible matches by pseudonymous id, with the agencies that saw each (survivors are in code order)
        ids = records["survivor_id"].cat.categories
        pa_, pb_ = pairs["a"].to_numpy(dtype=np.int64), pairs["b"].to_numpy(dtype=np.int64)
        s_agencies = surv["agencies"].astype(object).to_numpy() if len(pairs) else np.zeros(0, dtype=object)
        possible = pd.DataFrame({
            "survivor_a": np.asarray(ids.take(pa_), dtype=object), "survivor_b": np.asarray(ids.take(pb_), dtype=object),
            "agree_on": pairs["agree_on"].to_numpy(object), "differs_on": pairs["differs_on"].to_numpy(object),
            "agencies_a": s_agencies[pa_] if len(pairs) else s_agencies,
            "agencies_b": s_agencies[pb_] if len(pairs) else s_agencies,
        })
        return cls(records=rec, incidents=inc, survivors=surv, possible_matches=possible, overlap=ov,
                   key_fields=tuple(fields), schema=schema)

    # ------------------------------------------------------------------ summaries
    @property
    def n_records(self) -> int:
        """Number of linked records (valid, consented)."""
        return len(self.records)

    @property
    def n_incidents(self) -> int:
        """Number of linked incidents (a survivor's records with the same incident date are one)."""
        return len(self.incidents)

    @property
    def n_survivors(self) -> int:
        """Number of distinct survivors."""
        return len(self.survivors)

    def summary(self) -> str:
        """Cases, incidents, distinct survivors, possible matches and the agency overlap, as text.

        Returns
        -------
        str
            Counts only: no pseudonymous id and no record is shown.

        Examples
        --------
        >>> import gbvstats as gs
        >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
        >>> linked = gs.read_cases(files, schema="surveys/example/cases.toml",
        ...                        warn=False).link(key=gs.keys.Key(b"k" * 32, "example"))
        >>> print(linked.summary())
        Linked on name, birth_date, commune (keyed HMAC-SHA256; identifying fields dropped).
          records (consented, valid): 256
          linked incidents:           232
          distinct survivors:         218
          survivors seen by 2+ agencies: 28
          records with an incomplete key (own survivor): 3
          possible matches for review: 2
        Agency overlap (distinct survivors seen by both):
        ...
        POLICE       0        0         0     135      28          0      0   0
        HEALTH       0        0         0      28     111          0      0   0
        ...
        """
        lines = [
            f"Linked on {', '.join(self.key_fields)} (keyed HMAC-SHA256; identifying fields dropped).",
            f"  records (consented, valid): {self.n_records}",
            f"  linked incidents:           {self.n_incidents}",
            f"  distinct survivors:         {self.n_survivors}",
            f"  survivors seen by 2+ agencies: {int((self.survivors['n_agencies'] > 1).sum())}",
            f"  records with an incomplete key (own survivor): {int((~self.records['key_complete']).sum())}",
            f"  possible matches for review: {len(self.possible_matches)}",
            "Agency overlap (distinct survivors seen by both):",
            self.overlap.to_string(),
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Linked(records={self.n_records}, incidents={self.n_incidents}, survivors={self.n_survivors}, "
                f"possible_matches={len(self.possible_matches)}, key_fields={list(self.key_fields)})")

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return "<pre>" + self.summary().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"

    # ------------------------------------------------------------------ indicators
    def indicator(self, name: IndicatorName, by: Sequence[str] | str | None = None, period: str | None = None, *,
                  ci: CiMethod | None = None, level: float = 0.95) -> CaseIndicator:
        """Compute an administrative indicator on linked incidents (or survivors).

        Parameters
        ----------
        name : {"cases_new", "cases_by_type", "help_received", "service_status", "time_to_report", \
"self_referred", "survivors_unique", "victims_supported"}
            ``cases_new``: count of linked incidents. ``cases_by_type``: incidents of each GBVIMS type ÷
            all incidents. ``help_received``: incidents with ≥ 1 service provided or referred (by any
            agency) ÷ incidents with ≥ 1 stated need. ``service_status``: incidents by the best status
            of each service ÷ incidents needing that service. ``time_to_report``: incidents by days from
            incident to first report, in GBVIMS bands ÷ all incidents (add ``gbv_type`` to ``by`` for
            "of that type"). ``self_referred``: incidents whose first report was self-referred ÷
            incidents with a known referral source. ``survivors_unique``: distinct survivors, each with
            the attributes of her first report in the period. ``victims_supported`` (Resolution
            28/NQ-CP): distinct survivors with at least one service *provided* by any agency (referral
            alone does not count) ÷ all distinct survivors recorded in the period.
        by : list of str
            Columns of ``incidents`` (e.g. ``province``, ``district``, ``gbv_type``, ``sex``,
            ``age_band``, ``first_agency``) or ``year``, ``quarter``, ``month`` of the first report.
            Code columns list every schema code, so cells with zero incidents appear.
        period : str, optional
            ``"2024"``, ``"2024-Q3"`` or ``"2024-03"``: incidents first reported then.
        ci : {"clopper-pearson", "poisson-exact"}, optional
            Exact interval: Clopper–Pearson for shares, Garwood (exact Poisson) for counts.
        level : float
            Confidence level of the interval.

        Returns
        -------
        CaseIndicator

        Examples
        --------
        >>> import os, gbvstats as gs
        >>> os.environ["GBVSTATS_DOCTEST_KEY"] = "a doctest key, never a real one"
        >>> linked = gs.read_cases(["surveys/example/cases/police_2024.csv"], schema="surveys/example/cases.toml",
        ...                        warn=False).link(key="env:GBVSTATS_DOCTEST_KEY")
        >>> ind = linked.indicator("help_received", by=["province"], period="2024")
        >>> list(ind.frame.columns)
        ['province', 'numerator', 'denominator', 'value']
        """
        return _indicator(self, name, by, period, ci, level)


# ------------------------------------------------------------------------------------ indicators
_DEFINITIONS: dict[str, tuple[str, str, str]] = {
    # name: (unit, numerator, denominator)
    "cases_new": ("incidents", "new incidents (a survivor's incident counted once however many agencies recorded it)", ""),
    "cases_by_type": ("incidents", "incidents of each GBVIMS core type", "all incidents"),
    "help_received": ("incidents", "incidents with at least one service provided or referred by any agency",
                      "incidents with at least one stated need"),
    "service_status": ("incidents", "incidents by the best status any agency recorded for the service",
                       "incidents needing that service"),
    "time_to_report": ("incidents", "incidents by days from incident to first report (GBVIMS bands)", "all incidents"),
    "self_referred": ("incidents", "incidents whose first report was self-referred",
                      "incidents with a known referral source"),
    "survivors_unique": ("survivors", "distinct survivors across agencies", ""),
    "victims_supported": ("survivors", "distinct survivors with at least one service provided by any agency",
                          "distinct survivors recorded (detected victims)"),
}

CI_NOTE = ("Case records are a census of what was recorded, not a sample: every interval here treats the "
           "period's incidents as one realisation of a process that generates them at a fixed underlying "
           "rate, and says how far that rate may be from the observed figure given how many incidents there "
           "were (Clopper-Pearson for shares, exact Poisson for counts). It says nothing about incidents "
           "never reported to any agency.")


def _period_mask(dates: np.ndarray, period: str | None) -> np.ndarray:
    if period is None:
        return np.ones(len(dates), dtype=bool)
    p = str(period).strip()
    idx = pd.DatetimeIndex(dates)
    if m := re.fullmatch(r"(\d{4})", p):
        return np.asarray(idx.year == int(m[1]))
    if m := re.fullmatch(r"(\d{4})-?Q([1-4])", p, flags=re.I):
        return np.asarray((idx.year == int(m[1])) & (idx.quarter == int(m[2])))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", p):
        return np.asarray((idx.year == int(m[1])) & (idx.month == int(m[2])))
    raise SpecError(f"period {period!r} is not understood; use a year '2024', a quarter '2024-Q3' or a month '2024-03'")


def _by_columns(frame: pd.DataFrame, by: list[str], schema: CaseSchema, period: str | None) -> pd.DataFrame:
    cols = {}
    dates = pd.DatetimeIndex(frame["report_date"].to_numpy())
    for b in by:
        if b in ("year", "quarter", "month"):
            if b == "year":
                vals = dates.year.astype(str)
            elif b == "quarter":
                vals = dates.year.astype(str) + "-Q" + dates.quarter.astype(str)
            else:
                vals = dates.strftime("%Y-%m")
            cats = sorted(set(vals))
            if b == "month" and period and re.fullmatch(r"\d{4}", str(period)):
                cats = [f"{period}-{m:02d}" for m in range(1, 13)]
            elif b == "quarter" and period and re.fullmatch(r"\d{4}", str(period)):
                cats = [f"{period}-Q{q}" for q in range(1, 5)]
            cols[b] = pd.Categorical(vals, categories=cats)
            continue
        if b not in frame.columns:
            options = [c for c in frame.columns if c not in ("survivor_id", "incident")] + [
                "year", "quarter", "month"]
            raise SpecError(f"by column {b!r} is not available{close_matches(b, options)}; choose from {options}")
        s = frame[b]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cols[b] = s
            continue
        spec = schema.column(b) if b in schema.column_names else None
        if spec is not None and spec.codes is not None:
            cols[b] = pd.Categorical(s.astype("str"), categories=list(spec.codes))
        elif b == "first_agency":
            cols[b] = pd.Categorical(s.astype("str"), categories=list(schema.agency_codes))
        else:
            cols[b] = pd.Categorical(s.astype("str"), categories=sorted(set(s.dropna().astype(str))))
    return pd.DataFrame(cols, index=frame.index)


def _grouped_counts(keys: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Counts over the full grid of key categories (zeros included): one bincount."""
    if keys.shape[1] == 0:
        return pd.DataFrame({"_n": [int(weights.sum())]})
    cats = [keys[c].cat.categories for c in keys.columns]
    shape = [len(c) for c in cats]
    codes = np.stack([keys[c].cat.codes.to_numpy().astype(np.int64) for c in keys.columns])
    ok = (codes >= 0).all(axis=0)
    flat = np.ravel_multi_index(codes[:, ok], shape) if ok.any() else np.zeros(0, np.int64)
    counts = np.bincount(flat, weights=weights[ok].astype(float), minlength=int(np.prod(shape))).astype(np.int64)
    grid = pd.MultiIndex.from_product(cats, names=list(keys.columns)).to_frame(index=False)
    for c, cat in zip(keys.columns, cats):
        grid[c] = pd.Categorical(grid[c], categories=cat)
    grid["_n"] = counts
    return grid


def _indicator(linked: Linked, name: str, by, period, ci, level) -> CaseIndicator:
    if name not in INDICATORS:
        raise SpecError(f"indicator {name!r} is not one of {list(INDICATORS)}{close_matches(name, INDICATORS)}")
    if ci is not None and ci not in get_args(CiMethod):
        raise SpecError(f"ci={ci!r} is not one of {list(get_args(CiMethod))} (or None)")
    if not 0 < level < 1:
        raise SpecError(f"level={level!r} must be between 0 and 1, e.g. 0.95")
    by_list = [by] if isinstance(by, str) else list(by or [])
    schema = linked.schema
    unit, num_def, den_def = _DEFINITIONS[name]
    supported = None
    if name in ("survivors_unique", "victims_supported"):
        inc = linked.incidents[_period_mask(linked.incidents["report_date"].to_numpy(), period)]
        # each survivor once, with her first incident reported in the period
        base = inc.drop_duplicates("survivor_id", keep="first")
        if name == "victims_supported":  # any of her incidents in the period had a service provided
            codes = np.asarray(inc["survivor_id"].cat.codes, dtype=np.int64)
            any_provided = np.bincount(codes, weights=inc["provided_any"].to_numpy(dtype=float),
                                       minlength=len(inc["survivor_id"].cat.categories)) > 0
            supported = any_provided[np.asarray(base["survivor_id"].cat.codes, dtype=np.int64)]
    else:
        base = linked.incidents[_period_mask(linked.incidents["report_date"].to_numpy(), period)]
    category: str | None = {"cases_by_type": "gbv_type", "time_to_report": "time_to_report",
                            "service_status": "status"}.get(name)
    if category and category in by_list:
        raise SpecError(f"{name} already splits by {category!r}; leave it out of by=")
    keys = _by_columns(base, by_list, schema, period)
    ones = np.ones(len(base), dtype=float)

    if name in ("cases_new", "survivors_unique"):
        g = _grouped_counts(keys, ones)
        frame = g.rename(columns={"_n": "numerator"})
        frame["denominator"] = np.nan
        frame["value"] = frame["numerator"].astype(float)
    elif name in ("cases_by_type", "time_to_report"):
        cat_col = "gbv_type" if name == "cases_by_type" else "time_to_report"
        k2 = keys.copy()
        k2[cat_col] = (_by_columns(base, [cat_col], schema, period)[cat_col] if cat_col == "gbv_type"
                       else base[cat_col])
        g = _grouped_counts(k2, ones)
        den = _grouped_counts(keys, ones)
        frame = _attach_denominator(g, den, by_list)
    elif name == "help_received":
        need = base["needs_any"].to_numpy()
        num = _grouped_counts(keys, (base["helped"].to_numpy() & need).astype(float))
        den = _grouped_counts(keys, need.astype(float))
        frame = num.rename(columns={"_n": "numerator"})
        frame["denominator"] = den["_n"].to_numpy()
        frame["value"] = _ratio(frame)
    elif name == "victims_supported":
        num = _grouped_counts(keys, supported.astype(float))
        frame = num.rename(columns={"_n": "numerator"})
        frame["denominator"] = _grouped_counts(keys, ones)["_n"].to_numpy()
        frame["value"] = _ratio(frame)
    elif name == "self_referred":
        known = base["self_referred"].notna().to_numpy()
        selfr = base["self_referred"].fillna(False).to_numpy(dtype=bool)
        num = _grouped_counts(keys, (selfr & known).astype(float))
        den = _grouped_counts(keys, known.astype(float))
        frame = num.rename(columns={"_n": "numerator"})
        frame["denominator"] = den["_n"].to_numpy()
        frame["value"] = _ratio(frame)
    else:  # service_status: stack services, one pass
        svc_cols = list(schema.service_columns)
        parts_keys, parts_w = [], []
        statuses = [s for s in STATUS_ORDER if s in dict(schema.statuses)]
        for col in svc_cols:  # loop over the few services, not rows
            k = keys.copy()
            k["service"] = pd.Categorical([col[8:]] * len(base), categories=[c[8:] for c in svc_cols])
            k["status"] = pd.Categorical(base[col], categories=statuses)
            parts_keys.append(k)
        allk = pd.concat(parts_keys, ignore_index=True)
        for c in allk.columns:
            allk[c] = pd.Categorical(allk[c], categories=parts_keys[0][c].cat.categories)
        w = np.ones(len(allk))
        g = _grouped_counts(allk, w)
        den = _grouped_counts(allk.drop(columns=["status"]), w * allk["status"].notna().to_numpy())
        frame = _attach_denominator(g, den, by_list + ["service"])
        frame = frame[by_list + ["service", "status", "numerator", "denominator", "value"]]

    if "province" in by_list and "district" in by_list:
        # districts nest in provinces (GSO codes: a district code starts with its province code)
        d = frame["district"].astype(str)
        p = frame["province"].astype(str)
        frame = frame[np.fromiter((a.startswith(b) for a, b in zip(d, p)), dtype=bool, count=len(frame))]
    frame = frame.reset_index(drop=True)
    frame["numerator"] = frame["numerator"].astype(np.int64)
    if ci is not None:
        lo, hi = _exact_interval(frame, ci, level, is_count=name in ("cases_new", "survivors_unique"))
        frame["ci_low"], frame["ci_high"] = lo, hi
    return CaseIndicator(
        name=name, frame=frame, by=tuple(by_list), period=period, unit=unit, numerator=num_def,
        denominator=den_def, ci=ci, level=level if ci else None, note=CI_NOTE if ci else "",
        min_frequency=schema.min_frequency,
    )


def _ratio(frame: pd.DataFrame) -> np.ndarray:
    num = frame["numerator"].to_numpy(dtype=float)
    den = frame["denominator"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _attach_denominator(g: pd.DataFrame, den: pd.DataFrame, by_cols: list[str]) -> pd.DataFrame:
    frame = g.rename(columns={"_n": "numerator"})
    if by_cols:
        d = den.rename(columns={"_n": "denominator"})
        frame = frame.merge(d, on=by_cols, how="left", sort=False)
    else:
        frame["denominator"] = int(den["_n"].iloc[0])
    frame["value"] = _ratio(frame)
    return frame


def _exact_interval(frame: pd.DataFrame, ci: str, level: float, is_count: bool) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    a = 1 - level
    x = frame["numerator"].to_numpy(dtype=float)
    if is_count:
        if ci != "poisson-exact":
            raise SpecError(f"ci={ci!r}: counts have no binomial denominator; use ci='poisson-exact' for counts")
        lo = np.where(x > 0, stats.chi2.ppf(a / 2, 2 * x) / 2, 0.0)
        hi = stats.chi2.ppf(1 - a / 2, 2 * x + 2) / 2
        return lo, hi
    if ci != "clopper-pearson":
        raise SpecError(f"ci={ci!r}: shares use ci='clopper-pearson'")
    nn = frame["denominator"].to_numpy(dtype=float)
    valid = nn > 0
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(a / 2, x, nn - x + 1), 0.0)
        hi = np.where(x < nn, stats.beta.ppf(1 - a / 2, x + 1, nn - x), 1.0)
    return np.where(valid, lo, np.nan), np.where(valid, hi, np.nan)


@dataclass(frozen=True, eq=False)  # holds DataFrames: compared by identity
class CaseIndicator:
    """An administrative indicator: a tidy ``frame`` and what it counts.

    ``frame`` columns: the ``by`` columns (plus ``gbv_type`` / ``time_to_report`` / ``service`` and
    ``status`` where the indicator splits by them), ``numerator``, ``denominator`` (empty for counts),
    ``value`` (the count, or numerator ÷ denominator), and ``ci_low``, ``ci_high`` when an interval
    was asked for (see ``note`` for what it means).

    Made by :meth:`Linked.indicator`; :meth:`protected` gives the publishable version.

    Attributes
    ----------
    name : str
        The indicator (see :data:`INDICATORS`).
    frame : DataFrame
        The table described above.
    by : tuple of str
        The breakdown columns.
    period : str or None
        The reporting period (``"2024"``, ``"2024-Q3"``, ``"2024-03"``).
    unit, numerator, denominator : str
        What is counted (``incidents`` or ``survivors``) and the definitions, for footnotes.
    ci, level : str or None, float or None
        The interval method and level, when asked for.
    note : str
        What the interval means for case records (a census, not a sample).
    min_frequency : int
        Suppression threshold :meth:`protected` uses by default.
    protection : ProtectedTable or None
        Set by :meth:`protected`.

    Examples
    --------
    >>> import gbvstats as gs
    >>> files = ["surveys/example/cases/police_2024.csv", "surveys/example/cases/health_2024.csv"]
    >>> linked = gs.read_cases(files, schema="surveys/example/cases.toml",
    ...                        warn=False).link(key=gs.keys.Key(b"k" * 32, "example"))
    >>> ind = linked.indicator("help_received", by=["province"], period="2024", ci="clopper-pearson")
    >>> ind.unit, ind.denominator
    ('incidents', 'incidents with at least one stated need')
    >>> ind.frame.round(3)
      province  numerator  denominator  value  ci_low  ci_high
    0       92         29           31  0.935   0.786    0.992
    1       42         43           46  0.935   0.821    0.986
    2       49         73           80  0.912   0.828    0.964
    3       91         38           46  0.826   0.686    0.922
    """

    name: str
    frame: pd.DataFrame
    by: tuple[str, ...]
    period: str | None
    unit: str
    numerator: str
    denominator: str
    ci: str | None = None
    level: float | None = None
    note: str = ""
    min_frequency: int = 10
    protection: object = None

    def __repr__(self) -> str:
        head = (f"CaseIndicator({self.name!r}, unit={self.unit!r}, period={self.period!r}, by={list(self.by)}, "
                f"cells={len(self.frame)})\n  numerator: {self.numerator}")
        if self.denominator:
            head += f"\n  denominator: {self.denominator}"
        return head + "\n" + self.frame.head(20).to_string(index=False)

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.name}</b> ({self.unit}; period {self.period}): numerator {self.numerator}"
                + (f"; denominator {self.denominator}" if self.denominator else "") + "</p>"
                + self.frame.to_html(index=False))

    def protected(self, min_frequency: int | None = None, **options) -> CaseIndicator:
        """Primary + secondary suppression with the LP audit (:func:`gbvstats.disclosure.tables.protect_table`).

        Cells with fewer than ``min_frequency`` incidents (default: the schema's, 10) are suppressed
        (primary), then further cells so that none can be recomputed from the published margins
        (secondary); every suppressed cell's feasible range is audited by linear programming.

        The protected table is the numerators by the ``by`` columns (and the indicator's own split:
        type, band, service × status), whose margin over the split is the denominator. For
        ``help_received`` and ``self_referred`` it is by × {yes, no}, whose total is the denominator.
        ``province`` with ``district`` is protected as one hierarchy.

        Returns a new :class:`CaseIndicator` whose ``frame`` has ``numerator``/``denominator`` as NaN
        where suppressed, ``numerator_status``/``denominator_status`` (published | primary |
        secondary), ``value`` (and the interval) only where both are published, and whose
        ``protection`` holds the :class:`~gbvstats.disclosure.tables.ProtectedTable` (all cells
        with margins, and the audit), or ``None`` when no cell was below the threshold (then
        nothing is suppressed and no solver runs).

        Parameters
        ----------
        min_frequency : int, optional
            Smallest publishable count; default the schema's ``min_frequency`` (10 in the example).
        **options
            Passed to :func:`~gbvstats.disclosure.tables.protect_table` (``protection``,
            ``method``, ``cost``, ``max_rounds``, ``time_limit``).

        Returns
        -------
        CaseIndicator

        Examples
        --------
        >>> import os, gbvstats as gs
        >>> os.environ["GBVSTATS_DOCTEST_KEY"] = "a doctest key, never a real one"
        >>> linked = gs.read_cases(["surveys/example/cases/police_2024.csv"], schema="surveys/example/cases.toml",
        ...                        warn=False).link(key="env:GBVSTATS_DOCTEST_KEY")
        >>> safe = linked.indicator("cases_new", by=["district"], period="2024").protected(min_frequency=10)
        >>> bool(safe.protection.ok), sorted(set(safe.frame["numerator_status"]))
        (True, ['primary', 'published'])
        """
        return _protect(self, self.min_frequency if min_frequency is None else int(min_frequency), options)


def _protect(ind: CaseIndicator, min_frequency: int, options: dict) -> CaseIndicator:
    try:
        from .disclosure.rules import MinFrequency
        from .disclosure.tables import protect_table
    except ImportError:  # pragma: no cover - the table-protection module is part of the package
        raise NotImplementedError("gbvstats.disclosure.tables.protect_table is not available; publish this "
                                  "table only after primary + secondary suppression") from None
    frame = ind.frame.copy()
    split = [c for c in ("gbv_type", "time_to_report", "service", "status") if c in frame.columns and c not in ind.by]
    binary = ind.name in ("help_received", "self_referred", "victims_supported")
    dims_cols = list(ind.by) + split
    # the counts to protect: numerators; for a share with its own denominator, numerator + the rest
    if binary:
        yes = frame[dims_cols].copy()
        yes["outcome"], yes["value"] = "yes", frame["numerator"].to_numpy()
        no = frame[dims_cols].copy()
        no["outcome"], no["value"] = "no", (frame["denominator"] - frame["numerator"]).to_numpy()
        counts = pd.concat([yes, no], ignore_index=True)
        table_dims = dims_cols + ["outcome"]
    else:
        counts = frame[dims_cols].copy()
        counts["value"] = frame["numerator"].to_numpy()
        table_dims = dims_cols
    # protect_table's frame has its own value/status/reason columns: rename clashing dimensions
    clash = {c: c + "_" for c in table_dims if c in ("value", "status", "reason")}
    counts = counts.rename(columns=clash)
    table_dims = [clash.get(c, c) for c in table_dims]
    dims_cols = [clash.get(c, c) for c in dims_cols]
    split = [clash.get(c, c) for c in split]
    frame = frame.rename(columns=clash)
    for c in table_dims:
        counts[c] = counts[c].astype(str)
    rule = MinFrequency(int(min_frequency))
    v_all = counts["value"].to_numpy(dtype=float)
    nothing_sensitive = bool(((v_all >= min_frequency) | (v_all == 0)).all())
    if not table_dims or nothing_sensitive:
        # a single count, or no cell below the threshold: nothing to suppress (protect_table is
        # not called, it has nothing to solve), margins are published
        pframe = _all_published(counts, table_dims, "province" in table_dims and "district" in table_dims)
        v0 = int(v_all[0]) if not table_dims else 0
        if not table_dims and 0 < v0 < min_frequency:
            pframe["value"], pframe["status"], pframe["reason"] = np.nan, "primary", rule.reason
        protection = None
    else:
        dims: dict = {}
        nested = "province" in table_dims and "district" in table_dims
        for c in table_dims:
            if nested and c == "province":
                continue
            cats = list(dict.fromkeys(counts[c]))
            if nested and c == "district":
                tree: dict = {"Total": sorted(set(counts["province"]), key=lambda p: cats.index(
                    counts.loc[counts["province"] == p, "district"].iloc[0]))}
                for p in tree["Total"]:
                    tree[p] = list(dict.fromkeys(counts.loc[counts["province"] == p, "district"]))
                dims[c] = tree
            else:
                dims[c] = cats
        data = counts.drop(columns=["province"]) if nested else counts
        protection = protect_table(data, dims, primary=[rule], **options)
        pframe = protection.frame
    key_cols = [c for c in dims_cols if not (c == "province" and "district" in dims_cols)]
    if protection is None and not table_dims:
        key_cols = []

    def status_of(where: dict[str, str] | None) -> pd.DataFrame:
        """Status of the cells with the given fixed dimension values, keyed by the other dims."""
        sub = pframe
        for c, v in (where or {}).items():
            sub = sub[sub[c] == v]
        return sub

    out = frame.copy()
    keys = out[key_cols].astype(str) if key_cols else pd.DataFrame(index=out.index)
    if binary:
        num = status_of({"outcome": "yes"})
        den = status_of({"outcome": "Total"})
    else:
        num = pframe
        den = None
        if split:
            den = status_of({split[-1]: "Total"})
    def lookup(cells: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if not cols:
            return cells["value"].to_numpy()[:1].repeat(len(out)), cells["status"].to_numpy()[:1].repeat(len(out))
        m = keys[cols].merge(cells[cols + ["value", "status"]].astype({c: str for c in cols}), on=cols, how="left")
        return m["value"].to_numpy(dtype=float), m["status"].to_numpy(dtype=object)

    out["numerator"], out["numerator_status"] = lookup(num, key_cols)
    if den is not None:
        den_cols = [c for c in key_cols if c != (split[-1] if split and not binary else "")]
        out["denominator"], out["denominator_status"] = lookup(den, den_cols)
    hidden = out["numerator_status"].ne("published")
    if "denominator_status" in out:
        hidden |= out["denominator_status"].ne("published")
    out["value"] = np.where(hidden, np.nan, out["value"].to_numpy(dtype=float))
    for c in ("ci_low", "ci_high"):
        if c in out:
            out[c] = np.where(hidden, np.nan, out[c].to_numpy(dtype=float))
    out = out.rename(columns={v: k for k, v in clash.items()})
    return dataclasses.replace(ind, frame=out, protection=protection, min_frequency=int(min_frequency))


def _all_published(counts: pd.DataFrame, dims: list[str], nested: bool) -> pd.DataFrame:
    """Every cell and margin of an unprotected table, all published (same shape as protect_table's frame)."""
    use = [d for d in dims if not (nested and d == "province")]
    parts = [counts[use + ["value"]]]
    for k in range(len(use)):  # each margin over one dimension; enough for the lookups here
        rest = use[:k] + use[k + 1:]
        g = counts.groupby(rest, sort=False)["value"].sum().reset_index() if rest else pd.DataFrame(
            {"value": [counts["value"].sum()]})
        g[use[k]] = "Total"
        parts.append(g)
    if not use:
        parts = [pd.DataFrame({"value": [counts["value"].sum()]})]
    frame = pd.concat(parts, ignore_index=True)
    frame["status"], frame["reason"] = "published", ""
    return frame
