"""Publication tables: cells, reliability and suppression marks, footnotes and provenance, in Vietnamese and English.

A :class:`Table` holds the numbers (``frame``) and how to show them (``columns``). ``Table.display(lang)``
turns them into the strings every writer lays out (CSV, XLSX, Markdown, HTML), so the marks are applied in
one place:

* DHS/MICS reliability marks on survey estimates — ``(12.3)`` for 25–49 unweighted cases, ``*`` for fewer
  than 25 (the number is not shown), ``-`` where the denominator has no cases;
* suppression marks on cells withheld by disclosure control — ``x`` (primary: too few cases) and ``xx``
  (secondary: protects another suppressed cell). A suppressed cell's value is removed from ``frame`` when
  the table is built, so no writer can leak it.

Examples
--------
>>> import pandas as pd
>>> from gbvstats.tables import Table, Column
>>> f = pd.DataFrame({"province": ["A", "B", "C"], "estimate": [0.123, 0.2, 0.3],
...                   "ci_low": [0.1, 0.15, 0.2], "ci_high": [0.15, 0.25, 0.4], "n": [120, 30, 10]})
>>> t = Table("t1", {"vi": "Bảng 1", "en": "Table 1"}, f,
...           (Column("province", {"vi": "Tỉnh", "en": "Province"}, "text"),
...            Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
...            Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
...            Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
>>> t.display("en").values.tolist()
[['A', '12.3', '10.0–15.0', '120'], ['B', '(20.0)', '(15.0–25.0)', '30'], ['C', '*', '', '10']]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping, get_args

import numpy as np
import pandas as pd

from .errors import SpecError, close_matches

__all__ = ["Column", "Table", "MARKS", "mark_legend", "LANGS"]

Format = Literal["text", "percent", "ci", "count", "number", "verdict", "target", "probability", "mark"]
FORMATS = get_args(Format)
Lang = Literal["vi", "en", "both"]
LANGS = get_args(Lang)

#: reliability and suppression marks, with their bilingual explanations
MARKS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "( )": {"vi": "Ước lượng dựa trên 25–49 trường hợp chưa gia quyền: cần thận trọng khi sử dụng",
            "en": "Estimate based on 25–49 unweighted cases: interpret with caution"},
    "*": {"vi": "Dưới 25 trường hợp chưa gia quyền: không công bố ước lượng",
          "en": "Fewer than 25 unweighted cases: estimate not shown"},
    "-": {"vi": "Không có trường hợp nào trong mẫu số", "en": "No cases in the denominator"},
    "x": {"vi": "Ô bị ẩn vì có quá ít trường hợp (ẩn sơ cấp)",
          "en": "Cell suppressed: too few cases (primary suppression)"},
    "xx": {"vi": "Ô bị ẩn để bảo vệ một ô bị ẩn khác (ẩn thứ cấp)",
           "en": "Cell suppressed to protect another suppressed cell (secondary suppression)"},
})

VERDICT_TEXT = {
    "met": {"vi": "Đạt", "en": "Met"},
    "not met": {"vi": "Chưa đạt", "en": "Not met"},
    "cannot tell": {"vi": "Chưa kết luận được", "en": "Cannot tell yet"},
    "no target": {"vi": "Không có chỉ tiêu", "en": "No target"},
    "no estimate": {"vi": "Không có ước lượng", "en": "No estimate"},
    "": {"vi": "", "en": ""},
}


def _text(labels: Mapping[str, str], lang: str, sep: str = " / ") -> str:
    if lang == "both":
        vi, en = labels.get("vi", ""), labels.get("en", "")
        return vi if vi == en or not en else (en if not vi else f"{vi}{sep}{en}")
    return labels.get(lang, labels.get("en", ""))


@dataclass(frozen=True)
class Column:
    """How one column of a :class:`Table` is shown.

    ``key`` is the frame column (for ``ci``: the prefix of ``<prefix>_low``/``<prefix>_high``, default the
    ``ci_low``/``ci_high`` pair when ``key == "ci"``). ``reliability`` applies the DHS marks using the
    table's ``n_column``; ``status`` names a frame column with the cell's disclosure status
    (``published``/``primary``/``secondary``).

    Parameters
    ----------
    key : str
        Frame column shown (or the interval prefix, for ``format="ci"``).
    label : mapping
        Header ``{"vi": ..., "en": ...}``.
    format : str, default "text"
        ``text`` (as is), ``percent`` (a proportion times 100), ``ci`` (``low–high`` in percent),
        ``count`` (whole number), ``number`` (``decimals`` places), ``verdict`` (a target verdict,
        translated), ``target`` (``≥ 25%``), ``probability`` (``< 0.01`` ... ``> 0.99``), ``mark``.
    reliability : bool, default True
        Apply the DHS reliability marks (``percent``, ``ci`` and ``probability`` columns only).
    status : str, default ""
        Frame column holding the disclosure status of this column's cells.
    decimals : int, default 1

    Raises
    ------
    SpecError
        If ``format`` is not one of the formats above.

    Examples
    --------
    >>> Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent")
    Column(key='estimate', label={'vi': 'Tỷ lệ (%)', 'en': 'Percent'}, format='percent', reliability=True, status='', decimals=1)
    >>> Column("estimate", {"en": "Percent"}, "percentage")
    Traceback (most recent call last):
    ...
    gbvstats.errors.SpecError: column 'estimate': format = 'percentage' is not one of ... did you mean 'percent'?
    """

    key: str
    label: Mapping[str, str]
    format: str = "text"
    reliability: bool = True
    status: str = ""
    decimals: int = 1

    def __post_init__(self):
        if self.format not in FORMATS:
            raise SpecError(f"column {self.key!r}: format = {self.format!r} is not one of "
                            f"{', '.join(map(repr, FORMATS))}{close_matches(self.format, FORMATS)}")


@dataclass(frozen=True)
class Table:
    """A publication table: numbers, display rules, footnotes and provenance.

    Parameters
    ----------
    id : str
        File-name-safe identifier (``"help_seeking_by_province"``).
    title : mapping
        ``{"vi": ..., "en": ...}``.
    frame : DataFrame
        The numbers, one row per table row. Cells whose ``status`` column says ``primary``/``secondary``
        are blanked here at construction.
    columns : tuple of Column
    footnotes : tuple of mapping
        Bilingual footnotes (definition, rules applied, source); the legend of marks actually used is
        added by :meth:`notes`.
    provenance : mapping
        Source files and their SHA-256, survey name and year, indicator, CI method and level.
    n_column : str
        The unweighted-n column for reliability marks (``""``: none).
    group : str
        Optional key of a text column that groups rows (e.g. the indicator of a multi-indicator table):
        CSV keeps it as a column; Markdown, HTML and XLSX show it as a sub-heading row when it changes.
    kind : str
        A label of what the table holds (default ``"table"``); informational, no writer reads it.

    See Also
    --------
    gbvstats.render : the CSV, XLSX, Markdown and HTML writers.

    Examples
    --------
    Estimates with 25–49 cases are shown in parentheses, fewer than 25 as ``*``:

    >>> import pandas as pd
    >>> f = pd.DataFrame({"province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang"],
    ...                   "estimate": [0.206, 0.202, 0.197], "ci_low": [0.179, 0.171, 0.164],
    ...                   "ci_high": [0.236, 0.238, 0.233], "n": [628, 40, 12]})
    >>> table = Table(
    ...     "ipv_12m_by_province",
    ...     {"vi": "Bạo lực do chồng/bạn tình, 12 tháng qua", "en": "Intimate-partner violence, past 12 months"},
    ...     f,
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")),
    ...     footnotes=({"vi": "Nguồn: dữ liệu giả lập.", "en": "Source: synthetic data."},))
    >>> table
    Table('ipv_12m_by_province': 'Intimate-partner violence, past 12 months', 3 rows × 4 columns)
    >>> table.display("en")
         Province Percent       95% CI Unweighted n
    0     Hà Tĩnh    20.6    17.9–23.6          628
    1   Quảng Nam  (20.2)  (17.1–23.8)           40
    2  Kiên Giang       *                        12

    A cell that disclosure control suppressed is blanked in ``frame`` when the table is built:

    >>> cases = pd.DataFrame({"district": ["A", "B", "C"], "cases": [12, 2, 3],
    ...                       "status": ["published", "primary", "secondary"]})
    >>> t = Table("cases", {"vi": "Số vụ", "en": "Cases"}, cases,
    ...           (Column("district", {"vi": "Huyện", "en": "District"}),
    ...            Column("cases", {"vi": "Số vụ", "en": "Cases"}, "count", status="status")),
    ...           n_column="")
    >>> t.frame["cases"].tolist()
    [12, None, None]
    >>> t.display("en")["Cases"].tolist()
    ['12', 'x', 'xx']
    """

    id: str
    title: Mapping[str, str]
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    footnotes: tuple[Mapping[str, str], ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)
    n_column: str = "n"
    kind: str = "table"
    group: str = ""

    def __post_init__(self):
        frame = self.frame.reset_index(drop=True).copy()
        for col in self.columns:
            if col.format == "ci":
                lo, hi = self._ci_keys(col)
                needed = [lo, hi]
            else:
                needed = [col.key]
            missing = [c for c in needed if c not in frame.columns]
            if missing:
                raise SpecError(f"table {self.id!r}: column {missing[0]!r} is not in the frame"
                                f"{close_matches(missing[0], list(map(str, frame.columns)))}")
            if col.status:
                if col.status not in frame.columns:
                    raise SpecError(f"table {self.id!r}: status column {col.status!r} is not in the frame")
                hidden = frame[col.status].astype(str).isin(["primary", "secondary"]).to_numpy()
                for c in needed:  # the value of a suppressed cell never reaches a writer
                    if hidden.any():
                        frame[c] = frame[c].astype(object).where(~hidden, None)
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "title", MappingProxyType(dict(self.title)))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @staticmethod
    def _ci_keys(col: Column) -> tuple[str, str]:
        if col.key == "ci":
            return "ci_low", "ci_high"
        return f"{col.key}_low", f"{col.key}_high"

    # ------------------------------------------------------------------ display

    def _reliability(self) -> np.ndarray:
        """Per row: '' (reliable), '( )' 25–49, '*' < 25, '-' no cases."""
        if not self.n_column or self.n_column not in self.frame.columns:
            return np.full(len(self.frame), "", dtype=object)
        n = pd.to_numeric(self.frame[self.n_column], errors="coerce").to_numpy(dtype=float)
        return np.select([np.isnan(n) | (n == 0), n < 25, n < 50], ["-", "*", "( )"], default="").astype(object)

    def marks_used(self) -> list[str]:
        """The marks that appear in the displayed table, in the order of :data:`MARKS`.

        Returns
        -------
        list of str
            Some of ``"( )"``, ``"*"``, ``"-"``, ``"x"``, ``"xx"``.

        Examples
        --------
        >>> import pandas as pd
        >>> f = pd.DataFrame({"province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang"],
        ...                   "estimate": [0.206, 0.202, 0.197], "ci_low": [0.179, 0.171, 0.164],
        ...                   "ci_high": [0.236, 0.238, 0.233], "n": [628, 40, 12]})
        >>> table = Table(
        ...     "ipv_12m_by_province",
        ...     {"vi": "Bạo lực do chồng/bạn tình, 12 tháng qua", "en": "Intimate-partner violence, past 12 months"},
        ...     f,
        ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
        ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
        ...      Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
        ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")),
        ...     footnotes=({"vi": "Nguồn: dữ liệu giả lập.", "en": "Source: synthetic data."},))
        >>> table.marks_used()
        ['( )', '*']
        """
        used: set[str] = set()
        rel = self._reliability()
        marked = [c for c in self.columns if c.reliability and c.format in ("percent", "ci", "probability")]
        if marked:
            # parentheses appear only around a number: a row whose value is blank shows no "( )"
            shown = np.zeros(len(self.frame), bool)
            for c in marked:
                key = c.key if c.format != "ci" else ("ci_low" if c.key == "ci" else f"{c.key}_low")
                if key in self.frame.columns:
                    shown |= pd.to_numeric(self.frame[key], errors="coerce").notna().to_numpy()
            used |= set(rel[(rel != "( )") | shown]) - {""}
        for col in self.columns:
            if col.status:
                st = set(self.frame[col.status].astype(str))
                used |= {"x"} if "primary" in st else set()
                used |= {"xx"} if "secondary" in st else set()
        return [m for m in MARKS if m in used]

    def grouped(self, lang: str = "both") -> list[tuple[str, pd.DataFrame, list[Column]]]:
        """The displayed table split into ``(heading, rows, columns)`` blocks along ``group``
        (one block with an empty heading when the table has no group).

        A new block starts wherever the group column's value changes, so sort the frame by it.

        Parameters
        ----------
        lang : {"vi", "en", "both"}, default "both"

        Returns
        -------
        list of (str, DataFrame, list of Column)
            Heading, displayed rows without the group column, and the remaining columns.

        Raises
        ------
        SpecError
            If ``group`` is not the key of one of the table's columns.

        Examples
        --------
        >>> import pandas as pd
        >>> f = pd.DataFrame({"indicator": ["Any violence", "Any violence", "IPV", "IPV"],
        ...                   "urban": ["Urban", "Rural", "Urban", "Rural"],
        ...                   "estimate": [0.10, 0.11, 0.20, 0.21], "n": [1045, 1913, 600, 1300]})
        >>> table = Table("by_area", {"vi": "Theo khu vực", "en": "By area"}, f,
        ...               (Column("indicator", {"vi": "Chỉ tiêu", "en": "Indicator"}),
        ...                Column("urban", {"vi": "Khu vực", "en": "Area"}),
        ...                Column("estimate", {"vi": "%", "en": "%"}, "percent"),
        ...                Column("n", {"vi": "n", "en": "n"}, "count")),
        ...               group="indicator")
        >>> for heading, rows, columns in table.grouped("en"):
        ...     print(heading)
        ...     print(rows.to_string(index=False))
        Any violence
         Area    %    n
        Urban 10.0 1045
        Rural 11.0 1913
        IPV
         Area    %    n
        Urban 20.0  600
        Rural 21.0 1300
        """
        shown = self.display(lang)
        if not self.group:
            return [("", shown, list(self.columns))]
        idx = [i for i, c in enumerate(self.columns) if c.key == self.group]
        if not idx:
            raise SpecError(f"table {self.id!r}: group = {self.group!r} is not one of its columns")
        gcol = shown.columns[idx[0]]
        cols = [c for i, c in enumerate(self.columns) if i != idx[0]]
        values = shown[gcol].tolist()
        starts = [i for i in range(len(values)) if i == 0 or values[i] != values[i - 1]] + [len(values)]
        return [(values[a], shown.iloc[a:b].drop(columns=[gcol]), cols) for a, b in zip(starts[:-1], starts[1:])]

    def headers(self, lang: str = "both") -> list[str]:
        """The column headers in ``lang`` (``"both"``: ``"vi / en"`` where they differ).

        Examples
        --------
        >>> import pandas as pd
        >>> f = pd.DataFrame({"province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang"],
        ...                   "estimate": [0.206, 0.202, 0.197], "ci_low": [0.179, 0.171, 0.164],
        ...                   "ci_high": [0.236, 0.238, 0.233], "n": [628, 40, 12]})
        >>> table = Table(
        ...     "ipv_12m_by_province",
        ...     {"vi": "Bạo lực do chồng/bạn tình, 12 tháng qua", "en": "Intimate-partner violence, past 12 months"},
        ...     f,
        ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
        ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
        ...      Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
        ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")),
        ...     footnotes=({"vi": "Nguồn: dữ liệu giả lập.", "en": "Source: synthetic data."},))
        >>> table.headers("vi")
        ['Tỉnh', 'Tỷ lệ (%)', 'KTC 95%', 'Số quan sát']
        >>> table.headers()[0]
        'Tỉnh / Province'
        """
        _check_lang(lang)
        return [_text(c.label, lang) for c in self.columns]

    def display(self, lang: str = "both") -> pd.DataFrame:
        """The table as strings, marks applied; columns are the headers in ``lang``.

        Every writer lays out this frame, so marks and suppression are applied in one place.

        Parameters
        ----------
        lang : {"vi", "en", "both"}, default "both"

        Returns
        -------
        DataFrame
            Object dtype, one string per cell.

        Examples
        --------
        >>> import pandas as pd
        >>> f = pd.DataFrame({"province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang"],
        ...                   "estimate": [0.206, 0.202, 0.197], "ci_low": [0.179, 0.171, 0.164],
        ...                   "ci_high": [0.236, 0.238, 0.233], "n": [628, 40, 12]})
        >>> table = Table(
        ...     "ipv_12m_by_province",
        ...     {"vi": "Bạo lực do chồng/bạn tình, 12 tháng qua", "en": "Intimate-partner violence, past 12 months"},
        ...     f,
        ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
        ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
        ...      Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
        ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")),
        ...     footnotes=({"vi": "Nguồn: dữ liệu giả lập.", "en": "Source: synthetic data."},))
        >>> table.display("vi").values.tolist()
        [['Hà Tĩnh', '20.6', '17.9–23.6', '628'], ['Quảng Nam', '(20.2)', '(17.1–23.8)', '40'], ['Kiên Giang', '*', '', '12']]
        """
        _check_lang(lang)
        rel = self._reliability()
        out = {}
        for col in self.columns:
            out[_text(col.label, lang)] = self._format_column(col, rel, lang)
        return pd.DataFrame(out, dtype=object)

    def _format_column(self, col: Column, rel: np.ndarray, lang: str) -> list[str]:
        f = self.frame
        status = f[col.status].astype(str).to_numpy() if col.status else np.full(len(f), "published")
        cells = []
        for i in range(len(f)):  # formatting is per displayed cell (tens of rows), not a statistic
            st = status[i]
            if st == "primary":
                cells.append("x")
                continue
            if st == "secondary":
                cells.append("xx")
                continue
            mark = rel[i] if col.reliability and col.format in ("percent", "ci", "probability") else ""
            cells.append(self._format_cell(col, i, mark, lang))
        return cells

    def _format_cell(self, col: Column, i: int, mark: str, lang: str) -> str:
        f = self.frame
        fmt = col.format
        if fmt == "ci":
            lo_k, hi_k = self._ci_keys(col)
            lo, hi = _num(f[lo_k].iloc[i]), _num(f[hi_k].iloc[i])
            if mark in ("*", "-") or lo is None or hi is None:
                return ""
            text = f"{100 * lo:.{col.decimals}f}–{100 * hi:.{col.decimals}f}"
            return f"({text})" if mark == "( )" else text
        v = f[col.key].iloc[i]
        if fmt == "text":
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        if fmt == "verdict":
            return _text(VERDICT_TEXT.get(str(v), {"vi": str(v), "en": str(v)}), lang)
        if fmt == "mark":
            return "" if v is None else str(v)
        x = _num(v)
        if fmt in ("percent", "probability"):
            if mark == "-":
                return "-"
            if mark == "*":
                return "*"
            if x is None:
                return ""
            if fmt == "percent":
                text = f"{100 * x:.{col.decimals}f}"
            else:  # a probability: extremes as bounds, not as a spurious 0.00 / 1.00
                text = "< 0.01" if x < 0.005 else ("> 0.99" if x > 0.995 else f"{x:.2f}")
            return f"({text})" if mark == "( )" else text
        if x is None:
            return ""
        if fmt == "target":
            return f"≥ {100 * x:.0f}%"
        if fmt == "count":
            return f"{int(round(x))}"
        return f"{x:.{col.decimals}f}"

    def notes(self, lang: str = "both") -> list[str]:
        """Footnotes in ``lang``: the table's own, then the legend of the marks used, then the source.

        With ``lang="both"`` each note reads ``"vi — en"``.

        Returns
        -------
        list of str

        Examples
        --------
        >>> import pandas as pd
        >>> f = pd.DataFrame({"province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang"],
        ...                   "estimate": [0.206, 0.202, 0.197], "ci_low": [0.179, 0.171, 0.164],
        ...                   "ci_high": [0.236, 0.238, 0.233], "n": [628, 40, 12]})
        >>> table = Table(
        ...     "ipv_12m_by_province",
        ...     {"vi": "Bạo lực do chồng/bạn tình, 12 tháng qua", "en": "Intimate-partner violence, past 12 months"},
        ...     f,
        ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
        ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
        ...      Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
        ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")),
        ...     footnotes=({"vi": "Nguồn: dữ liệu giả lập.", "en": "Source: synthetic data."},))
        >>> for line in table.notes("en"):
        ...     print(line)
        Source: synthetic data.
        ( ) Estimate based on 25–49 unweighted cases: interpret with caution
        * Fewer than 25 unweighted cases: estimate not shown
        """
        _check_lang(lang)
        lines = [_text(n, lang, sep="\n") if lang != "both" else _both_lines(n) for n in self.footnotes]
        for m in self.marks_used():
            lines.append(f"{m} " + (_text(MARKS[m], lang) if lang != "both" else _both_lines(MARKS[m])))
        return [line for line in lines if line]

    def title_text(self, lang: str = "both") -> str:
        """The title in ``lang`` (``"both"``: ``"vi / en"``).

        Examples
        --------
        >>> import pandas as pd
        >>> table = Table("t", {"vi": "Bạo lực gia đình", "en": "Domestic violence"},
        ...               pd.DataFrame({"n": [1]}), (Column("n", {"vi": "n", "en": "n"}, "count"),))
        >>> table.title_text("en"), table.title_text()
        ('Domestic violence', 'Bạo lực gia đình / Domestic violence')
        """
        _check_lang(lang)
        return _text(self.title, lang)

    def __repr__(self) -> str:
        return f"Table({self.id!r}: {self.title.get('en', '')!r}, {len(self.frame)} rows × {len(self.columns)} columns)"

    def _repr_html_(self) -> str:
        from .render import to_html_fragment

        return to_html_fragment(self)


def _both_lines(labels: Mapping[str, str]) -> str:
    vi, en = labels.get("vi", ""), labels.get("en", "")
    if vi == en or not en:
        return vi
    if not vi:
        return en
    return f"{vi} — {en}"


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise SpecError(f"lang = {lang!r} is not one of {', '.join(map(repr, LANGS))}")


def mark_legend(lang: str = "both") -> list[str]:
    """Every mark with its explanation.

    Parameters
    ----------
    lang : {"vi", "en", "both"}, default "both"

    Returns
    -------
    list of str
        ``"<mark> <explanation>"`` for every mark of :data:`MARKS`, used or not (a table's own
        legend, with only the marks it uses, is in :meth:`Table.notes`).

    Examples
    --------
    >>> for line in mark_legend("en"):
    ...     print(line)
    ( ) Estimate based on 25–49 unweighted cases: interpret with caution
    * Fewer than 25 unweighted cases: estimate not shown
    - No cases in the denominator
    x Cell suppressed: too few cases (primary suppression)
    xx Cell suppressed to protect another suppressed cell (secondary suppression)
    """
    _check_lang(lang)
    return [f"{m} " + (_text(t, lang) if lang != "both" else _both_lines(t)) for m, t in MARKS.items()]
