"""The getting-started page and the user guides run as written.

Every fenced block of ``docs/getting-started.md`` and ``docs/guide/*.md`` is either run or
explicitly not run:

* ```` ```python ```` blocks are executed, page by page in order, in one namespace per page;
* ```` ```bash ```` blocks are run line by line: every ``gbvstats ...`` (or ``.venv/bin/gbvstats
  ...``) command goes through ``gbvstats.cli.main`` in-process and must exit 0; the lines that set
  up the virtual environment (``python3 -m venv``, ``pip install``) and the test-suite run
  (``.venv/bin/python -m pytest``) are skipped; ``export NAME=VALUE`` sets the variable; any other
  shell line fails the test (show it as ```` ```text ```` instead);
* ```` ```text ````, ```` ```toml ````, ```` ```json ```` and ```` ```csv ```` blocks are shown, not run
  (printed output, file contents, error messages).

Markers, as an HTML comment on the line just before the opening fence (invisible on the site):

* ``<!-- guide-test: skip -->`` — the block is deliberately not run (say why in the text);
* ``<!-- guide-test: exit N -->`` — every gbvstats command of this bash block must exit with N
  (for the guides that show an error on purpose).

Each page runs in a fresh temporary folder in which ``surveys`` and ``tests/coverage`` are symbolic
links to the project's folders, so the blocks read ``surveys/example/...`` (and the coverage study's
results) as a reader in the project folder would, and write under the temporary folder only. ``GBVSTATS_KEY`` is set to a throwaway key for the run, as a reader sets it in their shell.
A renamed argument, function or CLI option therefore fails this test.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDE = DOCS / "guide"
PAGES = [DOCS / "getting-started.md"] + sorted(GUIDE.glob("*.md"))

RUN_LANGS = {"python", "bash"}
SHOWN_LANGS = {"text", "toml", "json", "csv"}
MARKER = re.compile(r"^<!--\s*guide-test:\s*(skip|exit\s+(\d+))\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")
#: the 8 tasks of the user guide (issue 8), in reading order
GUIDE_PAGES = [
    "read-a-survey.md",
    "estimate-with-domains.md",
    "choose-a-ci-method.md",
    "anonymise-a-file.md",
    "protect-a-table.md",
    "link-case-records.md",
    "publish-and-check.md",
    "assess-targets.md",
]
#: a throwaway key for the synthetic example (never a real key)
TEST_KEY = "guide-test-key-0123456789abcdef-synthetic-only"


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    skip: bool
    expect_exit: int


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("```") and not lines[i].startswith("```"):
            raise AssertionError(f"{path.name}:{i + 1}: indented fence; put code blocks at the left margin "
                                 "so that this test runs them")
        m = FENCE.match(lines[i].strip()) if lines[i].startswith("```") else None
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise AssertionError(f"{path.name}:{start + 1}: fence never closed")
        skip, expect = False, 0
        if start > 0:
            mk = MARKER.match(lines[start - 1].strip())
            if mk:
                skip = mk.group(1) == "skip"
                expect = int(mk.group(2)) if mk.group(2) else 0
        blocks.append(Block(lang, "\n".join(lines[start + 1:j]) + "\n", start + 1, skip, expect))
        i = j + 1
    return blocks


def shell_commands(code: str) -> list[list[str]]:
    """Split a bash block into commands (continuations joined, comments dropped, && split)."""
    text = code.replace("\\\n", " ")
    commands: list[list[str]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(raw, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token == "&&":
                commands.append(current)
                current = []
            elif token in {"|", "||", ";", ">", ">>", "<", "&"}:
                raise AssertionError(f"shell operator {token!r} in {raw!r}: guides show one command per line")
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands


def classify(argv: list[str]) -> str:
    exe = argv[0]
    if exe in {"gbvstats", ".venv/bin/gbvstats"}:
        return "gbvstats"
    if exe in {"python3", "python"} and argv[1:3] == ["-m", "venv"]:
        return "setup"
    if exe.endswith("pip") and argv[1:2] == ["install"]:
        return "setup"
    if exe.endswith("python") and argv[1:3] == ["-m", "pytest"]:
        return "setup"
    if exe == "export" and len(argv) == 2 and "=" in argv[1]:
        return "export"
    return "unknown"


def _page_id(path: Path) -> str:
    return str(path.relative_to(DOCS))


def test_the_runner_reads_commands_as_a_shell_would(tmp_path):
    line = ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
            ".venv/bin/gbvstats estimate f.sav --where \"age > 2 and x == 1\" --by a,b  # comment\n")
    cmds = shell_commands(line + "gbvstats targets list \\\n    --locality 'Kiên Giang'\n")
    assert [classify(c) for c in cmds] == ["setup", "setup", "gbvstats", "gbvstats"]
    assert cmds[2][1:] == ["estimate", "f.sav", "--where", "age > 2 and x == 1", "--by", "a,b"]
    assert cmds[3] == ["gbvstats", "targets", "list", "--locality", "Kiên Giang"]
    assert classify(["rm", "-rf", "published"]) == "unknown"
    with pytest.raises(AssertionError, match="one command per line"):
        shell_commands("gbvstats describe f.sav | head\n")
    page = tmp_path / "page.md"
    page.write_text("text\n<!-- guide-test: exit 2 -->\n```bash\ngbvstats x\n```\n\n"
                    "<!-- guide-test: skip -->\n```python\n1/0\n```\n```text\nout\n```\n", encoding="utf-8")
    blocks = parse_blocks(page)
    assert [(b.lang, b.skip, b.expect_exit, b.line) for b in blocks] == [
        ("bash", False, 2, 3), ("python", True, 0, 8), ("text", False, 0, 11)]
    page.write_text("1. step\n\n    ```python\n    x = 1\n    ```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="indented fence"):
        parse_blocks(page)


def test_every_guide_page_exists_and_is_in_the_nav():
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for name in GUIDE_PAGES:
        assert (GUIDE / name).exists(), f"docs/guide/{name} is missing"
        assert f"guide/{name}" in mkdocs, f"docs/guide/{name} is not in the mkdocs.yml nav"
        assert f"guide/{name}" in index, f"docs/index.md does not link docs/guide/{name}"
    extra = sorted(p.name for p in GUIDE.glob("*.md") if p.name not in GUIDE_PAGES)
    assert not extra, f"guide pages not listed in GUIDE_PAGES (add them to the nav too): {extra}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_block_is_run_or_explicitly_shown(page):
    problems = []
    for b in parse_blocks(page):
        if b.lang not in RUN_LANGS | SHOWN_LANGS:
            problems.append(f"line {b.line}: fence language {b.lang!r}; use one of {sorted(RUN_LANGS | SHOWN_LANGS)}")
        if b.lang == "bash" and not b.skip:
            for argv in shell_commands(b.code):
                if classify(argv) == "unknown":
                    problems.append(f"line {b.line}: the test cannot run {' '.join(argv)!r}; show it as ```text")
    assert not problems, f"{page.name}: " + "; ".join(problems)


def test_guides_link_the_methodology_and_a_reference_page():
    anchors = set(re.findall(r"\{#([\w-]+)\}", (DOCS / "methodology.md").read_text(encoding="utf-8")))
    assert anchors, "docs/methodology.md has no {#anchor} headings"
    reference = {"spec.md", "estimation.md", "replicate-calibration.md", "anonymisation.md",
                 "table-protection.md", "cases.md", "publish.md", "targets.md"}
    for name in GUIDE_PAGES:
        text = (GUIDE / name).read_text(encoding="utf-8")
        links = re.findall(r"\]\(\.\./methodology\.md#([\w-]+)\)", text)
        assert links, f"docs/guide/{name} does not link a methodology section"
        bad = sorted(set(links) - anchors)
        assert not bad, f"docs/guide/{name} links missing methodology anchors: {bad}"
        assert any(f"](../{r}" in text for r in reference), f"docs/guide/{name} links no reference page"


def test_choose_a_ci_guide_rests_on_the_coverage_study():
    text = (GUIDE / "choose-a-ci-method.md").read_text(encoding="utf-8")
    assert "](../coverage.md" in text
    for method in ["korn-graubard", "korn-graubard-nchs", "logit", "wilson", "clopper-pearson", "wald"]:
        assert f"`{method}`" in text, f"the CI guide does not discuss {method}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_runs_as_written(page, tmp_path, monkeypatch, capsys):
    from gbvstats.cli import main

    (tmp_path / "surveys").symlink_to(ROOT / "surveys", target_is_directory=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "coverage").symlink_to(ROOT / "tests" / "coverage", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GBVSTATS_KEY", TEST_KEY)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"guide_{page.stem.replace('-', '_')}"}
    ran = 0
    for b in parse_blocks(page):
        if b.skip or b.lang not in RUN_LANGS:
            continue
        where = f"{_page_id(page)}, block at line {b.line}"
        if b.lang == "python":
            try:
                exec(compile(b.code, f"<{where}>", "exec"), namespace)
            except Exception as exc:  # report the page and line, keep the traceback
                raise AssertionError(f"{where} raised {type(exc).__name__}: {exc}") from exc
            ran += 1
            continue
        for argv in shell_commands(b.code):
            kind = classify(argv)
            if kind == "export":
                name, _, value = argv[1].partition("=")
                monkeypatch.setenv(name, value)
            elif kind == "gbvstats":
                capsys.readouterr()
                try:
                    code = main(argv[1:])
                except SystemExit as exc:  # argparse usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
                out = capsys.readouterr()
                assert code == b.expect_exit, (
                    f"{where}: `{' '.join(argv)}` exited {code}, expected {b.expect_exit}\n"
                    f"stdout:\n{out.out[-3000:]}\nstderr:\n{out.err[-3000:]}"
                )
                ran += 1
            elif kind == "unknown":
                raise AssertionError(f"{where}: cannot run {' '.join(argv)!r}; show it as ```text")
    assert ran, f"{_page_id(page)} has no runnable block"
    if page.name == "getting-started.md":
        # what a newcomer following only this page must reach
        published = tmp_path / "published"
        for name in ["index.html", "tables.xlsx", "tables.md", "manifest.json"]:
            assert (published / name).is_file(), f"getting-started did not produce published/{name}"
        assert list((published / "csv").glob("*.csv")), "getting-started produced no CSV tables"
        assert list((published / "figures").glob("*.png")), "getting-started produced no figures"


def test_getting_started_publishes_through_the_cli():
    """The newcomer's path is the README command, not only the Python tour."""
    commands = [c for b in parse_blocks(DOCS / "getting-started.md") if b.lang == "bash" and not b.skip
                for c in shell_commands(b.code) if classify(c) == "gbvstats"]
    assert any(c[1:3] == ["publish", "surveys/example/plan.toml"] and "--out" in c for c in commands)
    assert any(c[1:3] == ["publish", "surveys/example/plan.toml"] and "--check" in c for c in commands)
