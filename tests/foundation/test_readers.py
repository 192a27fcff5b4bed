"""Reading files written by other tools: labels, user-missing codes and round trips."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

import gbvstats as gs
from gbvstats.errors import ReadError
from gbvstats.readers import read_raw

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLE = Path(__file__).resolve().parents[2] / "surveys" / "example"


def test_pspp_file_labels_and_user_missing_counts():
    s = gs.read_survey(DATA / "pspp_survey.sav")
    assert s.meta.file.format == "spss"
    assert s.label("violence") == "Từng bị bạo lực thể xác hoặc tình dục"
    assert s.value_labels("violence")[8.0] == "Từ chối trả lời"
    assert s.value_labels("stratum") == {1.0: "Thành thị", 2.0: "Nông thôn"}
    counts = s.meta.missing_counts.set_index(["variable", "code"])["count"]
    # violence: one 8, one 9; sought_help: five 0 (not asked), one 8, one 9
    assert counts[("violence", "8")] == 1 and counts[("violence", "9")] == 1
    assert counts[("sought_help", "0")] == 5
    assert counts[("sought_help", "8")] == 1 and counts[("sought_help", "9")] == 1
    assert counts.get(("violence", "0"), 0) == 0
    # read as missing in data, kept as codes in raw
    assert s.data["violence"].isna().sum() == 2
    assert sorted(s.raw["violence"].unique()) == [1.0, 2.0, 8.0, 9.0]
    kept = gs.read_survey(DATA / "pspp_survey.sav", user_missing="keep")
    assert (kept.data["sought_help"] == 0).sum() == 5
    # a code that is a real value stays a value
    assert (s.data["sought_help"] == 1).sum() == 2


def test_pyreadstat_written_sav_and_zsav(tmp_path):
    df = pd.DataFrame({"q1": [1.0, 2.0, 8.0, 9.0, 0.0, np.nan, 1.0], "w": [1.0] * 7,
                       "ten": ["Bà Mẫu", "Cô Thử", "b", "c", "d", "e", "f"]})
    labels = {"q1": {1: "Có", 2: "Không", 8: "Từ chối", 9: "Không biết", 0: "Không hỏi"}}
    for name, compress in (("t.sav", False), ("t.zsav", True)):
        path = tmp_path / name
        pyreadstat.write_sav(df, str(path), column_labels={"q1": "Câu hỏi một", "ten": "Họ tên"},
                             variable_value_labels=labels, missing_ranges={"q1": [8, 9, 0]}, compress=compress)
        s = gs.read_survey(path)
        assert s.label("q1") == "Câu hỏi một"
        assert s.value_labels("q1")[9.0] == "Không biết"
        c = s.meta.missing_counts
        assert dict(zip(c["code"], c["count"])) == {"0": 1, "8": 1, "9": 1}
        assert dict(zip(c["code"], c["label"])) == {"0": "Không hỏi", "8": "Từ chối", "9": "Không biết"}
        # user-missing (3) distinct from system-missing (1)
        d = s.describe().variables.set_index("name")
        assert d.loc["q1", "n_user_missing"] == 3 and d.loc["q1", "n_system_missing"] == 1
        assert s.data["ten"].iloc[0] == "Bà Mẫu"


def test_spss_missing_range_counts_each_code(tmp_path):
    df = pd.DataFrame({"q": [1.0, 97.0, 98.0, 98.0, 99.0, 5.0]})
    pyreadstat.write_sav(df, str(tmp_path / "r.sav"), missing_ranges={"q": [{"lo": 97, "hi": 99}]})
    s = gs.read_survey(tmp_path / "r.sav")
    c = s.meta.missing_counts
    assert dict(zip(c["code"], c["count"])) == {"97": 1, "98": 2, "99": 1}
    assert s.data["q"].notna().sum() == 2


def test_stata_round_trip_with_extended_missing(tmp_path):
    df = pd.DataFrame({"q": [1, 2, "a", "b", "a", 1], "w": [1.0, 2.0, 1.0, 1.0, 1.0, 3.0]}, dtype=object)
    df["w"] = df["w"].astype(float)
    path = tmp_path / "t.dta"
    pyreadstat.write_dta(df, str(path), missing_user_values={"q": ["a", "b"]},
                         variable_value_labels={"q": {1: "Có", 2: "Không"}}, column_labels={"q": "Câu hỏi"})
    s = gs.read_survey(path)
    c = s.meta.missing_counts
    assert dict(zip(c["code"], c["count"])) == {".a": 2, ".b": 1}
    assert s.data["q"].tolist()[:2] == [1.0, 2.0] and s.data["q"].isna().sum() == 3
    assert s.label("q") == "Câu hỏi" and s.value_labels("q")[1.0] == "Có"
    # write back what we read and read again: same values
    out = tmp_path / "back.dta"
    pyreadstat.write_dta(s.data[["q", "w"]], str(out))
    again = gs.read_survey(out)
    pd.testing.assert_series_equal(again.data["w"], s.data["w"], check_dtype=False)
    assert again.data["q"].isna().sum() == 3


def test_csv_round_trip_keeps_vietnamese_text_and_codes(tmp_path):
    s = gs.read_survey(DATA / "pspp_survey.sav", user_missing="keep")
    path = tmp_path / "s.csv"
    frame = s.data.assign(note=["Cần Thơ"] * 5 + ["Hà Tĩnh"] * 5)
    frame.to_csv(path, index=False)
    back = gs.read_survey(path)
    assert back.data["note"].tolist() == frame["note"].tolist()
    np.testing.assert_array_equal(back.data["sought_help"].to_numpy(float), frame["sought_help"].to_numpy(float))
    # a CSV has no missing declarations: the spec's [missing] codes apply to its coded variables
    spec = gs.spec.parse_spec({"missing": {"codes": {"8": "refused", "9": "don't know", "0": "not asked"}},
                               "variables": {"sought_help": {"values": {"1": "Có", "2": "Không"}}}})
    with_spec = gs.read_survey(path, spec=spec)
    c = with_spec.meta.missing_counts
    assert dict(zip(c["code"], c["count"])) == {"0": 5, "8": 1, "9": 1}
    assert dict(zip(c["code"], c["label"]))["8"] == "refused"


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet(tmp_path, suffix):
    df = pd.DataFrame({"w": [1.0, 2.0], "tinh": ["Quảng Nam", "Kiên Giang"], "y": [1, 0]})
    path = tmp_path / f"t{suffix}"
    (df.to_excel(path, index=False) if suffix == ".xlsx" else df.to_parquet(path))
    s = gs.read_survey(path)
    assert s.data["tinh"].tolist() == ["Quảng Nam", "Kiên Giang"]
    assert s.data["y"].tolist() == [1, 0]


def test_missing_file_names_the_file_and_close_matches(tmp_path):
    (tmp_path / "community_2024.sav").write_bytes(b"")
    with pytest.raises(ReadError, match=r"communty_2024\.sav: file not found; did you mean 'community_2024.sav'"):
        gs.read_survey(tmp_path / "communty_2024.sav")


def test_unknown_extension_and_damaged_file(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ReadError, match=r"x\.json.*\.sav.*\.parquet"):
        gs.read_survey(tmp_path / "x.json")
    bad = tmp_path / "bad.sav"
    bad.write_bytes(b"this is not an spss file")
    with pytest.raises(ReadError, match=r"bad\.sav: cannot be read as a spss file"):
        gs.read_survey(bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("tinh\nC\xe0 Mau\n".encode("latin-1"))
    with pytest.raises(ReadError, match=r"latin\.csv: the text is not UTF-8"):
        gs.read_survey(latin)


def test_read_raw_keeps_declared_codes():
    frame, meta = read_raw(EXAMPLE / "community_2024.sav")
    assert meta.missing_codes["sought_help"] == (8.0, 9.0, 0.0)
    assert meta.variable_labels["province"] == "Tỉnh/thành phố"
    assert meta.value_labels["province"][92.0] == "Cần Thơ"
    assert (frame["sought_help"] == 0).any()


def test_bad_user_missing_choice():
    with pytest.raises(gs.SpecError, match=r"user_missing='drop' is not one of 'missing', 'keep'"):
        gs.read_survey(DATA / "pspp_survey.sav", user_missing="drop")


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([1.0, 2.0, 0.0, 8.0, 9.0, np.nan]), min_size=1, max_size=60))
def test_sav_user_missing_codes_counted_exactly(tmp_path_factory, values):
    """Property: every user-missing code written by another writer is counted, per code, and nothing else is."""
    path = tmp_path_factory.mktemp("prop") / "p.sav"
    df = pd.DataFrame({"q": values})
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q": {1: "Có", 2: "Không"}},
                         missing_ranges={"q": [8, 9, 0]})
    s = gs.read_survey(path)
    v = np.array(values)
    c = s.meta.missing_counts
    got = dict(zip(c["code"], c["count"]))
    want = {f"{code:g}": int((v == code).sum()) for code in (0.0, 8.0, 9.0) if (v == code).any()}
    assert got == want
    assert s.data["q"].isna().sum() == int(np.isin(v, [0, 8, 9]).sum() + np.isnan(v).sum())
    d = s.describe().variables.set_index("name")
    assert d.loc["q", "n_system_missing"] == int(np.isnan(v).sum())
    np.testing.assert_array_equal(s.raw["q"].to_numpy(), v)


def test_sas_transport_file(tmp_path):
    df = pd.DataFrame({"Q1": [1.0, 2.0, np.nan], "W": [1.0, 2.5, 3.0]})
    path = tmp_path / "t.xpt"
    pyreadstat.write_xport(df, str(path), column_labels={"Q1": "Question one"})
    s = gs.Survey.from_frame(gs.read_survey(path).data, weights="W")
    back = gs.read_survey(path)
    assert back.meta.file.format == "xport" and back.label("Q1") == "Question one"
    assert back.data["Q1"].isna().sum() == 1 and s.describe().design.iloc[0]["weight_sum"] == 6.5
