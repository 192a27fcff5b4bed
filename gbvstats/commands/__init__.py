"""The ``gbvstats`` subcommands, one module each (``register(subparsers)``), and options they share."""

from __future__ import annotations

import argparse
from typing import Any


def add_file_options(p: argparse.ArgumentParser) -> None:
    """``--encoding --delimiter --decimal --sheet --header-row``: how to read a text or Excel survey file.

    Each overrides the spec's ``[file]`` table (see docs/spec.md, "Files from other programs").
    """
    g = p.add_argument_group("reading text and Excel files (override the spec's [file] table)")
    g.add_argument("--encoding", help="text encoding of a CSV, e.g. cp1258, cp1252, utf-16 (default: UTF-8, "
                                      "with or without BOM; UTF-16 detected)")
    g.add_argument("--delimiter", help="CSV field separator, e.g. ';' (default: taken from the header line)")
    g.add_argument("--decimal", help="decimal mark of a CSV, ',' or '.' (default: detected)")
    g.add_argument("--sheet", help="Excel sheet name or 0-based number (default: the only sheet holding data)")
    g.add_argument("--header-row", type=int, help="Excel row (1-based) holding the column names (default 1)")


def file_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``read_survey`` keyword arguments given by :func:`add_file_options` (only those set)."""
    sheet = getattr(args, "sheet", None)
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    out = {"encoding": getattr(args, "encoding", None), "delimiter": getattr(args, "delimiter", None),
           "decimal": getattr(args, "decimal", None), "sheet": sheet, "header_row": getattr(args, "header_row", None)}
    return {k: v for k, v in out.items() if v is not None}
