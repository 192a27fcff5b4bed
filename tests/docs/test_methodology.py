"""The methodology page keeps up with the code: every option the library accepts is described, every
rule is stated with its exact condition, and every departure from R that a reference test asserts is
named in "Differences from R survey" together with the test that checks it."""

from __future__ import annotations

import ast
import html
import importlib
import re
from pathlib import Path

import pytest

from gbvstats import calibrate, cases, design, intervals, reliability, replicate
from gbvstats.disclosure import microdata, risk, rules

targets = importlib.import_module("gbvstats.targets")  # gbvstats.targets is also a function

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
REFERENCE_TESTS = ROOT / "tests" / "reference" / "test_against_r.py"

# the outline other pages link to: every heading keeps its id
IDS = ("taylor", "domains", "ci", "lonely-psu", "replicates", "calibration", "reliability",
       "k-anonymity", "table-protection", "cases", "targets", "differences-from-r", "references")


def sections() -> dict[str, str]:
    """Text of every ``## Heading {#id}`` section, by id (subsections included)."""
    parts = re.split(r"^## .*?\{#([a-z0-9-]+)\}\s*$", PAGE, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


SECTIONS = sections()


def code_names(text: str) -> set[str]:
    """Every name written in code font, and every ``arg="value"`` value, in ``text``."""
    names = set(re.findall(r"`([^`\n]+)`", text))
    names |= {n.strip('"') for n in names}
    names |= set(re.findall(r"=\"([^\"\n]+)\"", text))
    return names


def test_outline_ids_are_kept_in_order():
    assert list(SECTIONS) == list(IDS)


def test_every_ci_method_and_alias_is_described():
    text = SECTIONS["ci"]
    names = code_names(text)
    missing = [m for m in intervals.CI_METHODS if m not in names]
    assert not missing, f"CI methods accepted by gbvstats.intervals but not described: {missing}"
    # each method also has a formula line in the ```text block (the name at the start of a line)
    blocks = "\n".join(re.findall(r"```text\n(.*?)```", text, flags=re.S))
    no_formula = [m for m in intervals.CI_METHODS if not re.search(rf"^{re.escape(m)}\s", blocks, flags=re.M)]
    assert not no_formula, f"CI methods without a formula on the page: {no_formula}"
    aliases = [a for a in intervals._ALIASES if a not in names]
    assert not aliases, f"CI aliases not mentioned: {aliases}"


def test_every_lonely_psu_policy_is_described():
    names = code_names(SECTIONS["lonely-psu"])
    missing = [p for p in design.LONELY_PSU_POLICIES if p not in names]
    assert not missing, f"lonely_psu policies not described: {missing}"


def test_every_replicate_method_is_described():
    names = code_names(SECTIONS["replicates"])
    methods = set(replicate.REPLICATE_METHODS) | set(replicate.USER_REPLICATE_METHODS)
    missing = sorted(m for m in methods if m not in names)
    assert not missing, f"replicate methods not described: {missing}"


def test_every_calibration_function_and_distance_is_described():
    names = code_names(SECTIONS["calibration"])
    wanted = set(calibrate.CALFUNS) | {"poststratify", "rake", "calibrate"}
    missing = sorted(w for w in wanted if not any(n == w or n.startswith(w + "(") for n in names)
                     and not re.search(rf"^\s*{w}\b", SECTIONS["calibration"], flags=re.M))
    assert not missing, f"calibration functions / distances not described: {missing}"


def test_every_reliability_rule_is_stated_with_its_exact_condition():
    text = SECTIONS["reliability"]
    for key, rule_set in reliability.RULE_SETS.items():
        assert f"`{key}`" in text, f"rule set {key!r} not on the page"
        for rule in rule_set.rules:
            row = next((line for line in text.splitlines() if f"`{rule.name}`" in line), None)
            assert row is not None, f"rule {rule.name!r} of {key!r} not on the page"
            # a | inside a table cell is written as <code>…&#124;…</code>
            row = html.unescape(row.replace("<code>", "`").replace("</code>", "`"))
            assert f"`{rule.condition}`" in row, (
                f"rule {rule.name!r}: the page does not state its condition {rule.condition!r}")
            assert rule.action in row, f"rule {rule.name!r}: action {rule.action!r} not on its row"


def test_disclosure_options_are_described():
    kanon = code_names(SECTIONS["k-anonymity"])
    for value in (*risk.SEMANTICS, *microdata.METHODS):
        assert value in kanon, f"k-anonymity section does not describe {value!r}"
    table = SECTIONS["table-protection"]
    for name in rules.__all__:
        if name in ("Rule", "CellStats"):
            continue
        assert f"`{name}(" in table, f"primary rule {name} not described"
    for name in ("optimal", "hypercube", "cells", "value"):
        assert f'"{name}"' in table, f"table protection option {name!r} not described"


def test_case_indicators_and_intervals_are_described():
    names = code_names(SECTIONS["cases"])
    missing = [i for i in cases.INDICATORS if i not in names]
    assert not missing, f"case indicators not described: {missing}"
    for ci in ("clopper-pearson", "poisson-exact"):
        assert ci in names


def test_target_functions_and_verdicts_are_described():
    text = SECTIONS["targets"]
    for v in targets.VERDICTS:
        assert v in text, f"verdict {v!r} not described"
    for fn in ("verdict", "probability_meets", "growth_ratio", "progress_status", "project",
               "next_target", "sample_size", "minimum_detectable_change"):
        assert re.search(rf"\b{fn}\b", text), f"{fn} not described"


def _departures_asserted_by_reference_tests() -> tuple[set[str], set[str]]:
    """Departure numbers named in comments, and helper functions whose docstring says 'departure'."""
    src = REFERENCE_TESTS.read_text(encoding="utf-8")
    numbers = set(re.findall(r"departure (\d+[a-z]?)", src))
    helpers = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.FunctionDef) and "departure" in (ast.get_docstring(node) or "").lower():
            helpers.add(node.name)
    return numbers, helpers


