"""Reading survey files: SPSS, Stata, SAS (through pyreadstat), CSV, Excel and Parquet.

Only this module opens survey files. ``read_survey`` returns a :class:`gbvstats.survey.Survey`;
``read_raw`` returns the frame with every code as stored plus the file's metadata (labels and the codes
the file declares as missing), for callers that want to build something else on top.

User-defined missing values (SPSS ``MISSING VALUES``, Stata ``.a``-``.z``, SAS ``.A``-``.Z``) are read
*as codes* and counted per variable, so refusals, "don't know" and "not asked" stay distinguishable
from each other and from system-missing; the analysis frame then sets them to missing by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

import numpy as np
import pandas as pd

from .errors import ReadError, SpecError

__all__ = ["read_survey", "read_raw", "FileMeta", "FORMATS", "UserMissing"]

UserMissing = Literal["missing", "keep"]
#: file suffix -> format name
FORMATS: dict[str, str] = {
    ".sav": "spss", ".zsav": "spss", ".dta": "stata", ".sas7bdat": "sas", ".xpt": "xport",
    ".csv": "csv", ".xlsx": "excel", ".parquet": "parquet",
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


def read_raw(path: str | Path, *, sheet: str | int = 0, encoding: str | None = None) -> tuple[pd.DataFrame, FileMeta]:
    """Read a file keeping every code as stored (user-missing codes included).

    Stata/SAS extended missing values come back as strings ``".a"``, ``".b"``, ... in an otherwise
    numeric column (the column is then of object dtype); :func:`gbvstats.survey.Survey` turns them into
    missing and counts them.

    Examples
    --------
    >>> frame, meta = read_raw("surveys/example/community_2024.sav")
    >>> meta.missing_codes["sought_help"]
    (8.0, 9.0, 0.0)
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise ReadError(f"{p}: gbvstats does not read '{suffix or 'no extension'}' files; "
                        f"save it as one of {', '.join(FORMATS)}")
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            from .errors import close_matches

            hint = close_matches(p.name, [q.name for q in p.parent.iterdir()])
        raise ReadError(f"{p}: file not found{hint}; check the path")
    if not p.is_file():
        raise ReadError(f"{p}: is a folder, not a file; give the survey file's path")
    fmt = FORMATS[suffix]
    try:
        if fmt in ("spss", "stata", "sas", "xport"):
            return _read_pyreadstat(p, fmt, encoding)
        if fmt == "csv":
            frame = pd.read_csv(p, encoding=encoding or "utf-8-sig")
        elif fmt == "excel":
            frame = pd.read_excel(p, sheet_name=sheet)
        else:
            frame = pd.read_parquet(p)
    except ReadError:
        raise
    except UnicodeDecodeError as exc:
        raise ReadError(f"{p}: the text is not {encoding or 'UTF-8'} ({exc.reason} at byte {exc.start}); "
                        "save the file as UTF-8 or give encoding=") from None
    except Exception as exc:  # the libraries raise many types for a damaged file
        raise ReadError(f"{p}: cannot be read as a {fmt} file ({type(exc).__name__}: {exc}); "
                        "check that the file is complete and of the type its extension says") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame, FileMeta(path=str(p), format=fmt)


def _read_pyreadstat(p: Path, fmt: str, encoding: str | None) -> tuple[pd.DataFrame, FileMeta]:
    import pyreadstat

    reader = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta,
              "sas": pyreadstat.read_sas7bdat, "xport": pyreadstat.read_xport}[fmt]
    kwargs: dict[str, Any] = {}
    if fmt != "xport":
        kwargs["user_missing"] = True
    if encoding:
        kwargs["encoding"] = encoding
    try:
        frame, m = reader(str(p), **kwargs)
    except Exception as exc:
        raise ReadError(f"{p}: cannot be read as a {fmt} file ({type(exc).__name__}: {exc}); "
                        "check that the file is complete and was saved by the program its extension says") from None
    missing_codes: dict[str, tuple] = {}
    ranges: dict[str, tuple[tuple[float, float], ...]] = {}
    for name, rs in (getattr(m, "missing_ranges", None) or {}).items():
        pairs = tuple((r["lo"], r["hi"]) for r in rs)
        ranges[name] = pairs
        missing_codes[name] = tuple(lo for lo, hi in pairs if lo == hi)
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
    sheet: str | int = 0,
    encoding: str | None = None,
):
    """Read a survey file into a :class:`~gbvstats.survey.Survey`.

    Parameters
    ----------
    path : str or Path
        ``.sav``, ``.zsav``, ``.dta``, ``.sas7bdat``, ``.xpt``, ``.csv``, ``.xlsx`` or ``.parquet``.
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
    frame, meta = read_raw(path, sheet=sheet, encoding=encoding)
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
