"""Primary rules, special cells, linked tables, bad input and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.cli import main
from gbvstats.disclosure.tables import TableSpec, protect_table, protect_tables
from gbvstats.errors import DataError, SpecError

DIMS = {"district": ["A", "B", "C"], "type": ["x", "y"]}


def table(values, districts=("A", "B", "C"), types=("x", "y")):
    d, t = np.meshgrid(list(districts), list(types), indexing="ij")
    return pd.DataFrame({"district": d.ravel(), "type": t.ravel(), "value": np.ravel(values)})


def status(t, district, type_):
    f = t.frame
    return f.loc[(f["district"] == district) & (f["type"] == type_), "status"].item()


# --- rules ---------------------------------------------------------------------------------------


def test_dominance_and_p_percent_from_contributions():
    # cell (A, x) = 100 from contributors 90 + 6 + 4: dominated (1, 85) and p% (10) sensitive;
    # cell (B, x) = 100 from 40 + 30 + 30: neither
    contrib = pd.DataFrame({
        "district": ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["A", "B", "C"] * 4,
        "type": ["x"] * 9 + ["y"] * 12,
        "value": [90, 6, 4, 40, 30, 30, 35, 35, 30] + [25] * 12,
    })
    counts = contrib.groupby(["district", "type"], as_index=False)["value"].sum()
    only_dom = protect_table(counts, DIMS, primary=[gs.rules.Dominance(1, 85)], contributions=contrib)
    assert status(only_dom, "A", "x") == "primary" and status(only_dom, "B", "x") != "primary"
    assert only_dom.frame.query("status == 'primary'")["reason"].tolist() == ["dominance (1, 85)"]
    pp = protect_table(counts, DIMS, primary=[gs.rules.PPercent(10)], contributions=contrib)
    # A,x: 100 - 90 - 6 = 4 < 9: sensitive. C,x: 100 - 35 - 35 = 30 >= 3.5: safe
    assert set(pp.frame.query("status == 'primary'")[["district", "type"]].itertuples(index=False)) \
        == {("A", "x")}
    # the frequency of a magnitude table is the number of contributors: 3 per x cell, 4 per y cell
    mf = protect_table(counts, DIMS, primary=[gs.rules.MinFrequency(4)], contributions=contrib)
    prim = mf.frame.query("status == 'primary'")
    assert set(prim["type"]) == {"x"} and set(prim["district"]) == {"A", "B", "C"}


def test_dominance_with_top_columns_and_counts():
    counts = table([[100, 50], [100, 60], [80, 70]])
    counts["top1"] = [90, 10, 40, 20, 30, 20]
    counts["top2"] = [5, 10, 30, 20, 30, 20]
    counts["frequency"] = 20
    t = protect_table(counts, DIMS, primary=[gs.rules.Dominance(1, 85)])
    assert status(t, "A", "x") == "primary" and t.n_primary == 1
    # a count table: every case contributes 1, so Dominance(1, 85) flags counts of 1 and
    # PPercent(10) flags counts of 1 and 2
    c = table([[1, 20], [2, 30], [3, 40]])
    d = protect_table(c, DIMS, primary=[gs.rules.Dominance(1, 85)])
    assert status(d, "A", "x") == "primary" and status(d, "B", "x") != "primary" and d.n_primary == 1
    p = protect_table(c, DIMS, primary=[gs.rules.PPercent(10)])
    assert status(p, "A", "x") == "primary" and status(p, "B", "x") == "primary"
    assert status(p, "C", "x") != "primary"


def test_group_disclosure_flags_a_whole_row_in_one_category():
    counts = table([[12, 0], [9, 8], [15, 11]])  # everyone in A has type x
    t = protect_table(counts, DIMS, primary=[gs.rules.GroupDisclosure("type")])
    assert status(t, "A", "x") == "primary"
    assert "group disclosure along type" in t.frame.query("status == 'primary'")["reason"].item()
    assert t.ok
    with pytest.raises(SpecError, match="unknown dimension 'typ'.*did you mean 'type'"):
        protect_table(counts, DIMS, primary=[gs.rules.GroupDisclosure("typ")])


def test_zero_cells_and_structural_zeros():
    counts = table([[0, 20], [12, 30], [15, 40]])
    assert protect_table(counts, DIMS).n_primary == 0  # an empty cell is published by default
    z = protect_table(counts, DIMS, primary=[gs.rules.MinFrequency(5, zeros=True)])
    assert status(z, "A", "x") == "primary"
    a = z.audit.set_index(["district", "type"]).loc[("A", "x")]
    assert a["required_low"] == 0 and a["required_high"] == 1 and a["high"] >= 1
    # structural zeros are published, known exactly and never used as complements
    counts = table([[3, 0], [12, 0], [15, 40]])
    counts["structural_zero"] = [False, True, False, True, False, False]
    s = protect_table(counts, DIMS)
    assert status(s, "A", "y") == "published" and status(s, "B", "y") == "published"
    assert (s.frame.query("district in ['A', 'B'] and type == 'y'")["reason"] == "structural zero").all()
    assert s.ok
    bad = counts.copy()
    bad.loc[2, "structural_zero"] = True
    with pytest.raises(DataError, match="structural_zero.*row 3"):
        protect_table(bad, DIMS)


def test_singleton_gets_a_third_cell():
    # two single cases in row A: the woman in (A, y) could subtract herself from the row total
    # if (A, x) and (A, y) were the only suppressed cells of row A
    counts = table([[1, 1, 20], [8, 9, 30], [15, 11, 40]], types=("x", "y", "z"))
    dims = {"district": ["A", "B", "C"], "type": ["x", "y", "z"]}
    t = protect_table(counts, dims, primary=[gs.rules.MinFrequency(3)])
    row_a = t.frame.query("district == 'A' and type != 'Total'")
    assert (row_a["status"] != "published").sum() >= 3
    assert t.ok


# --- linked tables -------------------------------------------------------------------------------


def test_linked_tables_share_margins(independent_intervals):
    by_type = table([[3, 9], [8, 7], [20, 25]])
    by_age = pd.DataFrame({"district": ["A", "A", "B", "B", "C", "C"],
                           "age": ["<18", "18+"] * 3, "value": [6, 6, 2, 13, 30, 15]})
    res = protect_tables([
        {"counts": by_type, "dims": {"district": ["A", "B", "C"], "type": ["x", "y"]}, "name": "type"},
        TableSpec(by_age, {"district": ["A", "B", "C"], "age": ["<18", "18+"]}, name="age"),
    ])
    t1, t2 = res.tables
    assert res.ok and t1.ok and t2.ok
    # the district totals are one cell in both tables: same status, same value
    m1 = t1.frame.query("type == 'Total'").set_index("district")[["value", "status"]]
    m2 = t2.frame.query("age == 'Total'").set_index("district")[["value", "status"]]
    pd.testing.assert_frame_equal(m1, m2)
    # a joint independent audit: a three-way table whose type x age interior is unknown
    for t, counts, dims in ((t1, by_type, {"district": ["A", "B", "C"], "type": ["x", "y"]}),
                            (t2, by_age, {"district": ["A", "B", "C"], "age": ["<18", "18+"]})):
        iv = independent_intervals(t.frame, dims)
        for key, row in t.audit.set_index(list(dims)).iterrows():
            if row["status"] == "primary":
                lo, hi = iv[key]
                assert lo <= row["required_low"] + 1e-6 and hi >= row["required_high"] - 1e-6
    with pytest.raises(DataError, match="linked tables disagree on a shared cell"):
        bad = by_age.copy()
        bad.loc[0, "value"] = 7
        protect_tables([{"counts": by_type, "dims": {"district": ["A", "B", "C"], "type": ["x", "y"]}},
                        {"counts": bad, "dims": {"district": ["A", "B", "C"], "age": ["<18", "18+"]}}])
    with pytest.raises(SpecError, match="different hierarchies"):
        protect_tables([{"counts": by_type, "dims": {"district": ["A", "B", "C"], "type": ["x", "y"]}},
                        {"counts": by_age, "dims": {"district": ["C", "B", "A"], "age": ["<18", "18+"]}}])


def test_linked_suppression_cannot_be_undone_across_tables():
    # B's x count is small; by_age publishes B's total, so the pattern must hold in both tables
    by_type = table([[30, 9], [2, 17], [20, 25]])
    by_age = pd.DataFrame({"district": ["A", "A", "B", "B", "C", "C"],
                           "age": ["<18", "18+"] * 3, "value": [19, 20, 9, 10, 30, 15]})
    res = protect_tables([
        {"counts": by_type, "dims": {"district": ["A", "B", "C"], "type": ["x", "y"]}},
        {"counts": by_age, "dims": {"district": ["A", "B", "C"], "age": ["<18", "18+"]}},
    ], method="hypercube")
    assert res.ok and res.tables[0].n_primary == 1


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_messages():
    counts = table([[3, 9], [8, 7], [20, 25]])
    with pytest.raises(SpecError, match="unknown dimension 'distrct'.*did you mean 'district'"):
        protect_table(counts, {"distrct": ["A", "B", "C"], "type": ["x", "y"]})
    neg = counts.copy()
    neg.loc[[1, 4], "value"] = -1
    with pytest.raises(DataError, match=r"negative in rows 2, 5 \(2 in all\)"):
        protect_table(neg, DIMS)
    with pytest.raises(DataError, match=r"label 'C' \(rows 5, 6 \(2 in all\)\) is not in the hierarchy"):
        protect_table(counts, {"district": ["A", "B"], "type": ["x", "y"]})  # a missing child
    with pytest.raises(DataError, match=r"categor.*\['D'\].*no rows in the data"):
        protect_table(counts, {"district": ["A", "B", "C", "D"], "type": ["x", "y"]})
    with pytest.raises(DataError, match="missing in row 1"):
        miss = counts.copy()
        miss.loc[0, "value"] = np.nan
        protect_table(miss, DIMS)
    with pytest.raises(DataError, match="same cell appears more than once"):
        protect_table(pd.concat([counts, counts.iloc[:1]]), DIMS)
    with pytest.raises(SpecError, match="method must be one of 'optimal', 'hypercube'; got 'fast'"):
        protect_table(counts, DIMS, method="fast")
    with pytest.raises(SpecError, match="cost must be one of 'cells', 'value'"):
        protect_table(counts, DIMS, cost="money")
    with pytest.raises(SpecError, match="protection must be a number in"):
        protect_table(counts, DIMS, protection=1.5)
    with pytest.raises(SpecError, match="not under the root"):
        protect_table(counts, {"district": {"All": ["A", "B"], "X": ["C"]}, "type": ["x", "y"]})
    with pytest.raises(SpecError, match="MinFrequency threshold must be an integer"):
        gs.rules.MinFrequency(2.5)


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_protect(tmp_path, capsys):
    hier = {"Country": ["A", "B"], "A": ["a1", "a2"], "B": ["b1", "b2"]}
    (tmp_path / "h.json").write_text(json.dumps(hier))
    pd.DataFrame({"district": ["a1", "a1", "a2", "a2", "b1", "b1", "b2", "b2"],
                  "type": ["x", "y"] * 4, "value": [3, 20, 6, 7, 15, 12, 14, 30]}) \
        .to_csv(tmp_path / "in.csv", index=False)
    out, audit = tmp_path / "out.csv", tmp_path / "audit.csv"
    rc = main(["protect", str(tmp_path / "in.csv"), "--dims", f"district={tmp_path / 'h.json'}", "type",
               "--min-frequency", "5", "--out", str(out), "--audit", str(audit)])
    assert rc == 0
    f = pd.read_csv(out, dtype={"district": str})
    assert len(f) == 21 and set(f["status"]) == {"published", "primary", "secondary"}
    assert f.loc[f["status"] != "published", "value"].isna().all()
    assert pd.read_csv(audit)["ok"].all()
    first = out.read_bytes()
    assert main(["protect", str(tmp_path / "in.csv"), "--dims", f"district={tmp_path / 'h.json'}",
                 "type", "--out", str(out)]) == 0
    assert out.read_bytes() == first  # deterministic bytes
    rc = main(["protect", str(tmp_path / "in.csv"), "--dims", "district", "typ", "--out",
               str(tmp_path / "x.csv")])
    assert rc == 2 and "did you mean 'type'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
