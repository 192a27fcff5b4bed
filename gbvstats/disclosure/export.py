"""Bytes of an anonymised file: SPSS, Stata, CSV, Parquet, with labels and user-missing codes.

Used by :meth:`gbvstats.disclosure.AnonymisedData.write` and ``gbvstats anonymise``. Suppressed values
carry a code (default -7) labelled "suppressed for confidentiality" and declared user-missing; the input
file's variable labels, value labels and user-missing codes are kept (recoded columns get the coarser
level's labels).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SpecError
from .microdata import SUPPRESSED_LABEL

__all__ = ["microdata_bytes", "OUT_FORMATS"]

#: file extension -> format name
OUT_FORMATS = {".sav": "spss", ".dta": "stata", ".csv": "csv", ".parquet": "parquet"}


def _sav_missing(name, col: pd.Series, codes: list, labels: dict, supp: float):
    """SPSS user-missing declaration for ``codes`` (suppression code first), as pyreadstat wants it.

    SPSS declares at most three discrete codes, or one range plus one code. When a column already
    declares three codes (e.g. 0 = not asked, 8 = refused, 9 = don't know) and values were blanked in
    it, the suppression code is moved next to the highest of them (e.g. 10, so that 8-10 is a range
    and 0 the discrete code). Returns (declaration, column, moved code or None).
    """
    codes = list(dict.fromkeys(float(x) for x in codes))
    if len(codes) <= 3:
        return codes, col, None
    present = pd.to_numeric(col, errors="coerce").dropna().unique()
    valid = {float(x) for x in present if float(x) not in codes}
    valid |= {float(x) for x in labels if isinstance(x, (int, float)) and float(x) not in codes}

    def pack(cs):
        s = sorted(cs)
        for i in range(len(s)):  # a handful of codes
            for j in range(i, len(s)):
                rest = s[:i] + s[j + 1:]
                if len(rest) <= 1 and not any(s[i] <= v <= s[j] for v in valid):
                    return [{"lo": s[i], "hi": s[j]}] + rest
        return None

    decl = pack(codes)
    if decl is not None:
        return decl, col, None
    others = [c for c in codes if c != supp]
    moved = max(others) + 1
    while moved in valid or moved in others:
        moved += 1
    decl = pack(others + [moved])
    if decl is None:
        raise SpecError(f"column {name!r}: SPSS cannot declare the user-missing codes "
                        f"{', '.join(f'{c:g}' for c in codes)} together (at most three codes, or a range and one "
                        "code); write .dta, .csv or .parquet, or declare fewer missing codes in the input file")
    x = pd.to_numeric(col, errors="coerce")
    return decl, x.where(x != supp, moved), moved


_SAV_DATE = slice(92, 109)  # creation "dd Mmm yy" + "hh:mm:ss" in the SPSS header


def microdata_bytes(result, fmt: str, file_meta=None, *, suppressed_code: int = -7) -> bytes:
    """The anonymised file as bytes in ``fmt`` ("spss", "stata", "csv", "parquet").

    Parameters
    ----------
    result : AnonymisedData
    fmt : {"spss", "stata", "csv", "parquet"}
    file_meta : gbvstats.readers.FileMeta, optional
        The input file's variable labels, value labels and user-missing codes, kept in SPSS/Stata
        output (``survey.meta.file``).
    suppressed_code : int, default -7
        Code of a suppressed value, labelled "suppressed for confidentiality" and user-missing.

    Returns
    -------
    bytes
        Deterministic: SPSS/Stata header timestamps are fixed.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.disclosure import anonymise
    >>> out = anonymise(pd.DataFrame({"a": [1, 1, 1, 2], "b": [5, 6, 7, 8]}), ["a"], k=2)
    >>> microdata_bytes(out, "csv").decode()
    'a,b\\n1.0,5\\n1.0,6\\n-7.0,7\\n-7.0,8\\n'
    """
    import pandas as pd

    from .microdata import export_frame

    frame, labels, missing = export_frame(result, suppressed_code=suppressed_code)
    frame = frame.reset_index(drop=True)
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    # labels: the file's, except for recoded columns (theirs no longer apply)
    recoded = {v for v, lv in result.parameters.get("recode_levels", {}).items() if lv}
    parents = result.parameters.get("recoded_from_column", {})
    value_labels: dict[str, dict] = {}
    var_labels: dict[str, str] = {}
    missing_codes: dict[str, list] = {}
    if file_meta is not None:
        for c in frame.columns:
            if c in file_meta.variable_labels:
                var_labels[c] = file_meta.variable_labels[c]
            if c in recoded:
                parent = parents.get(c)
                if parent and parent in file_meta.value_labels:
                    value_labels[c] = dict(file_meta.value_labels[parent])
            elif c in file_meta.value_labels:
                value_labels[c] = dict(file_meta.value_labels[c])
            codes = [x for x in file_meta.missing_codes.get(c, ()) if isinstance(x, (int, float))]
            if codes:
                missing_codes[c] = [float(x) for x in codes]
    for c, lab in labels.items():
        value_labels.setdefault(c, {}).update(lab)
    for c, codes in missing.items():
        missing_codes[c] = codes + [x for x in missing_codes.get(c, []) if x not in codes]
    for c in list(frame.columns):  # pyreadstat wants object/float columns, not pandas' str dtype
        if pd.api.types.is_string_dtype(frame[c].dtype) and not pd.api.types.is_object_dtype(frame[c].dtype):
            frame[c] = frame[c].astype(object)
    import pyreadstat

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("out.sav" if fmt == "spss" else "out.dta")
        if fmt == "spss":
            ranges = {}
            for c, v in missing_codes.items():
                if c in frame.columns:
                    ranges[c], frame[c], moved = _sav_missing(c, frame[c], v, value_labels.get(c, {}),
                                                              float(suppressed_code))
                    if moved is not None:
                        lab = value_labels.setdefault(c, {})
                        lab.pop(float(suppressed_code), None)
                        lab[moved] = SUPPRESSED_LABEL
            vl = {c: v for c, v in value_labels.items() if c in frame.columns}
            pyreadstat.write_sav(frame, str(path), column_labels=var_labels or None,
                                 variable_value_labels=vl or None, missing_ranges=ranges or None)
            data = bytearray(path.read_bytes())
            data[_SAV_DATE] = b"01 Jan 0000:00:00"
        else:
            vl = {}
            for c, lab in value_labels.items():
                if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c].dtype) and all(
                        float(x).is_integer() for x in lab):
                    vl[c] = {int(x): v for x, v in lab.items()}
            pyreadstat.write_dta(frame, str(path), column_labels=var_labels or None,
                                 variable_value_labels=vl or None)
            data = bytearray(path.read_bytes())
            i = data.find(b"<timestamp>")
            if i >= 0:
                j = data.find(b"</timestamp>", i)
                stamp = b"01 Jan 2000 00:00"
                data[i + 12:j] = stamp[: j - i - 12].ljust(j - i - 12)
        return bytes(data)
