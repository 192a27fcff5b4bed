"""``gbvstats protect``: primary and secondary cell suppression of a count table, with an LP audit.

Usage::

    gbvstats protect IN.csv --dims district=districts.json gbv_type --min-frequency 10 \\
        --out OUT.csv [--audit AUDIT.csv]

``--dims`` lists the dimension columns of IN.csv. ``NAME`` alone is a flat dimension whose
categories are the column's distinct values (sorted), with a total ``Total`` added;
``NAME=FILE.json`` reads the categories (a JSON list) or a hierarchy (a JSON object
``{"root": [children], "child": [grandchildren], ...}``, root first) from a file.
IN.csv has one row per detailed cell and a ``value`` column (``--value`` to rename); rows of totals
may be included and are checked. OUT.csv holds every cell with all totals: the dimension columns,
``value`` (empty when suppressed), ``status`` and ``reason``. AUDIT.csv (for the producer only: it
reveals the protection intervals) has the attacker's feasible interval of every suppressed cell.
Both are written atomically, and only when the audit passes.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ReadError, SpecError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "protect",
        help="suppress small cells of a count table (primary + secondary) and audit it by LP",
        description=__doc__.split("Usage::")[0].strip(),
    )
    p.add_argument("input", metavar="IN.csv", help="one row per detailed cell: dimension columns + value")
    p.add_argument("--dims", nargs="+", required=True, metavar="NAME[=FILE.json]",
                   help="dimension columns; NAME=FILE.json gives categories or a hierarchy")
    p.add_argument("--out", required=True, metavar="OUT.csv", help="protected table (every cell)")
    p.add_argument("--audit", metavar="AUDIT.csv", help="feasible interval of every suppressed cell")
    p.add_argument("--value", default="value", help="value column (default: value)")
    p.add_argument("--min-frequency", type=int, default=5, metavar="N",
                   help="cells with 0 < count < N are primary (default 5; 10 for case counts)")
    p.add_argument("--zeros", action="store_true", help="treat empty cells as primary too")
    p.add_argument("--dominance", metavar="N,K", help="(n, k) dominance rule, e.g. 1,85")
    p.add_argument("--p-percent", type=float, metavar="P", help="p%% rule, e.g. 10")
    p.add_argument("--group-disclosure", metavar="DIM",
                   help="flag a category holding a whole group along DIM (100%% share)")
    p.add_argument("--protection", type=float, default=0.3,
                   help="required protection as a share of the value (default 0.3)")
    p.add_argument("--method", default="optimal", help="optimal (MILP) or hypercube (default optimal)")
    p.add_argument("--cost", default="cells", help="minimise suppressed cells or value (default cells)")
    p.set_defaults(func=run)


def _parse_dims(items, frame):
    dims = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not name:
            raise SpecError(f"--dims: {item!r} has no column name; write NAME or NAME=FILE.json")
        if name in dims:
            raise SpecError(f"--dims: {name!r} is given twice")
        if sep:
            try:
                dims[name] = json.loads(Path(path).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ReadError(f"--dims {name}: file {path!r} does not exist") from None
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ReadError(f"--dims {name}: cannot read {path!r} as JSON ({exc}); give a list of "
                                f"categories or an object {{root: [children], ...}}") from None
            if not isinstance(dims[name], (list, dict)):
                raise SpecError(f"--dims {name}: {path!r} must hold a JSON list or object")
        else:
            if name not in frame.columns:
                from ..errors import close_matches

                raise SpecError(f"--dims: {name!r} is not a column of the input (columns: "
                                f"{list(frame.columns)})" + close_matches(name, list(frame.columns)))
            dims[name] = sorted(frame[name].dropna().astype(str).unique().tolist())
            if "Total" in dims[name]:  # rows of totals are included: not a category
                dims[name].remove("Total")
    return dims


def _write_csv(frame, path: str) -> None:
    from ..render import write_atomic

    write_atomic(path, frame.to_csv(index=False, na_rep="", float_format="%.10g", lineterminator="\n"))


def run(args) -> int:
    import pandas as pd

    from ..disclosure import rules
    from ..disclosure.tables import protect_table

    try:
        frame = pd.read_csv(args.input, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ReadError(f"{args.input}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReadError(f"{args.input}: cannot read it as CSV ({exc})") from None
    dims = _parse_dims(args.dims, frame)
    primary = [rules.MinFrequency(args.min_frequency, zeros=args.zeros)]
    if args.dominance:
        try:
            n, k = (float(x) for x in args.dominance.split(","))
        except ValueError:
            raise SpecError(f"--dominance must be N,K (e.g. 1,85); got {args.dominance!r}") from None
        primary.append(rules.Dominance(int(n), k))
    if args.p_percent is not None:
        primary.append(rules.PPercent(args.p_percent))
    if args.group_disclosure:
        primary.append(rules.GroupDisclosure(args.group_disclosure))
    try:
        table = protect_table(frame, dims, primary=primary, protection=args.protection,
                              method=args.method, cost=args.cost, value=args.value)
    except Exception as exc:  # name the file in every gbvstats error
        from ..errors import GbvstatsError

        if isinstance(exc, GbvstatsError):
            raise type(exc)(f"{args.input}: {exc}") from None
        raise
    out = table.frame.copy()
    if out["value"].dropna().apply(float.is_integer).all():
        out["value"] = out["value"].astype("Int64")
    _write_csv(out, args.out)
    if args.audit:
        _write_csv(table.audit, args.audit)
    print(f"{args.out}: {len(out)} cells, {table.n_primary} primary and {table.n_secondary} secondary "
          f"suppressions ({table.method}); audit passed for every suppressed cell")
    return 0
