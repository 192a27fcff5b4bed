"""The package installs, exposes its public names lazily, and the CLI answers --version."""

import subprocess
import sys

import pytest

import gbvstats as gs


def test_version_matches_cli():
    out = subprocess.run([sys.executable, "-m", "gbvstats.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"gbvstats {gs.__version__}"


def test_errors_are_value_errors_and_share_a_base():
    assert issubclass(gs.DataError, ValueError)
    assert issubclass(gs.SpecError, gs.GbvstatsError)
    assert issubclass(gs.ReadError, OSError)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gs.nope  # noqa: B018


def test_format_rows_counts_and_truncates():
    from gbvstats.errors import format_rows

    assert format_rows([0, 4]) == "rows 1, 5 (2 in all)"
    assert format_rows(range(12)).endswith("… (12 in all)")


def test_key_never_shows_secret_and_refuses_pickle(monkeypatch):
    import pickle

    monkeypatch.setenv("GBVSTATS_TEST_KEY", "s3cret-s3cret-s3cret-s3cret")
    key = gs.keys.from_env("GBVSTATS_TEST_KEY")
    assert "s3cret" not in repr(key) and "s3cret" not in str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    monkeypatch.delenv("GBVSTATS_TEST_KEY")
    with pytest.raises(gs.KeyMissingError, match="GBVSTATS_TEST_KEY"):
        gs.keys.from_env("GBVSTATS_TEST_KEY")


def test_pseudonyms_are_keyed_and_stable():
    from gbvstats.disclosure.pseudonym import pseudonymise
    from gbvstats.keys import Key

    k1 = Key(b"a" * 32, "t1")
    k2 = Key(b"b" * 32, "t2")
    a = pseudonymise(["x", "x", "y", None], k1)
    assert a[0] == a[1] != a[2] and a[3] is None
    assert pseudonymise(["x"], k2)[0] != a[0]


def test_pseudonymise_equals_single_value_hmac():
    from gbvstats.disclosure.pseudonym import hmac_hex, pseudonymise
    from gbvstats.keys import Key

    key = Key(b"k" * 32, "t")
    values = ["Nguyễn Thị A", "x", "B02"]
    assert list(pseudonymise(values, key, length=64, context="resp_id")) == [
        hmac_hex(v, key, context="resp_id") for v in values
    ]


def test_exclusion_warning_points_at_the_users_call():
    import warnings
    from pathlib import Path

    import gbvstats as gs

    example = Path(__file__).resolve().parents[1] / "surveys" / "example"
    s = gs.read_survey(example / "community_2024.sav", spec=example / "survey.toml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.proportion("sought_help_formal", where="gbv_any_ever == 1")
    excl = [w for w in caught if issubclass(w.category, gs.errors.ExclusionWarning)]
    assert excl and all(w.filename == __file__ for w in excl), [(w.filename, w.lineno) for w in excl]


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "gbvstats", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "gbvstats" in (out.stdout + out.stderr)


def test_table_building_blocks_are_public():
    import gbvstats as gs

    assert gs.Column is gs.tables.Column and callable(gs.render.to_markdown)


def test_reader_warnings_point_at_the_users_call(tmp_path):
    import warnings

    import gbvstats as gs

    src = tmp_path / "s.csv"
    src.write_text("w,y\n1,1\n2,0\n,\n,\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gs.read_survey(src)
    mine = [w for w in caught if issubclass(w.category, gs.errors.GbvstatsWarning)]
    assert mine and all(w.filename == __file__ for w in mine), [(w.filename, w.lineno, str(w.message)) for w in mine]
