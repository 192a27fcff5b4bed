"""The example-data generator (reproducible, design-consistent weights) and `gbvstats describe`."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import gbvstats as gs
from gbvstats.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "surveys" / "example"


@pytest.fixture(scope="module")
def gen():
    sys.path.insert(0, str(ROOT / "surveys"))
    spec = importlib.util.spec_from_file_location("gbv_generate_t", ROOT / "surveys" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pop2024(gen):
    return gen.make_population(seed=2024, year=2024)


def test_example_file_is_what_the_generator_draws(gen, pop2024):
    sample = gen.draw_sample(pop2024, seed=gen.round_seed(2024, 2024))
    s = gs.read_survey(EXAMPLE / "community_2024.sav", spec=EXAMPLE / "survey.toml")
    assert s.data["resp_id"].tolist() == sample["resp_id"].tolist()
    np.testing.assert_allclose(s.data["weight"].to_numpy(), sample["weight"].to_numpy())
    np.testing.assert_array_equal(s.raw["sought_help"].to_numpy(), sample["sought_help"].to_numpy(float))


def test_truth_json_matches_the_population(gen, pop2024):
    truth = json.loads((EXAMPLE / "truth.json").read_text(encoding="utf-8"))
    assert truth["formal_sources"] == list(gen.FORMAL_SOURCES)
    t = gen.truth_table(pop2024)
    assert truth["rounds"]["2024"]["national"] == t["national"]
    assert truth["rounds"]["2024"]["district"]["4209"] == t["district"]["4209"]  # Hương Khê


def test_population_levels_resemble_the_2019_national_study(pop2024):
    p = pop2024
    assert 0.30 <= p["gbv_any_ever"].mean() <= 0.36
    assert 0.85 <= (p["ever_partnered"] == 1).mean() <= 0.93
    assert 0.15 <= p["ipv_12m"].mean() <= 0.21
    assert 0.015 <= p["npsv_12m"].mean() <= 0.035
    assert 0.10 <= p["sought_help_formal"].mean() <= 0.16
    told_no_one = (p["help_seeking"] == 3).sum() / p["help_seeking"].notna().sum()
    assert 0.40 <= told_no_one <= 0.55
    by_prov = p.groupby("province")["sought_help_formal"].mean()
    assert by_prov.idxmax() == 92  # Cần Thơ highest
    assert set(p["province"]) == {92, 42, 49, 91}
    assert p.groupby("district")["commune"].nunique().between(8, 20).all()


def test_help_seeking_rises_over_rounds(gen):
    truth = json.loads((EXAMPLE / "truth.json").read_text(encoding="utf-8"))["rounds"]
    formal = [truth[y]["national"]["sought_help_formal"] for y in ("2022", "2023", "2024")]
    assert formal[0] < formal[1] < formal[2]
    assert all(3000 <= truth[y]["respondents"] <= 4000 for y in truth)


def test_pps_weights_add_up_to_stratum_households(gen, pop2024):
    sample = gen.draw_sample(pop2024, seed=11, response_rate=0.85)
    got = sample.groupby("stratum")["weight"].sum()
    want = pop2024.groupby("stratum").size()
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy(), rtol=1e-5)
    assert sample.groupby("commune").size().max() <= 20
    srs = gen.draw_sample(pop2024, seed=11, method="srs", identifiers=False)
    assert "full_name" not in srs and srs["weight"].gt(0).all()


def test_example_files_are_small():
    size = sum(p.stat().st_size for p in (ROOT / "surveys").rglob("*") if p.is_file())
    assert size < 3_000_000


def test_cli_describe(capsys):
    code = cli(["describe", str(EXAMPLE / "community_2024.sav"), "--spec", str(EXAMPLE / "survey.toml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "8 strata, 176 PSUs, singleton strata: none" in out
    assert "User-missing codes seen" in out and "Exclusions" in out and "sought_help_formal" in out


def test_cli_describe_pspp_file_in_vietnamese(capsys):
    assert cli(["describe", str(ROOT / "tests" / "data" / "pspp_survey.sav"), "--lang", "vi"]) == 0
    out = capsys.readouterr().out
    assert "Từ chối trả lời" in out and "Đã tìm kiếm sự trợ giúp" in out


def test_cli_describe_errors_exit_2(tmp_path, capsys):
    assert cli(["describe", str(tmp_path / "none.sav")]) == 2
    err = capsys.readouterr().err
    assert "none.sav: file not found" in err and "Traceback" not in err
    bad = tmp_path / "s.csv"
    bad.write_text("w,y\n1,1\n-1,0\n", encoding="utf-8")
    spec = tmp_path / "s.toml"
    spec.write_text('[design]\nweights = "w"\n', encoding="utf-8")
    assert cli(["describe", str(bad), "--spec", str(spec)]) == 2
    assert "'w' has values that are negative in row 2 (1 in all)" in capsys.readouterr().err


def test_cli_reads_an_excel_style_csv_with_file_options(tmp_path, capsys):
    src = tmp_path / "semi.csv"
    src.write_text("w;y;psu\n1,5;1;1\n2,0;0;2\n1,5;1;3\n2,5;1;4\n", encoding="cp1252")
    out = tmp_path / "o.csv"
    assert cli(["estimate", str(src), "--var", "y", "--weights", "w", "--psu", "psu", "--delimiter", ";",
                "--decimal", ",", "--encoding", "cp1252", "--out", str(out)]) == 0
    import pandas as pd

    got = pd.read_csv(out)
    assert abs(got["estimate"][0] - (1.5 + 1.5 + 2.5) / 7.5) < 1e-12
