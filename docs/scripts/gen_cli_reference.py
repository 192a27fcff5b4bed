"""Write docs/cli.md from the argparse parser, so the CLI reference can never drift from the code.

Run: ``python docs/scripts/gen_cli_reference.py`` (``--check`` exits 1 if docs/cli.md is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gbvstats.cli import build_parser

OUT = Path(__file__).resolve().parents[1] / "cli.md"


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse keeps subparsers here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _section(name: str, parser: argparse.ArgumentParser, depth: int) -> list[str]:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=100)
    lines = [f"{'#' * depth} `{name}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for sub_name, sub in _subparsers(parser):
        lines += _section(f"{name} {sub_name}", sub, min(depth + 1, 4))
    return lines


def render() -> str:
    parser = build_parser()
    parser.prog = "gbvstats"
    head = [
        "# CLI reference",
        "",
        "Generated from the parser by `python docs/scripts/gen_cli_reference.py`; do not edit by hand.",
        "",
        "Exit codes: 0 success; 1 a check failed (e.g. `publish --check` found differences);",
        "2 bad usage or bad input (the error names the file, column, rows and the fix).",
        "",
    ]
    return "\n".join(head + _section("gbvstats", parser, 2)) + "\n"


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    text = render()
    if check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("docs/cli.md is stale: run python docs/scripts/gen_cli_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
