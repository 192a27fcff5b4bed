"""The ``gbvstats`` command.

Each subcommand lives in ``gbvstats/commands/<name>.py`` and defines ``register(subparsers)``,
which adds its parser and sets ``func`` (taking the parsed arguments, returning an exit code).
The CLI only composes library functions; it computes nothing itself.

Exit codes: 0 success, 1 a check failed (e.g. ``publish --check`` found differences),
2 bad usage or bad input (a gbvstats error, printed without a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

#: Subcommand modules under gbvstats.commands, in the order ``gbvstats --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "describe",
    "estimate",
    "anonymise",
    "protect",
    "cases",
    "publish",
    "targets",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gbvstats",
        description="Design-correct, anonymised, reproducible statistics on gender-based violence.",
    )
    parser.add_argument("--version", action="version", version=f"gbvstats {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gbvstats.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gbvstats.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .errors import GbvstatsError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GbvstatsError as exc:
        print(f"gbvstats {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader of our output went away (e.g. `gbvstats describe ... | head`): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"gbvstats {args.command}: interrupted; no partial output was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
