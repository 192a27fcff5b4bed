"""Writers for :class:`~gbvstats.tables.Table`: CSV, XLSX, Markdown and HTML, with deterministic bytes.

Every writer returns ``bytes`` (or ``str``) built only from ``Table.display()`` and ``Table.notes()``, so
the marks and the removal of suppressed values happen in one place. The same tables always give the same
bytes: no timestamps, fixed zip entry dates and workbook properties in XLSX, ``\\n`` line endings, UTF-8.
Writing files is :func:`write_atomic`'s job (temporary file, then ``os.replace``).

Examples
--------
>>> import pandas as pd
>>> from gbvstats.tables import Table, Column
>>> from gbvstats import render
>>> t = Table("t", {"vi": "Bảng", "en": "Table"}, pd.DataFrame({"a": ["x"], "n": [3]}),
...           (Column("a", {"vi": "A", "en": "A"}), Column("n", {"vi": "Số", "en": "N"}, "count")))
>>> render.to_csv(t).decode("utf-8-sig")
'A,Số / N\\nx,3\\n'
>>> render.to_xlsx([t]) == render.to_xlsx([t])
True
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import pandas as pd

from .tables import Table

__all__ = ["to_csv", "to_markdown", "to_html", "to_html_fragment", "to_xlsx", "write_atomic", "FIXED_TIMESTAMP"]

#: the timestamp written wherever a file format insists on one
FIXED_TIMESTAMP = "2000-01-01T00:00:00Z"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def to_csv(table: Table, lang: str = "both") -> bytes:
    """The table body as CSV (UTF-8 with a byte-order mark so spreadsheet programs read Vietnamese).

    The cells are :meth:`Table.display`'s strings (marks included); the title and notes are not
    part of a CSV file.

    Parameters
    ----------
    table : Table
    lang : {"vi", "en", "both"}, default "both"
        Language of headers, cells and notes (``"both"``: ``"vi / en"``).

    Returns
    -------
    bytes

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> data = to_csv(table, "en")
    >>> import codecs
    >>> data.startswith(codecs.BOM_UTF8)
    True
    >>> print(data.decode("utf-8-sig"), end="")
    Province,Percent,Unweighted n
    Hà Tĩnh,20.6,628
    Kiên Giang,(19.7),40
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    shown = table.display(lang)
    w.writerow(list(shown.columns))
    w.writerows(shown.values.tolist())
    return buf.getvalue().encode("utf-8-sig")


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: Table, lang: str = "both") -> str:
    """The table as GitHub-flavoured Markdown with its title and footnotes.

    Text columns are left-aligned, numbers right-aligned; a grouped table gets a bold row per group.

    Parameters
    ----------
    table : Table
    lang : {"vi", "en", "both"}, default "both"
        Language of headers, cells and notes (``"both"``: ``"vi / en"``).

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> print(to_markdown(table, "en"), end="")
    ### Intimate-partner violence
    <BLANKLINE>
    | Province | Percent | Unweighted n |
    | --- | ---: | ---: |
    | Hà Tĩnh | 20.6 | 628 |
    | Kiên Giang | (19.7) | 40 |
    <BLANKLINE>
    - ( ) Estimate based on 25–49 unweighted cases: interpret with caution
    """
    blocks = table.grouped(lang)
    shown, cols = blocks[0][1], blocks[0][2]
    lines = [f"### {_md_escape(table.title_text(lang))}", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in shown.columns) + " |")
    aligns = ["---" if c.format in ("text", "verdict", "mark") else "---:" for c in cols]
    lines.append("| " + " | ".join(aligns) + " |")
    for heading, rows, _ in blocks:
        if heading:
            lines.append("| " + " | ".join([f"**{_md_escape(heading)}**"] + [""] * (len(cols) - 1)) + " |")
        for row in rows.values.tolist():
            lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
    notes = table.notes(lang)
    if notes:
        lines.append("")
        lines.extend(f"- {_md_escape(n)}" for n in notes)
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:92em;padding:0 1em;color:#222;line-height:1.4}
div.scroll{overflow-x:auto;max-width:100%} td.nowrap{white-space:nowrap}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border-bottom:1px solid #ccc;padding:.3em .6em;vertical-align:top}
th{background:#f2f2f2;text-align:left;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.v-met{color:#1a6b2f;font-weight:600} td.v-not-met{color:#a11d21;font-weight:600} td.v-cannot-tell{color:#7a5b00}
ol.notes{font-size:.85em;color:#444} figure{margin:1.5em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}
tr.group th{background:#e8eef5;text-align:left;font-weight:600;padding-top:.6em}
tbody th{font-weight:normal;text-align:left;background:none;white-space:nowrap}
""".strip()


def to_html_fragment(table: Table, lang: str = "both") -> str:
    """One table as an HTML ``<section>`` (title, table, footnotes).

    Everything is HTML-escaped; the first column is a row header; number cells have class ``num``
    and verdict cells ``v-met``, ``v-not-met`` or ``v-cannot-tell``. Notebooks show a table
    through this function.

    Parameters
    ----------
    table : Table
    lang : {"vi", "en", "both"}, default "both"
        Language of headers, cells and notes (``"both"``: ``"vi / en"``).

    Returns
    -------
    str

    See Also
    --------
    to_html : a standalone page with several tables.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> print(to_html_fragment(table, "en"))
    <section id="ipv_12m">
    <h2>Intimate-partner violence</h2>
    <div class="scroll"><table>
    <thead><tr>
    <th scope="col">Province</th>
    <th scope="col">Percent</th>
    <th scope="col">Unweighted n</th>
    </tr></thead><tbody>
    <tr><th scope="row">Hà Tĩnh</th><td class="num">20.6</td><td class="num">628</td></tr>
    <tr><th scope="row">Kiên Giang</th><td class="num">(19.7)</td><td class="num">40</td></tr>
    </tbody></table></div>
    <ol class="notes"><li>( ) Estimate based on 25–49 unweighted cases: interpret with caution</li></ol>
    </section>
    """
    blocks = table.grouped(lang)
    cols = blocks[0][2]
    e = html.escape
    out = [f'<section id="{e(table.id)}">', f"<h2>{e(table.title_text(lang))}</h2>", '<div class="scroll"><table>',
           "<thead><tr>"]
    out += [f'<th scope="col">{e(c)}</th>' for c in blocks[0][1].columns]
    out.append("</tr></thead><tbody>")
    verdict_cols = {i for i, c in enumerate(cols) if c.format == "verdict"}
    raw_verdicts = {i: table.frame[cols[i].key].astype(str).tolist() for i in verdict_cols}
    r = 0
    for heading, rows, _ in blocks:
        if heading:
            out.append(f'<tr class="group"><th colspan="{len(cols)}" scope="rowgroup">{e(heading)}</th></tr>')
        for row in rows.values.tolist():
            cells = []
            for i, (v, c) in enumerate(zip(row, cols)):
                cls = "num" if c.format not in ("text", "verdict", "mark") else ""
                if i in verdict_cols:
                    cls = "nowrap v-" + raw_verdicts[i][r].replace(" ", "-")
                elif c.format == "text" and len(str(v)) <= 32 and i:
                    cls = "nowrap"
                tag = "th scope=\"row\"" if i == 0 else "td"
                attr = f' class="{cls}"' if cls and i else ""
                cells.append(f"<{tag}{attr}>{e(str(v))}</{tag.split()[0]}>")
            out.append("<tr>" + "".join(cells) + "</tr>")
            r += 1
    out.append("</tbody></table></div>")
    notes = table.notes(lang)
    if notes:
        out.append('<ol class="notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ol>")
    out.append("</section>")
    return "\n".join(out)


def to_html(tables: Sequence[Table], *, title: str = "gbvstats", lang: str = "both",
            figures: Sequence[tuple[str, str]] = (), intro: Sequence[str] = ()) -> str:
    """A standalone HTML page with every table (and figures given as ``(src, caption)`` pairs).

    The page has its own CSS, a table of contents linking to each table, then the tables
    (:func:`to_html_fragment`) and the figures. Nothing is fetched from the network.

    Parameters
    ----------
    tables : sequence of Table
    title : str, default "gbvstats"
        Page title and heading.
    lang : {"vi", "en", "both"}, default "both"
        Language of headers, cells and notes (``"both"``: ``"vi / en"``).
    figures : sequence of (str, str)
        Image ``src`` (a relative path or a ``data:`` URI) and caption.
    intro : sequence of str
        Paragraphs shown under the heading.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> page = to_html([table], title="GBV statistics 2024", lang="en",
    ...                figures=[("trend.png", "Trend, 2022–2024")])
    >>> print(page[:15])
    <!DOCTYPE html>
    >>> "<title>GBV statistics 2024</title>" in page, page.count("<section")
    (True, 1)
    >>> '<figure><img src="trend.png" alt="Trend, 2022–2024">' in page
    True
    """
    e = html.escape
    parts = ["<!DOCTYPE html>", f'<html lang="{"en" if lang == "en" else "vi"}">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title>", f"<style>\n{_CSS}\n</style>", "</head>", "<body>", f"<h1>{e(title)}</h1>"]
    parts += [f"<p>{e(p)}</p>" for p in intro]
    if tables:
        parts.append("<nav><ul>" + "".join(f'<li><a href="#{e(t.id)}">{e(t.title_text(lang))}</a></li>'
                                            for t in tables) + "</ul></nav>")
    parts += [to_html_fragment(t, lang) for t in tables]
    for src, caption in figures:
        parts.append(f'<figure><img src="{e(src)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>')
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _sheet_names(tables: Sequence[Table]) -> list[str]:
    names, seen = [], set()
    for t in tables:
        base = re.sub(r"[\[\]:*?/\\]", "_", t.id)[:31] or "table"
        name, i = base, 2
        while name.lower() in seen:
            suffix = f"_{i}"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        seen.add(name.lower())
        names.append(name)
    return names


def to_xlsx(tables: Sequence[Table], lang: str = "both") -> bytes:
    """One workbook, one sheet per table: title, frozen header row, the cells, then the footnotes.

    Numbers are written as the displayed text (marks included), so a suppressed value cannot be
    recovered from a cell's underlying value. The bytes are deterministic (fixed workbook dates and
    zip entry dates).

    Parameters
    ----------
    tables : sequence of Table
        One sheet each, named after ``Table.id`` (made valid and unique for Excel).
    lang : {"vi", "en", "both"}, default "both"
        Language of headers, cells and notes (``"both"``: ``"vi / en"``).

    Returns
    -------
    bytes
        The ``.xlsx`` file.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> data = to_xlsx([table], "en")
    >>> data[:2], data == to_xlsx([table], "en")
    (b'PK', True)
    >>> import io
    >>> from openpyxl import load_workbook
    >>> sheet = load_workbook(io.BytesIO(data))["ipv_12m"]
    >>> [[cell.value for cell in row] for row in sheet.iter_rows(max_row=4)]
    [['Intimate-partner violence', None, None], ['Province', 'Percent', 'Unweighted n'], ['Hà Tĩnh', '20.6', '628'], ['Kiên Giang', '(19.7)', '40']]
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="F2F2F2")
    for t, name in zip(tables, _sheet_names(tables)):
        ws = wb.create_sheet(name)
        blocks = t.grouped(lang)
        shown, cols = blocks[0][1], blocks[0][2]
        ws.cell(row=1, column=1, value=t.title_text(lang)).font = Font(bold=True, size=12)
        for j, h in enumerate(shown.columns, start=1):
            c = ws.cell(row=2, column=j, value=str(h))
            c.font, c.fill = bold, head_fill
            c.alignment = Alignment(wrap_text=True, vertical="top")
        i = 3
        for heading, rows, _ in blocks:
            if heading:
                ws.cell(row=i, column=1, value=heading).font = bold
                i += 1
            for row in rows.values.tolist():
                for j, (v, col) in enumerate(zip(row, cols), start=1):
                    c = ws.cell(row=i, column=j, value=str(v))
                    if col.format not in ("text", "verdict", "mark"):
                        c.alignment = Alignment(horizontal="right")
                i += 1
        ws.freeze_panes = "B3"
        shown = pd.concat([b[1] for b in blocks], ignore_index=True)
        r = i + 1
        for note in t.notes(lang):
            ws.cell(row=r, column=1, value=note).alignment = Alignment(wrap_text=False)
            r += 1
        for j, h in enumerate(shown.columns, start=1):
            width = max([len(str(h)) // 2 + 2] + [len(str(v)) + 2 for v in shown.iloc[:, j - 1]])
            ws.column_dimensions[ws.cell(row=2, column=j).column_letter].width = min(max(width, 8), 40)
    wb.properties.creator = "gbvstats"
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry dates and fixed core-property timestamps."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + FIXED_TIMESTAMP + m.group(3), text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    An interrupted write never leaves a half-written file under the final name.

    Parameters
    ----------
    path : str or Path
        The file; missing parent folders are created.
    data : bytes or str
        ``str`` is written as UTF-8.

    Returns
    -------
    Path

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.tables import Table, Column
    >>> table = Table(
    ...     "ipv_12m", {"vi": "Bạo lực do chồng/bạn tình", "en": "Intimate-partner violence"},
    ...     pd.DataFrame({"province": ["Hà Tĩnh", "Kiên Giang"], "estimate": [0.206, 0.197], "n": [628, 40]}),
    ...     (Column("province", {"vi": "Tỉnh", "en": "Province"}),
    ...      Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    ...      Column("n", {"vi": "Số quan sát", "en": "Unweighted n"}, "count")))
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_atomic(os.path.join(folder, "tables", "ipv_12m.md"), to_markdown(table, "en"))
    ...     print(path.name, sorted(os.listdir(path.parent)))
    ...     print(path.read_text(encoding="utf-8").splitlines()[0])
    ipv_12m.md ['ipv_12m.md']
    ### Intimate-partner violence
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
