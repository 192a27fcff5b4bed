"""Tables and writers: DHS reliability marks, suppression marks, no suppressed value in any format,
deterministic bytes, atomic writes, the indicator catalogue and user extensions."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gbvstats import render
from gbvstats.errors import SpecError
from gbvstats.indicators import catalogue
from gbvstats.tables import Column, Table

COLS = (
    Column("loc", {"vi": "Tỉnh", "en": "Province"}, "text"),
    Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
    Column("ci", {"vi": "KTC 95%", "en": "95% CI"}, "ci"),
    Column("n", {"vi": "Số", "en": "n"}, "count"),
)


def _table(n, est=None):
    k = len(n)
    est = np.linspace(0.1, 0.5, k) if est is None else est
    f = pd.DataFrame({"loc": [f"L{i}" for i in range(k)], "estimate": est, "ci_low": np.asarray(est) - 0.05,
                      "ci_high": np.asarray(est) + 0.05, "n": n})
    return Table("t", {"vi": "Bảng", "en": "Table"}, f, COLS)


def test_dhs_reliability_marks():
    t = _table([0, 10, 24, 25, 49, 50], est=[np.nan, 0.1, 0.2, 0.3, 0.4, 0.5])
    shown = t.display("en")
    assert shown["Percent"].tolist() == ["-", "*", "*", "(30.0)", "(40.0)", "50.0"]
    assert shown["95% CI"].tolist() == ["", "", "", "(25.0–35.0)", "(35.0–45.0)", "45.0–55.0"]
    assert t.marks_used() == ["( )", "*", "-"]
    notes = t.notes("en")
    assert any(n.startswith("* Fewer than 25") for n in notes) and any(n.startswith("( ) Estimate based on 25–49") for n in notes)
    assert t.headers("both")[1] == "Tỷ lệ (%) / Percent"


def test_bad_columns_are_clear():
    with pytest.raises(SpecError, match="format"):
        Column("x", {"vi": "x", "en": "x"}, "percentage")
    with pytest.raises(SpecError, match="estimat"):
        Table("t", {"vi": "", "en": ""}, pd.DataFrame({"estimat": [1]}), (Column("estimate", {"en": "e"}, "percent"),))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["published", "primary", "secondary"]), min_size=2, max_size=8), st.integers(0, 10**6))
def test_suppressed_values_never_reach_any_format(status, seed):
    rng = np.random.default_rng(seed)
    k = len(status)
    # distinctive values: 5-digit counts that cannot appear by accident elsewhere in the output
    values = rng.choice(np.arange(70000, 99999), size=k, replace=False)
    f = pd.DataFrame({"loc": [f"L{i}" for i in range(k)], "v": values, "s": status})
    t = Table("cells", {"vi": "Bảng", "en": "Table"}, f,
              (Column("loc", {"vi": "Tỉnh", "en": "Province"}), Column("v", {"vi": "Số", "en": "Count"}, "count", status="s")))
    out = [render.to_csv(t).decode("utf-8-sig"), render.to_markdown(t), render.to_html([t])]
    with zipfile.ZipFile(io.BytesIO(render.to_xlsx([t]))) as z:
        out += [z.read(n).decode("utf-8") for n in z.namelist()]
    text = "\n".join(out)
    for v, s in zip(values, status):
        assert (str(v) in text) == (s == "published")
    shown = t.display("en")["Count"].tolist()
    assert shown == [str(v) if s == "published" else ("x" if s == "primary" else "xx") for v, s in zip(values, status)]
    assert t.frame.loc[[s != "published" for s in status], "v"].isna().all()


def test_writers_are_deterministic_and_atomic(tmp_path):
    t = _table([100, 30, 5])
    assert render.to_xlsx([t, t]) == render.to_xlsx([t, t])
    with zipfile.ZipFile(io.BytesIO(render.to_xlsx([t]))) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert render.to_html([t]) == render.to_html([t])
    target = tmp_path / "sub" / "a.csv"
    render.write_atomic(target, render.to_csv(t))
    assert target.read_bytes() == render.to_csv(t)
    assert [p.name for p in target.parent.iterdir()] == ["a.csv"]  # no temporary file left behind

    with pytest.raises(TypeError):
        render.write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_bytes() == render.to_csv(t)  # the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["a.csv"]


def test_xlsx_sheets_header_and_notes():
    from openpyxl import load_workbook

    t1, t2 = _table([100, 30]), Table("t", {"vi": "B", "en": "B"}, pd.DataFrame({"loc": ["a"]}), COLS[:1])
    wb = load_workbook(io.BytesIO(render.to_xlsx([t1, t2])))
    assert wb.sheetnames == ["t", "t_2"]
    ws = wb["t"]
    assert ws.freeze_panes == "B3" and ws["A1"].value == "Bảng / Table" and ws["B2"].value == "Tỷ lệ (%) / Percent"
    assert ws["B4"].value == "(50.0)"
    assert any(str(c.value).startswith("( )") for c in ws["A"] if c.value)


def test_catalogue_and_user_extension(tmp_path):
    cat = catalogue()
    for iid in ("help_seeking", "help_sources", "help_seeking_formal", "ipv_12m", "npsv_12m", "help_received",
                "service_status", "staff_trained", "schools_integrating", "officials_aware"):
        ind = cat[iid]
        assert ind.label["vi"] and ind.label["en"] and ind.numerator["vi"] and ind.denominator["en"]
    formal = cat["help_seeking_formal"]
    assert "src_family" not in formal.any_of and len(formal.any_of) == 9
    assert set(formal.any_of) < set(cat["help_sources"].items)
    assert cat["ipv_12m"].universe == "ever_partnered == 1" and cat["npsv_12m"].sdg == "5.2.2"
    extra = tmp_path / "mine.toml"
    extra.write_text(
        '[indicators.help_seeking_formal]\nkind = "survey"\ntype = "proportion"\nvariable = "x"\n'
        'any_of = ["src_police"]\nuniverse = "gbv_any_ever == 1"\nlabel = { vi = "A", en = "A" }\n'
        'numerator = { vi = "n", en = "n" }\ndenominator = { vi = "d", en = "d" }\n', encoding="utf-8")
    mine = catalogue(extra)
    assert mine["help_seeking_formal"].any_of == ("src_police",) and len(mine) == len(cat)
    extra.write_text('[indicators.x]\nkind = "survey"\ntype = "proportion"\nvariable = "x"\nci = "beta"\n'
                     'label = { vi = "A", en = "A" }\nnumerator = { vi = "n", en = "n" }\n'
                     'denominator = { vi = "d", en = "d" }\n', encoding="utf-8")
    with pytest.raises(SpecError, match="ci = 'beta'"):
        catalogue(extra)
    with pytest.raises(SpecError, match="did you mean 'help_seeking'"):
        cat["help_seekin"]


def test_grouped_rows_become_subheadings():
    f = pd.DataFrame({"ind": ["A", "A", "B"], "loc": ["x", "y", "x"], "estimate": [0.1, 0.2, 0.3],
                      "ci_low": [0.05, 0.1, 0.2], "ci_high": [0.15, 0.3, 0.4], "n": [100, 100, 100]})
    t = Table("g", {"vi": "G", "en": "G"}, f, (Column("ind", {"vi": "Chỉ tiêu", "en": "Indicator"}),) + COLS[:1]
              + COLS[1:], group="ind")
    md = render.to_markdown(t, "en")
    assert md.count("| **A** |") == 1 and md.count("| **B** |") == 1 and "Indicator" not in md
    html = render.to_html([t], lang="en")
    assert html.count('<tr class="group">') == 2
    assert render.to_csv(t, "en").decode("utf-8-sig").splitlines()[1].startswith("A,x,")  # CSV keeps the column
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(render.to_xlsx([t], "en")))["g"]
    assert [ws.cell(row=r, column=1).value for r in range(3, 8)] == ["A", "x", "y", "B", "x"]


def test_html_page_declares_the_language_it_is_written_in():
    t = _table([60, 70, 80])
    assert '<html lang="en">' in render.to_html([t], lang="en")
    assert '<html lang="vi">' in render.to_html([t], lang="vi")
    assert '<html lang="vi">' in render.to_html([t])  # bilingual: Vietnamese first


def test_parentheses_are_explained_only_when_they_appear():
    blank = _table([30, 80], est=[np.nan, 0.4])
    assert "( )" not in blank.marks_used()
    shown = _table([30, 80], est=[0.2, 0.4])
    assert "( )" in shown.marks_used()