def test_reference_tests_do_record_departures():
    numbers, helpers = _departures_asserted_by_reference_tests()
    assert numbers and helpers  # the parsing below would otherwise check nothing


@pytest.mark.parametrize("number", sorted(_departures_asserted_by_reference_tests()[0]))
def test_each_numbered_departure_is_stated(number):
    text = SECTIONS["differences-from-r"]
    main, sub = re.fullmatch(r"(\d+)([a-z]?)", number).groups()
    item = re.search(rf"^{main}\. (.*?)(?=^\d+\. |^### |\Z)", text, flags=re.M | re.S)
    assert item, f"departure {number} (asserted in {REFERENCE_TESTS.name}) is not an item of the section"
    if sub:
        assert f"({sub})" in item.group(1), f"departure {number}: part ({sub}) not described"
    assert "test" in item.group(1).lower(), f"departure {number}: the item does not say where it is tested"


@pytest.mark.parametrize("helper", sorted(_departures_asserted_by_reference_tests()[1]))
def test_each_documented_departure_check_is_named(helper):
    assert f"`{helper}`" in SECTIONS["differences-from-r"] or f"::{helper}`" in SECTIONS["differences-from-r"], (
        f"{REFERENCE_TESTS.name}::{helper} asserts a departure from R that the page does not name")


def test_tested_names_on_the_page_exist():
    """Every ``tests/...py::test_name`` the page cites is a real test function."""
    cited = re.findall(r"(tests/[\w/]+\.py)::(\w+)", PAGE)
    assert cited
    for path, name in cited:
        src = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", src, flags=re.M), f"{path}::{name} does not exist"


def test_bare_test_names_on_the_page_exist():
    """Test names written without their file (``test_...``) exist somewhere under tests/."""
    names = set(re.findall(r"`(test_\w+)`", PAGE))
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    missing = sorted(n for n in names if not re.search(rf"^def {n}\(", sources, flags=re.M))
    assert not missing, f"the page cites tests that do not exist: {missing}"


def test_cited_works_are_in_the_references():
    """Every 'Author (year)' / 'Author year' citation in the text has an entry under References."""
    body, refs = PAGE.split("## References", 1)
    cited = set(re.findall(r"([A-Z][a-zé\-]+(?:-[A-Z][a-zé]+)?)(?: et al\.)?,? \(?(\d{4})\)?", body))
    entries = [" ".join(e.split()) for e in re.split(r"^- ", refs, flags=re.M)[1:]]
    missing = sorted(f"{a} {y}" for a, y in cited if not any(a in e and y in e for e in entries))
    assert not missing, f"cited but not in References: {missing}"


def test_every_formula_block_renders_as_a_code_block():
    """Fenced blocks nested in list items are not rendered by Python-Markdown: the formulas would
    appear as one run-on line. Render the page as mkdocs does and count the blocks."""
    import markdown

    out = markdown.markdown(PAGE, extensions=["attr_list", "admonition", "def_list", "footnotes", "toc",
                                              "tables", "fenced_code"])
    assert "<code>text" not in out
    assert out.count("<pre>") == len(re.findall(r"^```text$", PAGE, flags=re.M))


def test_constants_stated_on_the_page_are_the_code_defaults():
    import inspect

    from gbvstats.disclosure import tables

    cal = SECTIONS["calibration"]
    for fn in (calibrate.rake, calibrate.calibrate):
        sig = inspect.signature(fn)
        line = next(ln for ln in cal.splitlines() if ln.startswith(f"{fn.__name__}("))
        for arg in ("max_iter", "epsilon"):
            default = sig.parameters[arg].default
            stated = re.search(rf"{arg}=([0-9.e+-]+)", line)
            assert stated and float(stated.group(1)) == default, (
                f"{fn.__name__}: the page does not state the default {arg}={default}")
    words = {8: "8", 10: "ten"}
    assert calibrate._RAKE_VARIANCE_ROUNDS == 10 and "ten rounds" in cal
    assert f"after {words[tables._MASTER_ROUNDS]} MILP" in SECTIONS["table-protection"]
