"""One test per data error: each message names the file, the column, the rows (with the count) and the fix."""

import numpy as np
import pandas as pd
import pytest

import gbvstats as gs
from gbvstats.errors import DataError
from gbvstats.spec import parse_spec

SPEC = {
    "survey": {"id": "rid"},
    "design": {"weights": "w", "strata": "h", "psu": "psu"},
    "missing": {"codes": {"8": "refused", "9": "don't know", "0": "not asked"}},
    "variables": {"violence": {"values": {"1": "Có", "2": "Không"}},
                  "sought_help": {"values": {"1": "Có", "2": "Không"}}},
    "derived": {"gbv": {"type": "yes_no", "source": "violence"},
                "sought": {"type": "yes_no", "source": "sought_help", "universe": "gbv == 1"}},
    "skip": [{"ask": ["sought_help"], "when": "gbv == 1"}],
}


def frame(n=12):
    return pd.DataFrame({
        "rid": np.arange(1, n + 1), "w": np.linspace(1, 2, n), "h": np.repeat([1, 2], n // 2),
        "psu": np.repeat(np.arange(4), n // 4), "violence": np.tile([1, 2, 1], n // 3),
        "sought_help": np.tile([1, 0, 2], n // 3),
    })


def write_csv(tmp_path, df, name="s.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_clean_file_reads(tmp_path):
    s = gs.read_survey(write_csv(tmp_path, frame()), spec=parse_spec(SPEC))
    np.testing.assert_array_equal(s.data["sought"].to_numpy()[:3], [1.0, np.nan, 0.0])
    assert len(s.issues) == 0


def test_spec_column_absent_lists_close_matches(tmp_path):
    df = frame().rename(columns={"w": "wt"})
    spec = parse_spec({**SPEC, "design": {"weights": "weight", "strata": "h", "psu": "psu"}})
    df = df.rename(columns={"wt": "weigth"})
    with pytest.raises(DataError) as e:
        gs.read_survey(write_csv(tmp_path, df), spec=spec)
    msg = str(e.value)
    assert "s.csv" in msg and "'weight'" in msg and "design.weights" in msg and "did you mean 'weigth'" in msg


@pytest.mark.parametrize("bad, what", [(np.nan, "missing or not finite"), (np.inf, "missing or not finite"),
                                       (-1.5, "negative")])
def test_bad_weights_name_rows(tmp_path, bad, what):
    df = frame()
    df.loc[[2, 7], "w"] = bad
    with pytest.raises(DataError) as e:
        gs.read_survey(write_csv(tmp_path, df), spec=parse_spec(SPEC))
    msg = str(e.value)
    assert "s.csv" in msg and "'w'" in msg and what in msg and "rows 3, 8 (2 in all)" in msg
    assert "weight of zero or more" in msg


def test_zero_weights_stay_in_the_design(tmp_path):
    # R's svydesign keeps zero-weight rows (e.g. DHS d005 = 0 outside the violence subsample): they
    # contribute nothing but their PSUs still count; dropping them would change the variance.
    df = frame()
    df.loc[[2, 7], "w"] = 0.0
    s = gs.read_survey(write_csv(tmp_path, df), spec=parse_spec(SPEC))
    assert len(s.data) == len(df)
    assert s.design.n_psu == df["psu"].nunique()


@pytest.mark.parametrize("column, role", [("h", "strata"), ("psu", "psu")])
def test_design_variable_missing_names_rows(tmp_path, column, role):
    df = frame()
    df[column] = df[column].astype(float)
    df.loc[[0, 5, 6], column] = np.nan
    with pytest.raises(DataError) as e:
        gs.read_survey(write_csv(tmp_path, df), spec=parse_spec(SPEC))
    msg = str(e.value)
    assert f"'{column}' ({role})" in msg and "rows 1, 6, 7 (3 in all)" in msg and "sample frame" in msg


def test_more_than_ten_rows_are_summarised(tmp_path):
    df = frame(24)
    df.loc[:, "w"] = 0.0
    with pytest.raises(DataError, match=r"zero in every row \(rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … \(24 in all\)"):
        gs.read_survey(write_csv(tmp_path, df), spec=parse_spec(SPEC))


def test_codes_outside_labels(tmp_path):
    df = frame()
    df.loc[[4, 10], "violence"] = 7
    path = write_csv(tmp_path, df)
    with pytest.raises(DataError) as e:
        gs.read_survey(path, spec=parse_spec(SPEC))
    msg = str(e.value)
    assert "'violence'" in msg and "(7)" in msg and "rows 5, 11 (2 in all)" in msg and "[variables.violence]" in msg
    # a statistician may choose to report, or to set them to missing (counted as exclusions)
    with pytest.warns(gs.ExclusionWarning):
        s = gs.read_survey(path, spec=parse_spec(SPEC), checks={"codes_outside_labels": "set_missing"})
    assert s.data["violence"].isna().sum() == 2
    excl = s.exclusions.set_index(["variable", "reason"])["count"]
    assert excl[("violence", "code outside the value labels (set to missing)")] == 2
    with pytest.warns(gs.ExclusionWarning):
        r = gs.read_survey(path, spec=parse_spec({**SPEC, "checks": {"codes_outside_labels": "report"}}))
    assert r.issues.loc[0, "column"] == "violence" and r.issues.loc[0, "count"] == 2
    assert (r.data["violence"] == 7).sum() == 2


def test_duplicated_ids(tmp_path):
    df = frame()
    df.loc[[3, 9], "rid"] = 2
    path = write_csv(tmp_path, df)
    with pytest.raises(DataError) as e:
        gs.read_survey(path, spec=parse_spec(SPEC))
    msg = str(e.value)
    assert "'rid'" in msg and "rows 2, 4, 10 (3 in all)" in msg and "appear once" in msg
    with pytest.warns(gs.ExclusionWarning):
        s = gs.read_survey(path, spec=parse_spec(SPEC), checks={"duplicate_ids": "report"})
    assert s.describe().issues.loc[0, "rows"] == "rows 2, 4, 10 (3 in all)"


def test_skip_pattern_breach(tmp_path):
    df = frame()
    df.loc[[1, 4], "sought_help"] = 1  # rows 2 and 5 have violence == 2: should not be asked
    path = write_csv(tmp_path, df)
    with pytest.raises(DataError) as e:
        gs.read_survey(path, spec=parse_spec(SPEC))
    msg = str(e.value)
    assert "'sought_help'" in msg and "gbv == 1" in msg and "rows 2, 5 (2 in all)" in msg and "routing" in msg
    with pytest.warns(gs.ExclusionWarning):
        s = gs.read_survey(path, spec=parse_spec(SPEC), checks={"skip_pattern": "set_missing"})
    assert s.data["sought_help"].iloc[[1, 4]].isna().all()
    excl = s.exclusions.set_index(["variable", "reason"])["count"]
    assert excl[("sought_help", "answered although routed past it (skip-pattern breach; set to missing)")] == 2


def test_refused_answer_from_someone_routed_past_is_a_breach(tmp_path):
    df = frame()
    df.loc[1, "sought_help"] = 8  # refusing a question one was never asked still means it was asked
    with pytest.raises(DataError, match=r"row 2 \(1 in all\)"):
        gs.read_survey(write_csv(tmp_path, df), spec=parse_spec(SPEC))


def test_bad_check_name_and_action():
    with pytest.raises(gs.SpecError, match=r"unknown check 'skip_patern'.*did you mean 'skip_pattern'"):
        gs.Survey.from_frame(frame(), spec=parse_spec(SPEC), checks={"skip_patern": "report"})
    with pytest.raises(gs.SpecError, match=r"checks.duplicate_ids = 'set_missing' is not one of 'raise', 'report'"):
        gs.Survey.from_frame(frame(), spec=parse_spec(SPEC), checks={"duplicate_ids": "set_missing"})


def test_condition_naming_unknown_column():
    spec = parse_spec({**SPEC, "derived": {"x": {"type": "flag", "when": "violense == 1"}}})
    with pytest.raises(gs.SpecError, match=r"derived.x.when = 'violense == 1' uses 'violense'.*did you mean 'violence'"):
        gs.Survey.from_frame(frame(), spec=spec)
