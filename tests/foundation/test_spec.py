"""The survey spec: parsing, unknown keys, choices, derivation order."""

from pathlib import Path

import pytest

import gbvstats as gs
from gbvstats.errors import SpecError
from gbvstats.spec import expression_names, parse_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "surveys" / "example" / "survey.toml"


def test_example_spec_loads():
    spec = gs.load_spec(EXAMPLE)
    assert spec.design.weights == "weight" and spec.design.strata == "stratum" and spec.design.psu == ("commune",)
    assert spec.id == "resp_id"
    formal = spec.derived["sought_help_formal"]
    assert formal.type == "any_of" and formal.universe == "gbv_any_ever == 1"
    assert set(formal.sources) == {"src_police", "src_health", "src_social_work_centre", "src_hotline",
                                   "src_trusted_address", "src_legal_aid", "src_womens_union",
                                   "src_local_leader", "src_religious"}
    assert spec.derived["help_seeking"].values[3.0].en == "Told no one"
    assert spec.label("province", "en") == "Province" and spec.label("province", "vi") == "Tỉnh/thành phố"
    assert spec.value_labels("province", "en")[92.0] == "Can Tho"
    assert spec.missing_codes == {8.0: "refused", 9.0: "don't know", 0.0: "not asked"}
    d = spec.disclosure
    assert d.identifiers == ("full_name", "phone", "birth_date") and d.pseudonymise == ("resp_id", "commune")
    assert d.hierarchies["age"].kind == "bands" and d.hierarchies["age"].levels[1] == (15, 25, 35, 45, 55, 65)
    assert d.hierarchies["commune"].levels == ("district", "province")
    order = spec.derivation_order()
    assert order.index("gbv_any_ever") < order.index("sought_help_any") < order.index("sought_help_formal")
    assert order.index("ipv_phys_ever") < order.index("ipv_phys_12m")


def test_spec_is_frozen():
    spec = gs.load_spec(EXAMPLE)
    with pytest.raises(AttributeError):
        spec.design.weights = "x"


@pytest.mark.parametrize("data, pattern", [
    ({"desing": {}}, r"unknown key 'desing'; did you mean 'design'"),
    ({"design": {"weigths": "w"}}, r"unknown key 'design.weigths'; did you mean 'weights'"),
    ({"derived": {"x": {"type": "yes_no", "source": "q", "univers": ""}}},
     r"unknown key 'derived.x.univers'; did you mean 'universe'"),
    ({"disclosure": {"quasi_identifier": []}}, r"did you mean 'quasi_identifiers'"),
    ({"design": {"lonely_psu": "ajust"}}, r"design.lonely_psu = 'ajust' is not one of 'fail', 'remove'.*did you mean 'adjust'"),
    ({"derived": {"x": {"type": "anyof", "sources": ["a"]}}}, r"derived.x.type = 'anyof' is not one of .*'any_of'"),
    ({"derived": {"x": {"type": "recode", "source": "q"}}}, r"derived.x \(type 'recode'\) needs 'map'"),
    ({"checks": {"skip_pattern": "ignore"}}, r"checks.skip_pattern = 'ignore' is not one of 'raise', 'report', 'set_missing'"),
    ({"design": {"psu": "p", "fpc": ["a", "b"]}}, r"design.fpc has 2 names but design.psu has 1 stages"),
    ({"disclosure": {"hierarchies": {"age": {"bands": [[15, 10]]}}}}, r"bands\[0\] must be at least two increasing"),
    ({"disclosure": {"k": 0}}, r"disclosure.k must be a positive integer"),
    ({"derived": {"a": {"type": "flag", "when": "b == 1"}, "b": {"type": "flag", "when": "a == 1"}}},
     r"circle \(a -> b -> a\)"),
])
def test_spec_errors(data, pattern):
    with pytest.raises(SpecError, match=pattern):
        parse_spec(data, path="my.toml")


def test_load_spec_missing_and_invalid(tmp_path):
    with pytest.raises(SpecError, match=r"nope.toml: survey spec not found"):
        gs.load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[design\nweights = 'w'\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad.toml: not a valid TOML file"):
        gs.load_spec(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[design]\nweight = 'w'\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"wrong.toml: unknown key 'design.weight'; did you mean 'weights'"):
        gs.load_spec(wrong)


def test_psu_stages_and_fpc():
    spec = parse_spec({"design": {"weights": "w", "psu": ["commune", "household"], "fpc": ["N1", "N2"]}})
    assert spec.design.psu == ("commune", "household") and spec.design.fpc == ("N1", "N2")
    assert spec.design.columns() == ("w", "commune", "household", "N1", "N2")


def test_expression_names_ignore_strings_and_keywords():
    assert expression_names("a == 1 and not b in [1, 2] or c == 'x y'") == {"a", "b", "c"}
    assert expression_names("") == set()


def test_docstring_examples_run(monkeypatch):
    import doctest

    import gbvstats.readers
    import gbvstats.spec
    import gbvstats.survey

    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # examples use paths from the project root
    for module in (gbvstats.spec, gbvstats.readers, gbvstats.survey):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__
